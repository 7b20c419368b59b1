"""Dated evidence in a machine's SMBIOS table besides the BIOS date and the CPU: each function
reads one fact and gives a ``DateRange`` (the years the machine can have been made in, with
its reason), or None when the fact says nothing. ``age`` bounds its estimate with them; the
processor's platform (socket, family, chipset) is ``platform_dates``.

What each says about age:

- ``product_line`` (manufacturer, product name, version of SMBIOS type 1): the generation an
  office product name carries ("ProDesk 600 G3", "OptiPlex 7010", "ThinkCentre M73").
  Both bounds: the machine was made in or after the line's first launch (``earliest``) and in
  or before its last launch plus the year a model stays on sale (``latest``). A name a vendor
  reused years apart (Latitude 3440 of 2014 and of 2023) gets both years' range.
- ``memory_type`` (type 17 "Memory Type", as ``smbios_codes.MEMORY_TYPES`` names it): the
  years desktop and laptop PCs shipped with that memory; a lower bound, and an upper bound for
  generations PCs no longer use (DDR2, DDR3).
- ``smbios_version`` (the entry point's major.minor): firmware cannot implement a specification
  before DMTF published it, so a lower bound only; ``latest`` is this year.
- ``chassis_type`` (type 3's type, as ``smbios_codes.CHASSIS_TYPES`` names it): the types
  SMBIOS 3.0 added (Mini PC, Convertible...), a lower bound; the older types say nothing.

Sources: product lines, ``data/product-lines.toml`` (each group names its own: HP QuickSpecs,
Dell owner's manuals and Wikipedia's model lists, Lenovo PSREF, Fujitsu data sheets...);
memory, JEDEC's standards (JESD79-2/-3/-4/-5, JESD209-2/-3/-4/-5) and the Intel and AMD
chipsets and platforms that first and last supported each; SMBIOS versions, DSP0134's
publication dates (DMTF's standards page: 2.4.0 2004-07, 2.5.0 2006-09, 2.6.0 2008-08, 2.7.0
2010-07, 2.8.0 2013-04, 3.0.0 2015-02, 3.1.0 2016-11, 3.2.0 2018-05, 3.3.0 2019, 3.4.0
2020-07, 3.5.0 2021-09, 3.6.0 2022, 3.7.0 2023, 3.8.0 2024, 3.9.0 2025).

Coverage: office lines sold 2006-2025 of HP (Compaq dc/dx, Compaq Pro/Elite, ProDesk,
EliteDesk, ProOne, EliteOne, ProBook, EliteBook, HP 2xx, Z, ZBook), Dell (OptiPlex, Latitude,
Precision, Vostro, the 2025 Dell Pro names), Lenovo (ThinkCentre, ThinkPad, IdeaPad,
IdeaCentre, V, ThinkBook), Acer Veriton and TravelMate, ASUS ExpertCenter/ExpertBook/ASUSPRO
and Fujitsu ESPRIMO and LIFEBOOK. Other names (consumer lines, generic boards) give None.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Dict, Final, List, Optional, Tuple

import msgspec
from msgspec import Struct

from wardwatch.common.compat import tomllib

PRODUCT_LINES_FILE: Final = Path(__file__).with_name("data") / "product-lines.toml"
OLDEST_YEAR: Final = 1990
"""No PC with an SMBIOS table was made before this; a range starting earlier is a typo."""
VENDORS: Final = ("hp", "dell", "lenovo", "acer", "asus", "fujitsu")


class DateRange(Struct, frozen=True, kw_only=True):
    """The years a machine can have been made in, by one piece of evidence."""

    earliest: int
    """The machine cannot be older than this year: it was made in or after it."""
    latest: int
    """Nor newer: it was made in or before this year (this year when the evidence is open)."""
    reason: str


class LineRow(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One row of data/product-lines.toml: a name pattern and the years it gives.

    Exactly one of ``years`` (fixed), ``by`` (the years of each value of the pattern's ``key``
    group: the digit a naming scheme gives the generation) and ``offset`` (``key`` + offset is
    the first year, ``span`` years more the last) is set.
    """

    name: str
    match: str
    years: Optional[Tuple[int, int]] = None
    by: Optional[Dict[str, Tuple[int, int]]] = None
    offset: Optional[int] = None
    span: int = 1


class LineGroup(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Rows of one vendor that rest on the same source."""

    vendor: str
    source: str
    row: List[LineRow]


class _LinesFile(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    group: List[LineGroup]


def _this_year() -> int:
    return date.today().year


def _check(row: LineRow, where: str) -> None:
    """Refuse a row that could never give a sane range: the data file is the program here."""
    kinds = [row.years is not None, row.by is not None, row.offset is not None]
    if kinds.count(True) != 1:
        raise ValueError(f"{where}: give exactly one of years, by, offset")
    pattern = re.compile(row.match, re.ASCII)
    if (row.by is not None or row.offset is not None) and "key" not in pattern.groupindex:
        raise ValueError(f"{where}: by and offset need a (?P<key>...) group in match")
    pairs = [row.years] if row.years is not None else list((row.by or {}).values())
    if row.offset is not None:
        pairs = [(row.offset, row.offset + row.span)]
    for earliest, latest in pairs:
        if not OLDEST_YEAR <= earliest <= latest <= 2100:
            raise ValueError(f"{where}: years {earliest}-{latest} out of order or of range")


@lru_cache(maxsize=None)
def _table() -> Dict[str, Tuple[Tuple[LineRow, str, re.Pattern[str]], ...]]:
    """The product-line table by vendor, compiled; read once, on first use (the agent imports
    this module at start and may never ask)."""
    raw = tomllib.loads(PRODUCT_LINES_FILE.read_text(encoding="utf-8"))
    table: Dict[str, List[Tuple[LineRow, str, re.Pattern[str]]]] = {v: [] for v in VENDORS}
    for group in msgspec.convert(raw, _LinesFile).group:
        if group.vendor not in table:
            raise ValueError(f"{PRODUCT_LINES_FILE.name}: unknown vendor {group.vendor!r}")
        for row in group.row:
            _check(row, f"{PRODUCT_LINES_FILE.name}: {row.name!r}")
            table[group.vendor].append((row, group.source, re.compile(row.match, re.ASCII)))
    return {vendor: tuple(rows) for vendor, rows in table.items()}


def line_rows() -> Dict[str, Tuple[LineRow, ...]]:
    """The product-line table's rows by vendor, in matching order (the first match wins)."""
    return {vendor: tuple(row for row, _, _ in rows) for vendor, rows in _table().items()}


def vendor_of(manufacturer: str) -> str | None:
    """The vendor a SMBIOS manufacturer string names ("Hewlett-Packard" and "HP" are "hp",
    "ASUSTeK COMPUTER INC." "asus", "LENOVO" and "IBM" "lenovo"...), or None."""
    for word in re.findall(r"[a-z]+", manufacturer.lower()):
        for prefix, vendor in _VENDOR_WORDS:
            if word == prefix or (len(prefix) > 3 and word.startswith(prefix)):
                return vendor
    return None


_VENDOR_WORDS: Final = (
    ("hp", "hp"),
    ("hewlett", "hp"),
    ("dell", "dell"),
    ("lenovo", "lenovo"),
    ("ibm", "lenovo"),  # ThinkPads and ThinkCentres before Lenovo's name was on them
    ("acer", "acer"),
    ("asus", "asus"),
    ("asustek", "asus"),
    ("fujitsu", "fujitsu"),
)
# Trademark marks, dropped; "600G3" and "G 3" are read as "600 g3", as most names write it.
_NOISE_RE: Final = re.compile(r"\((?:r|tm)\)|[®™]")
_GEN_GLUED_RE: Final = re.compile(r"(?<=\d)(?=g\d)")
_GEN_SPACED_RE: Final = re.compile(r"\bg (?=\d)")


def normalise(text: str) -> str:
    """A product name as the table's patterns read it: lower case, single spaces."""
    text = " ".join(_NOISE_RE.sub(" ", text.lower()).replace("_", " ").split())
    return _GEN_SPACED_RE.sub("g", _GEN_GLUED_RE.sub(" ", text))


def _years(row: LineRow, match: re.Match[str]) -> Tuple[int, int] | None:
    if row.years is not None:
        return row.years
    key = match.group("key")
    if key is None:
        return None
    if row.by is not None:
        return row.by.get(key.lstrip("0") or "0")
    first = (row.offset or 0) + int(key)
    return first, first + row.span


def bounded(earliest: int, latest: int, reason: str) -> DateRange | None:
    """The range, with ``latest`` no later than this year; None for a range wholly in the
    future (a generation number no product has yet)."""
    now = _this_year()
    if earliest > now + 1:
        return None
    return DateRange(earliest=earliest, latest=max(earliest, min(latest, now)), reason=reason)


def product_line(manufacturer: str, product_name: str, version: str = "") -> DateRange | None:
    """The years the product line named by SMBIOS type 1 was sold, or None.

    ``version`` is read too: Lenovo writes a machine-type code as the product name
    ("10AAS0Y500") and the family in the version ("ThinkCentre M73").
    """
    vendor = vendor_of(manufacturer)
    text = normalise(f"{product_name} {version}")
    if vendor is None or not text:
        return None
    for row, source, pattern in _table()[vendor]:
        match = pattern.search(text)
        years = None if match is None else _years(row, match)
        if match is None or years is None:
            continue  # a generation this row has no year for: a later row may know it
        key = match.groupdict().get("key") or ""
        name = row.name.replace("{key}", key.lstrip("0") or key)
        span = str(years[0]) if years[0] == years[1] else f"{years[0]}-{years[1]}"
        reason = f"product line {name} ({match.group(0).strip()!r}): sold {span} (source: {source})"
        return bounded(years[0], years[1], reason)
    return None


# SMBIOS type 17 memory types (smbios_codes.MEMORY_TYPES' names, spaces and dashes dropped):
# the first and last year PCs shipped with each; None as the last year: still shipping.
_MEMORY: Final[Dict[str, Tuple[int, Optional[int], str]]] = {
    "SDRAM": (1996, 2003, "PC66-PC133 SDRAM, Intel 430VX (1996) to the last i845 boards"),
    "RDRAM": (1999, 2003, "Rambus RDRAM, Intel i820 (1999) to i850E"),
    "DDR": (2000, 2006, "DDR SDRAM (JESD79), AMD 760 (2000) to the last Socket 939/i865 PCs"),
    "DDR2": (2004, 2010, "DDR2 (JESD79-2), Intel 915/925 (2004) to the last G41 and Atom PCs"),
    "DDR2FBDIMM": (2006, 2009, "DDR2 FB-DIMM, Intel 5000X/5400 workstations (2006-2009)"),
    "DDR3": (2007, 2018, "DDR3 (JESD79-3), Intel P35 (2007) to the last DDR3L Skylake PCs"),
    "LPDDR2": (2011, 2016, "LPDDR2 (JESD209-2), Atom and ARM tablets and netbooks"),
    "LPDDR3": (2013, 2020, "LPDDR3 (JESD209-3), Haswell-ULT (2013) to Comet Lake-U"),
    "DDR4": (2014, None, "DDR4 (JESD79-4), from Haswell-E workstations (2014), Skylake (2015)"),
    "LPDDR4": (2016, None, "LPDDR4/4X (JESD209-4; one SMBIOS code), from Apollo Lake (2016)"),
    "DDR5": (2021, None, "DDR5 (JESD79-5), from Intel Alder Lake (November 2021)"),
    "LPDDR5": (2021, None, "LPDDR5/5X (JESD209-5), from Tiger Lake and Alder Lake laptops"),
}


def memory_type(type_name: str) -> DateRange | None:
    """The years PCs shipped with the memory type SMBIOS type 17 names, or None (an empty
    slot's "Unknown", "Other", DRAM, a type no PC memory is)."""
    key = re.sub(r"[\s_-]+", "", type_name.upper())
    if key.startswith("LPDDR") and key.endswith("X"):
        key = key[:-1]  # LPDDR4X and LPDDR5X share their base type's code
    elif key == "DDR3L":
        key = "DDR3"  # the low-voltage part; SMBIOS has no code of its own for it
    found = _MEMORY.get(key)
    if found is None:
        return None
    earliest, latest, what = found
    if latest is None:
        return bounded(earliest, _this_year(), f"memory {what}; still shipping")
    return bounded(earliest, latest, f"memory {what}: PCs with it were made {earliest}-{latest}")


# DSP0134 (and DMI BIOS 2.0) versions and the year DMTF published each.
_SMBIOS_PUBLISHED: Final[Dict[Tuple[int, int], int]] = {
    (2, 0): 1996, (2, 1): 1997, (2, 2): 1998, (2, 3): 1998, (2, 4): 2004, (2, 5): 2006,
    (2, 6): 2008, (2, 7): 2010, (2, 8): 2013, (3, 0): 2015, (3, 1): 2016, (3, 2): 2018,
    (3, 3): 2019, (3, 4): 2020, (3, 5): 2021, (3, 6): 2022, (3, 7): 2023, (3, 8): 2024,
    (3, 9): 2025,
}  # fmt: skip
# Versions some firmware writes wrongly, read as dmidecode and Linux read them.
_SMBIOS_FIXUPS: Final = {(2, 31): (2, 3), (2, 33): (2, 3), (2, 51): (2, 6)}


def smbios_version(major: int, minor: int) -> DateRange | None:
    """The earliest year a table of SMBIOS ``major.minor`` can date from, or None for a version
    that does not exist (0.0, 2.9, 7.1...)."""
    version = _SMBIOS_FIXUPS.get((major, minor), (major, minor))
    year = _SMBIOS_PUBLISHED.get(version)
    shown = f"SMBIOS {version[0]}.{version[1]}"
    published = f"DMTF published it in {year}"
    newest = max(_SMBIOS_PUBLISHED)
    if year is None and version[0] == newest[0] and version > newest:
        # A 3.x newer than this table knows: at least as late as the newest it knows.
        year = _SMBIOS_PUBLISHED[newest]
        published = f"newer than {newest[0]}.{newest[1]}, which DMTF published in {year}"
    if year is None:
        return None
    reason = (
        f"{shown}: {published}, so the firmware is not older; "
        "the version says nothing of how new the machine is"
    )
    return bounded(year, _this_year(), reason)


# Chassis types DSP0134 3.0 (2015) added for the small PCs of its time; the older types say
# nothing of years (a "Desktop" may be of 1996 or of now).
_CHASSIS_SINCE_3_0: Final = (
    "Tablet", "Convertible", "Detachable", "IoT Gateway", "Embedded PC", "Mini PC", "Stick PC"
)  # fmt: skip


def chassis_type(name: str) -> DateRange | None:
    """The earliest year of a chassis type only SMBIOS 3.0 and later define ("Mini PC"), or
    None for the older types."""
    if name not in _CHASSIS_SINCE_3_0:
        return None
    reason = f"chassis type {name}: defined by SMBIOS 3.0, which DMTF published in 2015"
    return bounded(2015, _this_year(), reason)
