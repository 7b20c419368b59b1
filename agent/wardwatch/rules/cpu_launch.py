"""CPU model string → launch year, from a table of processor series the project maintains.

The CPU is the weakest dated evidence of a machine's age (docs/design.md, "Hardware age
and lifecycle"): it says only that the machine cannot be older than its processor. It is still
useful, because a CPU's launch year is never moved by a BIOS update.

The table is ``data/cpu-launch.toml``: Intel's and AMD's desktop and laptop processors since
2006 (and the Athlon 64, Sempron and Turion 64 still met beside them), in sections, each naming
its source (Intel ARK's "Launch Date" of each processor number, AMD's product pages, Wikipedia's
"List of Intel/AMD ... processors" pages). A row (``Series``) is one series: a regular expression
that finds its model number in the string, the series' first and last launch years, and the
launch year of each model number it lists. A listed model gives its own year (``year ==
year_to``): an i5-8500 is 2018 though its generation began with the i5-8400 in 2017. A model
the row does not list gives the series' range, so ``year`` is still the earliest it can date
from.

Strings are matched as SMBIOS, Windows and Linux write them ("Intel(R) Core(TM)2 Duo CPU
E8400  @ 3.00GHz", "Pentium(R) Dual-Core  CPU      E5200  @ 2.50GHz", "AMD PRO A10-8730B R5,
10 Compute Cores 4C+6G", "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz"), after
``canonical`` drops what varies between them. Virtual CPUs ("QEMU Virtual CPU version 2.5+",
"Common KVM processor", "Intel Core Processor (Haswell, no TSX)") and anything no row covers
give None: no guess is better than a wrong one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, Final, Tuple

import msgspec
from msgspec import Struct

from wardwatch.common.compat import tomllib

TABLE_FILE: Final = Path(__file__).with_name("data") / "cpu-launch.toml"

EARLIEST_YEAR: Final = 2003
"""No row dates a CPU earlier: the Athlon 64, still sold in 2006-07 office PCs, began in 2003."""


class CpuLaunch(Struct, frozen=True, kw_only=True):
    """When the CPU was launched: ``year`` the earliest, ``year_to`` the latest; equal when the
    table knows the model number's own launch year."""

    family: str
    year: int
    year_to: int


class Series(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One row of the table: a processor series, how its model strings read, its launch years."""

    family: str
    """The series' name; ``{b}`` stands for what the pattern's group ``b`` found (the brand:
    "i5", "7"), ``{B}`` for it in capitals ("A10")."""
    match: str
    """Regular expression searched in the ``canonical`` string; its group ``m`` (if any) is the
    model number, looked up in ``models`` without spaces and hyphens."""
    years: Tuple[int, int]
    """The first and last launch years of the series: the answer for a model not listed."""
    models: Dict[str, str] = {}
    """Launch year (as TOML writes keys, a string) → the model numbers launched then,
    separated by spaces."""


class Section(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A vendor's product family: its series, and where their years come from."""

    name: str
    source: str
    series: Tuple[Series, ...]


class Table(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole table, first match wins: a series that overlaps a later one comes first."""

    section: Tuple[Section, ...]


def load_table(path: Path = TABLE_FILE) -> Table:
    """Read and validate the table (a bad file is a packaging error: it raises)."""
    return msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), Table)


def model_key(model: str) -> str:
    """A model number as the table lists it: lower case, without spaces and hyphens."""
    return "".join(model.lower().split()).replace("-", "")


class _Row:
    """A series compiled: its pattern, and the launch year of each model number it lists."""

    __slots__ = ("exact", "pattern", "series")

    def __init__(self, series: Series) -> None:
        self.series = series
        self.pattern = re.compile(series.match)
        self.exact = {
            model_key(model): int(year)
            for year, models in series.models.items()
            for model in models.split()
        }

    def launch(self, found: re.Match[str]) -> CpuLaunch:
        """The answer for a string this row's pattern ``found``: the model's year if listed."""
        groups = found.groupdict()
        brand = groups.get("b") or ""
        family = self.series.family.replace("{b}", brand).replace("{B}", brand.upper())
        year = self.exact.get(model_key(groups.get("m") or ""))
        if year is not None:
            return CpuLaunch(family=family, year=year, year_to=year)
        first, last = self.series.years
        return CpuLaunch(family=family, year=first, year_to=last)


@lru_cache(maxsize=1)
def _rows() -> tuple[_Row, ...]:
    """The table, read and compiled at the first lookup, not at import (the agent imports this
    module when it starts, and most runs look a CPU up once)."""
    return tuple(_Row(series) for section in load_table().section for series in section.series)


# Trademark marks and the like, dropped so that "Core(TM) i5" reads "Core i5".
_NOISE_RE: Final = re.compile(r"\((?:r|tm|c)\)|[®™©]", re.IGNORECASE)
# What varies between the spellings of one CPU and never tells it apart: the clock ("@ 2.40GHz",
# which Windows and OEM tables write or not), the words "CPU" and "Processor", stray "@".
_CLOCK_RE: Final = re.compile(r"@?\s*\b\d+(?:\.\d+)?\s*[gm]hz\b")
_FILLER_RE: Final = re.compile(r"\b(?:cpu|processor)\b|@")
# "AMD FX(tm)-8350": the dropped mark leaves a space before the hyphen of the model number.
_SPACED_HYPHEN_RE: Final = re.compile(r"(?<=\w) -(?=\w)")
_DASHES: Final = str.maketrans("\u2010\u2011\u2012\u2013\u2014", "-----")
# A first-generation Core's own brand string puts the suffix letter before the number
# ("Core(TM) i7 CPU L 640"); OEM tables sometimes write Intel's name ("i7-640LM"): one form.
_FIRST_GEN_RE: Final = re.compile(r"\b(i[357])-(\d{3})([lmqux])[a-z]?\b")
_VIRTUAL_RE: Final = re.compile(
    r"\b(?:qemu|kvm|virtual|virtualbox|vbox|bochs|tcg|vmware|hyper-v|xen)\b"
)
_LONGEST: Final = 256
"""SMBIOS and Windows strings are shorter; anything longer is cut (a bound on regex work)."""


def normalise(model: str) -> str:
    """The model string without trademark marks, with single spaces."""
    return " ".join(_NOISE_RE.sub(" ", model).split())


def canonical(model: str) -> str:
    """The model string as the table's patterns read it: no trademark marks, clock, "CPU" or
    "Processor", lower case, single spaces, first-generation Core numbers in one form."""
    text = normalise(model[:_LONGEST].translate(_DASHES)).lower()
    text = _FILLER_RE.sub(" ", _CLOCK_RE.sub(" ", text))
    text = _SPACED_HYPHEN_RE.sub("-", " ".join(text.split()))
    return _FIRST_GEN_RE.sub(r"\1 \3 \2", text)


@lru_cache(maxsize=4096)
def launch(model: str) -> CpuLaunch | None:
    """The launch years of the CPU ``model`` names, or None when it is virtual or no row of the
    table covers it.

    Cached: a fleet has a few dozen CPU models, each reported every minute by the collector's
    lifecycle stage.
    """
    text = canonical(model)
    if not text or _VIRTUAL_RE.search(text):
        return None
    for row in _rows():
        found = row.pattern.search(text)
        if found:
            return row.launch(found)
    return None
