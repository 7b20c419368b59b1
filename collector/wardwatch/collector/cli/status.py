"""``wardwatch status``: one line per known agent, from InfluxQL queries."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from wardwatch.collector.cli.report import Report, as_json
from wardwatch.collector.influx.query import QueryClient, Row, latest, quote_ident
from wardwatch.common import table
from wardwatch.contract.catalogue import VC_ENDPOINT_CLASS

# An agent is silent, hence offline, after missing this many reports in a row.
MISSED_REPORTS = 3
TAGS = ("agent", "site", "role")
BARRED = ("disabled", "removed")
"""Enrolment states that keep an agent off the broker, whatever it last said."""


@dataclass(frozen=True)
class AgentStatus:
    """What the operator sees about one agent."""

    site: str
    agent: str
    role: str
    last_seen_ns: int
    online: bool
    why: str  # "reporting", "silent", "said offline", "disabled" or "removed" (on the broker,
    # by `wardwatch agents`); for a VC endpoint "answering", "no answer" or "not probed"
    uptime_s: float | None


def _group_by() -> str:
    return ", ".join(quote_ident(tag) for tag in TAGS)


def fleet_status(client: QueryClient, now_ns: int | None = None) -> list[AgentStatus]:
    """Every agent that ever reported, by site then agent."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    last_host = client.query(
        f'SELECT last("uptime_s") AS "uptime_s" FROM "host" GROUP BY {_group_by()}'
    )
    intervals = {
        row.tags["agent"]: int(row.values["interval_s"])
        for row in client.query(
            'SELECT last("interval_s") AS "interval_s" FROM "agent" GROUP BY "agent"'
        )
    }
    states = {
        row.tags["agent"]: (str(row.values["state"]), int(row.values["time"]))
        for row in client.query('SELECT last("state") AS "state" FROM "status" GROUP BY "agent"')
    }
    # The broker admin's last word on each login: a disabled agent is kicked without its will.
    barred = {
        row.tags["agent"]: str(row.values["state"])
        for row in client.query('SELECT last("state") AS "state" FROM "enrolment" GROUP BY "agent"')
        if row.values["state"] in BARRED
    }
    fleet: list[AgentStatus] = []
    for row in last_host:
        agent = row.tags["agent"]
        seen = int(row.values["time"])
        interval_ns = intervals.get(agent, 60) * 1_000_000_000
        state, state_at = states.get(agent, ("online", 0))
        if agent in barred:
            online, why = False, barred[agent]
        elif state == "offline" and state_at >= seen:
            online, why = False, "said offline"
        elif now_ns - seen > MISSED_REPORTS * interval_ns:
            online, why = False, "silent"
        else:
            online, why = True, "reporting"
        uptime = row.values.get("uptime_s")
        fleet.append(
            AgentStatus(
                row.tags.get("site", ""),
                agent,
                row.tags.get("role", ""),
                seen,
                online,
                why,
                float(uptime) if uptime is not None else None,
            )
        )
    reporting = {status.agent for status in fleet}
    fleet.extend(
        _endpoint(row, intervals, now_ns)
        for row in latest(
            client, "status", ("state", "probed_by"), TAGS, {"device_class": VC_ENDPOINT_CLASS}
        )
        if row.tags["agent"] not in reporting
    )
    return sorted(fleet, key=lambda s: (s.site, s.agent))


def _endpoint(row: Row, intervals: dict[str, int], now_ns: int) -> AgentStatus:
    """An agentless VC endpoint, as the latest probe round towards it found it."""
    seen = int(row.values["time"])
    interval_ns = intervals.get(str(row.values.get("probed_by")), 60) * 1_000_000_000
    if now_ns - seen > MISSED_REPORTS * interval_ns:
        online, why = False, "not probed"
    elif row.values.get("state") != "online":
        online, why = False, "no answer"
    else:
        online, why = True, "answering"
    return AgentStatus(
        row.tags.get("site", ""),
        row.tags["agent"],
        row.tags.get("role", ""),
        seen,
        online,
        why,
        None,
    )


def human_duration(seconds: float) -> str:
    """``42s``, ``5m``, ``3h12m``, ``2d4h``: short enough for a table column."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _state(status: AgentStatus) -> str:
    if status.online:
        return "online"
    return status.why.upper() if status.why in BARRED else f"OFFLINE ({status.why})"


def render_table(fleet: Sequence[AgentStatus], now_ns: int | None = None) -> str:
    """A plain-text table, one line per agent."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    header = ("SITE", "AGENT", "ROLE", "LAST SEEN", "STATE", "UPTIME")
    rows = [
        (
            s.site,
            s.agent,
            s.role,
            f"{human_duration((now_ns - s.last_seen_ns) / 1e9)} ago",
            _state(s),
            human_duration(s.uptime_s) if s.uptime_s is not None else "-",
        )
        for s in fleet
    ]
    return table.text(header, rows, "(no agent has reported yet)")


REPORT = Report(
    name="status",
    help="one line per known agent: site, agent, role, last seen, online/offline, uptime",
    description="Show every agent that ever reported, read from InfluxDB. An agent is offline "
    "when it said so (its last will) or missed 3 reports in a row; DISABLED or REMOVED when "
    "`wardwatch agents` disabled or removed its login on the broker.",
    fetch=lambda client, _site: fleet_status(client),
    formats={"table": render_table, "json": as_json},
    site=False,
)
