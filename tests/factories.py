"""Builders of valid wire messages for tests: one place, so each test states only what matters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent import wire

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
