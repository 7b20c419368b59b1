"""The table's own dating evidence in the age estimate (issue 14): the product line, the memory
type, the SMBIOS version, the processor family and a white box's chipset set floors and ceilings
that keep an old machine from being judged young by an updated BIOS, the range is reported, and
every piece of evidence gets a verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.factories import machine_facts
from wardwatch.rules import age, age_clues
from wardwatch.rules.age import AgeEvidence, Bound
from wardwatch.rules.cpu_launch import CpuLaunch

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPTIPLEX_980 = Bound(kind="model", earliest=2010, latest=2011, text="Dell OptiPlex 980 (2010)")
DDR3 = Bound(kind="memory", earliest=2007, latest=2017, text="DDR3 memory (2007 to 2017)")
DDR4 = Bound(kind="memory", earliest=2015, latest=None, text="DDR4 memory (2015 on)")


def _estimate(evidence: AgeEvidence) -> age.AgeEstimate:
    found = age.estimate(evidence, NOW)
    assert found is not None
    return found


def test_an_updated_bios_and_an_unknown_cpu_no_longer_make_an_old_pc_young() -> None:
    """The OptiPlex 980 of 2010 with a 2018 BIOS was "2018"; its product line caps it, and the
    middle of the years it allows is taken (2010-2011: 2010)."""
    found = _estimate(AgeEvidence(bios_date=date(2018, 3, 1), bounds=[OPTIPLEX_980, DDR3]))
    assert (found.since, found.source, found.confidence) == (date(2010, 1, 1), "model", "low")
    assert (found.earliest, found.latest) == (2010, 2011)
    assert "Dell OptiPlex 980 (2010)" in found.reason and "made in 2010-2011" in found.reason


def test_the_middle_of_the_allowed_years_is_taken_not_the_last() -> None:
    """DDR3 alone allows 2007-2017; an SMBIOS 2.7 table (2010) narrows it to 2010-2017."""
    smbios = Bound(kind="smbios", earliest=2010, latest=None, text="SMBIOS 2.7 (2010)")
    found = _estimate(AgeEvidence(bios_date=date(2024, 3, 1), bounds=[DDR3, smbios]))
    assert (found.since.year, found.source) == (2013, "memory")
    assert "made in 2010-2017, so 2013" in found.reason


def test_a_floor_keeps_a_machine_from_being_older_than_its_parts() -> None:
    found = _estimate(AgeEvidence(os_installed=date(2009, 5, 1), bounds=[DDR4]))
    assert (found.since, found.source) == (date(2015, 1, 1), "memory")
    assert (found.earliest, found.latest) == (2015, None)


def test_an_estimate_inside_the_range_is_left_alone() -> None:
    cpu = CpuLaunch(family="Core i5 1st gen", year=2010, year_to=2010)
    found = _estimate(AgeEvidence(bios_date=date(2010, 8, 1), cpu=cpu, bounds=[OPTIPLEX_980]))
    assert (found.since, found.source, found.confidence) == (date(2010, 8, 1), "bios", "high")


def test_conflicting_evidence_lowers_the_confidence_and_says_so() -> None:
    cpu = CpuLaunch(family="Core i5 8th gen", year=2018, year_to=2018)
    found = _estimate(AgeEvidence(bios_date=date(2018, 6, 1), cpu=cpu, bounds=[OPTIPLEX_980]))
    assert found.since == date(2018, 6, 1) and found.confidence == "medium"
    assert "conflicting evidence" in found.reason


def test_the_register_is_never_moved() -> None:
    found = _estimate(AgeEvidence(purchase_date=date(2019, 1, 1), bounds=[OPTIPLEX_980]))
    assert (found.since, found.source, found.confidence) == (date(2019, 1, 1), "register", "high")


def test_every_piece_of_evidence_has_a_verdict() -> None:
    evidence = AgeEvidence(
        bios_date=date(2018, 3, 1),
        os_installed=date(2012, 2, 1),
        bounds=[OPTIPLEX_980, DDR4],
    )
    found = _estimate(evidence)
    verdicts = {clue.kind: clue.verdict for clue in age_clues.clues(evidence, found, NOW)}
    # DDR4 (2015 on) cannot be in a 2010 OptiPlex: the floor and the ceiling conflict, the
    # estimate stays with the rules (the OS install, older than the BIOS), and says so.
    assert found.source == "os_install" and "conflicting evidence" in found.reason
    assert verdicts == {
        "bios": "agrees",
        "os_install": "taken",
        "model": "contradicts",
        "memory": "contradicts",
    }
    virtual = AgeEvidence(bios_date=date(2014, 4, 1), virtual=True, first_seen=date(2020, 1, 1))
    shown = age_clues.clues(virtual, _estimate(virtual), NOW)
    assert [(c.kind, c.verdict) for c in shown] == [("bios", "ignored"), ("first_seen", "taken")]


def test_a_white_box_with_an_unknown_cpu_is_dated_by_its_board_and_processor_family() -> None:
    """From the facts as the agent sends them: a Gigabyte G41 board's Core 2 whose name the
    firmware left blank, BIOS updated in 2016; an ASUS H81 board, BIOS of 2019, CPU blank."""
    core2 = machine_facts(
        manufacturer="Gigabyte Technology Co., Ltd.",
        model="",
        board="GA-G41MT-S2PT",
        cpu="",
        cpu_family="Core 2 Duo",
        bios_date=date(2016, 5, 1),
        os_installed=None,
        disks=[],
    )
    found = _estimate(age.evidence_of(core2))
    # G41 boards 2008-2012, Core 2 to 2011: made 2008-2011, the middle taken.
    assert (found.since.year, found.earliest, found.latest) == (2009, 2008, 2011)
    assert "Core 2" in found.reason
    h81 = machine_facts(
        manufacturer="ASUSTeK COMPUTER INC.",
        model="All Series",
        board="H81M-K",
        cpu="",
        chassis="Mini PC",
        bios_date=date(2019, 9, 1),
        os_installed=None,
        disks=[],
    )
    found = _estimate(age.evidence_of(h81))
    # A Mini PC chassis type exists since SMBIOS 3.0 (2015): a floor below the board's ceiling.
    assert (found.since.year, found.source) == (2015, "board")
    assert (found.earliest, found.latest) == (2015, 2016)
