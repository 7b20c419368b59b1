"""What this machine (or a dump) is: the evidence of its age, read once an hour by the agent.

Gathers SMBIOS (through the per-OS reader), the OS (edition, install date), the disks' power-on
hours and the CPU, into the wire contract's ``MachineFacts``: the inventory message and every
report's ``machine`` fact carry it. ``wardwatch-agent inventory`` prints it (``view``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final, List

import msgspec
import psutil
from msgspec import Struct

from wardwatch.agent import native, osinfo
from wardwatch.agent.probes.machine import smart, smbios, virtual
from wardwatch.contract import wire

REFRESH_S: Final = 3600.0
"""How often the agent re-reads the machine: disk hours grow by one an hour, nothing else
changes without an operator (a new disk, more memory, a BIOS update, a reinstall)."""


class Reading(Struct, frozen=True, kw_only=True):
    """The machine's facts, and what could not be read."""

    facts: wire.MachineFacts
    missing: List[str]


def _text(value: str) -> str:
    # Firmware strings are whatever the vendor burnt in: one line, or the wire refuses them.
    return wire.one_line(value.strip())


_NO_TYPE = {"", "Unknown", "Other"}


def _memory_type(table: smbios.Smbios) -> str:
    """The type of the populated slots (the first named one: a PC's slots share one type)."""
    for device in table.memory:
        if device.size_mb and device.type not in _NO_TYPE:
            return device.type
    return ""


def from_evidence(
    table: smbios.Smbios,
    *,
    hostname: str,
    os_identity: osinfo.OsIdentity,
    os_installed: date | None,
    cpu_fallback: str,
    cpu_count: int,
    memory_mb_fallback: float,
    disks: smart.SmartScan,
    first_seen: date | None,
) -> Reading:
    """Combine the evidence; the OS's own figures stand in where SMBIOS says nothing.

    The result is validated against the wire contract here, so a bad string shows up as this
    probe's error, never as a report the collector refuses.
    """
    cpu = table.cpus[0].version if table.cpus and table.cpus[0].version else cpu_fallback
    facts = wire.MachineFacts(
        hostname=_text(hostname),
        os_name=_text(os_identity.name),
        os_version=_text(os_identity.version),
        os_build=_text(os_identity.build),
        os_edition=_text(os_identity.edition),
        os_installed=os_installed,
        manufacturer=_text(table.manufacturer),
        model=_text(table.product),
        serial=_text(table.serial),
        chassis=_text(table.chassis_type),
        bios_vendor=_text(table.bios_vendor),
        bios_version=_text(table.bios_version),
        bios_date=table.bios_date,
        hypervisor=virtual.detect_virtual(table),
        cpu=_text(cpu),
        cpu_count=max(1, cpu_count),
        memory_mb=float(table.memory_mb or memory_mb_fallback),
        disks=disks.disks,
        first_seen=first_seen,
        model_line=_text(table.product_version or table.family),
        smbios_version=_text(table.version),
        memory_type=_text(_memory_type(table)),
        cpu_socket=_text((table.cpus[0].upgrade or table.cpus[0].socket) if table.cpus else ""),
        cpu_family=_text(table.cpus[0].family if table.cpus else ""),
        board=_text(table.baseboard_product),
    )
    validated = msgspec.json.decode(msgspec.json.encode(facts), type=wire.MachineFacts)
    missing = [wire.one_line(item) for item in (*table.missing, *disks.problems)]
    return Reading(facts=validated, missing=missing)


def read_this_machine(first_seen: date | None = None) -> Reading:
    """This machine's facts; ``first_seen`` is the agent's first day on it (from its outbox)."""
    return from_evidence(
        native.SMBIOS.read(),
        hostname=socket.gethostname(),
        os_identity=native.OS.os_identity(),
        os_installed=native.OS.installed_on(),
        cpu_fallback=native.OS.cpu_model(),
        cpu_count=psutil.cpu_count() or 1,
        memory_mb_fallback=round(psutil.virtual_memory().total / 1024 / 1024, 1),
        disks=smart.scan(),
        first_seen=first_seen,
    )


def read_dump(path: Path) -> Reading:
    """The facts a ``dmidecode --dump-bin`` file holds (no OS, no disks: it has none)."""
    return from_evidence(
        smbios.read_dump(path),
        hostname="",
        os_identity=osinfo.OsIdentity(name="", version="", build=""),
        os_installed=None,
        cpu_fallback="",
        cpu_count=1,
        memory_mb_fallback=0,
        disks=smart.SmartScan(problems=["disks: not in an SMBIOS dump"]),
        first_seen=None,
    )


def same_machine(a: wire.MachineFacts, b: wire.MachineFacts) -> bool:
    """Whether two readings describe the same machine: equal but for the disks' hours, which
    grow every hour (a new inventory is sent only when this is false)."""

    def steady(facts: wire.MachineFacts) -> wire.MachineFacts:
        disks = [msgspec.structs.replace(d, power_on_hours=0) for d in facts.disks]
        return msgspec.structs.replace(facts, disks=disks)

    return steady(a) == steady(b)


class MachineProbe:
    """The ``machine`` probe: this machine's facts in every report, re-read every ``refresh_s``.

    ``read`` is the source (``read_this_machine`` on a real agent, a profile in the simulator).
    """

    name = "machine"

    def __init__(
        self,
        read: Callable[[], Reading],
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._refresh_s = refresh_s
        self._clock = clock
        self._reading: Reading | None = None
        self._read_at = 0.0

    def reading(self) -> Reading:
        """The latest reading, re-read when older than ``refresh_s``; raises if reading fails."""
        now = self._clock()
        if self._reading is None or now - self._read_at >= self._refresh_s:
            self._reading = self._read()
            self._read_at = now
        return self._reading

    def collect(self) -> list[wire.Fact]:
        """The machine fact of this report."""
        return [self.reading().facts]
