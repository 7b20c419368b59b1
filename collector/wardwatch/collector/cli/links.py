"""``wardwatch links``: the fleet's links, worst first.

The latest round of every (agent, target) from InfluxDB, as the collector graded it. A link
whose agent stopped reporting keeps its last round; ``as_of`` says when that was.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from wardwatch.collector.cli.report import Report, as_json
from wardwatch.collector.cli.status import human_duration
from wardwatch.collector.influx.query import QueryClient, latest
from wardwatch.common import table
from wardwatch.common.table import cell
from wardwatch.contract.catalogue import LINK


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


def fleet_links(client: QueryClient, site: str = "") -> list[LinkState]:
    """Every link's latest round (of one site, if given), worst first: state, then loss, RTT."""
    rows = latest(client, LINK.name, LINK.listed, LINK.tags, {"site": site})
    links = [
        LinkState(
            site=row.tags.get("site", ""),
            agent=row.tags.get("agent", ""),
            target=row.tags.get("target", ""),
            kind=row.tags.get("kind", ""),
            state=row.text("state"),
            rank=row.optional_int("rank") or 0,
            method=row.text("method"),
            address=row.text("address"),
            loss_pct=row.optional_float("loss_pct") or 0.0,
            rtt_avg_ms=row.optional_float("rtt_avg_ms"),
            rtt_max_ms=row.optional_float("rtt_max_ms"),
            jitter_ms=row.optional_float("jitter_ms"),
            ports_open=row.optional_int("ports_open"),
            ports_checked=row.optional_int("ports_checked"),
            error=row.text("error"),
            as_of_ns=int(row.values["time"]),
        )
        for row in rows
    ]
    return sorted(
        links,
        key=lambda s: (-s.rank, -s.loss_pct, -(s.rtt_avg_ms or 0.0), s.site, s.agent, s.target),
    )


def render_table(links: Sequence[LinkState], now_ns: int | None = None) -> str:
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
            cell(s.rtt_avg_ms, ".1f"),
            cell(s.jitter_ms, ".1f"),
            f"{s.ports_open}/{s.ports_checked} open" if s.ports_checked else "-",
            f"{human_duration((now_ns - s.as_of_ns) / 1e9)} ago",
        )
        for s in links
    ]
    return table.text(
        header, rows, "(no link measured yet: give agents [[target]] sections, or wait a round)"
    )


REPORT = Report(
    name="links",
    help="one line per link (agent -> target), worst first: state, loss, RTT, jitter",
    description="List every link's latest probe round from InfluxDB, worst first: bad, "
    "degraded, good, then by loss and RTT; for videoconference endpoints, the ports that "
    "answered.",
    fetch=fleet_links,
    formats={"table": render_table, "json": as_json},
)
