"""The age decision measured the way issue 14 measures it on real machines: an estimate is right
when its year lies in [launch - 1, launch + 3], and the worst error is an old machine judged
younger than that (it is never replaced). Two corpora, both from public specifications, never
from published DMI reports:

- ``tests.support.model_corpus``: 275 office models, no CPU known (the hardest case, where the
  BIOS date decided alone before), each read as bought (BIOS of its launch year), with a BIOS
  updated six years later (capped at the last year), and the same with the memory type of its
  years. Measured (2026-11-29), 825 readings: within the window 100 % (40.8 % before issue
  14's bounds), younger 0 % (59.2 %), mean absolute error 0.10 years (3.57); the 542 with an
  updated BIOS 100 % (10.0 %), 0 % (90.0 %), 0.16 years (5.44).
- ``tests.support.machine_corpus``: 232 whole PCs (102 branded desktops, 12 all-in-ones, 63
  laptops, 55 white boxes) with the CPU, memory and mainboard their specifications list, each
  read as bought, with the BIOS updated six years later, the same with the CPU's name blank
  (old firmware writes "Not Specified"), and with neither CPU nor memory type. Measured,
  928 readings: within 98.3 %, younger 1.6 %, mean absolute error 0.30 years; a plain
  BIOS-date inventory (GLPI, a Zabbix or Telegraf DMI item) 31.8 %, 68.2 %, 4.11. With the
  BIOS updated and the CPU known: 100 %, 0 %, 0.20 (9.1 %, 90.9 %, 5.48). Every CPU of the
  corpus gets a launch year. What is still missed: white boxes with no CPU name whose board
  names no chipset (Intel D525MW, ASUS M2A-VM, ASRock Q1900M) or whose chipset is still sold
  (A520, B550): the BIOS date is all there is.

The figures rest on tables the same specifications filled, so they measure the decision, not
the tables' truth: the held-out measurement is the issue's own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.factories import machine_facts
from tests.support.machine_corpus import MACHINES, Machine
from tests.support.model_corpus import CORPUS
from wardwatch.rules import age, cpu_launch

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _memory(year: int) -> str:
    """The memory type an office PC of ``year`` most likely has."""
    return "DDR2" if year < 2009 else "DDR3" if year <= 2015 else "DDR4" if year <= 2021 else "DDR5"


def _readings() -> list[tuple[int, bool, int | None]]:
    """For each model and reading: launch year, whether the BIOS was updated, estimated year."""
    found = []
    for manufacturer, product, version, launch in CORPUS:
        updated = date(min(launch + 6, NOW.year - 1), 3, 1)
        for bios, memory in (
            (date(launch, 6, 15), ""),
            (updated, ""),
            (updated, _memory(launch)),
        ):
            facts = machine_facts(
                manufacturer=manufacturer,
                model=product,
                model_line=version,
                cpu="",
                bios_date=bios,
                memory_type=memory,
                os_installed=None,
                disks=[],
            )
            estimate = age.estimate(age.evidence_of(facts), NOW)
            found.append((launch, bios.year > launch, estimate.since.year if estimate else None))
    return found


def _figures(readings: list[tuple[int, bool, int | None]]) -> tuple[float, float, float]:
    """Within the window, younger than it (percent), and the mean absolute error (years)."""
    within = sum(1 for launch, _, year in readings if year and launch - 1 <= year <= launch + 3)
    younger = sum(1 for launch, _, year in readings if year and year > launch + 3)
    errors = [abs(year - launch) for launch, _, year in readings if year]
    n = len(readings)
    return 100 * within / n, 100 * younger / n, sum(errors) / len(errors)


def test_no_old_machine_is_judged_young_on_the_model_corpus() -> None:
    readings = _readings()
    within, younger, mae = _figures(readings)
    assert len(readings) == 3 * len(CORPUS)
    assert (within, younger) == (100.0, 0.0) and mae <= 0.15, (within, younger, mae)
    updated = [r for r in readings if r[1]]
    assert len(updated) == 542 and _figures(updated)[:2] == (100.0, 0.0)


def _machine(machine: Machine, bios: date, cpu: str, memory: str) -> int | None:
    facts = machine_facts(
        manufacturer=machine.manufacturer,
        model=machine.product,
        model_line=machine.version,
        board=machine.board,
        cpu=cpu,
        bios_date=bios,
        memory_type=memory,
        os_installed=None,
        disks=[],
    )
    estimate = age.estimate(age.evidence_of(facts), NOW)
    return estimate.since.year if estimate else None


def test_whole_machines_are_dated_better_than_by_their_bios_date() -> None:
    readings: dict[str, list[tuple[int, bool, int | None]]] = {}
    plain: list[tuple[int, bool, int | None]] = []
    for m in MACHINES:
        updated = date(min(m.launch + 6, NOW.year - 1), 3, 1)
        for name, bios, cpu, memory in (
            ("bought", date(m.launch, 6, 15), m.cpu, m.memory),
            ("updated", updated, m.cpu, m.memory),
            ("no cpu name", updated, "", m.memory),
            ("no cpu, no memory type", updated, "", ""),
        ):
            found = _machine(m, bios, cpu, memory)
            readings.setdefault(name, []).append((m.launch, bios.year > m.launch, found))
            plain.append((m.launch, bios.year > m.launch, bios.year))
    every = [r for found in readings.values() for r in found]
    within, younger, mae = _figures(every)
    assert len(every) == 4 * len(MACHINES) == 928
    assert within >= 98 and younger <= 2 and mae <= 0.35, (within, younger, mae)
    assert _figures(readings["updated"])[:2] == (100.0, 0.0)
    assert _figures(plain)[0] < 35, "the baseline no longer fails as issue 14 measured it"
    assert all(cpu_launch.launch(m.cpu) for m in MACHINES)
