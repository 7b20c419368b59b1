"""Every InfluxQL query the dashboards run, in one place, with what each one reads.

Queries use Grafana's InfluxQL macros: ``$timeFilter`` (the panel's time range),
``$__interval`` (its bucket) and the dashboard's variables ``$site``, ``$role``, ``$target`` and
``$agent``, matched as regular expressions (``=~ /^$site$/``) because Grafana writes a
multi-value or "All" selection as ``(a|b)`` or ``.*``. The tests substitute them the same way and
run each query against a real InfluxDB; ``measurement`` and ``fields`` are checked against the
collector's catalogue.

"Latest" panels read each machine's or link's last point with a subquery
(``SELECT ... FROM (SELECT last(...) ... GROUP BY "agent")``), so a machine that stopped
reporting keeps its last verdict, as ``wardwatch lifecycle`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from wardwatch.contract.catalogue import HARDWARE, LINK, OS

Format = Literal["table", "time_series"]


@dataclass(frozen=True)
class Query:
    """One query: its measurement, the fields it reads, its text and its result format."""

    measurement: str
    fields: tuple[str, ...]
    text: str
    format: Format = "table"


FLEET: Final = '"site" =~ /^$site$/ AND "role" =~ /^$role$/'
"""The dashboard variables' filter, on every per-machine measurement."""


def _lasts(fields: tuple[str, ...]) -> str:
    return ", ".join(f'last("{f}") AS "{f}"' for f in fields)


def _latest(measurement: str, fields: tuple[str, ...], by: str = '"site", "agent"') -> str:
    """Each series' last value of every field (one row per machine or link)."""
    return (
        f'SELECT {_lasts(fields)} FROM "{measurement}" WHERE {FLEET} AND $timeFilter GROUP BY {by}'
    )


def _count_latest(measurement: str, field: str, condition: str) -> str:
    """How many machines' last ``field`` meets ``condition``."""
    return (
        f'SELECT count("v") AS "machines" FROM (SELECT last("{field}") AS "v" FROM '
        f'"{measurement}" WHERE {FLEET} AND $timeFilter GROUP BY "agent") WHERE {condition}'
    )


# --- Fleet overview ------------------------------------------------------------------------

REPORTING = Query(
    "host",
    ("uptime_s",),
    f'SELECT count("v") AS "machines" FROM (SELECT last("uptime_s") AS "v" FROM "host" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent")',
)
"""Machines that reported within the panel's range (the overview pins it to 3 minutes)."""

SAID_OFFLINE = Query("status", ("online",), _count_latest("status", "online", '"v" = 0'))
HARDWARE_OUT = Query("hardware", ("rank",), _count_latest("hardware", "rank", '"v" = 3'))
OS_OUT = Query("os", ("rank",), _count_latest("os", "rank", '"v" = 3'))
BAD_LINKS = Query(
    "link",
    ("rank",),
    f'SELECT count("v") AS "links" FROM (SELECT last("rank") AS "v" FROM "link" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent", "target") WHERE "v" >= 1',
)

SITE_SEEN = Query(
    "host",
    ("uptime_s",),
    f'SELECT count("v") AS "machines" FROM (SELECT last("uptime_s") AS "v" FROM "host" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent", "site") GROUP BY "site"',
)
"""Per ward, machines heard within the dashboard's range."""
SITE_OFFLINE = Query(
    "status",
    ("online",),
    f'SELECT count("v") AS "offline" FROM (SELECT last("online") AS "v" FROM "status" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent", "site") WHERE "v" = 0 GROUP BY "site"',
)
SITE_OS_OUT = Query(
    "os",
    ("rank",),
    f'SELECT count("v") AS "os_out_of_support" FROM (SELECT last("rank") AS "v" FROM "os" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent", "site") WHERE "v" = 3 GROUP BY "site"',
)
SITE_HARDWARE_OUT = Query(
    "hardware",
    ("rank",),
    f'SELECT count("v") AS "out_of_lifecycle" FROM (SELECT last("rank") AS "v" FROM "hardware" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent", "site") WHERE "v" = 3 GROUP BY "site"',
)
SITE_WORST_LINK = Query(
    "link",
    ("rank",),
    f'SELECT max("v") AS "worst_link" FROM (SELECT last("rank") AS "v" FROM "link" '
    f'WHERE {FLEET} AND $timeFilter GROUP BY "agent", "target", "site") GROUP BY "site"',
)

# --- Lifecycle ------------------------------------------------------------------------------

MACHINES = Query("hardware", HARDWARE.listed, _latest("hardware", HARDWARE.listed))
"""Every machine's latest hardware verdict (the table sorts worst first)."""

SYSTEMS = Query("os", OS.listed, _latest("os", OS.listed))

AGE_BY_SITE = Query(
    "hardware",
    ("age_years",),
    f'SELECT mean("v") AS "mean_age", max("v") AS "oldest" FROM (SELECT last("age_years") AS '
    f'"v" FROM "hardware" WHERE {FLEET} AND $timeFilter GROUP BY "agent", "site") '
    'GROUP BY "site"',
)

# --- Links and videoconference readiness ---------------------------------------------------

LINK_FILTER: Final = f'{FLEET} AND "target" =~ /^$target$/'


def _link_series(field: str) -> Query:
    return Query(
        "link",
        (field,),
        f'SELECT mean("{field}") AS "{field}" FROM "link" WHERE {LINK_FILTER} AND $timeFilter '
        'GROUP BY time($__interval), "site", "target" fill(none)',
        "time_series",
    )


RTT = _link_series("rtt_avg_ms")
JITTER = _link_series("jitter_ms")
LOSS = _link_series("loss_pct")
LINK_STATE = Query(
    "link",
    ("rank",),
    f'SELECT max("rank") AS "state" FROM "link" WHERE {LINK_FILTER} AND $timeFilter '
    'GROUP BY time($__interval), "site", "target" fill(none)',
    "time_series",
)
LINKS_NOW = Query(
    "link",
    LINK.listed,
    _latest("link", LINK.listed, '"site", "agent", "target", "kind"').replace(
        f"WHERE {FLEET}", f"WHERE {LINK_FILTER}"
    ),
)
PORTS = Query(
    "vc_port",
    ("open", "connect_ms"),
    _latest("vc_port", ("open", "connect_ms"), '"site", "target", "port"'),
)

# --- One machine ----------------------------------------------------------------------------

MACHINE: Final = '"agent" =~ /^$agent$/'


def _machine_series(measurement: str, field: str, how: str = "mean") -> Query:
    return Query(
        measurement,
        (field,),
        f'SELECT {how}("{field}") AS "{field}" FROM "{measurement}" WHERE {MACHINE} AND '
        "$timeFilter GROUP BY time($__interval) fill(none)",
        "time_series",
    )


UPTIME = _machine_series("host", "uptime_s", "last")
CPU = _machine_series("host", "cpu_pct")
MEMORY = _machine_series("host", "mem_used_pct")
DISK = _machine_series("host", "disk_used_pct")
REBOOTS = Query(
    "host",
    ("boot_time",),
    f'SELECT distinct("boot_time") AS "boot_time" FROM "host" WHERE {MACHINE} AND $timeFilter',
)
"""Each distinct boot time in the range: one row per boot."""
INVENTORY = Query(
    "hardware",
    HARDWARE.listed,
    f'SELECT {_lasts(HARDWARE.listed)} FROM "hardware" WHERE {MACHINE} AND $timeFilter',
)
"""The machine's row of the lifecycle table, the same columns."""
MACHINE_LINKS = Query(
    "link",
    LINK.listed,
    f'SELECT {_lasts(LINK.listed)} FROM "link" WHERE {MACHINE} AND $timeFilter '
    'GROUP BY "target", "kind"',
)

# --- Alert rules (no dashboard variables: every machine, every ward) -----------------------

ALERT_SAID_OFFLINE = Query(
    "status",
    ("online",),
    'SELECT last("online") AS "online" FROM "status" WHERE $timeFilter GROUP BY "agent", "site"',
)
"""Each machine's (and agentless VC endpoint's) last state: 0 once it said offline."""
ALERT_SILENT = Query(
    "host",
    ("uptime_s",),
    'SELECT moving_average(count("uptime_s"), 3) AS "reports" FROM "host" WHERE $timeFilter '
    'GROUP BY time(1m), "agent", "site" fill(0)',
    "time_series",
)
"""Reports per minute over the last 3 minutes; 0 when a machine missed 3 reports (at the
default 60 s interval). ``fill(0)`` keeps a series for every machine heard in the rule's range."""
ALERT_LINK = Query(
    "link",
    ("rank",),
    'SELECT max("rank") AS "state" FROM "link" WHERE $timeFilter '
    'GROUP BY time(1m), "agent", "site", "target", "kind" fill(none)',
    "time_series",
)
ALERT_HARDWARE = Query(
    "hardware",
    ("rank",),
    'SELECT last("rank") AS "rank" FROM "hardware" WHERE $timeFilter GROUP BY "agent", "site"',
)
ALERT_OS = Query(
    "os",
    ("rank",),
    'SELECT last("rank") AS "rank" FROM "os" WHERE $timeFilter GROUP BY "agent", "site"',
)
ALERT_CLOCK = Query(
    "agent",
    ("clock_skewed",),
    'SELECT last("clock_skewed") AS "skewed" FROM "agent" WHERE $timeFilter '
    'GROUP BY "agent", "site"',
)
ALERT_DROPPING = Query(
    "agent",
    ("outbox_dropped",),
    'SELECT max("outbox_dropped") - min("outbox_dropped") AS "dropped" FROM "agent" '
    'WHERE $timeFilter GROUP BY "agent", "site"',
)
"""Messages an agent's outbox dropped at its bounds within the rule's range."""
