"""The per-OS SMBIOS readers: Linux on a fake sysfs (the raw table, the /sys/class/dmi/id
fallback, nothing at all) and this machine's, Windows on built RSMB buffers."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from tests.support import smbios_builder as b
from tests.support.smbios_tables import (
    DELL_EXPECTED,
    DELL_OPTIPLEX_3010,
    DELL_UUID,
    assert_parsed,
)
from wardwatch.agent.probes.machine import smbios_codes, smbios_linux, smbios_windows
from wardwatch.agent.probes.machine.smbios import Smbios

# --- the Linux reader --------------------------------------------------------------------


def _fake_tables(root: Path, entry_point: bytes, table: bytes) -> None:
    tables = root / smbios_linux.TABLES_DIR
    tables.mkdir(parents=True)
    (tables / "smbios_entry_point").write_bytes(entry_point)
    (tables / "DMI").write_bytes(table)


def _fake_id(root: Path, **files: str) -> None:
    id_dir = root / smbios_linux.ID_DIR
    id_dir.mkdir(parents=True)
    for name, text in files.items():
        (id_dir / name).write_text(text + "\n")


DELL_ID_FILES = dict(
    bios_vendor="Dell Inc.",
    bios_version="A18",
    bios_date="05/14/2018",
    sys_vendor="Dell Inc.",
    product_name="OptiPlex 3010",
    product_sku="To Be Filled By O.E.M.",
    product_uuid=DELL_UUID.lower(),
    chassis_type="3",
    board_vendor="Dell Inc.",
    board_name="042P49",
)


@pytest.mark.unit
def test_linux_reads_the_raw_table(tmp_path: Path) -> None:
    table = DELL_OPTIPLEX_3010
    _fake_tables(tmp_path, b.entry_point_2(table, 8, 0xF0000), table)
    _fake_id(tmp_path, **DELL_ID_FILES)  # present too, but the raw table wins
    assert smbios_linux.read(tmp_path) == DELL_EXPECTED
    other = tmp_path / "3"
    _fake_tables(other, b.entry_point_3(table, 0x7_8000_0000), table)
    assert smbios_linux.read(other).cpus == DELL_EXPECTED.cpus


@pytest.mark.unit
def test_linux_falls_back_to_dmi_id_files(tmp_path: Path) -> None:
    _fake_id(tmp_path, **DELL_ID_FILES)  # product_serial absent, as for a non-root reader
    parsed = smbios_linux.read(tmp_path)
    # What the raw table says, but for what the id files do not hold.
    assert parsed == msgspec.structs.replace(
        DELL_EXPECTED,
        version="",
        serial="",
        sku="",
        cpus=[],
        memory=[],
        memory_mb=0,
        missing=[
            "raw table: absent",
            "product_serial: absent",
            "type 4 (processor): not in /sys/class/dmi/id (needs the raw table)",
            "type 17 (memory device): not in /sys/class/dmi/id (needs the raw table)",
        ],
    )


@pytest.mark.unit
def test_linux_unreadable_raw_table_falls_back(tmp_path: Path) -> None:
    # Root reads everything, so stand in for EACCES with a directory where the file should be.
    (tmp_path / smbios_linux.TABLES_DIR / "smbios_entry_point").mkdir(parents=True)
    _fake_id(tmp_path, **DELL_ID_FILES)
    parsed = smbios_linux.read(tmp_path)
    assert parsed.missing[0].startswith("raw table: unreadable")
    assert parsed.product == "OptiPlex 3010"


@pytest.mark.unit
def test_linux_with_no_dmi_at_all(tmp_path: Path) -> None:
    assert smbios_linux.read(tmp_path) == Smbios(
        missing=["raw table: absent", "sys/class/dmi/id: absent (no DMI on this machine)"]
    )


@pytest.mark.unit
def test_linux_on_this_machine_does_not_raise() -> None:
    assert_parsed(smbios_linux.read())


# --- the Windows RSMB buffer -------------------------------------------------------------


@pytest.mark.unit
def test_rsmb_buffer() -> None:
    parsed = smbios_windows.parse_rsmb(b.rsmb(DELL_OPTIPLEX_3010, 2, 7))
    assert parsed == DELL_EXPECTED


@pytest.mark.unit
def test_truncated_rsmb_buffer() -> None:
    buffer = b.rsmb(DELL_OPTIPLEX_3010)[:200]
    parsed = smbios_windows.parse_rsmb(buffer)
    assert parsed.bios_version == "A18" and parsed.version == "3.2"
    assert f"RSMB buffer: table truncated, 192 of {len(DELL_OPTIPLEX_3010)} bytes" in (
        parsed.missing
    )
    assert smbios_windows.parse_rsmb(b"\0\3").missing == [
        "RSMB buffer: 2 bytes, shorter than its header",
        "table: empty",
        "table ended at offset 0 without end-of-table (type 127)",
        *[f"type {k} ({n}): absent" for k, n in smbios_codes.TYPE_NAMES.items()],
    ]


@pytest.mark.unit
def test_windows_read_refuses_off_windows() -> None:
    if os.name == "nt":
        assert_parsed(smbios_windows.read())
    else:
        with pytest.raises(OSError, match="only on Windows"):
            smbios_windows.read()
