"""Dated evidence of the processor's platform in a machine's SMBIOS table: its socket, its
processor family, and the chipset a white-box PC's mainboard names. Each function reads one
fact and gives a ``hardware_dates.DateRange`` (the years the machine can have been made in, and
why), or None when the fact says nothing.

- ``processor_socket``: SMBIOS type 4's Processor Upgrade code as the parser names it ("Socket
  LGA1150"), else the vendor-written Socket Designation, which names the socket on some boards
  ("LGA1150", "Socket AM4") and not on most ("CPU 1"). The years office PCs used the socket.
- ``processor_family``: type 4's Processor Family code's name ("Core 2 Duo"), for a processor
  whose name is blank or unknown. Old families give a ceiling too: a "Core 2 Duo" machine was
  made by 2011 whatever its BIOS date says.
- ``board_chipset``: the chipset in a mainboard's product name (type 2: "H81M-K",
  "GA-G41MT-S2", "PRIME B450M-A", Intel's "DH61WW"): the years boards with it were sold. Only
  for white boxes: the branded vendors' board names are part numbers ("0Y2K8N").

Sources: Intel's and AMD's launch dates for each socket, processor family and chipset (Intel
ARK, AMD's product pages, Wikipedia's lists of Intel and AMD chipsets and processors); the last
years are when office PCs and retail boards with them stopped selling (one to three years after
the successor's launch). Family and socket codes: DSP0134's tables.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, Final, Optional, Tuple

from wardwatch.rules.hardware_dates import DateRange, bounded, vendor_of

Years = Tuple[int, Optional[int], str]
"""The first and last year (None: still sold) and what the evidence is."""
Patterns = Tuple[Tuple[str, int, Optional[int], str], ...]
"""Regular expressions (searched in lower or upper case, as each table says), with ``Years``."""

# Socket names, searched in the lower-cased name; more specific names first.
_SOCKETS: Final[Patterns] = (
    (r"(?:lga|socket) ?-?2011-?(?:3|v3)", 2014, 2018, "LGA2011-3 (Haswell-E/Broadwell-E)"),
    (r"(?:lga|socket) ?-?2011\b", 2011, 2014, "LGA2011 (Sandy/Ivy Bridge-E)"),
    (r"(?:lga|socket) ?-?2066\b", 2017, 2021, "LGA2066 (Skylake-X, Xeon W-2000)"),
    (r"(?:lga|socket) ?-?1851\b", 2024, None, "LGA1851 (Core Ultra 200S)"),
    (r"(?:lga|socket) ?-?1700\b", 2021, None, "LGA1700 (Alder Lake to Raptor Lake)"),
    (r"(?:lga|socket) ?-?1200\b", 2020, 2023, "LGA1200 (Comet Lake, Rocket Lake)"),
    (r"(?:lga|socket) ?-?1151\b", 2015, 2020, "LGA1151 (Skylake to Coffee Lake)"),
    (r"(?:lga|socket) ?-?1150\b", 2013, 2016, "LGA1150 (Haswell, Broadwell)"),
    (r"(?:lga|socket) ?-?1155\b", 2011, 2014, "LGA1155 (Sandy Bridge, Ivy Bridge)"),
    (r"(?:lga|socket) ?-?1156\b", 2009, 2012, "LGA1156 (Lynnfield, Clarkdale)"),
    (r"(?:lga|socket) ?-?1366\b", 2008, 2012, "LGA1366 (Bloomfield, Xeon 5500/5600)"),
    (r"(?:lga|socket) ?-?775\b", 2004, 2011, "LGA775 (Pentium 4 to Core 2)"),
    (r"(?:socket|mpga|pga) ?-?478\b", 2000, 2005, "Socket 478 (Pentium 4)"),
    (r"\bsocket ?-?754\b", 2003, 2006, "Socket 754 (Athlon 64, Sempron)"),
    (r"\bsocket ?-?939\b", 2004, 2006, "Socket 939 (Athlon 64, X2)"),
    (r"\bam2\+", 2007, 2010, "Socket AM2+ (Phenom)"),
    (r"\bam2\b", 2006, 2009, "Socket AM2 (Athlon 64 X2)"),
    (r"\bam3\+", 2011, 2016, "Socket AM3+ (FX)"),
    (r"\bam3\b", 2009, 2013, "Socket AM3 (Phenom II, Athlon II)"),
    (r"\bam4\b", 2016, None, "Socket AM4 (Bristol Ridge, Ryzen)"),
    (r"\bam5\b", 2022, None, "Socket AM5 (Ryzen 7000 on)"),
    (r"\bam1\b", 2014, 2016, "Socket AM1 (Kabini)"),
    (r"\bfm1\b", 2011, 2012, "Socket FM1 (Llano)"),
    (r"\bfm2\+", 2014, 2017, "Socket FM2+ (Kaveri, Godavari)"),
    (r"\bfm2\b", 2012, 2014, "Socket FM2 (Trinity, Richland)"),
    (r"\brpga ?-?988", 2010, 2013, "rPGA988 (mobile Arrandale to Ivy Bridge)"),
    (r"\brpga ?-?94[67]", 2013, 2015, "rPGA946/947 (mobile Haswell)"),
)

# Processor families by the names ``smbios_codes.PROCESSOR_FAMILIES`` gives. Families that span
# decades (Celeron, Athlon, Xeon, Sempron) say nothing and are left out.
_FAMILIES: Final[Dict[str, Years]] = {
    "Pentium 4": (2000, 2008, "Pentium 4"),
    "Pentium 4 HT": (2002, 2008, "Pentium 4 with Hyper-Threading"),
    "Celeron D": (2004, 2008, "Celeron D"),
    "Pentium D": (2005, 2008, "Pentium D"),
    "Pentium EE": (2005, 2008, "Pentium Extreme Edition"),
    "Pentium M": (2003, 2009, "Pentium M"),
    "Celeron M": (2004, 2010, "Celeron M"),
    "Core Solo": (2006, 2008, "Core Solo"),
    "Core Duo": (2006, 2008, "Core Duo"),
    "Core Duo Mobile": (2006, 2008, "Core Duo"),
    "Core Solo Mobile": (2006, 2008, "Core Solo"),
    "Core 2 Duo": (2006, 2011, "Core 2"),
    "Core 2 Solo": (2006, 2011, "Core 2"),
    "Core 2 Extreme": (2006, 2011, "Core 2"),
    "Core 2 Quad": (2007, 2011, "Core 2 Quad"),
    "Core 2 Extreme Mobile": (2006, 2011, "Core 2"),
    "Core 2 Duo Mobile": (2006, 2011, "Core 2"),
    "Core 2 Solo Mobile": (2006, 2011, "Core 2"),
    "Dual-Core Celeron": (2008, 2011, "Celeron E1000/E3000 (Core 2 based)"),
    "Core i7": (2008, None, "Core i7, from Nehalem (November 2008)"),
    "Core i5": (2009, None, "Core i5, from Lynnfield (September 2009)"),
    "Core i3": (2010, None, "Core i3, from Clarkdale (January 2010)"),
    "Core i9": (2017, None, "Core i9, from Skylake-X (2017)"),
    "Atom": (2008, None, "Atom, from Silverthorne (2008)"),
    "Core M": (2014, 2019, "Core M (Broadwell-Y to Amber Lake)"),
    "Core m3": (2015, 2019, "Core m3 (Skylake-Y to Amber Lake)"),
    "Core m5": (2015, 2017, "Core m5 (Skylake-Y)"),
    "Core m7": (2015, 2017, "Core m7 (Skylake-Y)"),
    "Athlon XP": (2001, 2005, "Athlon XP"),
    "Athlon 64": (2003, 2009, "Athlon 64"),
    "Athlon 64 X2": (2005, 2009, "Athlon 64 X2"),
    "Turion 64": (2005, 2008, "Turion 64"),
    "Turion 64 X2": (2006, 2009, "Turion 64 X2"),
    "Athlon X2": (2007, 2010, "Athlon X2 (Brisbane)"),
    "Athlon Dual-Core": (2007, 2010, "Athlon Dual-Core"),
    "Turion Ultra Dual-Core Mobile": (2008, 2010, "Turion X2 Ultra"),
    "Turion Dual-Core Mobile": (2008, 2010, "Turion X2"),
    "Phenom FX": (2007, 2008, "Phenom FX"),
    "Phenom X4": (2007, 2010, "Phenom X4"),
    "Phenom X2": (2007, 2010, "Phenom X2"),
    "Phenom Triple-Core": (2008, 2010, "Phenom X3"),
    "Phenom II": (2009, 2012, "Phenom II"),
    "Athlon II": (2009, 2013, "Athlon II"),
    "Athlon II Dual-Core M": (2009, 2011, "Athlon II mobile"),
    "Turion II Ultra Dual-Core Mobile M": (2009, 2011, "Turion II Ultra"),
    "Turion II Dual-Core Mobile M": (2009, 2011, "Turion II"),
    "FX": (2011, 2017, "FX (Bulldozer to Piledriver)"),
    "C-Series": (2011, 2013, "C-Series (Bobcat)"),
    "E-Series": (2011, 2016, "E-Series (Bobcat to Carrizo-L)"),
    "A-Series": (2011, None, "A-Series APU, from Llano (2011)"),
    "Athlon X4": (2012, None, "Athlon X4, from Trinity (2012)"),
    "Zen": (2017, None, "Zen (Ryzen), from 2017"),
}

# Chipsets in mainboard names, searched in the upper-cased name: a code not after a letter
# (Intel's own boards, "DH61WW", and Gigabyte's AMD ones, "GA-MA785GM", excepted) nor followed
# by a digit, so "GA-H61M-S1", "P5G41-M"
# and "B85M-D3H" read, and MSI's "-G43" suffix after a chipset already read is never reached.
_CHIP: Final = r"(?:(?<![A-Z])|(?<=^D)|(?<=MA)){}(?!\d)"
_CHIPSETS: Final[Patterns] = (
    (r"94[56](?:GC|GZ|GSE|G|PL|P)", 2005, 2009, "Intel 945/946 (LGA775, Atom)"),
    (r"(?:G31|G33|P31|P35|Q33|Q35)", 2007, 2011, "Intel 3 series (Core 2)"),
    (r"(?:G41|G43|G45|P41|P43|P45|Q43|Q45|B43)", 2008, 2012, "Intel 4 series (Core 2)"),
    (r"(?:H55|H57|P55|Q57)", 2009, 2011, "Intel 5 series (first Core i)"),
    (r"(?:H61|H67|P67|Q65|Q67|B65|Z68)", 2011, 2014, "Intel 6 series (Sandy Bridge)"),
    (r"(?:B75|H77|Z75|Z77|Q75|Q77)", 2012, 2014, "Intel 7 series (Ivy Bridge)"),
    (r"(?:H81|B85|H87|Q85|Q87|Z87)", 2013, 2016, "Intel 8 series (Haswell)"),
    (r"(?:H97|Z97)", 2014, 2016, "Intel 9 series (Haswell refresh, Broadwell)"),
    (r"(?:H110|B150|H170|Q150|Q170|Z170)", 2015, 2018, "Intel 100 series (Skylake)"),
    (r"(?:B250|H270|Q250|Q270|Z270)", 2017, 2018, "Intel 200 series (Kaby Lake)"),
    (r"(?:Z370|H310|B360|B365|H370|Q370|Z390)", 2017, 2020, "Intel 300 series (Coffee Lake)"),
    (r"(?:H410|B460|H470|Q470|Z490|W480)", 2020, 2022, "Intel 400 series (Comet Lake)"),
    (r"(?:H510|B560|H570|Q570|Z590|W580)", 2021, 2023, "Intel 500 series (Rocket Lake)"),
    (r"(?:H610|B660|H670|Q670|Z690|W680)", 2021, None, "Intel 600 series (Alder Lake)"),
    (r"(?:B760|H770|Z790)", 2022, None, "Intel 700 series (Raptor Lake)"),
    (r"(?:H810|B860|Z890)", 2024, None, "Intel 800 series (Core Ultra 200S)"),
    (r"(?:690G|690V|740G|760G|770|780G|785G|790GX|790X|790FX)", 2007, 2011, "AMD 700 series"),
    (r"(?:880G|890GX|870|890FX)", 2010, 2012, "AMD 800 series"),
    (r"(?:970|990X|990FX)", 2011, 2016, "AMD 900 series (AM3+)"),
    (r"(?:A55|A75)", 2011, 2014, "AMD A55/A75 (FM1, FM2)"),
    (r"(?:A58|A68H?|A88X)", 2013, 2017, "AMD A58/A68H/A88X (FM2+)"),
    (r"(?:A320|B350|X370)", 2017, 2020, "AMD 300 series (AM4)"),
    (r"(?:B450|X470)", 2018, 2022, "AMD 400 series (AM4)"),
    (r"(?:A520|B550|X570)", 2019, None, "AMD 500 series (AM4)"),
    (r"(?:A620|B650|X670)", 2022, None, "AMD 600 series (AM5)"),
    (r"(?:B840|B850|X870)", 2024, None, "AMD 800 series (AM5)"),
)
_BRANDED: Final = ("hp", "dell", "lenovo", "fujitsu")
"""Vendors whose board names are part numbers, where a chipset-like code means nothing."""


@lru_cache(maxsize=None)
def _compiled(
    table: Patterns, wrap: str = "{}"
) -> Tuple[Tuple[re.Pattern[str], int, Optional[int], str], ...]:
    """A pattern table compiled at its first use: the agent imports this module at start."""
    return tuple(
        (re.compile(wrap.format(pattern), re.ASCII), first, last, what)
        for pattern, first, last, what in table
    )


def _range(first: int, last: Optional[int], what: str) -> DateRange | None:
    if last is None:
        return bounded(first, 2100, f"{what}: from {first}")
    return bounded(first, last, f"{what}: used {first}-{last}")


def processor_socket(name: str) -> DateRange | None:
    """The years office PCs used the socket ``name`` names ("Socket LGA1150", "Socket AM4",
    "FCLGA1151"), or None ("CPU 1", "U3E1", a soldered or unknown socket)."""
    text = name.lower()
    for pattern, first, last, what in _compiled(_SOCKETS):
        if pattern.search(text):
            return _range(first, last, f"CPU socket {what}")
    return None


def processor_family(name: str) -> DateRange | None:
    """The years of the processor family SMBIOS names ("Core 2 Duo"), or None for a family
    that spans decades or is not a PC's."""
    found = _FAMILIES.get(name)
    if found is None:
        return None
    first, last, what = found
    return _range(first, last, f"processor family {what} (SMBIOS)")


def board_chipset(manufacturer: str, board: str) -> DateRange | None:
    """The years boards with the chipset the mainboard's name carries were sold, or None (no
    chipset in the name, or a branded PC's board part number)."""
    if vendor_of(manufacturer) in _BRANDED:
        return None
    text = board.upper().strip()
    found = [
        (match.start(), first, last, what)
        for pattern, first, last, what in _compiled(_CHIPSETS, _CHIP)
        for match in [pattern.search(text)]
        if match
    ]
    if not found:
        return None
    _, first, last, what = min(found)  # the first chipset in the name: MSI's "Z77A-G43"
    return _range(first, last, f"mainboard {board.strip()!r}: chipset {what}")
