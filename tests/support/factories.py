"""Builders of valid wire messages for tests: one place, so each test states only what matters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from wardwatch.contract import wire

T0 = datetime(2026, 11, 2, 1, 30, 15, 123456, tzinfo=UTC)


def identity(**overrides: Any) -> dict[str, Any]:
    """Tags of a test agent."""
    values: dict[str, Any] = {
        "agent": "tan-an-pc07",
        "site": "tan-an",
        "role": "office-pc",
        "device_class": "desktop",
    }
    values.update(overrides)
    return values


def host_facts(**overrides: Any) -> wire.HostFacts:
    """Plausible host facts of an old ward PC."""
    values: dict[str, Any] = {
        "hostname": "TAN-AN-PC07",
        "os_name": "Windows 10 Pro",
        "os_version": "10",
        "os_build": "19045",
        "boot_time": datetime(2026, 11, 1, 23, 0, 0, tzinfo=UTC),
        "uptime_s": 9015.5,
        "cpu_pct": 12.5,
        "cpu_count": 4,
        "mem_total_mb": 4096.0,
        "mem_used_pct": 71.25,
        "disk_total_gb": 465.76,
        "disk_used_pct": 55.0,
    }
    values.update(overrides)
    return wire.HostFacts(**values)


def report(message_id: str = "r0001", *, at: datetime = T0, **overrides: Any) -> wire.Report:
    """A report holding one host fact, measured ``at`` and sent now (as from an outbox: an
    agent with a right clock replaying an old report)."""
    facts = overrides.pop("facts", None)
    return wire.Report(
        **identity(**overrides),
        id=message_id,
        measured_at=at,
        sent_at=wire.now(),
        interval_s=60,
        agent_version="0.1.0",
        facts=[host_facts()] if facts is None else facts,
    )


def machine_facts(**overrides: Any) -> wire.MachineFacts:
    """An old ward PC as its machine probe reads it: a Dell OptiPlex 3010 bought in 2013,
    Windows 10 22H2 Pro (out of support since 2025-10-14)."""
    values: dict[str, Any] = {
        "hostname": "TAN-AN-PC07",
        "os_name": "Windows Professional",
        "os_version": "10",
        "os_build": "19045",
        "os_edition": "Professional",
        "os_installed": date(2021, 8, 3),
        "manufacturer": "Dell Inc.",
        "model": "OptiPlex 3010",
        "serial": "7XK2Q12",
        "chassis": "Desktop",
        "bios_vendor": "Dell Inc.",
        "bios_version": "A12",
        "bios_date": date(2012, 11, 20),
        "cpu": "Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz",
        "cpu_count": 4,
        "memory_mb": 4096.0,
        "disks": [
            wire.Disk(device="/dev/sda", model="ST500DM002", serial="Z3T", power_on_hours=20_000)
        ],
    }
    values.update(overrides)
    return wire.MachineFacts(**values)


def inventory(message_id: str = "inv1", *, at: datetime = T0, **overrides: Any) -> wire.Inventory:
    """An inventory of ``machine_facts()`` (or ``machine=``), measured ``at``, sent now."""
    machine = overrides.pop("machine", None)
    return wire.Inventory(
        **identity(**overrides),
        id=message_id,
        measured_at=at,
        sent_at=wire.now(),
        machine=machine_facts() if machine is None else machine,
    )


def link_facts(**overrides: Any) -> wire.LinkFacts:
    """A round towards the ward's videoconference codec: good figures, two ports open."""
    values: dict[str, Any] = {
        "target": "phong-hop-codec",
        "target_kind": "vc-endpoint",
        "host": "10.1.2.30",
        "address": "10.1.2.30",
        "method": "icmp",
        "sent": 10,
        "received": 10,
        "loss_pct": 0.0,
        "rtt_min_ms": 18.2,
        "rtt_avg_ms": 21.5,
        "rtt_median_ms": 21.0,
        "rtt_max_ms": 27.9,
        "jitter_ms": 2.4,
        "ports": [
            wire.PortCheck(port=1720, open=True, connect_ms=19.1),
            wire.PortCheck(port=5060, open=False, error="refused"),
            wire.PortCheck(port=5061, open=False, error="timeout"),
            wire.PortCheck(port=443, open=True, connect_ms=20.3),
        ],
    }
    values.update(overrides)
    return wire.LinkFacts(**values)


def dead_link(**overrides: Any) -> wire.LinkFacts:
    """A round towards a videoconference codec that answered nothing: no reply, port closed."""
    values: dict[str, Any] = {
        "received": 0,
        "loss_pct": 100.0,
        "rtt_min_ms": None,
        "rtt_avg_ms": None,
        "rtt_median_ms": None,
        "rtt_max_ms": None,
        "jitter_ms": None,
        "ports": [wire.PortCheck(port=1720, open=False, error="timeout")],
    }
    return link_facts(**(values | overrides))
