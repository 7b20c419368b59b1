"""Build SMBIOS structures, tables, entry points, dumps and RSMB buffers as DSP0134 lays them out.

Tests say only what matters (a vendor, a BIOS date, a DIMM size); the builder fills the header,
the string indexes, the terminators and the checksums.
"""

from __future__ import annotations

import struct
import uuid as uuidlib
from collections.abc import Sequence

DUMP_TABLE_OFFSET = 0x20


def structure(kind: int, handle: int, formatted: bytes, strings: Sequence[str] = ()) -> bytes:
    """One structure: 4-byte header, the formatted area after it, then its string set."""
    header = struct.pack("<BBH", kind, 4 + len(formatted), handle)
    if strings:
        tail = b"".join(s.encode("latin-1") + b"\0" for s in strings) + b"\0"
    else:
        tail = b"\0\0"
    return header + formatted + tail


class _Strings:
    """Collects a structure's strings and hands out their 1-based indexes ("" → 0, none)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        self.items.append(text)
        return len(self.items)


def bios(handle: int, vendor: str, version: str, date: str) -> bytes:
    """Type 0, SMBIOS 2.4 layout (length 0x18)."""
    s = _Strings()
    formatted = struct.pack(
        "<BBHBBQBBBBBB",
        s(vendor),
        s(version),
        0xF000,
        s(date),
        0x0F,  # ROM size: 1 MB
        0x0B_9D_C8_80,  # characteristics
        0x01,
        0x0F,
        4,
        6,
        0xFF,
        0xFF,
    )
    return structure(0, handle, formatted, s.items)


def system(
    handle: int,
    manufacturer: str,
    product: str,
    serial: str = "",
    sku: str = "",
    uuid: str = "",
    version: str = "",
    family: str = "",
) -> bytes:
    """Type 1, SMBIOS 2.4 layout (length 0x1B); ``uuid`` written little-endian as from 2.6."""
    s = _Strings()
    raw_uuid = uuidlib.UUID(uuid).bytes_le if uuid else b"\0" * 16
    formatted = (
        bytes([s(manufacturer), s(product), s(version), s(serial)])
        + raw_uuid
        + bytes([0x06, s(sku), s(family)])
    )
    return structure(1, handle, formatted, s.items)


def baseboard(handle: int, manufacturer: str, product: str) -> bytes:
    """Type 2, the short layout (length 0x08)."""
    s = _Strings()
    formatted = bytes([s(manufacturer), s(product), 0, 0])
    return structure(2, handle, formatted, s.items)


def chassis(handle: int, manufacturer: str, type_code: int, lock: bool = False) -> bytes:
    """Type 3, SMBIOS 2.1 layout (length 0x0D)."""
    s = _Strings()
    formatted = bytes([s(manufacturer), type_code | (0x80 if lock else 0), 0, 0, 0, 3, 3, 3, 2])
    return structure(3, handle, formatted, s.items)


def processor(
    handle: int,
    socket: str,
    manufacturer: str,
    version: str,
    max_mhz: int,
    current_mhz: int,
    cores: int,
    threads: int,
    family: int = 0xCE,
    upgrade: int = 0x24,
    family_in_word: bool = False,
) -> bytes:
    """Type 4, SMBIOS 2.6 layout (length 0x2A); family 0xCE is Core i3, upgrade 0x24 the
    socket LGA1155. ``family_in_word``: the byte says 0xFE, "see Processor Family 2"."""
    s = _Strings()
    formatted = struct.pack(
        "<BBBBQBBHHHBBHHHBBBBBBHH",
        s(socket),
        0x03,  # central processor
        0xFE if family_in_word else family,
        s(manufacturer),
        0x000306A9_BFEBFBFF,
        s(version),
        0x8C,  # voltage
        100,  # external clock
        max_mhz,
        current_mhz,
        0x41,  # populated, enabled
        upgrade,
        0xFFFF,
        0xFFFF,
        0xFFFF,
        0,
        0,
        0,
        cores,
        cores,
        threads,
        0x04,
        family,
    )
    return structure(4, handle, formatted, s.items)


def memory_device(
    handle: int,
    locator: str,
    size_code: int,
    memory_type: int = 0x18,
    speed: int = 1600,
    manufacturer: str = "",
    part_number: str = "",
    extended_size_mb: int = 0,
) -> bytes:
    """Type 17, SMBIOS 2.7 layout (length 0x22); ``size_code`` is the raw Size WORD."""
    s = _Strings()
    formatted = struct.pack(
        "<HHHHHBBBBBHHBBBBBIH",
        0x1000,
        0xFFFE,
        64,
        64,
        size_code,
        0x09,  # DIMM
        0,
        s(locator),
        s("BANK 0"),
        memory_type,
        0x0080,  # synchronous
        speed,
        s(manufacturer),
        0,
        0,
        s(part_number),
        0,
        extended_size_mb,
        speed,
    )
    return structure(17, handle, formatted, s.items)


def end_of_table(handle: int = 0xFEFF) -> bytes:
    """Type 127."""
    return structure(127, handle, b"")


def table(*structures: bytes) -> bytes:
    """Concatenate structures and close the table with type 127."""
    return b"".join(structures) + end_of_table()


def _fix_checksum(data: bytearray, at: int, start: int, end: int) -> None:
    data[at] = 0
    data[at] = (-sum(data[start:end])) & 0xFF


def entry_point_2(
    table_bytes: bytes, count: int, address: int, major: int = 2, minor: int = 7
) -> bytes:
    """A 31-byte SMBIOS 2.1 entry point ("_SM_" + "_DMI_") with both checksums right."""
    ep = bytearray(0x1F)
    ep[0:4] = b"_SM_"
    ep[5] = 0x1F
    ep[6], ep[7] = major, minor
    struct.pack_into("<H", ep, 8, 0x100)  # maximum structure size
    ep[0x10:0x15] = b"_DMI_"
    struct.pack_into("<HIH", ep, 0x16, len(table_bytes), address, count)
    ep[0x1E] = (major << 4) | minor
    _fix_checksum(ep, 0x15, 0x10, 0x1F)
    _fix_checksum(ep, 0x04, 0x00, 0x1F)
    return bytes(ep)


def entry_point_3(table_bytes: bytes, address: int, major: int = 3, minor: int = 2) -> bytes:
    """A 24-byte SMBIOS 3.0 entry point ("_SM3_") with its checksum right."""
    ep = bytearray(0x18)
    ep[0:5] = b"_SM3_"
    ep[6] = 0x18
    ep[7], ep[8], ep[9], ep[10] = major, minor, 0, 1
    struct.pack_into("<IQ", ep, 0x0C, len(table_bytes), address)
    _fix_checksum(ep, 0x05, 0x00, 0x18)
    return bytes(ep)


def count_structures(table_bytes: bytes) -> int:
    """How many structures a well-formed table holds (for the 2.x entry point's count)."""
    offset = count = 0
    while offset < len(table_bytes):
        count += 1
        offset = table_bytes.index(b"\0\0", offset + table_bytes[offset + 1]) + 2
    return count


def dump(table_bytes: bytes, smbios3: bool = False, minor: int = 7) -> bytes:
    """A ``dmidecode --dump-bin`` file: entry point at 0 pointing at 0x20, the table at 0x20;
    a 2.x entry point says version 2.``minor``."""
    if smbios3:
        ep = entry_point_3(table_bytes, DUMP_TABLE_OFFSET)
    else:
        count = count_structures(table_bytes)
        ep = entry_point_2(table_bytes, count, DUMP_TABLE_OFFSET, minor=minor)
    return ep.ljust(DUMP_TABLE_OFFSET, b"\0") + table_bytes


def rsmb(table_bytes: bytes, major: int = 3, minor: int = 2) -> bytes:
    """The RawSMBIOSData buffer GetSystemFirmwareTable('RSMB') returns."""
    return struct.pack("<BBBBI", 0, major, minor, 0, len(table_bytes)) + table_bytes
