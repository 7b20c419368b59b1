"""CPU launch years (wardwatch.rules.cpu_launch): the table against a corpus of model strings as
SMBIOS and Windows write them (tests/support/cpu_corpus.py), the table's own consistency, and
any text at all.

Coverage of the corpus: 889 strings, 859 of them real Intel and AMD CPUs (628 Intel, 231 AMD),
30 virtual, placeholder or out of scope. All 859 are dated (100 %), their launch year within the
answer; 834 (97.1 %) to the model's own year (``year == year_to``), the other 25 to the range of
a series whose model the sources do not date more closely. By group, exact / dated:

| group                          | strings | exact year        |
|--------------------------------|---------|-------------------|
| Intel Core 2 / Core Duo        | 56      | 52 (92.9 %)       |
| Intel Core i 1st-14th gen      | 291     | 291 (100 %)       |
| Intel Core Ultra / Core m / N  | 21      | 21 (100 %)        |
| Intel Pentium                  | 72      | 70 (97.2 %)       |
| Intel Celeron                  | 78      | 77 (98.7 %)       |
| Intel Atom                     | 24      | 24 (100 %)        |
| Intel Xeon                     | 86      | 81 (94.2 %)       |
| AMD Athlon / Sempron / Turion  | 64      | 53 (82.8 %)       |
| AMD Phenom / FX                | 23      | 22 (95.7 %)       |
| AMD A-series / E-series        | 65      | 64 (98.5 %)       |
| AMD Ryzen                      | 79      | 79 (100 %)        |

Intel 616 of 628 exact (98.1 %), AMD 218 of 231 (94.4 %). ``test_coverage`` recomputes these
figures and fails if they drop.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.cpu_corpus import CORPUS, Cpu
from wardwatch.rules import cpu_launch
from wardwatch.rules.cpu_launch import CpuLaunch

pytestmark = pytest.mark.unit

DATED = [cpu for cpu in CORPUS if cpu.year is not None]
LATEST_YEAR = 2025
"""The latest launch year the table holds; no row may give a later one."""


def _answers(cpu: Cpu) -> bool:
    """Whether the table's answer for ``cpu`` is what the corpus expects."""
    found = cpu_launch.launch(cpu.model)
    if cpu.year is None:
        return found is None
    return found is not None and found.year <= cpu.year <= found.year_to


def test_the_corpus_is_large_and_spread_over_the_families() -> None:
    groups = Counter(cpu.group for cpu in DATED)
    assert len(DATED) >= 400
    assert len(groups) >= 10 and min(groups.values()) >= 20, groups
    assert len({cpu.model for cpu in CORPUS}) == len(CORPUS), "a string is listed twice"
    assert sum(cpu.year is None for cpu in CORPUS) >= 20


def test_every_corpus_string_gives_its_launch_year() -> None:
    wrong = [(c.model, c.year, cpu_launch.launch(c.model)) for c in CORPUS if not _answers(c)]
    assert not wrong, "\n".join(map(repr, wrong))


def test_coverage() -> None:
    # The figures of the module docstring: every dated string is dated, and most to the year.
    exact: dict[str, list[bool]] = defaultdict(list)
    for cpu in DATED:
        found = cpu_launch.launch(cpu.model)
        assert found is not None, cpu
        exact[cpu.group].append(found.year == found.year_to == cpu.year)
    figures = {group: (sum(hits), len(hits)) for group, hits in exact.items()}
    for group, (hits, total) in figures.items():
        print(f"{group:32} {hits:4} of {total:4} to the year ({100 * hits / total:.1f} %)")
    hits = sum(hit for hit, _ in figures.values())
    assert hits / len(DATED) >= 0.97, figures
    assert all(hit / total >= 0.8 for hit, total in figures.values()), figures


def _row_matched(model: str, rows: list[cpu_launch.Series]) -> int | None:
    """The index of the row that answers for ``model``: the first whose pattern the canonical
    string holds."""
    text = cpu_launch.canonical(model)
    return next((i for i, row in enumerate(rows) if re.search(row.match, text)), None)


def test_every_row_of_the_table_is_exercised_by_the_corpus() -> None:
    rows = [s for section in cpu_launch.load_table().section for s in section.series]
    used = {_row_matched(cpu.model, rows) for cpu in DATED}
    assert [row.family for i, row in enumerate(rows) if i not in used] == []


def test_the_table_is_consistent() -> None:
    table = cpu_launch.load_table()
    assert [section.name for section in table.section]
    for section in table.section:
        assert re.search(r"Intel ARK|AMD product|Wikipedia", section.source), section.name
        for series in section.series:
            first, last = series.years
            assert cpu_launch.EARLIEST_YEAR <= first <= last <= LATEST_YEAR, series.family
            pattern = re.compile(series.match)
            listed = [m for models in series.models.values() for m in models.split()]
            assert not listed or "m" in pattern.groupindex, series.family
            keys = [cpu_launch.model_key(m) for m in listed]
            assert len(keys) == len(set(keys)), f"{series.family}: a model listed twice"
            for year in series.models:
                assert first <= int(year) <= last, (series.family, year)
            if "{b}" in series.family or "{B}" in series.family:
                assert "b" in pattern.groupindex, series.family


# The examples: the model's own year, not its generation's first.
OWN_YEAR: list[tuple[str, str, int]] = [
    ("Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz", "Core i7 6th gen (Skylake)", 2015),
    ("Intel(R) Pentium(R) CPU G4560 @ 3.50GHz", "Pentium G4000/4400 (Skylake/Kaby Lake)", 2017),
    ("Intel(R) Pentium(R) CPU G4400 @ 3.30GHz", "Pentium G4000/4400 (Skylake/Kaby Lake)", 2015),
    ("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", "Core i5 8th gen (Coffee Lake)", 2018),
    ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", "Core i5 8th gen (Coffee Lake)", 2017),
    ("Intel(R) Core(TM) i3-10105 CPU @ 3.70GHz", "Core i3 10th gen (Comet Lake)", 2021),
    ("AMD Ryzen 5 3400G with Radeon Vega Graphics", "Ryzen 5 3000 (Matisse/Picasso)", 2019),
    (
        "AMD Ryzen 5 5600G with Radeon Graphics",
        "Ryzen 5 5000 (Vermeer/Cezanne/Lucienne/Barcelo)",
        2021,
    ),
    ("Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz", "Core 2 Duo E7000/E8000 (Wolfdale)", 2008),
    ("AMD A8-4500M APU with Radeon(tm) HD Graphics", "AMD A8-4000 (Trinity mobile)", 2012),
]


@pytest.mark.parametrize(("model", "family", "year"), OWN_YEAR)
def test_a_listed_model_gives_its_own_year(model: str, family: str, year: int) -> None:
    assert cpu_launch.launch(model) == CpuLaunch(family=family, year=year, year_to=year)


def test_an_unlisted_model_gives_its_series_range() -> None:
    # A Core 2 Duo T5870 is not in the table's list: the Merom range, first year first.
    found = cpu_launch.launch("Intel(R) Core(TM)2 Duo CPU     T5870  @ 2.00GHz")
    assert found == CpuLaunch(
        family="Core 2 Duo T5000/T7000/L7000/U7000 (Merom)", year=2006, year_to=2009
    )


# One processor, spelt as its own brand string, by an OEM's SMBIOS table, and by hand.
SAME_CPU: list[tuple[str, ...]] = [
    ("Intel(R) Core(TM) i7 CPU       L 640  @ 2.13GHz", "Intel Core i7-640LM", "core i7 l 640"),
    ("Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz", "Intel(R) Core(TM) i5-520M CPU"),
    ("Intel(R) Core(TM) i7 CPU       X 980  @ 3.33GHz", "Intel Core i7-980X"),
    ("Intel(R) Core(TM)2 Duo CPU     E8200  @ 2.66GHz", "Intel Core2 Duo E8200"),
    ("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", "Intel® Core™ i5‑8500 CPU @", "CORE I5 8500"),
    ("AMD FX(tm)-8350 Eight-Core Processor", "AMD FX-8350"),
    ("AMD A10 PRO-7800B R7, 12 Compute Cores 4C+8G", "AMD PRO A10-7800B"),
]


@pytest.mark.parametrize("spellings", SAME_CPU)
def test_spellings_of_one_cpu_agree(spellings: tuple[str, ...]) -> None:
    answers = {cpu_launch.launch(spelling) for spelling in spellings}
    assert len(answers) == 1 and None not in answers, answers


def test_normalise_drops_trademarks_and_spaces() -> None:
    assert cpu_launch.normalise("Intel(R) Core(TM)  i5-3470 CPU") == "Intel Core i5-3470 CPU"
    assert cpu_launch.normalise("Intel® Core™ i5") == "Intel Core i5"


def test_canonical_drops_what_varies() -> None:
    canonical = cpu_launch.canonical
    assert canonical("Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz") == "intel core 2 duo e8400"
    assert canonical("Pentium(R) Dual-Core  CPU      E5200  @ 2.50GHz") == "pentium dual-core e5200"
    assert canonical("AMD FX(tm)-8350 Eight-Core Processor") == "amd fx-8350 eight-core"
    assert canonical("Intel Core i7-640LM") == "intel core i7 l 640"


MARKS = ("", "", "(R)", "(TM)", "(tm)", "™", "®")
SPACES = (" ", "  ", "      ", "\t")


@st.composite
def _respelt(draw: st.DrawFn) -> tuple[str, str]:
    """A corpus string and the same string spelt otherwise: a trademark mark after any word,
    other runs of spaces, another case."""
    model = draw(st.sampled_from([cpu.model for cpu in DATED]))
    words = [word + draw(st.sampled_from(MARKS)) for word in model.split()]
    text = words[0] + "".join(draw(st.sampled_from(SPACES)) + word for word in words[1:])
    case = draw(st.sampled_from(("same", "upper", "lower")))
    text = text.upper() if case == "upper" else text.lower() if case == "lower" else text
    padding = draw(st.sampled_from(("", " ", "  ")))
    return model, padding + text + padding


@settings(max_examples=400, deadline=None)
@given(_respelt())
def test_other_spellings_give_the_same_answer(pair: tuple[str, str]) -> None:
    model, respelt = pair
    assert cpu_launch.launch(respelt) == cpu_launch.launch(model)


WORDS = sorted({word for cpu in CORPUS for word in cpu.model.split()})


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
        st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=8).map("".join),
    )
)
def test_any_text_gives_none_or_a_plausible_year(text: str) -> None:
    found = cpu_launch.launch(text)
    if found is not None:
        assert cpu_launch.EARLIEST_YEAR <= found.year <= found.year_to <= date.today().year
        assert found.family and "{" not in found.family
