"""This machine's (or a dump's) inventory and age estimate, for ``wardwatch-agent inventory``.

Gathers the evidence (SMBIOS, the OS, disk power-on hours, the CPU's launch year) and asks
``agent.age`` for the estimate. Not yet sent to the collector: the inventory message gains these
fields with the rest of issue 4.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import msgspec
import psutil
from msgspec import Struct

from agent import age, cpuage, smart, smbios
from agent.probes import osinfo

if sys.platform == "win32":
    from agent.smbios_windows import read as read_smbios
else:
    from agent.smbios_linux import read as read_smbios


class MachineInventory(Struct, frozen=True, kw_only=True):
    """What a machine is, and how old it probably is, with the evidence and what is missing."""

    manufacturer: str
    model: str
    serial: str
    chassis: str
    bios_vendor: str
    bios_version: str
    bios_date: date | None
    cpu: str
    cpu_launch_year: int | None
    memory_mb: int
    os: str
    virtual: bool
    hypervisor: str
    disks: list[smart.Disk]
    age: age.AgeEstimate | None
    missing: list[str]


def inventory(
    table: smbios.Smbios,
    *,
    os_name: str,
    cpu_fallback: str,
    memory_mb_fallback: int,
    disks: smart.SmartScan,
    now: datetime,
) -> MachineInventory:
    """Combine the evidence; the OS's own figures stand in where SMBIOS says nothing."""
    cpu = table.cpus[0].version if table.cpus and table.cpus[0].version else cpu_fallback
    launch = cpuage.launch(cpu) if cpu else None
    hypervisor = age.detect_virtual(table)
    hours = [disk.power_on_hours for disk in disks.disks if disk.power_on_hours]
    evidence = age.AgeEvidence(
        bios_date=table.bios_date,
        virtual=bool(hypervisor),
        # The oldest disk is the best lower bound: a replaced disk is younger than the PC.
        power_on_hours=max(hours) if hours else None,
        cpu=launch,
    )
    return MachineInventory(
        manufacturer=table.manufacturer,
        model=table.product,
        serial=table.serial,
        chassis=table.chassis_type,
        bios_vendor=table.bios_vendor,
        bios_version=table.bios_version,
        bios_date=table.bios_date,
        cpu=cpu,
        cpu_launch_year=launch.year if launch else None,
        memory_mb=table.memory_mb or memory_mb_fallback,
        os=os_name,
        virtual=bool(hypervisor),
        hypervisor=hypervisor,
        disks=disks.disks,
        age=age.estimate(evidence, now),
        missing=[*table.missing, *disks.problems],
    )


def this_machine(now: datetime) -> MachineInventory:
    """The inventory of the machine the agent runs on."""
    identity = osinfo.os_identity()
    return inventory(
        read_smbios(),
        os_name=" ".join(part for part in (identity.name, identity.version) if part),
        cpu_fallback=osinfo.cpu_model(),
        memory_mb_fallback=round(psutil.virtual_memory().total / 1024 / 1024),
        disks=smart.scan(),
        now=now,
    )


def from_dump(path: Path, now: datetime) -> MachineInventory:
    """The inventory a ``dmidecode --dump-bin`` file describes (no OS, no disks: it has none)."""
    return inventory(
        smbios.read_dump(path),
        os_name="",
        cpu_fallback="",
        memory_mb_fallback=0,
        disks=smart.SmartScan(disks=[], problems=["disks: not in an SMBIOS dump"]),
        now=now,
    )


def to_json(machine: MachineInventory) -> bytes:
    """The JSON the CLI prints: dates as ISO strings, ``age`` as {since, years, source, ...}."""
    return msgspec.json.format(msgspec.json.encode(machine), indent=2)


def render(machine: MachineInventory) -> str:
    """A readable summary, one fact a line."""
    estimate = machine.age
    lines = [
        f"manufacturer  {machine.manufacturer or '-'}",
        f"model         {machine.model or '-'}",
        f"serial        {machine.serial or '-'}",
        f"chassis       {machine.chassis or '-'}",
        f"bios          {machine.bios_vendor or '-'} {machine.bios_version} "
        f"({machine.bios_date.isoformat() if machine.bios_date else 'no date'})",
        f"cpu           {machine.cpu or '-'}"
        + (f" (launched {machine.cpu_launch_year})" if machine.cpu_launch_year else ""),
        f"memory        {machine.memory_mb} MiB",
        f"os            {machine.os or '-'}",
        f"virtual       {machine.hypervisor or 'no'}",
    ]
    lines += [
        f"disk          {d.device} {d.model}: {d.power_on_hours} h powered on"
        for d in machine.disks
    ]
    if estimate is None:
        lines.append("age           unknown: no evidence")
    else:
        lines.append(
            f"age           {estimate.years:.1f} years, since {estimate.since.isoformat()} "
            f"({estimate.source}, {estimate.confidence} confidence)"
        )
        lines.append(f"              {estimate.reason}")
    lines += [f"missing       {item}" for item in machine.missing]
    return "\n".join(lines)
