"""CPU model string → launch year, from a small table of rules the project maintains.

The CPU is the weakest dated evidence of a machine's age (docs/design.md, "Hardware age
and lifecycle"): it says only that the machine cannot be older than its processor. It is still
useful, because a CPU's launch year is never moved by a BIOS update.

Source of the years: Intel ARK (ark.intel.com, "Launch Date" of each processor number) and
AMD's product pages, as summarised in docs/facts.md ("Evidence of a machine's age"). A row gives the
range of launch years of the whole series (the first and the last model of it), so
``year`` is the earliest a machine with such a CPU can date from. Update a row when a
series gains a model launched later; add a row for a series the wards turn out to use.

Strings are matched as the OSes print them ("Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz", "AMD
Ryzen 5 5600G with Radeon Graphics"). Virtual CPUs ("QEMU Virtual CPU version 2.5+", "Common
KVM processor") and anything no row covers give None: no guess is better than a wrong one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from msgspec import Struct


class CpuLaunch(Struct, frozen=True, kw_only=True):
    """When the CPU's series was launched: ``year`` is the earliest, ``year_to`` the latest."""

    family: str
    year: int
    year_to: int


class Rule(Struct, frozen=True, kw_only=True):
    """One row of the table: a series of processor numbers and its launch years."""

    family: str
    pattern: str
    """Regular expression searched (case-insensitively) in the normalised model string."""
    year: int
    year_to: int


def _core(generation: int) -> str:
    """Intel Core i3/i5/i7/i9 numbers of one generation, desktop and mobile.

    Generations 2-9 have a four-digit number starting with the generation digit (i5-3470S,
    i7-8550U). From the 10th on the number starts with the two generation digits, whether it
    has five digits (desktop i5-11400) or four (mobile i5-1135G7).
    """
    digits = r"\d{2,3}" if generation >= 10 else r"\d{3}"
    return rf"\bcore i[3579]-{generation}{digits}(?!\d)"


def _first_gen(brands: str, lead: str) -> str:
    """First-generation Core three-digit numbers of the ``brands`` (i3/i5/i7) starting ``lead``.

    Their brand strings may put "CPU" (and "M" or "Q" for mobile) before the number:
    "Core(TM) i5 CPU M 520", "Core(TM) i7 CPU 920"; later ones write "i3-530".
    """
    return rf"\bcore i[{brands}](?:-| cpu (?:[mqu] )?){lead}\d{{{3 - len(lead)}}}(?!\d)"


def _series(brand: str, letters: str, first: str, digits: int) -> str:
    """A brand's processor numbers: a letter from ``letters``, ``first`` and more digits."""
    return rf"\b{brand}\b.*\b[{letters}]{first}\d{{{digits}}}(?!\d)"


# Order matters only where series overlap: the first row that matches wins. A generation's
# mobile parts often launched months before its desktop ones (i5-7200U 2016, i5-10210U 2019,
# i5-1135G7 2020, i5-13600K October 2022), so those rows start a year earlier than the
# desktop summary: ``year`` must never be later than a real machine's purchase.
RULES: Final[tuple[Rule, ...]] = (
    # Intel Core, first generation (Nehalem/Westmere): three-digit numbers, desktop and
    # mobile (i3-530, i5-650, i7-870, i5-520M). The i7-9xx (Bloomfield) came first, in 2008.
    Rule(family="Intel Core i7-9xx", pattern=_first_gen("7", "9"), year=2008, year_to=2010),
    Rule(family="Intel Core 1st gen", pattern=_first_gen("357", ""), year=2009, year_to=2010),
    Rule(family="Intel Core 2nd gen", pattern=_core(2), year=2011, year_to=2011),
    Rule(family="Intel Core 3rd gen", pattern=_core(3), year=2012, year_to=2012),
    Rule(family="Intel Core 4th gen", pattern=_core(4), year=2013, year_to=2014),
    Rule(family="Intel Core 5th gen", pattern=_core(5), year=2015, year_to=2015),
    Rule(family="Intel Core 6th gen", pattern=_core(6), year=2015, year_to=2015),
    Rule(family="Intel Core 7th gen", pattern=_core(7), year=2016, year_to=2017),
    Rule(family="Intel Core 8th gen", pattern=_core(8), year=2017, year_to=2018),
    Rule(family="Intel Core 9th gen", pattern=_core(9), year=2018, year_to=2019),
    Rule(family="Intel Core 10th gen", pattern=_core(10), year=2019, year_to=2020),
    Rule(family="Intel Core 11th gen", pattern=_core(11), year=2020, year_to=2021),
    Rule(family="Intel Core 12th gen", pattern=_core(12), year=2021, year_to=2022),
    Rule(family="Intel Core 13th gen", pattern=_core(13), year=2022, year_to=2023),
    Rule(family="Intel Core 14th gen", pattern=_core(14), year=2023, year_to=2024),
    # Core Ultra: Series 1 (1xx, Meteor Lake, December 2023), Series 2 (2xx, 2024-25).
    Rule(
        family="Intel Core Ultra 1", pattern=r"\bcore ultra [3579] 1\d{2}", year=2023, year_to=2024
    ),
    Rule(
        family="Intel Core Ultra 2", pattern=r"\bcore ultra [3579] 2\d{2}", year=2024, year_to=2025
    ),
    # Pentium desktop G: three digits (G620, G860) Sandy Bridge, then four by generation.
    Rule(
        family="Intel Pentium G6xx/G8xx",
        pattern=_series("pentium", "g", "[68]", 2),
        year=2011,
        year_to=2012,
    ),
    Rule(
        family="Intel Pentium G2xxx",
        pattern=_series("pentium", "g", "2", 3),
        year=2012,
        year_to=2013,
    ),
    Rule(
        family="Intel Pentium G3xxx",
        pattern=_series("pentium", "g", "3", 3),
        year=2013,
        year_to=2015,
    ),
    Rule(
        family="Intel Pentium G4xxx",
        pattern=_series("pentium", "g", "4", 3),
        year=2015,
        year_to=2017,
    ),
    Rule(
        family="Intel Pentium G5xxx",
        pattern=_series("pentium", "g", "5", 3),
        year=2018,
        year_to=2019,
    ),
    Rule(
        family="Intel Pentium G6xxx",
        pattern=_series("pentium", "g", "6", 3),
        year=2020,
        year_to=2020,
    ),
    Rule(
        family="Intel Pentium G7xxx",
        pattern=_series("pentium", "g", "7", 3),
        year=2022,
        year_to=2022,
    ),
    # Celeron desktop G, and the low-power J/N series (approximate: each row spans a few
    # platforms, e.g. J4005 2017 … N4500 2021).
    Rule(
        family="Intel Celeron G4xx/G5xx",
        pattern=_series("celeron", "g", "[45]", 2),
        year=2011,
        year_to=2012,
    ),
    Rule(
        family="Intel Celeron G1xxx",
        pattern=_series("celeron", "g", "1", 3),
        year=2013,
        year_to=2015,
    ),
    Rule(
        family="Intel Celeron G3xxx",
        pattern=_series("celeron", "g", "3", 3),
        year=2015,
        year_to=2017,
    ),
    Rule(
        family="Intel Celeron G4xxx",
        pattern=_series("celeron", "g", "4", 3),
        year=2018,
        year_to=2019,
    ),
    Rule(
        family="Intel Celeron G5xxx",
        pattern=_series("celeron", "g", "5", 3),
        year=2020,
        year_to=2020,
    ),
    Rule(
        family="Intel Celeron G6xxx",
        pattern=_series("celeron", "g", "6", 3),
        year=2022,
        year_to=2022,
    ),
    Rule(
        family="Intel Celeron J1xxx/N2xxx",
        pattern=r"\bceleron\b.*\b(?:j1|n2)\d{3}(?!\d)",
        year=2013,
        year_to=2014,
    ),
    Rule(
        family="Intel Celeron J3xxx/N3xxx",
        pattern=_series("celeron", "jn", "3", 3),
        year=2015,
        year_to=2016,
    ),
    Rule(
        family="Intel Celeron J4xxx/N4xxx",
        pattern=_series("celeron", "jn", "4", 3),
        year=2017,
        year_to=2021,
    ),
    Rule(
        family="Intel Celeron N5xxx/J6xxx",
        pattern=r"\bceleron\b.*\b(?:n5|j6)\d{3}(?!\d)",
        year=2021,
        year_to=2021,
    ),
    # Intel Processor N (Alder Lake-N): N50, N95, N97, N100, N200, and Core i3-N300/N305.
    Rule(
        family="Intel N-series",
        pattern=r"\b(?:intel |i3-)n(?:50|95|97|100|200|300|305)\b",
        year=2023,
        year_to=2023,
    ),
    # AMD Ryzen by the first digit of the model number (desktop and mobile: 5600G, 5500U).
    Rule(
        family="AMD Ryzen 1000", pattern=r"\bryzen [3579] (?:pro )?1\d{3}", year=2017, year_to=2017
    ),
    Rule(
        family="AMD Ryzen 2000", pattern=r"\bryzen [3579] (?:pro )?2\d{3}", year=2017, year_to=2018
    ),
    Rule(
        family="AMD Ryzen 3000", pattern=r"\bryzen [3579] (?:pro )?3\d{3}", year=2019, year_to=2019
    ),
    Rule(
        family="AMD Ryzen 4000", pattern=r"\bryzen [3579] (?:pro )?4\d{3}", year=2020, year_to=2020
    ),
    Rule(
        family="AMD Ryzen 5000", pattern=r"\bryzen [3579] (?:pro )?5\d{3}", year=2020, year_to=2021
    ),
    Rule(
        family="AMD Ryzen 6000", pattern=r"\bryzen [3579] (?:pro )?6\d{3}", year=2022, year_to=2022
    ),
    Rule(
        family="AMD Ryzen 7000", pattern=r"\bryzen [3579] (?:pro )?7\d{3}", year=2022, year_to=2023
    ),
    Rule(
        family="AMD Ryzen 8000", pattern=r"\bryzen [3579] (?:pro )?8\d{3}", year=2023, year_to=2024
    ),
    Rule(
        family="AMD Ryzen 9000", pattern=r"\bryzen [3579] (?:pro )?9\d{3}", year=2024, year_to=2025
    ),
    # Athlon desktop APUs: 200GE/220GE/240GE (2018), 3000G and 300GE/320GE (2019-20).
    Rule(
        family="AMD Athlon 2xxGE", pattern=r"\bathlon (?:pro )?2\d{2}ge\b", year=2018, year_to=2018
    ),
    Rule(
        family="AMD Athlon 3000G/3xxGE",
        pattern=r"\bathlon (?:pro )?(?:3000g|3\d{2}ge)\b",
        year=2019,
        year_to=2020,
    ),
)

_COMPILED: Final = tuple((rule, re.compile(rule.pattern, re.IGNORECASE)) for rule in RULES)

# Trademark marks and the like, dropped so that "Core(TM) i5" reads "Core i5".
_NOISE_RE: Final = re.compile(r"\((?:r|tm|c)\)|[®™]", re.IGNORECASE)


def normalise(model: str) -> str:
    """The model string without trademark marks, with single spaces."""
    return " ".join(_NOISE_RE.sub(" ", model).split())


@lru_cache(maxsize=4096)
def launch(model: str) -> CpuLaunch | None:
    """The launch years of the CPU ``model`` names, or None when no rule covers it.

    Cached: a fleet has a few dozen CPU models, each reported every minute by the collector's
    lifecycle stage.
    """
    text = normalise(model)
    for rule, pattern in _COMPILED:
        if pattern.search(text):
            return CpuLaunch(family=rule.family, year=rule.year, year_to=rule.year_to)
    return None
