"""How old is this machine? An estimate from every piece of evidence, with its source and why.

Follows docs/design.md ("Hardware age and lifecycle"); docs/facts.md has the sources. Evidence,
best first: the asset register › the SMBIOS BIOS release date › disk power-on hours › CPU
generation › first seen. What each says about ``since`` (when the machine entered service):

- register: the purchase date, as the city recorded it;
- BIOS date: the machine existed then, but a BIOS update moves the date forward, so it is an
  upper bound on the original date;
- disk hours: the disk has been powered on that long, so ``since <= now - hours`` (a lower
  bound on age; an office PC is on far fewer hours than the calendar has);
- CPU launch year: the machine cannot predate its processor (a lower bound on ``since``),
  and no update moves it;
- OS install date and first seen: the machine existed when its OS was installed and when the
  agent first ran on it (upper bounds on ``since``; a reinstall or a feature update moves the
  install date forward, so the older of the two is taken).

Rules, in order (``GAP`` = ``BIOS_UPDATE_GAP_YEARS``, how long after a CPU series' last launch
a new machine could still ship with it):

1. Register purchase date (not in the future): **high**; **medium** if the CPU launched in a
   later year than the purchase (one of the two is wrong, the register is still preferred).
2. BIOS date, ignored when the machine is virtual (a VM's BIOS says nothing about the
   hardware), in the future, or more than a year before the CPU's launch (implausible).
   a. If the CPU's series was last launched more than GAP years before the BIOS date, the BIOS
      was likely updated: take the older bound, the CPU launch year — **medium**.
   b. Otherwise the BIOS date — **high** when the CPU corroborates it (launched at most GAP
      years before), **medium** when the CPU is unknown.
   c. Disk hours, OS install or first seen older than the BIOS date prove the machine older
      than its BIOS (updated): the oldest of them is taken — **medium**.
3. Disk hours (0 < hours <= ``MAX_PLAUSIBLE_HOURS``): ``now - hours`` — **medium** when the CPU
   corroborates it (launched at most GAP years before), **low** when the CPU is unknown. If the
   CPU launched more than GAP years before, the disk proves little (replaced, or rarely on):
   the CPU launch year is taken — **low**. OS install or first seen, if older, is taken —
   **low**.
4. CPU launch year alone (its first day): **low**.
5. OS install or first seen alone: **low**.

Then the table's own dating evidence (``hardware_dates``: the product line's generation, the
memory type, the SMBIOS version, the chassis type; ``platform_dates``: the processor socket and
family, a white box's chipset) bounds the answer of rules 2 to 5: a year after its earliest
ceiling (the BIOS was updated) becomes the middle of the years the table allows, a year before
its latest floor that floor (one step less confident, and the reason says which evidence moved
it). So an updated BIOS with an unknown CPU cannot make an old machine young. Floors after
ceilings (the CPU's launch included) are conflicting evidence: nothing moves, the confidence
drops a step, the reason says so. The estimate reports the range (``earliest``,
``latest``); ``age_clues`` gives each piece of evidence its verdict.

With no evidence at all there is no estimate (None).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Dict, Final, List, Literal, Optional, Tuple

import msgspec
from msgspec import Struct

from wardwatch.contract.wire import MachineFacts
from wardwatch.rules import cpu_launch, hardware_dates, platform_dates
from wardwatch.rules.cpu_launch import CpuLaunch

Confidence = Literal["high", "medium", "low"]
Source = Literal[
    "register",
    "bios",
    "disk",
    "cpu",
    "os_install",
    "first_seen",
    "model",
    "memory",
    "smbios",
    "board",
    "chassis",
]

BIOS_UPDATE_GAP_YEARS: Final = 2
"""Machines ship with a CPU series for about two years after its last model's launch; a BIOS
dated later than that was most likely updated after purchase."""

MAX_PLAUSIBLE_HOURS: Final = 30 * 8766
"""Thirty years always on; more is a corrupt SMART attribute, not a disk."""

_DAYS_PER_YEAR: Final = 365.25


class Bound(Struct, frozen=True, kw_only=True):
    """What the table itself says of when the machine was made: in or after ``earliest``, and
    in or before ``latest`` when it says (``wardwatch.rules.hardware_dates``)."""

    kind: Source
    earliest: int
    latest: Optional[int] = None
    text: str


class AgeEvidence(Struct, frozen=True, kw_only=True):
    """Everything known about a machine's age; every item optional."""

    purchase_date: Optional[date] = None
    """From the city's asset register (the collector matches it by serial or hostname)."""
    bios_date: Optional[date] = None
    """``Smbios.bios_date``."""
    virtual: bool = False
    """A VM: its BIOS date is the hypervisor's, not the hardware's."""
    power_on_hours: Optional[int] = None
    """The largest power-on hours of the machine's disks (the oldest disk)."""
    cpu: Optional[CpuLaunch] = None
    os_installed: Optional[date] = None
    """When the OS was installed."""
    first_seen: Optional[date] = None
    """When wardwatch first saw the machine."""
    bounds: List[Bound] = msgspec.field(default_factory=list)
    """What the table says of when the machine was made: its product line's generation, its
    memory type, its SMBIOS version, its processor platform, its chassis type."""


class AgeEstimate(Struct, frozen=True, kw_only=True):
    """When the machine entered service, how many years ago, from what, and how sure."""

    since: date
    years: float
    source: Source
    confidence: Confidence
    reason: str
    earliest: Optional[int] = None
    """The earliest year the machine can have been made in, by every floor the evidence sets
    (the CPU's launch, and each of the table's ``bounds``)."""
    latest: Optional[int] = None
    """The latest, by every ceiling the table's ``bounds`` set."""


def evidence_of(machine: MachineFacts, purchase_date: date | None = None) -> AgeEvidence:
    """The evidence a machine's facts hold (the agent's CLI and the collector both ask here);
    ``purchase_date`` comes from the asset register, which only the collector reads."""
    hours = [disk.power_on_hours for disk in machine.disks if disk.power_on_hours]
    return AgeEvidence(
        purchase_date=purchase_date,
        bios_date=machine.bios_date,
        virtual=bool(machine.hypervisor),
        # The oldest disk is the best lower bound: a replaced disk is younger than the PC.
        power_on_hours=max(hours) if hours else None,
        cpu=cpu_launch.launch(machine.cpu) if machine.cpu else None,
        os_installed=machine.os_installed,
        first_seen=machine.first_seen,
        bounds=[] if machine.hypervisor else _bounds(machine),
    )


def _bounds(machine: MachineFacts) -> List[Bound]:
    """What the table says of when the hardware was made (a VM's table says nothing of it)."""
    said: list[tuple[Source, hardware_dates.DateRange | None]] = [
        (
            "model",
            hardware_dates.product_line(machine.manufacturer, machine.model, machine.model_line),
        ),
        ("memory", hardware_dates.memory_type(machine.memory_type)),
        ("cpu", platform_dates.processor_socket(machine.cpu_socket)),
        ("cpu", platform_dates.processor_family(machine.cpu_family)),
        ("board", platform_dates.board_chipset(machine.manufacturer, machine.board)),
        ("chassis", hardware_dates.chassis_type(machine.chassis)),
    ]
    version = re.match(r"(\d+)\.(\d+)", machine.smbios_version)
    if version:
        said.append(("smbios", hardware_dates.smbios_version(int(version[1]), int(version[2]))))
    return [
        Bound(kind=kind, earliest=found.earliest, latest=found.latest, text=found.reason)
        for kind, found in said
        if found is not None
    ]


def _launch(cpu: CpuLaunch) -> date:
    return date(cpu.year, 1, 1)


def cpu_text(cpu: CpuLaunch) -> str:
    """How an estimate's reason names the CPU and its launch years."""
    years = str(cpu.year) if cpu.year == cpu.year_to else f"{cpu.year}-{cpu.year_to}"
    return f"CPU {cpu.family} launched {years}"


def _bios_trusted(evidence: AgeEvidence, today: date, notes: list[str]) -> date | None:
    """The BIOS date if it can say anything about the hardware; why not in ``notes``."""
    bios, cpu = evidence.bios_date, evidence.cpu
    if bios is None:
        return None
    if evidence.virtual:
        notes.append(f"BIOS date {bios} ignored: a virtual machine's BIOS is the hypervisor's")
        return None
    if bios > today:
        notes.append(f"BIOS date {bios} ignored: in the future")
        return None
    if cpu is not None and bios.year < cpu.year - 1:
        notes.append(f"BIOS date {bios} ignored: implausibly before the {cpu_text(cpu)}")
        return None
    return bios


def _disk_bound(evidence: AgeEvidence, now: datetime, notes: list[str]) -> date | None:
    """``now - hours`` if the hours are plausible; why not in ``notes``."""
    hours = evidence.power_on_hours
    if hours is None:
        return None
    if not 0 < hours <= MAX_PLAUSIBLE_HOURS:
        notes.append(f"disk power-on hours {hours} ignored: implausible")
        return None
    return (now - timedelta(hours=hours)).date()


# Aliases are built at import: typing's spelling, which 3.8 can build (wardwatch.common.compat).
Found = Tuple[date, Source, Confidence, str]
"""What one rule concluded: since, source, confidence, and why."""
Dated = Tuple[date, Source, str]
"""A date a piece of evidence gives, its source, and how to say it."""


def estimate(evidence: AgeEvidence, now: datetime) -> AgeEstimate | None:
    """Estimate the machine's age by the rules of the module docstring; None without evidence.

    Each rule is a function; the first that applies decides. ``notes`` gathers why a piece of
    evidence was ignored, in the order the rules looked at it, and ends the reason.
    """
    today = now.date()
    notes: list[str] = []
    found = _by_register(evidence, today, notes)
    if found is None:
        bios = _bios_trusted(evidence, today, notes)
        disk = _disk_bound(evidence, now, notes)
        existed = _existed_by(evidence, today)
        found = (
            _by_bios(evidence, bios, disk, existed)
            or _by_disk(evidence, disk, existed)
            or _by_cpu_or_existence(evidence, existed)
        )
    if found is None:
        return None
    earliest, latest = _floor(evidence), _ceiling(evidence)
    if found[1] != "register":
        # The CPU is weighed by the rules already (a BIOS a little before its launch is
        # trusted): only the table's own bounds move their answer.
        found = _within_the_table(found, earliest, _floor(evidence, with_cpu=False), latest)
    since, source, confidence, why = found
    years = max(0.0, round((today - since).days / _DAYS_PER_YEAR, 2))
    reason = "; ".join([why, *notes])
    return AgeEstimate(
        since=since,
        years=years,
        source=source,
        confidence=confidence,
        reason=reason,
        earliest=earliest[0] if earliest else None,
        latest=latest.latest if latest else None,
    )


Limit = Tuple[int, Source, str]
"""A year the table sets as a floor or a ceiling, its source, and how to say it."""


def _floor(evidence: AgeEvidence, with_cpu: bool = True) -> Limit | None:
    """The latest of the floors: the machine was made in that year or after."""
    floors: list[Limit] = [(b.earliest, b.kind, b.text) for b in evidence.bounds]
    if with_cpu and evidence.cpu is not None:
        floors.append((evidence.cpu.year, "cpu", cpu_text(evidence.cpu)))
    return max(floors, default=None, key=lambda f: f[0])


def _ceiling(evidence: AgeEvidence) -> Bound | None:
    """The bound with the earliest ceiling: the machine was made in its ``latest`` or before."""
    ceilings = [b for b in evidence.bounds if b.latest is not None]
    return min(ceilings, default=None, key=lambda b: b.latest or 0)


_LOWER: Final[Dict[Confidence, Confidence]] = {"high": "medium", "medium": "low", "low": "low"}


def _within_the_table(
    found: Found, earliest: Limit | None, floor: Limit | None, ceiling: Bound | None
) -> Found:
    """The rules' answer, moved into the years the table allows (``floor``: the table's own,
    without the CPU): a late BIOS date (updated) with an unknown CPU must not make an old
    machine young. Conflicting limits (``earliest``, the CPU's included, after the ceiling)
    move nothing and lower the confidence, saying so."""
    since, source, confidence, why = found
    latest = ceiling.latest if ceiling else None
    if ceiling and latest and earliest and earliest[0] > latest:
        conflict = f"conflicting evidence: {earliest[2]}, yet {ceiling.text}"
        return since, source, _LOWER[confidence], f"{why}; {conflict}"
    if ceiling and latest and since.year > latest:
        # Made in the years the table allows, the BIOS updated since: their middle, not the
        # last, which judges young a machine bought in its line's first years (measured on the
        # 928 readings of tests/support/machines.tsv: mean error 0.30 y against 0.77, judged
        # younger than its window 1.6 % against 2.4 %).
        start = max(ceiling.earliest, floor[0] if floor else ceiling.earliest)
        year = (start + latest) // 2
        span = str(latest) if start == latest else f"{start}-{latest}"
        moved = f"but {ceiling.text}: made in {span}, so {year}, the middle of those years"
        return date(year, 1, 1), ceiling.kind, _LOWER[confidence], f"{why}; {moved}"
    if floor and since.year < floor[0]:
        moved = f"but {floor[2]}: made in {floor[0]} or after, so {floor[0]} is taken"
        return date(floor[0], 1, 1), floor[1], _LOWER[confidence], f"{why}; {moved}"
    return found


def _by_register(evidence: AgeEvidence, today: date, notes: list[str]) -> Found | None:
    """Rule 1: the register's purchase date, unless it is in the future."""
    purchase, cpu = evidence.purchase_date, evidence.cpu
    if purchase is not None and purchase > today:
        notes.append(f"register purchase date {purchase} ignored: in the future")
        return None
    if purchase is None:
        return None
    if cpu is not None and cpu.year > purchase.year:
        why = f"asset register purchase date, but the {cpu_text(cpu)}, after it"
        return purchase, "register", "medium", why
    return purchase, "register", "high", "asset register purchase date"


def _disk_text(evidence: AgeEvidence, disk: date | None) -> str:
    return f"disk powered on {evidence.power_on_hours} h, so in service by {disk}"


def _by_bios(
    evidence: AgeEvidence, bios: date | None, disk: date | None, existed: Dated | None
) -> Found | None:
    """Rule 2: the BIOS date, or an older bound when the BIOS was likely updated."""
    if bios is None:
        return None
    cpu = evidence.cpu
    if cpu is not None and bios.year > cpu.year_to + BIOS_UPDATE_GAP_YEARS:
        why = (
            f"BIOS date {bios} is long after the {cpu_text(cpu)}: the BIOS was likely "
            "updated, so the older bound, the CPU launch year, is taken"
        )
        return _launch(cpu), "cpu", "medium", why
    candidates: list[Dated] = [(disk, "disk", _disk_text(evidence, disk))] if disk else []
    candidates += [existed] if existed is not None else []
    older = min((c for c in candidates if c[0] < bios), default=None, key=lambda c: c[0])
    if older is not None:
        why = f"{older[2]}, before the BIOS date {bios}: the BIOS was likely updated"
        return older[0], older[1], "medium", why
    if cpu is not None:
        return bios, "bios", "high", f"BIOS release date, consistent with the {cpu_text(cpu)}"
    return bios, "bios", "medium", "BIOS release date (CPU launch year unknown)"


def _by_disk(evidence: AgeEvidence, disk: date | None, existed: Dated | None) -> Found | None:
    """Rule 3: disk hours, weighed against the CPU and what says the machine existed."""
    if disk is None:
        return None
    cpu, disk_text = evidence.cpu, _disk_text(evidence, disk)
    if existed is not None and existed[0] < disk:
        return existed[0], existed[1], "low", f"{existed[2]}, before the {disk_text}"
    if cpu is None:
        return disk, "disk", "low", f"{disk_text} (a lower bound on age)"
    if disk.year > cpu.year_to + BIOS_UPDATE_GAP_YEARS:
        why = (
            f"{cpu_text(cpu)}, long before the {disk_text}: the disk was likely replaced "
            "or rarely on, so the older bound, the CPU launch year, is taken"
        )
        return _launch(cpu), "cpu", "low", why
    return disk, "disk", "medium", f"{disk_text}, consistent with the {cpu_text(cpu)}"


def _by_cpu_or_existence(evidence: AgeEvidence, existed: Dated | None) -> Found | None:
    """Rules 4 and 5: the CPU launch year alone, else the OS install or first seen alone."""
    if evidence.cpu is not None:
        return (
            _launch(evidence.cpu),
            "cpu",
            "low",
            f"{cpu_text(evidence.cpu)} (the earliest possible)",
        )
    if existed is not None:
        return existed[0], existed[1], "low", f"no other evidence: {existed[2]}"
    return None


def _existed_by(evidence: AgeEvidence, today: date) -> Dated | None:
    """The older of the OS install date and first seen (ignoring future dates), with its
    source and how to say it."""
    found: list[Dated] = []
    if evidence.os_installed is not None and evidence.os_installed <= today:
        found.append((evidence.os_installed, "os_install", f"OS installed {evidence.os_installed}"))
    if evidence.first_seen is not None and evidence.first_seen <= today:
        found.append((evidence.first_seen, "first_seen", f"first seen {evidence.first_seen}"))
    return min(found, default=None, key=lambda f: f[0])
