"""The catalogue: every measurement, tag and field the collector writes, in one place.

Part of the contract: the collector writes these points, the operator CLI and the dashboards
read them. Tests check that each point the collector produces is described here with the right
type and that every dashboard query reads only what is here, so a renamed field cannot
silently empty a panel. What a list of machines or links shows (``Measurement.listed``) is
chosen here too, once, for the dashboards' tables and the CLI's lists alike.
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
    """A measurement: its tags, its fields and what one point of it means.

    ``listed`` are the fields every list of these points shows, in order: a row per machine
    (or link) in the dashboards' tables and in ``wardwatch lifecycle`` / ``links``.
    """

    name: str
    tags: tuple[str, ...]
    fields: dict[str, Field]
    doc: str
    listed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [name for name in self.listed if name not in self.fields]
        if unknown:
            raise KeyError(f"{self.name}: listed fields not in the catalogue: {unknown}")


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
        "outbox_dropped": Field(
            "int", "", "messages the outbox ever dropped: at its bounds, or undeliverable"
        ),
        "clock_skew_s": Field(
            "float", "s", "collector's receive time minus the agent's send time (+: agent late)"
        ),
        "clock_skewed": Field(
            "int", "", "1 when the agent's clock is off by more than the threshold (corrected)"
        ),
    },
    "the agent's own health, one point per report",
)

VC_ENDPOINT_CLASS = "vc-codec"
"""The device class of an agentless videoconference endpoint in the fleet: its ``status``
points carry it, with role ``vc-endpoint`` and ``<probing agent>/<target>`` as ``agent``."""

STATUS = Measurement(
    "status",
    AGENT_TAGS,
    {
        "state": Field("str", "", "online or offline"),
        "online": Field("int", "", "1 when online, 0 when offline (for graphs)"),
        "probed_by": Field(
            "str", "", "an agentless VC endpoint's status: the agent whose probe round saw it"
        ),
        "session": Field(
            "int", "", "the agent's connection number; an older one never overrides a newer"
        ),
    },
    "connection changes: online at connect, offline from the broker's last will or at stop; "
    "for an agentless videoconference endpoint, each probe round's finding",
)

_VERDICT_DOC = "ok, due (within the policy's warning window), overdue, or unknown (see reason)"
_RANK_DOC = "the verdict as a number, worst highest: ok 0, unknown 1, due 2, overdue 3"

OS = Measurement(
    "os",
    AGENT_TAGS,
    {
        "support": Field("str", "", f"end-of-support verdict: {_VERDICT_DOC}"),
        "rank": Field("int", "", _RANK_DOC),
        "reason": Field("str", "", "why: the release found and its end of support"),
        "name": Field("str", "", "operating system name"),
        "version": Field("str", "", "operating system version"),
        "build": Field("str", "", "OS build or kernel release"),
        "edition": Field("str", "", "Windows edition (decides the end of support)"),
        "release": Field("str", "", "the release of the end-of-support table it was found as"),
        "installed": Field("str", "", "OS install date (ISO), when known"),
        "eol_date": Field("str", "", "end of support (ISO date): overdue from this day"),
        "days_left": Field("int", "d", "days until the end of support; <= 0 once overdue"),
        "extended_support": Field(
            "bool", "", "eol_date is the paid or LTS extended support the policy counts"
        ),
    },
    "the OS and its support verdict, from every report's machine facts and each inventory",
    listed=("support", "rank", "release", "name", "version", "build", "eol_date", "days_left"),
)

HARDWARE = Measurement(
    "hardware",
    AGENT_TAGS,
    {
        "lifecycle": Field("str", "", f"hardware lifecycle verdict: {_VERDICT_DOC}"),
        "rank": Field("int", "", _RANK_DOC),
        "reason": Field("str", "", "why: the evidence the age was taken from"),
        "policy": Field("str", "", "the lifecycle policy applied"),
        "policy_class": Field(
            "str", "", "device class the policy was applied for (the register's, if matched)"
        ),
        "useful_life_years": Field("int", "y", "useful life of that class under the policy"),
        "days_left": Field("int", "d", "days until the end of useful life; <= 0 once overdue"),
        "end_date": Field("str", "", "end of useful life (ISO date): overdue from this day"),
        "since": Field("str", "", "estimated date the machine entered service (ISO)"),
        "age_years": Field("float", "y", "estimated age"),
        "age_source": Field(
            "str",
            "",
            "evidence of the age: register, bios, disk, cpu, os_install, first_seen, model "
            "(the product line), memory (its type), smbios (the table's version), board (a "
            "white box's chipset), chassis (its type)",
        ),
        "age_confidence": Field("str", "", "high, medium or low"),
        "made_earliest": Field(
            "int", "y", "the earliest year the evidence lets the machine be made in (CPU, line…)"
        ),
        "made_latest": Field("int", "y", "the latest year the table lets it be made in"),
        "manufacturer": Field("str", "", "system manufacturer (SMBIOS)"),
        "model": Field("str", "", "system product name (SMBIOS)"),
        "serial": Field("str", "", "system serial number (SMBIOS)"),
        "chassis": Field("str", "", "chassis type (SMBIOS)"),
        "bios_version": Field("str", "", "BIOS version"),
        "bios_date": Field("str", "", "BIOS release date (ISO)"),
        "hypervisor": Field("str", "", "the hypervisor of a virtual machine; empty for hardware"),
        "cpu_model": Field("str", "", "processor model name"),
        "cpu_launch_year": Field("int", "", "the processor's launch year, from the rules"),
        "cpu_count": Field("int", "", "logical processors"),
        "memory_mb": Field("float", "MiB", "installed memory"),
        "disk_hours": Field("int", "h", "largest power-on hours of the machine's disks"),
        "asset_line": Field("int", "", "line of the asset register row that matched"),
    },
    "the machine, its age estimate and its lifecycle verdict, from every report's machine "
    "facts and each inventory",
    listed=(
        "lifecycle",
        "rank",
        "days_left",
        "end_date",
        "age_years",
        "since",
        "age_source",
        "age_confidence",
        "made_earliest",
        "made_latest",
        "policy",
        "policy_class",
        "manufacturer",
        "model",
        "serial",
        "cpu_model",
        "memory_mb",
        "bios_date",
        "hypervisor",
        "asset_line",
        "reason",
    ),
)

LINK_TAGS = (*AGENT_TAGS, "target", "kind")

LINK = Measurement(
    "link",
    LINK_TAGS,
    {
        "state": Field("str", "", "good, degraded or bad under the thresholds of the kind"),
        "rank": Field("int", "", "the state as a number, worst highest: good 0, degraded 1, bad 2"),
        "method": Field("str", "", "icmp, tcp (connect time), dns (query) or http (GET)"),
        "host": Field("str", "", "the target as configured"),
        "address": Field("str", "", "the address probed"),
        "sent": Field("int", "", "packets (or queries, requests) sent this round"),
        "received": Field("int", "", "replies within the timeout"),
        "loss_pct": Field("float", "%", "share of the round lost"),
        "rtt_min_ms": Field("float", "ms", "fastest round trip"),
        "rtt_avg_ms": Field("float", "ms", "mean round trip"),
        "rtt_median_ms": Field("float", "ms", "median round trip"),
        "rtt_max_ms": Field("float", "ms", "slowest round trip"),
        "jitter_ms": Field("float", "ms", "mean absolute difference of consecutive round trips"),
        "http_status": Field("int", "", "HTTP status of a service target"),
        "ports_open": Field("int", "", "vc-endpoint: ports that accepted a connection"),
        "ports_checked": Field("int", "", "vc-endpoint: ports checked"),
        "error": Field("str", "", "why replies are missing (empty when none is)"),
    },
    "one probe round from an agent towards one target, with its verdict",
    listed=(
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
    ),
)

VC_PORT = Measurement(
    "vc_port",
    (*LINK_TAGS, "port"),
    {
        "open": Field("int", "", "1 when the port accepted a connection"),
        "connect_ms": Field("float", "ms", "time to accept the connection"),
        "error": Field("str", "", "refused, timeout, or the OS error"),
    },
    "a videoconference endpoint's port (H.323 1720, SIP 5060/5061, HTTPS 443), per round",
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

ENROLMENT = Measurement(
    "enrolment",
    ("agent",),
    {"state": Field("str", "", "enabled, disabled or removed")},
    "the broker admin's changes to an agent's login (wardwatch agents enable|disable|remove), "
    "stamped when the collector received them",
)

CATALOGUE: dict[str, Measurement] = {
    m.name: m for m in (HOST, AGENT, STATUS, OS, HARDWARE, LINK, VC_PORT, DEAD_LETTER, ENROLMENT)
}
"""Every measurement the collector writes, by name."""
