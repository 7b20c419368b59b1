"""``wardwatch-agent inventory``: the machine's inventory and age estimate, from a dump or here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import tests.support.smbios_builder as b
from tests.support import programs
from tests.support.smbios_tables import DELL_OPTIPLEX_3010, QEMU

pytestmark = pytest.mark.process


def inventory(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*programs.AGENT, "inventory", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dump_of_an_old_dell_with_an_updated_bios(tmp_path: Path) -> None:
    dump = tmp_path / "dell.bin"
    dump.write_bytes(b.dump(DELL_OPTIPLEX_3010))
    result = inventory("--smbios-dump", str(dump), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {k: found[k] for k in ("manufacturer", "model", "chassis", "bios_date")} == {
        "manufacturer": "Dell Inc.",
        "model": "OptiPlex 3010",
        "chassis": "Desktop",
        "bios_date": "2018-05-14",
    }
    assert "i3-3220" in found["cpu"]
    assert found["memory_mb"] == 8192
    assert found["virtual"] is False
    # The BIOS is dated 2018 but the CPU launched in 2012: the BIOS was updated, so the
    # estimate takes the older evidence.
    assert found["age"]["since"].startswith("2012")
    assert found["age"]["source"] == "cpu"
    assert set(found["age"]) >= {"since", "years", "source", "confidence"}
    # The range the evidence allows, and each piece of it with its verdict (issue 14).
    assert (found["age"]["earliest"], found["age"]["latest"]) == (2012, 2013)
    verdicts = {clue["kind"]: clue["verdict"] for clue in found["evidence"]}
    assert verdicts == {
        "bios": "agrees",
        "cpu": "taken",
        "model": "agrees",
        "memory": "agrees",
        "smbios": "agrees",
    }
    assert {"serial", "os"} <= set(found)


def test_dump_of_a_white_box_whose_cpu_has_no_name(tmp_path: Path) -> None:
    """An ASUS G41 board of 2008-2009 with a Core 2 the firmware left unnamed, DDR2, its BIOS
    updated in 2016: the BIOS date alone made it a 2016 machine; the processor family, the
    socket, the chipset and the memory date it (issue 14)."""
    table = b.table(
        b.bios(0x0000, "American Megatrends Inc.", "0505", "03/14/2016"),
        b.system(0x0001, "System manufacturer", "System Product Name", version="System Version"),
        b.baseboard(0x0002, "ASUSTeK Computer INC.", "P5G41-M LX"),
        b.chassis(0x0003, "Chassis Manufacture", 3),
        b.processor(0x0004, "LGA775", "Intel", "", 2933, 2933, 2, 2, 0xBF, 0x15),
        b.memory_device(0x0040, "DIMM0", 2048, memory_type=0x13, speed=800),
    )
    dump = tmp_path / "whitebox.bin"
    dump.write_bytes(b.dump(table, minor=5))
    result = inventory("--smbios-dump", str(dump), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert (found["board"], found["cpu_family"], found["cpu_socket"]) == (
        "P5G41-M LX",
        "Core 2 Duo",
        "Socket LGA775",
    )
    assert found["cpu_launch_year"] is None
    # G41 boards 2008-2012, Core 2 2006-2011, DDR2 to 2010: made 2008-2010.
    assert (found["age"]["earliest"], found["age"]["latest"]) == (2008, 2010)
    assert found["age"]["since"].startswith("2009")
    says = [clue["says"] for clue in found["evidence"]]
    assert any("P5G41-M LX" in said for said in says), says
    text = inventory("--smbios-dump", str(dump))
    assert "board         P5G41-M LX" in text.stdout


def test_dump_of_a_vm_is_labelled_and_its_bios_date_ignored(tmp_path: Path) -> None:
    dump = tmp_path / "qemu.bin"
    dump.write_bytes(b.dump(QEMU))
    result = inventory("--smbios-dump", str(dump), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["virtual"] is True
    assert found["hypervisor"] == "QEMU/KVM"
    assert found["age"] is None or found["age"]["source"] != "bios"


def test_this_machine_in_text_and_json() -> None:
    text = inventory()
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("manufacturer")
    assert "age" in text.stdout
    found = json.loads(inventory("--json").stdout)
    assert found["memory_mb"] > 0
    assert found["os"]


def test_missing_dump_names_the_file(tmp_path: Path) -> None:
    result = inventory("--smbios-dump", str(tmp_path / "nope.bin"))
    assert result.returncode == 2
    assert f"cannot read {tmp_path / 'nope.bin'}" in result.stderr
