"""One SMBIOS parser for every OS: raw entry point and table bytes in, a typed ``Smbios`` out.

Linux gives the raw table in ``/sys/firmware/dmi/tables/DMI``, Windows the same bytes after a
small header from ``GetSystemFirmwareTable('RSMB')``, and ``dmidecode --dump-bin`` writes them
to a file; the per-OS readers (``smbios_linux``, ``smbios_windows``) only fetch bytes and call
this module. What the spec's codes and the vendors' strings mean is ``smbios_codes``. It touches
no OS facility and imports only the standard library and msgspec.

Firmware tables are often sloppy and sometimes damaged, so nothing here raises on bad input: the
parser keeps what it could read and says in ``Smbios.missing`` what it could not, and why. Field
offsets and code tables follow the DMTF SMBIOS Reference Specification (DSP0134).
"""

from __future__ import annotations

import struct
import uuid as uuidlib
from datetime import date
from pathlib import Path
from typing import Final, List, Optional

import msgspec
from msgspec import Struct

from wardwatch.agent.probes.machine import smbios_codes as codes

END_OF_TABLE: Final = 127


class Cpu(Struct, frozen=True, kw_only=True):
    """One processor socket (SMBIOS type 4)."""

    socket: str
    manufacturer: str
    version: str
    max_speed_mhz: Optional[int]
    current_speed_mhz: Optional[int]
    cores: Optional[int]
    threads: Optional[int]
    family: str = ""  # the Processor Family's name ("Core 2 Duo"); "" if not a PC family
    upgrade: str = ""  # the Processor Upgrade's name, a socket ("Socket LGA1150"), or ""


class MemoryDevice(Struct, frozen=True, kw_only=True):
    """One memory slot (SMBIOS type 17); ``size_mb`` 0 is an empty slot, None unknown."""

    locator: str
    size_mb: Optional[int]
    speed_mts: Optional[int]
    type: str
    manufacturer: str
    part_number: str


class Smbios(Struct, frozen=True, kw_only=True):
    """What the SMBIOS table says about a machine; "" or None where it says nothing usable."""

    version: str = ""
    bios_vendor: str = ""
    bios_version: str = ""
    bios_date_raw: str = ""
    bios_date: Optional[date] = None
    manufacturer: str = ""
    product: str = ""
    product_version: str = ""  # type 1's Version: Lenovo's line ("ThinkCentre M73")
    serial: str = ""
    sku: str = ""
    family: str = ""  # type 1's Family (SMBIOS 2.4+): the maker's line ("OptiPlex")
    uuid: str = ""
    baseboard_manufacturer: str = ""
    baseboard_product: str = ""
    chassis_type_code: Optional[int] = None
    chassis_type: str = ""
    cpus: List[Cpu] = msgspec.field(default_factory=list)
    memory: List[MemoryDevice] = msgspec.field(default_factory=list)
    memory_mb: int = 0
    missing: List[str] = msgspec.field(default_factory=list)


class EntryPoint(Struct, frozen=True, kw_only=True):
    """Where the table is and how long, from a 2.1 (``_SM_``) or 3.0 (``_SM3_``) entry point."""

    version: str
    table_address: int
    table_length: int
    """Exact length for 2.x; for 3.x the maximum size, the table may end earlier."""
    structure_count: Optional[int]
    """How many structures a 2.x table holds; None for 3.x, which only has a maximum size."""
    problems: List[str] = msgspec.field(default_factory=list)


def _checksum_ok(data: bytes) -> bool:
    return sum(data) & 0xFF == 0


def _truncated_entry_point(kind: str, size: int) -> EntryPoint:
    return EntryPoint(
        version="",
        table_address=0,
        table_length=0,
        structure_count=None,
        problems=[f"entry point: {kind} entry point truncated to {size} bytes"],
    )


def parse_entry_point(data: bytes) -> EntryPoint:
    """Parse an SMBIOS 2.1 or 3.0 entry point; problems (bad checksum…) are noted, not raised."""
    if data.startswith(b"_SM3_"):
        if len(data) < 0x18:
            return _truncated_entry_point("3.0", len(data))
        length, major, minor = data[6], data[7], data[8]
        (max_size,) = struct.unpack_from("<I", data, 0x0C)
        (address,) = struct.unpack_from("<Q", data, 0x10)
        problems = []
        if not _checksum_ok(data[: max(length, 0x18)]):
            problems.append("entry point: bad checksum")
        return EntryPoint(
            version=f"{major}.{minor}",
            table_address=address,
            table_length=max_size,
            structure_count=None,
            problems=problems,
        )
    if data.startswith(b"_SM_"):
        if len(data) < 0x1F:
            return _truncated_entry_point("2.x", len(data))
        length, major, minor = data[5], data[6], data[7]
        problems = []
        # The whole entry point and its "_DMI_" intermediate part each sum to zero.
        if not _checksum_ok(data[: max(min(length, len(data)), 0x1F)]):
            problems.append("entry point: bad checksum")
        dmi = _parse_dmi_anchor(data[0x10:0x1F], problems)
        return msgspec.structs.replace(dmi, version=f"{major}.{minor}", problems=problems)
    if data.startswith(b"_DMI_") and len(data) >= 0x0F:
        # A legacy DMI-only entry point (pre-SMBIOS 2.1 firmware, still seen on old boards).
        problems = []
        return _parse_dmi_anchor(data[:0x0F], problems)
    return EntryPoint(
        version="",
        table_address=0,
        table_length=0,
        structure_count=None,
        problems=["entry point: no _SM_, _SM3_ or _DMI_ anchor"],
    )


def _parse_dmi_anchor(data: bytes, problems: list[str]) -> EntryPoint:
    """The 15-byte "_DMI_" part: table length, address, structure count and BCD revision."""
    if not data.startswith(b"_DMI_"):
        problems.append("entry point: _DMI_ intermediate anchor missing")
        return EntryPoint(
            version="", table_address=0, table_length=0, structure_count=None, problems=problems
        )
    if not _checksum_ok(data[:0x0F]):
        problems.append("entry point: bad intermediate (_DMI_) checksum")
    length, address, count = struct.unpack_from("<HIH", data, 6)
    bcd = data[0x0E]
    return EntryPoint(
        version=f"{bcd >> 4}.{bcd & 0x0F}",
        table_address=address,
        table_length=length,
        structure_count=count,
        problems=problems,
    )


class _Structure:
    """One structure: its formatted area (header included) and its strings."""

    __slots__ = ("data", "offset", "strings", "type")

    def __init__(self, offset: int, data: bytes, strings: list[str]) -> None:
        self.offset = offset
        self.type = data[0]
        self.data = data
        self.strings = strings

    def byte(self, at: int) -> int | None:
        return self.data[at] if at < len(self.data) else None

    def word(self, at: int, size: int = 2) -> int | None:
        """The little-endian number of ``size`` bytes at ``at`` (4: a DWORD); None past the end."""
        end = at + size
        return int.from_bytes(self.data[at:end], "little") if end <= len(self.data) else None

    def string(self, at: int, missing: list[str]) -> str:
        """The string whose 1-based index is at ``at``; 0 means none, past the set is noted."""
        index = self.byte(at)
        if not index:
            return ""
        if index > len(self.strings):
            missing.append(
                f"type {self.type} at offset {self.offset}: string {index} of "
                f"{len(self.strings)} referenced at field 0x{at:02X}"
            )
            return ""
        return codes.clean_string(self.strings[index - 1])


def _decode(raw: bytes) -> str:
    # Latin-1 maps every byte; control characters become "." as dmidecode prints them.
    return "".join("." if ch < " " or ch == "\x7f" else ch for ch in raw.decode("latin-1"))


def _walk(table: bytes, structure_count: int | None, missing: list[str]) -> list[_Structure]:
    """Split a table into structures, stopping cleanly at the first thing that is wrong."""
    found: list[_Structure] = []
    offset = 0
    while True:
        if structure_count is not None and len(found) >= structure_count:
            return found
        if offset + 4 > len(table):
            if offset < len(table):
                missing.append(f"truncated structure header at offset {offset}")
            else:
                missing.append(f"table ended at offset {offset} without end-of-table (type 127)")
            return found
        kind, length = table[offset], table[offset + 1]
        if length < 4:
            # Also ends a run of zero-length structures, which would otherwise never advance.
            missing.append(f"invalid structure length {length} at offset {offset}")
            return found
        if offset + length > len(table):
            missing.append(f"truncated structure at offset {offset}")
            return found
        formatted = table[offset : offset + length]
        end = table.find(b"\0\0", offset + length)
        terminated = end != -1
        if not terminated:
            end = len(table)
        area = table[offset + length : end]
        if not terminated:
            # A string cut before its NUL is a fragment ("Dell I"), worse than no string.
            area = area[: area.rfind(b"\0") + 1]
        strings = [_decode(s) for s in area.split(b"\0") if s]
        found.append(_Structure(offset, formatted, strings))
        if not terminated:
            missing.append(f"unterminated string set in type {kind} at offset {offset}")
            return found
        if kind == END_OF_TABLE:
            return found
        offset = end + 2


def _uuid(raw: bytes, version: tuple[int, int]) -> str:
    if raw == b"\xff" * 16 or raw == b"\0" * 16:
        return ""  # "Not Present" / "Not Settable" in dmidecode's words
    # From SMBIOS 2.6 the first three fields are little-endian (as dmidecode documents).
    value = uuidlib.UUID(bytes_le=raw) if version >= (2, 6) else uuidlib.UUID(bytes=raw)
    return str(value).upper()


def _version_tuple(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (3, 0)  # unknown: assume modern firmware, which is what we meet


def _memory_size_mb(s: _Structure) -> int | None:
    code = s.word(0x0C)
    if code is None or code == 0xFFFF:
        return None
    if code == 0x7FFF:
        # 32 GB or more: the real size is the Extended Size DWORD, in MB, bits 30:0.
        extended = s.word(0x1C, 4)
        return None if extended is None else extended & 0x7FFFFFFF
    if code & 0x8000:
        # Granularity bit: the value is in KB. Rounded up, so that a populated slot of a few
        # hundred KB (old embedded boards) never reads as 0, which means "empty".
        return -(-(code & 0x7FFF) // 1024)
    return code


def _cpu(s: _Structure, missing: list[str]) -> Cpu:
    def speed(at: int) -> int | None:
        return s.word(at) or None

    def count(at_byte: int, at_word: int) -> int | None:
        value = s.byte(at_byte)
        if value == 0xFF:  # 3.0: 255 or more, the real count is in the WORD field
            value = s.word(at_word)
        return value or None

    family = s.word(0x28) if s.byte(0x06) == 0xFE else s.byte(0x06)  # FE: see Family 2 (2.6)
    return Cpu(
        socket=s.string(0x04, missing),
        manufacturer=s.string(0x07, missing),
        version=s.string(0x10, missing),
        max_speed_mhz=speed(0x14),
        current_speed_mhz=speed(0x16),
        cores=count(0x23, 0x2A),
        threads=count(0x25, 0x2E),
        family=codes.PROCESSOR_FAMILIES.get(family or 0, ""),
        upgrade=codes.PROCESSOR_UPGRADES.get(s.byte(0x19) or 0, ""),
    )


def _memory(s: _Structure, missing: list[str]) -> MemoryDevice:
    speed = s.word(0x15)
    return MemoryDevice(
        locator=s.string(0x10, missing),
        size_mb=_memory_size_mb(s),
        speed_mts=speed if speed and speed != 0xFFFF else None,
        type=codes.MEMORY_TYPES.get(s.byte(0x12) or 0, ""),
        manufacturer=s.string(0x17, missing),
        part_number=s.string(0x1A, missing),
    )


def parse_table(
    table: bytes,
    version: str,
    *,
    structure_count: int | None = None,
    notes: list[str] | None = None,
) -> Smbios:
    """Parse a raw structure table; ``notes`` are earlier problems (entry point…) to keep."""
    missing = list(notes or [])
    if not table:
        missing.append("table: empty")
    structures = _walk(table, structure_count, missing)
    first: dict[int, _Structure] = {}
    for s in structures:
        first.setdefault(s.type, s)
    for kind, name in codes.TYPE_NAMES.items():
        if kind not in first:
            missing.append(f"type {kind} ({name}): absent")

    def string(kind: int, at: int) -> str:
        s = first.get(kind)
        return "" if s is None else s.string(at, missing)

    date_raw = string(0, 0x08)
    chassis_code: int | None = None
    chassis = first.get(3)
    if chassis is not None:
        byte = chassis.byte(0x05)
        if byte is not None:
            chassis_code = byte & 0x7F  # bit 7 says whether the chassis has a lock
    system = first.get(1)
    uuid_raw = system.data[0x08:0x18] if system is not None else b""
    cpus = [_cpu(s, missing) for s in structures if s.type == 4]
    memory = [_memory(s, missing) for s in structures if s.type == 17]
    return Smbios(
        version=version,
        bios_vendor=string(0, 0x04),
        bios_version=string(0, 0x05),
        bios_date_raw=date_raw,
        bios_date=codes.parse_bios_date(date_raw),
        manufacturer=string(1, 0x04),
        product=string(1, 0x05),
        product_version=string(1, 0x06),
        serial=string(1, 0x07),
        sku=string(1, 0x19),
        family=string(1, 0x1A),
        uuid=_uuid(uuid_raw, _version_tuple(version)) if len(uuid_raw) == 16 else "",
        baseboard_manufacturer=string(2, 0x04),
        baseboard_product=string(2, 0x05),
        chassis_type_code=chassis_code,
        chassis_type="" if chassis_code is None else codes.chassis_name(chassis_code),
        cpus=cpus,
        memory=memory,
        memory_mb=sum(m.size_mb or 0 for m in memory),
        missing=missing,
    )


def parse(entry_point: bytes, table: bytes) -> Smbios:
    """Parse an entry point and the table it describes (as Linux sysfs gives them)."""
    ep = parse_entry_point(entry_point)
    notes = list(ep.problems)
    if ep.structure_count is not None and len(table) < ep.table_length:
        notes.append(f"table: {len(table)} bytes of the {ep.table_length} declared")
    limit = ep.table_length if ep.version else len(table)
    return parse_table(table[:limit], ep.version, structure_count=ep.structure_count, notes=notes)


DUMP_TABLE_OFFSET: Final = 0x20
"""``dmidecode --dump-bin`` puts the entry point at 0 and the table at 32, and rewrites the
entry point's table address to 32 (fixing the checksum) so ``--from-dump`` finds it."""


def parse_dump(data: bytes) -> Smbios:
    """Parse the bytes of a ``dmidecode --dump-bin`` file."""
    ep = parse_entry_point(data[:DUMP_TABLE_OFFSET])
    notes = list(ep.problems)
    if not ep.version:
        return parse_table(b"", "", notes=notes)
    start = ep.table_address
    table = data[start : start + ep.table_length]
    if ep.structure_count is not None and len(table) < ep.table_length:
        notes.append(f"table: {len(table)} bytes of the {ep.table_length} declared")
    return parse_table(table, ep.version, structure_count=ep.structure_count, notes=notes)


def read_dump(path: Path) -> Smbios:
    """Read a file written by ``dmidecode --dump-bin FILE``."""
    return parse_dump(path.read_bytes())
