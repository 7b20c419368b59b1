"""What ``wardwatch-agent probe`` prints: each target's figures and verdict, as a table or JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Dict, Optional

import msgspec
from msgspec import Struct

from wardwatch.common.table import cell, columns
from wardwatch.contract.wire import LinkFacts, TargetKind
from wardwatch.rules import link_quality


class Graded(Struct, frozen=True, kw_only=True):
    """One target's round with its verdict; ``ports`` maps a port to whether it answered."""

    target: str
    kind: TargetKind
    host: str
    address: str
    method: str
    state: link_quality.State
    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: Optional[float]
    rtt_avg_ms: Optional[float]
    rtt_median_ms: Optional[float]
    rtt_max_ms: Optional[float]
    jitter_ms: Optional[float]
    http_status: Optional[int] = None
    ports: Optional[Dict[int, bool]] = None
    error: str = ""


def graded(
    results: Sequence[LinkFacts], thresholds: Mapping[TargetKind, link_quality.Thresholds]
) -> list[Graded]:
    """Each result with its verdict under the limits of its kind (defaults otherwise)."""
    return [
        Graded(
            target=r.target,
            kind=r.target_kind,
            host=r.host,
            address=r.address,
            method=r.method,
            state=link_quality.grade(r, thresholds.get(r.target_kind, link_quality.DEFAULT)),
            sent=r.sent,
            received=r.received,
            loss_pct=r.loss_pct,
            rtt_min_ms=r.rtt_min_ms,
            rtt_avg_ms=r.rtt_avg_ms,
            rtt_median_ms=r.rtt_median_ms,
            rtt_max_ms=r.rtt_max_ms,
            jitter_ms=r.jitter_ms,
            http_status=r.http_status,
            ports={p.port: p.open for p in r.ports} if r.target_kind == "vc-endpoint" else None,
            error=r.error,
        )
        for r in results
    ]


def to_json(results: Sequence[Graded]) -> bytes:
    """A JSON list, one object per target (None figures as null)."""
    return msgspec.json.format(msgspec.json.encode(list(results)), indent=2)


def render(results: Sequence[Graded]) -> str:
    """A table, one line per target, then the ports and errors underneath."""
    header = ("TARGET", "KIND", "ADDRESS", "VIA", "STATE", "MIN", "AVG", "MAX", "JITTER", "LOSS")
    rows = [
        (
            r.target,
            r.kind,
            r.address or r.host,
            r.method,
            r.state.upper() if r.state != "good" else r.state,
            cell(r.rtt_min_ms, ".1f"),
            cell(r.rtt_avg_ms, ".1f"),
            cell(r.rtt_max_ms, ".1f"),
            cell(r.jitter_ms, ".1f"),
            f"{r.loss_pct:g}% of {r.sent}",
        )
        for r in results
    ]
    lines = columns(header, rows)
    lines[0] += "   (ms)"
    for r in results:
        if r.ports:
            shown = ", ".join(f"{p} {'open' if ok else 'closed'}" for p, ok in r.ports.items())
            lines.append(f"{r.target}: ports {shown}")
        if r.http_status is not None:
            lines.append(f"{r.target}: HTTP {r.http_status}")
        if r.error:
            lines.append(f"{r.target}: {r.error}")
    return "\n".join(lines)
