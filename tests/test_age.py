"""Age estimate: each rule and tie-break of agent.age, and VM detection from SMBIOS strings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from wardwatch.agent.probes.machine import virtual
from wardwatch.agent.probes.machine.smbios import Smbios
from wardwatch.rules import age, cpu_launch
from wardwatch.rules.age import AgeEstimate, AgeEvidence
from wardwatch.rules.cpu_launch import CpuLaunch

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _cpu(model: str) -> CpuLaunch:
    launch = cpu_launch.launch(model)
    assert launch is not None, model
    return launch


def _hours_ago(hours: int) -> date:
    return (NOW - timedelta(hours=hours)).date()


IVY = _cpu("Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz")  # 2012
SKYLAKE = _cpu("Intel(R) Core(TM) i5-6500 CPU @ 3.20GHz")  # 2015
COMET = _cpu(
    "Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz"
)  # 2020 (the model's own year, not its series')

# (scenario, evidence, since, source, confidence, words the reason must contain)
SCENARIOS: list[tuple[str, AgeEvidence, date, str, str, tuple[str, ...]]] = [
    (
        "register only",
        AgeEvidence(purchase_date=date(2016, 3, 1)),
        date(2016, 3, 1),
        "register",
        "high",
        ("asset register",),
    ),
    (
        "register beats everything else",
        AgeEvidence(
            purchase_date=date(2013, 6, 1),
            bios_date=date(2012, 9, 1),
            power_on_hours=60_000,
            cpu=IVY,
            first_seen=date(2026, 1, 5),
        ),
        date(2013, 6, 1),
        "register",
        "high",
        ("asset register",),
    ),
    (
        "register contradicted by a later CPU",
        AgeEvidence(purchase_date=date(2012, 5, 1), cpu=SKYLAKE),
        date(2012, 5, 1),
        "register",
        "medium",
        ("after it", "2015"),
    ),
    (
        "register in the future is ignored",
        AgeEvidence(purchase_date=date(2027, 1, 1), bios_date=date(2019, 4, 2)),
        date(2019, 4, 2),
        "bios",
        "medium",
        ("in the future", "CPU launch year unknown"),
    ),
    (
        "BIOS alone",
        AgeEvidence(bios_date=date(2014, 2, 10)),
        date(2014, 2, 10),
        "bios",
        "medium",
        ("BIOS release date",),
    ),
    (
        "BIOS corroborated by the CPU",
        AgeEvidence(bios_date=date(2013, 3, 1), cpu=IVY, power_on_hours=20_000),
        date(2013, 3, 1),
        "bios",
        "high",
        ("consistent", "2012"),
    ),
    (
        "BIOS dated a little before the CPU launch is still trusted",
        AgeEvidence(bios_date=date(2011, 11, 20), cpu=IVY),
        date(2011, 11, 20),
        "bios",
        "high",
        ("consistent",),
    ),
    (
        "BIOS updated: CPU 2012, BIOS 2018, the older bound wins",
        AgeEvidence(bios_date=date(2018, 5, 14), cpu=IVY),
        date(2012, 1, 1),
        "cpu",
        "medium",
        ("2018-05-14", "likely updated", "2012"),
    ),
    (
        "BIOS just within the gap after the CPU's last launch is trusted",
        AgeEvidence(bios_date=date(2022, 12, 31), cpu=COMET),
        date(2022, 12, 31),
        "bios",
        "high",
        ("consistent",),
    ),
    (
        "BIOS date before the CPU's launch is implausible",
        AgeEvidence(bios_date=date(2009, 6, 1), cpu=SKYLAKE),
        date(2015, 1, 1),
        "cpu",
        "low",
        ("2009-06-01 ignored", "implausibly"),
    ),
    (
        "BIOS date in the future is ignored",
        AgeEvidence(bios_date=date(2030, 1, 1), first_seen=date(2026, 2, 1)),
        date(2026, 2, 1),
        "first_seen",
        "low",
        ("in the future",),
    ),
    (
        "VM: its BIOS date says nothing",
        AgeEvidence(bios_date=date(2014, 4, 1), virtual=True, first_seen=date(2025, 8, 1)),
        date(2025, 8, 1),
        "first_seen",
        "low",
        ("virtual machine",),
    ),
    (
        "disk powered on longer than the BIOS date allows: BIOS updated",
        AgeEvidence(bios_date=date(2022, 1, 10), power_on_hours=50_000),
        _hours_ago(50_000),
        "disk",
        "medium",
        ("50000 h", "likely updated"),
    ),
    (
        "first seen before the BIOS date: BIOS updated since",
        AgeEvidence(bios_date=date(2026, 6, 1), first_seen=date(2026, 1, 15)),
        date(2026, 1, 15),
        "first_seen",
        "medium",
        ("likely updated",),
    ),
    (
        "disk alone is a lower bound",
        AgeEvidence(power_on_hours=8766),
        _hours_ago(8766),
        "disk",
        "low",
        ("lower bound",),
    ),
    (
        "disk corroborated by the CPU",
        AgeEvidence(power_on_hours=40_000, cpu=COMET),
        _hours_ago(40_000),
        "disk",
        "medium",
        ("consistent", "launched 2020"),
    ),
    (
        "disk far younger than the CPU: replaced or rarely on, the CPU wins",
        AgeEvidence(power_on_hours=8_000, cpu=IVY),
        date(2012, 1, 1),
        "cpu",
        "low",
        ("likely replaced",),
    ),
    (
        "implausible disk hours are ignored",
        AgeEvidence(power_on_hours=10_000_000, cpu=IVY),
        date(2012, 1, 1),
        "cpu",
        "low",
        ("implausible", "earliest possible"),
    ),
    (
        "first seen before the disk bound",
        AgeEvidence(power_on_hours=100, first_seen=date(2025, 3, 3)),
        date(2025, 3, 3),
        "first_seen",
        "low",
        ("first seen",),
    ),
    (
        "CPU alone",
        AgeEvidence(cpu=SKYLAKE),
        date(2015, 1, 1),
        "cpu",
        "low",
        ("earliest possible",),
    ),
    (
        "no evidence but first seen",
        AgeEvidence(first_seen=date(2026, 9, 1)),
        date(2026, 9, 1),
        "first_seen",
        "low",
        ("no other evidence",),
    ),
]


@pytest.mark.parametrize(
    ("evidence", "since", "source", "confidence", "words"),
    [pytest.param(*row[1:], id=row[0]) for row in SCENARIOS],
)
def test_estimate(
    evidence: AgeEvidence, since: date, source: str, confidence: str, words: tuple[str, ...]
) -> None:
    result = age.estimate(evidence, NOW)
    assert result is not None
    assert (result.since, result.source, result.confidence) == (since, source, confidence)
    for word in words:
        assert word in result.reason
    assert result.years == round((NOW.date() - since).days / 365.25, 2)


@pytest.mark.parametrize(
    "evidence",
    [
        AgeEvidence(),
        AgeEvidence(bios_date=date(2015, 1, 1), virtual=True),
        AgeEvidence(first_seen=date(2027, 1, 1)),
        AgeEvidence(power_on_hours=0),
    ],
)
def test_no_evidence_no_estimate(evidence: AgeEvidence) -> None:
    assert age.estimate(evidence, NOW) is None


def test_estimate_is_a_plain_struct() -> None:
    result = age.estimate(AgeEvidence(purchase_date=date(2020, 11, 27)), NOW)
    assert result == AgeEstimate(
        since=date(2020, 11, 27),
        years=6.0,
        source="register",
        confidence="high",
        reason="asset register purchase date",
    )


@pytest.mark.parametrize(
    ("smbios", "hypervisor"),
    [
        (Smbios(manufacturer="QEMU", product="Standard PC (i440FX + PIIX, 1996)"), "QEMU/KVM"),
        (Smbios(manufacturer="Red Hat", product="KVM"), "QEMU/KVM"),
        (Smbios(bios_vendor="SeaBIOS", product="Standard PC (Q35 + ICH9, 2009)"), "QEMU/KVM"),
        (Smbios(manufacturer="OpenStack Foundation", product="OpenStack Nova"), "QEMU/KVM"),
        (Smbios(manufacturer="innotek GmbH", product="VirtualBox"), "VirtualBox"),
        (Smbios(manufacturer="Oracle Corporation", product="VirtualBox"), "VirtualBox"),
        (Smbios(manufacturer="VMware, Inc.", product="VMware Virtual Platform"), "VMware"),
        (Smbios(product="VMware7,1"), "VMware"),
        (Smbios(manufacturer="Microsoft Corporation", product="Virtual Machine"), "Hyper-V"),
        (Smbios(manufacturer="Xen", product="HVM domU"), "Xen"),
        (Smbios(product="HVM domU"), "Xen"),
        (Smbios(manufacturer="Parallels Software International Inc."), "Parallels"),
        (Smbios(product="Parallels Virtual Platform"), "Parallels"),
        (Smbios(manufacturer="Bochs", product="Bochs"), "Bochs"),
        (Smbios(bios_vendor="Bochs"), "Bochs"),
        (Smbios(manufacturer="Amazon EC2", product="t3.micro"), "Amazon EC2"),
        (Smbios(bios_vendor="Xen", bios_version="4.11.amazon"), "Amazon EC2"),
        (Smbios(manufacturer="Google", product="Google Compute Engine"), "Google Compute Engine"),
        # Hardware, including Microsoft's own and a SeaBIOS-booted Chromebox.
        (Smbios(manufacturer="Dell Inc.", product="OptiPlex 3010"), ""),
        (Smbios(manufacturer="Microsoft Corporation", product="Surface Laptop 4"), ""),
        (Smbios(bios_vendor="SeaBIOS", product="Panther"), ""),
        (Smbios(), ""),
    ],
)
def test_detect_virtual(smbios: Smbios, hypervisor: str) -> None:
    assert virtual.detect_virtual(smbios) == hypervisor


def test_every_virtual_signature_is_exercised() -> None:
    assert {name for name, _ in virtual.VIRTUAL_SIGNATURES} == {
        "QEMU/KVM",
        "VirtualBox",
        "VMware",
        "Hyper-V",
        "Xen",
        "Parallels",
        "Bochs",
        "Amazon EC2",
        "Google Compute Engine",
    }
