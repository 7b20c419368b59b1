"""The catalogue: every measurement, tag and field the collector writes, in one place.

Tests check that each point the collector produces is described here with the right type, and
later the dashboards' queries are checked against it, so a renamed field cannot silently
empty a panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["float", "int", "str", "bool"]

AGENT_TAGS = ("agent", "site", "role", "device_class")
"""Tags of every per-machine measurement; bounded cardinality (no serials, no times)."""


@dataclass(frozen=True)
class Field:
    """A field: its InfluxDB type, unit (empty when none) and meaning."""

    type: FieldType
    unit: str
    doc: str


@dataclass(frozen=True)
class Measurement:
    """A measurement: its tags, its fields and what one point of it means."""

    name: str
    tags: tuple[str, ...]
    fields: dict[str, Field]
    doc: str


HOST = Measurement(
    "host",
    AGENT_TAGS,
    {
        "hostname": Field("str", "", "the machine's hostname as it reports it"),
        "os_name": Field("str", "", "operating system name"),
        "os_version": Field("str", "", "operating system version"),
        "os_build": Field("str", "", "OS build (Windows) or kernel release (Linux)"),
        "boot_time": Field("int", "s", "last boot, seconds since the epoch"),
        "uptime_s": Field("float", "s", "seconds since the last boot"),
        "cpu_pct": Field("float", "%", "CPU use over the last interval"),
        "cpu_count": Field("int", "", "logical processors"),
        "mem_total_mb": Field("float", "MiB", "installed memory"),
        "mem_used_pct": Field("float", "%", "memory in use"),
        "disk_total_gb": Field("float", "GiB", "size of the system disk"),
        "disk_used_pct": Field("float", "%", "system disk in use"),
    },
    "one report's host facts, at the report's measurement time",
)

AGENT = Measurement(
    "agent",
    AGENT_TAGS,
    {
        "version": Field("str", "", "wardwatch agent version"),
        "interval_s": Field("int", "s", "the agent's reporting interval"),
        "probe_errors": Field("int", "", "probes that failed in this report"),
        "outbox_depth": Field("int", "", "messages waiting in the agent's outbox"),
        "outbox_dropped": Field("int", "", "messages the outbox ever dropped at its bounds"),
        "clock_skew_s": Field(
            "float", "s", "collector's receive time minus the agent's send time (+: agent late)"
        ),
        "clock_skewed": Field(
            "int", "", "1 when the agent's clock is off by more than the threshold (corrected)"
        ),
    },
    "the agent's own health, one point per report",
)

STATUS = Measurement(
    "status",
    AGENT_TAGS,
    {
        "state": Field("str", "", "online or offline"),
        "online": Field("int", "", "1 when online, 0 when offline (for graphs)"),
    },
    "connection changes: online at connect, offline from the broker's last will or at stop",
)

OS = Measurement(
    "os",
    AGENT_TAGS,
    {
        "name": Field("str", "", "operating system name"),
        "version": Field("str", "", "operating system version"),
        "build": Field("str", "", "OS build or kernel release"),
    },
    "the operating system from the latest inventory",
)

HARDWARE = Measurement(
    "hardware",
    AGENT_TAGS,
    {
        "cpu_model": Field("str", "", "processor model name"),
        "cpu_count": Field("int", "", "logical processors"),
        "memory_mb": Field("float", "MiB", "installed memory"),
    },
    "the hardware from the latest inventory",
)

DEAD_LETTER = Measurement(
    "dead_letter",
    ("agent",),
    {
        "measurement": Field("str", "", "the measurement of the refused point"),
        "line": Field("str", "", "the refused point, as line protocol"),
        "reason": Field("str", "", "InfluxDB's answer"),
    },
    "a point InfluxDB refused for good (type conflict, beyond retention...), kept for a look",
)

CATALOGUE: dict[str, Measurement] = {
    m.name: m for m in (HOST, AGENT, STATUS, OS, HARDWARE, DEAD_LETTER)
}
"""Every measurement the collector writes, by name."""
