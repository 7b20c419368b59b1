"""SMBIOS: built tables parse exactly, Debian's dmidecode agrees on the same bytes, and damaged
or hostile tables never raise. The per-OS readers are ``test_smbios_readers``."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import smbios_builder as b
from tests.support.smbios_tables import (
    ALL_TABLES,
    DELL_EXPECTED,
    DELL_OPTIPLEX_3010,
    DELL_UUID,
    I3_3220,
    QEMU,
    THINKPAD_T480,
    VIRTUALBOX,
    VMWARE,
    WHITE_BOX,
    assert_parsed,
)
from wardwatch.agent.probes.machine import smbios, smbios_codes, smbios_windows
from wardwatch.agent.probes.machine.smbios import MemoryDevice

# --- (a) built tables parse to exactly what they hold ----------------------------------------


@pytest.mark.unit
def test_dell_optiplex_3010_parses_exactly() -> None:
    parsed = smbios.parse_dump(b.dump(DELL_OPTIPLEX_3010))
    assert parsed == DELL_EXPECTED


@pytest.mark.unit
def test_the_same_table_behind_a_3_0_entry_point_parses_the_same() -> None:
    parsed = smbios.parse_dump(b.dump(DELL_OPTIPLEX_3010, smbios3=True))
    assert parsed == msgspec.structs.replace(DELL_EXPECTED, version="3.2")


@pytest.mark.unit
def test_laptop_with_extended_size_and_kb_granularity() -> None:
    parsed = smbios.parse_dump(b.dump(THINKPAD_T480, smbios3=True))
    assert (parsed.manufacturer, parsed.product) == ("LENOVO", "20L5CTO1WW")
    assert parsed.bios_version == "N24ET75W (1.50 )"
    assert parsed.bios_date == date(2022, 2, 8)
    assert (parsed.chassis_type_code, parsed.chassis_type) == (10, "Notebook")  # lock bit off
    assert parsed.cpus[0].cores == 4 and parsed.cpus[0].threads == 8
    assert (parsed.cpus[0].family, parsed.cpus[0].upgrade) == ("Core i5", "")
    assert parsed.cpus[0].current_speed_mhz == 1600
    assert [m.size_mb for m in parsed.memory] == [32768, 4, None]
    assert [m.type for m in parsed.memory] == ["DDR4"] * 3
    assert parsed.memory[2].speed_mts is None
    assert parsed.memory_mb == 32772
    assert parsed.missing == []


@pytest.mark.unit
def test_virtual_machines() -> None:
    qemu = smbios.parse_dump(b.dump(QEMU))
    assert (qemu.manufacturer, qemu.product) == ("QEMU", "Standard PC (i440FX + PIIX, 1996)")
    assert (qemu.chassis_type, qemu.memory_mb, qemu.memory[0].type) == ("Other", 2048, "RAM")
    assert qemu.uuid == ""  # all zero: "Not Settable"
    assert qemu.missing == ["type 2 (baseboard): absent"]

    vbox = smbios.parse_dump(b.dump(VIRTUALBOX))
    assert (vbox.manufacturer, vbox.product, vbox.serial) == ("innotek GmbH", "VirtualBox", "0")
    assert vbox.bios_date == date(2006, 12, 1)
    assert vbox.cpus == [] and vbox.memory == [] and vbox.memory_mb == 0
    assert vbox.missing == ["type 4 (processor): absent", "type 17 (memory device): absent"]

    vmware = smbios.parse_dump(b.dump(VMWARE))
    assert (vmware.manufacturer, vmware.product) == ("VMware, Inc.", "VMware Virtual Platform")
    assert (vmware.bios_date_raw, vmware.bios_date) == ("11/12/20", date(2020, 11, 12))
    assert vmware.memory == [
        MemoryDevice(
            locator="RAM slot #0",
            size_mb=4096,
            speed_mts=None,
            type="DRAM",
            manufacturer="",
            part_number="",
        )
    ]


@pytest.mark.unit
def test_vendor_placeholders_become_empty() -> None:
    parsed = smbios.parse_dump(b.dump(WHITE_BOX))
    assert (parsed.manufacturer, parsed.product, parsed.serial) == ("", "", "")
    assert parsed.baseboard_product == "H61M-VS"
    assert smbios_codes.clean_string("  \xff\xff ") == ""
    assert smbios_codes.clean_string(" NONE ") == ""
    assert smbios_codes.clean_string(" OptiPlex 3010 ") == "OptiPlex 3010"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("05/14/2018", date(2018, 5, 14)),
        ("5/4/2018", date(2018, 5, 4)),
        ("12/31/99", date(1999, 12, 31)),
        ("01/02/80", date(1980, 1, 2)),
        ("01/02/08", date(2008, 1, 2)),
        ("13/01/2018", None),
        ("02/30/2018", None),
        ("2018-05-14", None),
        ("", None),
        ("05/14/2018 junk", None),
    ],
)
def test_bios_date(raw: str, expected: date | None) -> None:
    assert smbios_codes.parse_bios_date(raw) == expected


@pytest.mark.unit
def test_chassis_names() -> None:
    assert smbios_codes.chassis_name(3) == "Desktop"
    assert smbios_codes.chassis_name(10) == "Notebook"
    assert smbios_codes.chassis_name(35) == "Mini PC"
    assert smbios_codes.chassis_name(99) == "Unknown (99)"


@pytest.mark.unit
def test_uuid_before_2_6_is_not_byte_swapped() -> None:
    raw = b.system(1, "X", "Y", uuid=DELL_UUID)
    new = smbios.parse_table(raw + b.end_of_table(), "2.6")
    old = smbios.parse_table(raw + b.end_of_table(), "2.5")
    assert new.uuid == DELL_UUID
    assert old.uuid == "44454C4C-5800-1059-8033-B7C04F313233"


@pytest.mark.unit
def test_the_product_line_is_read_from_version_and_family() -> None:
    raw = b.system(1, "LENOVO", "10AAS0Y500", version="ThinkCentre M73", family="ThinkCentre")
    table = smbios.parse_table(raw + b.end_of_table(), "2.8")
    assert (table.product, table.product_version, table.family) == (
        "10AAS0Y500",
        "ThinkCentre M73",
        "ThinkCentre",
    )


@pytest.mark.unit
def test_entry_points() -> None:
    ep2 = smbios.parse_entry_point(b.entry_point_2(DELL_OPTIPLEX_3010, 8, 0xF0000))
    assert (ep2.version, ep2.table_address, ep2.structure_count) == ("2.7", 0xF0000, 8)
    assert ep2.table_length == len(DELL_OPTIPLEX_3010) and ep2.problems == []
    ep3 = smbios.parse_entry_point(b.entry_point_3(DELL_OPTIPLEX_3010, 0x7_8000_0000))
    assert (ep3.version, ep3.table_address, ep3.structure_count) == ("3.2", 0x7_8000_0000, None)
    assert ep3.problems == []
    assert smbios.parse_entry_point(b"junk").problems == [
        "entry point: no _SM_, _SM3_ or _DMI_ anchor"
    ]


@pytest.mark.unit
def test_a_bad_checksum_is_noted_and_parsing_continues() -> None:
    data = bytearray(b.dump(DELL_OPTIPLEX_3010))
    data[0x04] ^= 0x55
    parsed = smbios.parse_dump(bytes(data))
    assert parsed.missing == ["entry point: bad checksum"]
    assert parsed.bios_version == "A18"


@pytest.mark.unit
def test_a_string_index_past_the_set_is_noted() -> None:
    # Type 1 whose product index is 9 while it carries only one string.
    bad = b.structure(1, 1, bytes([1, 9, 0, 0]), ["Dell Inc."]) + b.end_of_table()
    parsed = smbios.parse_table(bad, "3.0")
    assert (parsed.manufacturer, parsed.product) == ("Dell Inc.", "")
    assert "type 1 at offset 0: string 9 of 1 referenced at field 0x05" in parsed.missing


@pytest.mark.unit
def test_damaged_tables_are_named_in_missing() -> None:
    bios = b.bios(0, "Dell Inc.", "A18", "05/14/2018")
    cut = smbios.parse_table(DELL_OPTIPLEX_3010[: len(bios) + 10], "2.7")
    assert cut.bios_vendor == "Dell Inc."
    assert f"truncated structure at offset {len(bios)}" in cut.missing
    in_string = smbios.parse_table(DELL_OPTIPLEX_3010[:30], "2.7")
    assert (in_string.bios_vendor, in_string.bios_version) == ("", "")  # never "Dell I"
    assert "unterminated string set in type 0 at offset 0" in in_string.missing
    zeros = smbios.parse_table(b"\0" * 64, "3.0")
    assert "invalid structure length 0 at offset 0" in zeros.missing
    unterminated = smbios.parse_table(b.bios(0, "Dell Inc.", "A18", "05/14/2018")[:-1], "3.0")
    assert unterminated.bios_date == date(2018, 5, 14)
    assert "unterminated string set in type 0 at offset 0" in unterminated.missing
    no_end = smbios.parse_table(bios, "3.0")
    assert f"table ended at offset {len(bios)} without end-of-table (type 127)" in no_end.missing
    # Anything after type 127 is ignored.
    after_end = smbios.parse_table(b.table() + b.bios(0, "V", "1", "01/01/2020"), "3.0")
    assert after_end.bios_vendor == ""


@pytest.mark.unit
def test_a_dump_whose_table_is_cut_short() -> None:
    data = b.dump(DELL_OPTIPLEX_3010)[:-100]
    parsed = smbios.parse_dump(data)
    assert f"table: {len(DELL_OPTIPLEX_3010) - 100} bytes of the " in " ".join(parsed.missing)
    assert parsed.product == "OptiPlex 3010"


@pytest.mark.unit
def test_read_dump(tmp_path: Path) -> None:
    path = tmp_path / "dmi.bin"
    path.write_bytes(b.dump(DELL_OPTIPLEX_3010))
    assert smbios.read_dump(path) == DELL_EXPECTED


# --- (b) Debian's dmidecode reads the same bytes the same way ----------------------------------


def _dmidecode() -> str:
    found = shutil.which("dmidecode") or (
        "/usr/sbin/dmidecode" if os.path.exists("/usr/sbin/dmidecode") else None
    )
    if found is None:
        pytest.fail("dmidecode is missing: apt-get install -y dmidecode (or: make deps)")
    return found


def _dmidecode_records(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(type, {key: value}) per structure from ``dmidecode --from-dump``'s text."""
    result = subprocess.run(
        [_dmidecode(), "--from-dump", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    records: list[tuple[int, dict[str, str]]] = []
    for block in result.stdout.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines or not lines[0].startswith("Handle "):
            continue
        kind = int(lines[0].split("DMI type ")[1].split(",")[0])
        fields: dict[str, str] = {}
        for line in lines[2:]:
            if line.startswith("\t") and not line.startswith("\t\t") and ":" in line:
                key, _, value = line.strip().partition(": ")
                fields[key] = value
        records.append((kind, fields))
    return records


def _first(records: list[tuple[int, dict[str, str]]], kind: int) -> dict[str, str]:
    return next((fields for k, fields in records if k == kind), {})


def _text(value: str | None) -> str:
    # dmidecode prints an absent string (index 0) as "Not Specified": both mean "".
    return smbios_codes.clean_string(value or "")


def _mhz(value: str) -> int | None:
    return None if value == "Unknown" else int(value.removesuffix(" MHz"))


def _size_mb(value: str) -> int | None:
    if value == "No Module Installed":
        return 0
    if value == "Unknown":
        return None
    number, unit = value.split()
    return int(number) * {"kB": 1, "MB": 1024, "GB": 1024**2, "TB": 1024**3}[unit] // 1024


@pytest.mark.process
@pytest.mark.parametrize("smbios3", [False, True], ids=["2.7", "3.2"])
@pytest.mark.parametrize("name", list(ALL_TABLES))
def test_dmidecode_agrees(name: str, smbios3: bool, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.bin"
    path.write_bytes(b.dump(ALL_TABLES[name], smbios3=smbios3))
    ours = smbios.read_dump(path)
    records = _dmidecode_records(path)
    assert records, "dmidecode decoded nothing"

    bios, system, chassis = _first(records, 0), _first(records, 1), _first(records, 3)
    assert ours.bios_vendor == _text(bios.get("Vendor"))
    assert ours.bios_version == _text(bios.get("Version"))
    assert ours.bios_date_raw == _text(bios.get("Release Date"))
    assert ours.manufacturer == _text(system.get("Manufacturer"))
    assert ours.product == _text(system.get("Product Name"))
    assert ours.serial == _text(system.get("Serial Number"))
    assert ours.sku == _text(system.get("SKU Number"))
    dmi_uuid = system.get("UUID", "")
    assert ours.uuid == ("" if dmi_uuid.startswith("Not ") else dmi_uuid.upper())
    assert ours.chassis_type == chassis.get("Type", "")

    cpus = [fields for kind, fields in records if kind == 4]
    assert [c.version for c in ours.cpus] == [_text(c.get("Version")) for c in cpus]
    assert [c.max_speed_mhz for c in ours.cpus] == [_mhz(c["Max Speed"]) for c in cpus]
    assert [c.current_speed_mhz for c in ours.cpus] == [_mhz(c["Current Speed"]) for c in cpus]
    assert [c.cores for c in ours.cpus] == [int(c["Core Count"]) for c in cpus]
    assert [c.threads for c in ours.cpus] == [int(c["Thread Count"]) for c in cpus]
    families, upgrades = smbios_codes.PROCESSOR_FAMILIES, smbios_codes.PROCESSOR_UPGRADES
    assert [c.family for c in ours.cpus] == [
        c["Family"] if c["Family"] in families.values() else "" for c in cpus
    ]
    assert [c.upgrade for c in ours.cpus] == [
        _upgrade(c["Upgrade"]) if _upgrade(c["Upgrade"]) in upgrades.values() else "" for c in cpus
    ]

    dimms = [fields for kind, fields in records if kind == 17]
    assert [m.size_mb for m in ours.memory] == [_size_mb(d["Size"]) for d in dimms]
    assert [m.type for m in ours.memory] == [d["Type"] for d in dimms]


@pytest.mark.process
def test_dmidecode_names_every_family_and_socket_code_as_we_do(tmp_path: Path) -> None:
    """One processor per code of our tables: Debian's dmidecode prints each with our name."""
    codes = [(f, 0x02) for f in smbios_codes.PROCESSOR_FAMILIES]
    codes += [(0x02, u) for u in smbios_codes.PROCESSOR_UPGRADES]
    processors = [
        b.processor(0x0400 + i, f"CPU {i}", "Intel", "x", 1000, 1000, 1, 1, family, upgrade)
        for i, (family, upgrade) in enumerate(codes)
    ]
    path = tmp_path / "codes.bin"
    path.write_bytes(b.dump(b.table(b.bios(0, "Vendor", "1.0", "01/01/2010"), *processors)))
    printed = [
        (f["Family"], _upgrade(f["Upgrade"])) for kind, f in _dmidecode_records(path) if kind == 4
    ]
    ours = [(c.family or "Unknown", c.upgrade or "Unknown") for c in smbios.read_dump(path).cpus]
    newer = [i for i, (_, upgrade) in enumerate(printed) if upgrade == "<OUT OF SPEC>"]
    assert [u for i, (_, u) in enumerate(ours) if i in newer] == ["Socket LGA1700"], newer
    assert [o for i, o in enumerate(ours) if i not in newer] == [
        p for i, p in enumerate(printed) if i not in newer
    ]


def _upgrade(printed: str) -> str:
    """dmidecode 3.4 (Debian 12) misspells code 24h, which DSP0134 names Socket LGA1155; LGA1700
    (40h) is newer than it and printed out of spec."""
    return "Socket LGA1155" if printed == "Socket BGA1155" else printed


@pytest.mark.process
def test_dmidecode_reads_our_dump_of_a_dell(tmp_path: Path) -> None:
    """Spelled out once, so a reader sees what dmidecode prints for the reference desktop."""
    path = tmp_path / "dell.bin"
    path.write_bytes(b.dump(DELL_OPTIPLEX_3010))
    records = _dmidecode_records(path)
    assert _first(records, 0)["Release Date"] == "05/14/2018"
    assert _first(records, 1)["Product Name"] == "OptiPlex 3010"
    assert _first(records, 3)["Type"] == "Desktop"
    assert _first(records, 4)["Version"] == I3_3220
    assert [f["Size"] for k, f in records if k == 17] == ["4 GB", "4 GB"]


# --- (c) damaged and hostile input never raises ---------------------------------------------


@pytest.mark.unit
def test_every_prefix_of_a_valid_table_parses_and_says_it_was_cut() -> None:
    for table in (DELL_OPTIPLEX_3010, THINKPAD_T480):
        for end in range(len(table)):
            parsed = smbios.parse_table(table[:end], "3.2")
            assert_parsed(parsed)
            assert parsed.missing, f"prefix of {end} bytes"
    # Also through the dump reader and the RSMB buffer.
    dump = b.dump(DELL_OPTIPLEX_3010)
    for end in range(len(dump)):
        assert smbios.parse_dump(dump[:end]).missing
    buffer = b.rsmb(DELL_OPTIPLEX_3010)
    for end in range(len(buffer)):
        assert smbios_windows.parse_rsmb(buffer[:end]).missing


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.unit
@FUZZ
@given(
    name=st.sampled_from(list(ALL_TABLES)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1),
)
def test_random_byte_flips_never_raise(name: str, flips: list[tuple[int, int]]) -> None:
    data = bytearray(b.dump(ALL_TABLES[name], smbios3=len(flips) % 2 == 0))
    for at, value in flips:
        data[at % len(data)] = value
    assert_parsed(smbios.parse_dump(bytes(data)))
    assert_parsed(smbios.parse_table(bytes(data[0x20:]), "2.7"))
    assert_parsed(smbios_windows.parse_rsmb(bytes(data[0x18:])))


@pytest.mark.unit
@FUZZ
@given(data=st.binary(max_size=2048), version=st.sampled_from(["", "2.1", "3.0", "x.y"]))
def test_random_garbage_never_raises(data: bytes, version: str) -> None:
    assert_parsed(smbios.parse_table(data, version))
    assert_parsed(smbios.parse_dump(data))
    assert_parsed(smbios.parse_dump(b"_SM_" + data))
    assert_parsed(smbios.parse_dump(b"_SM3_" + data))
    assert_parsed(smbios.parse(b"_SM_" + data, data))
    assert_parsed(smbios_windows.parse_rsmb(data))
    smbios.parse_entry_point(data)


@pytest.mark.unit
@FUZZ
@given(
    kind=st.sampled_from([0, 1, 2, 3, 4, 17]),
    formatted=st.binary(min_size=0, max_size=0x30),
    strings=st.lists(st.binary(min_size=1, max_size=40), max_size=5),
    terminate=st.booleans(),
)
def test_hostile_strings_never_raise(
    kind: int, formatted: bytes, strings: list[bytes], terminate: bool
) -> None:
    # String indexes are whatever the formatted bytes say (often far past the set); the
    # strings may hold stray bytes and the set may lack its NUL terminators.
    body = bytes([kind, 4 + len(formatted), 0, 0]) + formatted + b"\0".join(strings)
    if terminate:
        body += b"\0\0" + b.end_of_table()
    parsed = smbios.parse_table(body, "3.0")
    assert_parsed(parsed)
    if not terminate:
        assert parsed.missing


@pytest.mark.unit
def test_a_module_smaller_than_a_megabyte_is_not_an_empty_slot() -> None:
    tiny = b.memory_device(1, "SODIMM", 0x8000 | 512) + b.end_of_table()
    assert [m.size_mb for m in smbios.parse_table(tiny, "2.7").memory] == [1]
