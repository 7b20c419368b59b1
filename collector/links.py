"""The fleet's links, worst first: ``wardwatch links``.

The latest round of every (agent, target) from InfluxDB, as the collector graded it. A link
whose agent stopped reporting keeps its last round; ``as_of`` says when that was.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from agent.table import columns
from collector.catalogue import LINK_TAGS
from collector.influxql import QueryClient, quote_ident, quote_string
from collector.status import human_duration

FIELDS = (
    "state",
    "rank",
    "method",
    "address",
    "loss_pct",
    "rtt_avg_ms",
    "rtt_max_ms",
    "jitter_ms",
    "ports_open",
    "ports_checked",
    "error",
)


@dataclass(frozen=True)
class LinkState:
    """One link's latest round."""

    site: str
    agent: str
    target: str
    kind: str
    state: str
    rank: int
    method: str
    address: str
    loss_pct: float
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    jitter_ms: float | None
    ports_open: int | None
    ports_checked: int | None
    error: str
    as_of_ns: int


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def fleet_links(client: QueryClient, site: str = "") -> list[LinkState]:
    """Every link's latest round (of one site, if given), worst first: state, then loss, RTT."""
    where = f" WHERE {quote_ident('site')} = {quote_string(site)}" if site else ""
    rows = client.query(
        f"SELECT {', '.join(quote_ident(f) for f in FIELDS)} FROM {quote_ident('link')}{where} "
        f"GROUP BY {', '.join(quote_ident(t) for t in LINK_TAGS)} ORDER BY time DESC LIMIT 1"
    )
    links = [
        LinkState(
            site=row.tags.get("site", ""),
            agent=row.tags.get("agent", ""),
            target=row.tags.get("target", ""),
            kind=row.tags.get("kind", ""),
            state=str(row.values.get("state") or ""),
            rank=int(row.values.get("rank") or 0),
            method=str(row.values.get("method") or ""),
            address=str(row.values.get("address") or ""),
            loss_pct=float(row.values.get("loss_pct") or 0.0),
            rtt_avg_ms=_float(row.values.get("rtt_avg_ms")),
            rtt_max_ms=_float(row.values.get("rtt_max_ms")),
            jitter_ms=_float(row.values.get("jitter_ms")),
            ports_open=_int(row.values.get("ports_open")),
            ports_checked=_int(row.values.get("ports_checked")),
            error=str(row.values.get("error") or ""),
            as_of_ns=int(row.values["time"]),
        )
        for row in rows
    ]
    return sorted(
        links,
        key=lambda s: (-s.rank, -s.loss_pct, -(s.rtt_avg_ms or 0.0), s.site, s.agent, s.target),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_table(links: list[LinkState], now_ns: int | None = None) -> str:
    """A plain-text table, one line per link, worst first."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    header = (
        "SITE",
        "AGENT",
        "TARGET",
        "KIND",
        "STATE",
        "LOSS",
        "AVG MS",
        "JITTER MS",
        "PORTS",
        "AS OF",
    )
    rows = [
        (
            s.site,
            s.agent,
            s.target,
            s.kind,
            s.state.upper() if s.state != "good" else s.state,
            f"{s.loss_pct:g}%",
            _ms(s.rtt_avg_ms),
            _ms(s.jitter_ms),
            f"{s.ports_open}/{s.ports_checked} open" if s.ports_checked else "-",
            f"{human_duration((now_ns - s.as_of_ns) / 1e9)} ago",
        )
        for s in links
    ]
    lines = columns(header, rows)
    if not rows:
        lines.append("(no link measured yet: give agents [[target]] sections, or wait a round)")
    return "\n".join(lines)


def render_json(links: list[LinkState]) -> str:
    """Every column, as a JSON list."""
    return json.dumps([asdict(s) for s in links], ensure_ascii=False, indent=2)
