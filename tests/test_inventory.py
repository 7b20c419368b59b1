"""The agent's machine facts: read from evidence, carried by reports, sent as an inventory at
start and on change only, and always valid on the wire whatever the firmware says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.factories import machine_facts
from wardwatch.agent import osinfo, osinfo_linux, osinfo_windows
from wardwatch.agent.config import AgentConfig
from wardwatch.agent.outbox import Outbox
from wardwatch.agent.probes.machine import probe as machine
from wardwatch.agent.probes.machine import smart, smbios
from wardwatch.agent.probes.machine.probe import MachineProbe, Reading
from wardwatch.agent.runner import Agent
from wardwatch.contract import wire

pytestmark = pytest.mark.unit


def _agent(tmp_path: Path, read: object) -> Agent:
    config = msgspec.convert(
        {
            "agent": {"id": "tan-an-pc07", "site": "tan-an"},
            "mqtt": {"url": "mqtt://127.0.0.1:9"},  # never connected: messages stay queued
            "outbox": {"path": str(tmp_path / "o.db")},
        },
        AgentConfig,
    )
    return Agent(config, [], read_machine=read)  # type: ignore[arg-type]


class _Machine:
    """A fake machine whose facts the test changes."""

    def __init__(self) -> None:
        self.facts = machine_facts()
        self.reads = 0
        self.first_seen: list[date] = []

    def __call__(self, first_seen: date) -> Reading:
        self.reads += 1
        self.first_seen.append(first_seen)
        return Reading(facts=self.facts, missing=["smartctl not installed"])


def test_inventory_at_start_then_only_when_the_machine_changes(tmp_path: Path) -> None:
    fake = _Machine()
    agent = _agent(tmp_path, fake)
    assert agent.machine is not None
    first = agent.inventory()
    assert first is not None and first.machine == fake.facts
    assert first.missing == ["smartctl not installed"]
    assert agent.inventory() is None  # nothing changed

    # The disks' hours grow every hour: not a change of the machine.
    older = fake.facts.disks[0]
    fake.facts = msgspec.structs.replace(
        fake.facts, disks=[msgspec.structs.replace(older, power_on_hours=20_001)]
    )
    agent.machine._read_at = float("-inf")  # as if an hour passed
    assert agent.inventory() is None

    # More memory is.
    fake.facts = msgspec.structs.replace(fake.facts, memory_mb=8192.0)
    agent.machine._read_at = float("-inf")  # as if an hour passed
    changed = agent.inventory()
    assert changed is not None and changed.machine.memory_mb == 8192.0
    assert changed.id != first.id

    # Every report carries the current facts, disk hours included.
    report = agent.measure()
    assert report.facts == [fake.facts]
    agent.outbox.close()


def test_machine_probe_rereads_hourly_and_a_failure_is_a_probe_error(tmp_path: Path) -> None:
    now = [0.0]
    calls = [0]

    def read() -> Reading:
        calls[0] += 1
        if calls[0] == 3:
            raise OSError("SMBIOS gone")
        return Reading(facts=machine_facts(), missing=[])

    probe = MachineProbe(read, refresh_s=3600, clock=lambda: now[0])
    probe.collect()
    now[0] = 3599
    probe.collect()
    assert calls[0] == 1
    now[0] = 3600
    probe.collect()
    assert calls[0] == 2
    now[0] = 7200
    agent = _agent(tmp_path, lambda first_seen: read())
    agent.probes = [probe]
    report = agent.measure()
    assert report.facts == []
    assert [(e.probe, e.error) for e in report.errors] == [("machine", "OSError: SMBIOS gone")]
    agent.outbox.close()


def test_first_seen_is_the_first_day_and_survives_restarts(tmp_path: Path) -> None:
    def box() -> Outbox:
        return Outbox(
            tmp_path / "o.db", "tan-an-pc07", max_bytes=10**9, max_age_s=10**9, resend_after_s=30
        )

    first = box()
    assert first.first_seen(date(2026, 3, 2)) == date(2026, 3, 2)
    first.close()
    again = box()
    assert again.first_seen(date(2026, 11, 27)) == date(2026, 3, 2)
    again.close()

    fake = _Machine()
    agent = _agent(tmp_path, fake)
    agent.measure()
    assert fake.first_seen == [date(2026, 3, 2)]  # what the agent tells the collector
    agent.outbox.close()


def test_windows_install_date_from_the_registry_value() -> None:
    # InstallDate as recorded on a Windows 10 PC: a REG_DWORD of seconds since the epoch.
    assert osinfo_windows.install_date_from(1628000000) == date(2021, 8, 3)
    for bad in (0, -5, "1628000000", None, 10**20):
        assert osinfo_windows.install_date_from(bad) is None
    edition = osinfo_windows.identity_from(10, 0, 19044, "EnterpriseS")
    assert (edition.name, edition.version, edition.edition) == (
        "Windows EnterpriseS",
        "10",
        "EnterpriseS",
    )


def test_linux_install_date_is_the_oldest_marker(tmp_path: Path) -> None:
    import os

    old, new = tmp_path / "installer", tmp_path / "machine-id"
    old.mkdir()
    new.write_text("x")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    assert osinfo_linux.installed_on((new, old, tmp_path / "absent")) == date(2020, 9, 13)
    assert osinfo_linux.installed_on((tmp_path / "absent",)) is None


_FIRMWARE_TEXT = st.text(max_size=600)  # control characters, NULs, 0xFF fill, very long


@settings(max_examples=150, deadline=None)
@given(
    manufacturer=_FIRMWARE_TEXT,
    product=_FIRMWARE_TEXT,
    serial=_FIRMWARE_TEXT,
    bios=_FIRMWARE_TEXT,
    cpu=_FIRMWARE_TEXT,
    hostname=_FIRMWARE_TEXT,
)
def test_any_firmware_strings_make_a_valid_wire_message(
    manufacturer: str, product: str, serial: str, bios: str, cpu: str, hostname: str
) -> None:
    table = smbios.Smbios(
        manufacturer=manufacturer,
        product=product,
        serial=serial,
        bios_vendor=bios,
        bios_version=bios,
        chassis_type=product,
        product_version=serial,
        family=serial,
        version=bios,
        cpus=[
            smbios.Cpu(
                socket=bios,
                manufacturer=bios,
                version=cpu,
                max_speed_mhz=None,
                current_speed_mhz=None,
                cores=None,
                threads=None,
            )
        ],
        memory=[
            smbios.MemoryDevice(
                locator=serial,
                size_mb=4096,
                speed_mts=None,
                type=product,
                manufacturer=bios,
                part_number=serial,
            )
        ],
    )
    reading = machine.from_evidence(
        table,
        hostname=hostname,
        os_identity=osinfo.OsIdentity(name=cpu, version="10", build="19045", edition=bios),
        os_installed=None,
        cpu_fallback=cpu,
        cpu_count=0,
        memory_mb_fallback=4096.0,
        disks=smart.SmartScan(problems=[bios]),
        first_seen=None,
    )
    inventory = wire.Inventory(
        agent="a",
        site="s",
        role="office-pc",
        device_class="desktop",
        id="i1",
        measured_at=datetime(2026, 11, 27, tzinfo=UTC),
        sent_at=datetime(2026, 11, 27, tzinfo=UTC),
        machine=reading.facts,
        missing=reading.missing,
    )
    decoded = wire.decode(wire.topic("a", "inventory"), wire.encode(inventory))
    assert decoded == inventory
    assert reading.facts.cpu_count == 1


def test_the_table_s_dating_evidence_reaches_the_wire() -> None:
    """The product line (Lenovo's Version, else the Family), the SMBIOS version, the memory
    type of the populated slots and the socket: evidence of the machine's age (issue 14)."""
    empty = smbios.MemoryDevice(
        locator="A", size_mb=0, speed_mts=None, type="DDR4", manufacturer="", part_number=""
    )
    filled = msgspec.structs.replace(empty, locator="B", size_mb=4096, type="DDR3")
    table = smbios.Smbios(
        version="2.7",
        manufacturer="LENOVO",
        product="10AAS0Y500",
        product_version="ThinkCentre M73",
        family="",
        cpus=[
            smbios.Cpu(
                socket="LGA1150",
                manufacturer="Intel(R) Corporation",
                version="Intel(R) Core(TM) i5-4570 CPU @ 3.20GHz",
                max_speed_mhz=None,
                current_speed_mhz=None,
                cores=4,
                threads=4,
            )
        ],
        memory=[empty, filled],
    )
    facts = _facts_of(table)
    assert (facts.model_line, facts.smbios_version, facts.memory_type, facts.cpu_socket) == (
        "ThinkCentre M73",
        "2.7",
        "DDR3",
        "LGA1150",
    )
    dell = _facts_of(msgspec.structs.replace(table, product_version="", family="OptiPlex"))
    assert dell.model_line == "OptiPlex"


def _facts_of(table: smbios.Smbios) -> wire.MachineFacts:
    """A Windows 7 PC's facts from ``table`` alone."""
    return machine.from_evidence(
        table,
        hostname="pc07",
        os_identity=osinfo.OsIdentity(name="Windows", version="7", build="7601", edition=""),
        os_installed=None,
        cpu_fallback="",
        cpu_count=4,
        memory_mb_fallback=4096.0,
        disks=smart.SmartScan(),
        first_seen=None,
    ).facts
