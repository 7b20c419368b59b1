"""A fleet of known truth for the lifecycle verdicts: eight machines whose evidence (register,
BIOS, updated BIOS, disk hours, VM, unknown class) and OS (Windows 7 to 11 25H2, Ubuntu, an
unknown OS) each say what the collector must decide, as of 2026-11-02 (``factories.T0``).

The lifecycle tests send them through the real collector; the dashboard tests load them into
InfluxDB to check every panel and alert rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.support.factories import T0, host_facts, machine_facts
from wardwatch.contract import wire

WIN10_PRO = {"os_name": "Windows Professional", "os_version": "10", "os_build": "19045"}
WIN11_24H2_PRO = {"os_name": "Windows Professional", "os_version": "11", "os_build": "26100"}
WIN11_25H2_ENT = {
    "os_name": "Windows Enterprise",
    "os_version": "11",
    "os_build": "26200",
    "os_edition": "Enterprise",
}
WIN10_LTSC_2021 = {
    "os_name": "Windows EnterpriseS",
    "os_version": "10",
    "os_build": "19044",
    "os_edition": "EnterpriseS",
}
WIN7 = {"os_name": "Windows Professional", "os_version": "7", "os_build": "7601"}
UBUNTU_2204 = {"os_name": "Ubuntu", "os_version": "22.04", "os_build": "5.15.0-119-generic"}
UBUNTU_2004 = {"os_name": "Ubuntu", "os_version": "20.04", "os_build": "5.4.0-200-generic"}
HAIKU = {"os_name": "Haiku", "os_version": "R1", "os_build": "hrev57937", "os_edition": ""}


@dataclass(frozen=True)
class Case:
    """One machine of the known fleet and what the collector must decide for it."""

    agent: str
    site: str
    device_class: str
    facts: dict[str, Any]
    hardware: str
    os: str
    source: str = ""


NO_EVIDENCE: dict[str, Any] = {"bios_date": None, "disks": [], "os_installed": None}
OLD_CPU = "Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz"  # 2012
NEW_CPU = "Intel(R) Core(TM) i5-14400"  # 2024

CASES = [
    # In the register by serial: bought 2020-06-01, five years ran out on 2025-06-01.
    Case(
        "reg-overdue",
        "tan-an",
        "desktop",
        {"serial": "SN-OVER", **WIN10_PRO},
        "overdue",
        "overdue",
        "register",
    ),
    # In the register by hostname only: bought 2022-01-15, 74 days left.
    Case(
        "reg-due",
        "tan-an",
        "desktop",
        {"serial": "", "hostname": "TAN-AN-KT01", **WIN11_24H2_PRO},
        "due",
        "overdue",
        "register",
    ),
    # In the register: bought 2024-03-01.
    Case(
        "reg-ok", "ea-tu", "laptop", {"serial": "SN-OK", **WIN11_25H2_ENT}, "ok", "ok", "register"
    ),
    # Not in the register: the BIOS of 2014 and a CPU of 2014 agree.
    Case(
        "bios-overdue",
        "ea-tu",
        "desktop",
        {
            "serial": "SN-BIOS",
            "model": "OptiPlex 3020",  # a Haswell OptiPlex: the 3010 default could not hold it
            "bios_date": date(2014, 5, 10),
            "cpu": "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
            **WIN10_LTSC_2021,
        },
        "overdue",
        "due",
        "bios",
    ),
    # A BIOS updated in 2019 on a 2012 CPU: the older evidence wins.
    Case(
        "bios-updated",
        "hoa-phu",
        "desktop",
        {"serial": "SN-UPD", "bios_date": date(2019, 3, 1), "cpu": OLD_CPU, **WIN7},
        "overdue",
        "overdue",
        "cpu",
    ),
    # A disk powered on 5,000 hours, on a 2024 CPU: about seven months old.
    Case(
        "disk-ok",
        "hoa-phu",
        "desktop",
        {
            "serial": "SN-DISK",
            **NO_EVIDENCE,
            "cpu": NEW_CPU,
            "disks": [wire.Disk(device="/dev/nvme0", power_on_hours=5000)],
            **UBUNTU_2204,
        },
        "ok",
        "due",
        "disk",
    ),
    # A VM with nothing but its hypervisor's BIOS: no evidence at all.
    Case(
        "vm",
        "hoa-phu",
        "server",
        {
            "serial": "",
            "hypervisor": "QEMU/KVM",
            "bios_date": date(2014, 4, 1),
            "disks": [],
            "os_installed": None,
            "cpu": "QEMU Virtual CPU",
            **UBUNTU_2004,
        },
        "unknown",
        "overdue",
    ),
    # A device class the policy does not know.
    Case("odd-class", "tan-an", "kiosk", {"serial": "SN-KIOSK", **HAIKU}, "unknown", "unknown"),
]

REGISTER = """serial,hostname,purchase_date,device_class,site,note
SN-OVER,,2020-06-01,desktop,tan-an,
,TAN-AN-KT01,15/01/2022,desktop,tan-an,hostname only
SN-OK,,2024-03-01,laptop,ea-tu,
SN-BAD,,31/02/2022,desktop,ea-tu,not a date: reported and skipped
"""


def case_report(case: Case, n: int) -> wire.Report:
    """Report number ``n`` of ``case``'s machine, measured ``n`` minutes after T0."""
    facts = {"hostname": case.agent.upper(), "os_edition": "Professional", **case.facts}
    at = T0 + timedelta(minutes=n)
    return wire.Report(
        agent=case.agent,
        site=case.site,
        role="office-pc",
        device_class=case.device_class,
        id=f"{case.agent}-{n}",
        measured_at=at,
        sent_at=wire.now(),
        interval_s=60,
        agent_version="0.1.0",
        facts=[host_facts(), machine_facts(**facts)],
    )
