"""What the numbers and strings of an SMBIOS table mean: DSP0134's code tables, the placeholder
strings vendors ship instead of a value, and BIOS date strings.

Pure data and text functions, shared by the table parser (``smbios``) and the Linux reader of
``/sys/class/dmi/id``, which gives the same strings one file each.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

# Values vendors ship instead of leaving a string out; compared case-insensitively after
# stripping. They say "unknown", so they become "" rather than a fake serial or product name.
PLACEHOLDERS: Final[tuple[str, ...]] = (
    "to be filled by o.e.m.",
    "to be filled by o.e.m",
    "default string",
    "system serial number",
    "system manufacturer",
    "system product name",
    "system version",
    "base board serial number",
    "chassis serial number",
    "not specified",
    "not applicable",
    "not available",
    "none",
    "n/a",
    "o.e.m.",
    "oem",
    "xxxxx",
    "0123456789",
    "123456789",
)

# DSP0134 table "System Enclosure or Chassis Types" (type 3, offset 05h, bits 6:0), spelled as
# dmidecode prints them so that the cross-check tests can compare names directly.
CHASSIS_TYPES: Final[dict[int, str]] = {
    1: "Other",
    2: "Unknown",
    3: "Desktop",
    4: "Low Profile Desktop",
    5: "Pizza Box",
    6: "Mini Tower",
    7: "Tower",
    8: "Portable",
    9: "Laptop",
    10: "Notebook",
    11: "Hand Held",
    12: "Docking Station",
    13: "All In One",
    14: "Sub Notebook",
    15: "Space-saving",
    16: "Lunch Box",
    17: "Main Server Chassis",
    18: "Expansion Chassis",
    19: "Sub Chassis",
    20: "Bus Expansion Chassis",
    21: "Peripheral Chassis",
    22: "RAID Chassis",
    23: "Rack Mount Chassis",
    24: "Sealed-case PC",
    25: "Multi-system",
    26: "CompactPCI",
    27: "AdvancedTCA",
    28: "Blade",
    29: "Blade Enclosing",
    30: "Tablet",
    31: "Convertible",
    32: "Detachable",
    33: "IoT Gateway",
    34: "Embedded PC",
    35: "Mini PC",
    36: "Stick PC",
}

# DSP0134 table "Memory Device - Type" (type 17, offset 12h).
MEMORY_TYPES: Final[dict[int, str]] = {
    0x01: "Other",
    0x02: "Unknown",
    0x03: "DRAM",
    0x04: "EDRAM",
    0x05: "VRAM",
    0x06: "SRAM",
    0x07: "RAM",
    0x08: "ROM",
    0x09: "Flash",
    0x0A: "EEPROM",
    0x0B: "FEPROM",
    0x0C: "EPROM",
    0x0D: "CDRAM",
    0x0E: "3DRAM",
    0x0F: "SDRAM",
    0x10: "SGRAM",
    0x11: "RDRAM",
    0x12: "DDR",
    0x13: "DDR2",
    0x14: "DDR2 FB-DIMM",
    0x18: "DDR3",
    0x19: "FBD2",
    0x1A: "DDR4",
    0x1B: "LPDDR",
    0x1C: "LPDDR2",
    0x1D: "LPDDR3",
    0x1E: "LPDDR4",
    0x1F: "Logical non-volatile device",
    0x20: "HBM",
    0x21: "HBM2",
    0x22: "DDR5",
    0x23: "LPDDR5",
    0x24: "HBM3",
}

# DSP0134 table "Processor Information - Processor Family" (type 4, offset 06h; 0xFE says the
# WORD at 28h holds it), the x86 families PCs of 2000 onward report, spelled as dmidecode
# prints them. 0xBE (Core 2 or K7: two vendors used it) is left out, as it says neither.
PROCESSOR_FAMILIES: Final[dict[int, str]] = {
    0x0F: "Celeron",
    0x14: "Celeron M",
    0x15: "Pentium 4 HT",
    0x1D: "Athlon",
    0x28: "Core Duo",
    0x29: "Core Duo Mobile",
    0x2A: "Core Solo Mobile",
    0x2B: "Atom",
    0x2C: "Core M",
    0x2D: "Core m3",
    0x2E: "Core m5",
    0x2F: "Core m7",
    0x38: "Turion II Ultra Dual-Core Mobile M",
    0x39: "Turion II Dual-Core Mobile M",
    0x3A: "Athlon II Dual-Core M",
    0x3F: "FX",
    0x46: "C-Series",
    0x47: "E-Series",
    0x48: "A-Series",
    0x49: "G-Series",
    0x66: "Athlon X4",
    0x6B: "Zen",
    0x83: "Athlon 64",
    0x85: "Sempron",
    0x86: "Turion 64",
    0x88: "Athlon 64 X2",
    0x89: "Turion 64 X2",
    0x8C: "Phenom FX",
    0x8D: "Phenom X4",
    0x8E: "Phenom X2",
    0x8F: "Athlon X2",
    0xB2: "Pentium 4",
    0xB3: "Xeon",
    0xB6: "Athlon XP",
    0xB9: "Pentium M",
    0xBA: "Celeron D",
    0xBB: "Pentium D",
    0xBC: "Pentium EE",
    0xBD: "Core Solo",
    0xBF: "Core 2 Duo",
    0xC0: "Core 2 Solo",
    0xC1: "Core 2 Extreme",
    0xC2: "Core 2 Quad",
    0xC3: "Core 2 Extreme Mobile",
    0xC4: "Core 2 Duo Mobile",
    0xC5: "Core 2 Solo Mobile",
    0xC6: "Core i7",
    0xC7: "Dual-Core Celeron",
    0xCD: "Core i5",
    0xCE: "Core i3",
    0xCF: "Core i9",
    0xE7: "Phenom Triple-Core",
    0xE8: "Turion Ultra Dual-Core Mobile",
    0xE9: "Turion Dual-Core Mobile",
    0xEA: "Athlon Dual-Core",
    0xEC: "Phenom II",
    0xED: "Athlon II",
    0xEF: "Sempron M",
}

# DSP0134 table "Processor Information - Processor Upgrade" (type 4, offset 19h): the sockets of
# desktop and laptop PCs, spelled as dmidecode prints them. Server sockets and the BGA codes of
# soldered processors are left out: they say nothing ``hardware_dates`` can date.
PROCESSOR_UPGRADES: Final[dict[int, str]] = {
    0x0F: "Socket 478",
    0x10: "Socket 754",
    0x12: "Socket 939",
    0x15: "Socket LGA775",
    0x17: "Socket AM2",
    0x19: "Socket LGA1366",
    0x1B: "Socket AM3",
    0x1D: "Socket LGA1156",
    0x21: "Socket rPGA988B",
    0x24: "Socket LGA1155",
    0x26: "Socket LGA2011",
    0x29: "Socket FM1",
    0x2A: "Socket FM2",
    0x2B: "Socket LGA2011-3",
    0x2D: "Socket LGA1150",
    0x31: "Socket AM4",
    0x32: "Socket LGA1151",
    0x39: "Socket LGA2066",
    0x3E: "Socket LGA1200",
    0x40: "Socket LGA1700",
}

TYPE_NAMES: Final = {
    0: "BIOS",
    1: "system",
    2: "baseboard",
    3: "chassis",
    4: "processor",
    17: "memory device",
}

# A two-digit year (DSP0134 before 2.3 allowed mm/dd/yy) is read with a pivot: 80-99 → 19yy,
# 00-79 → 20yy. The spec says "assume 19yy", but no SMBIOS firmware predates 1980, and
# BIOSes of the 2000s that still wrote "yy" meant 20yy; dmidecode itself prints the string as
# it is, so the raw string stays beside the parsed date.
_TWO_DIGIT_YEAR_PIVOT: Final = 80
_DATE_RE: Final = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\s*$")


def clean_string(raw: str) -> str:
    """Strip a firmware string and map vendor placeholders (and all-0xFF fill) to ""."""
    text = raw.strip()
    if not text or text.lower() in PLACEHOLDERS or set(text) <= {"\xff", " "}:
        return ""
    return text


def parse_bios_date(raw: str) -> date | None:
    """Read a BIOS release date in mm/dd/yyyy or mm/dd/yy; None for anything else."""
    match = _DATE_RE.match(raw)
    if match is None:
        return None
    month, day, year = int(match[1]), int(match[2]), int(match[3])
    if len(match[3]) == 2:
        year += 1900 if year >= _TWO_DIGIT_YEAR_PIVOT else 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def chassis_name(code: int) -> str:
    """The spec's name for a chassis type code (lock bit already removed)."""
    return CHASSIS_TYPES.get(code, f"Unknown ({code})")
