"""smartctl JSON: recorded ATA and NVMe outputs parse, garbage never raises, and the runner
copes with a missing, hanging or lying binary (a fake smartctl script stands in for the real)."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardwatch.agent import native
from wardwatch.agent.probes.machine import smart
from wardwatch.agent.probes.machine.smart import DiskReading, ScannedDevice
from wardwatch.contract.wire import Disk

# Shaped like smartctl 7.3's `--json -a` output (smartmontools' documented JSON), trimmed.
ATA: dict[str, Any] = {
    "json_format_version": [1, 0],
    "smartctl": {
        "version": [7, 3],
        "argv": ["smartctl", "--json", "-a", "/dev/sda"],
        "exit_status": 0,
    },
    "device": {"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat", "protocol": "ATA"},
    "model_family": "Western Digital Blue",
    "model_name": "WDC WD5000AAKX-08U6AA0",
    "serial_number": "WD-WCC2EUJ12345",
    "firmware_version": "19.01H19",
    "user_capacity": {"blocks": 976773168, "bytes": 500107862016},
    "smart_status": {"passed": True},
    "ata_smart_attributes": {
        "revision": 16,
        "table": [
            {
                "id": 9,
                "name": "Power_On_Hours",
                "value": 62,
                "worst": 62,
                "thresh": 0,
                "raw": {"value": 28123, "string": "28123"},
            },
        ],
    },
    "power_on_time": {"hours": 28123},
    "power_cycle_count": 3120,
    "temperature": {"current": 34},
}

NVME: dict[str, Any] = {
    "json_format_version": [1, 0],
    "smartctl": {"version": [7, 3], "exit_status": 0},
    "device": {"name": "/dev/nvme0", "info_name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
    "model_name": "Samsung SSD 970 EVO Plus 500GB",
    "serial_number": "S4EVNX0N123456A",
    "firmware_version": "2B2QEXM7",
    "smart_status": {"passed": True, "nvme": {"value": 0}},
    "nvme_smart_health_information_log": {
        "critical_warning": 0,
        "temperature": 38,
        "available_spare": 100,
        "percentage_used": 2,
        "power_cycles": 1204,
        "power_on_hours": 9876,
        "unsafe_shutdowns": 41,
        "media_errors": 0,
    },
    "power_on_time": {"hours": 9876},
}

# smartctl run without root on Linux: JSON, but only an error message (exit status bit 1).
DENIED: dict[str, Any] = {
    "json_format_version": [1, 0],
    "smartctl": {
        "version": [7, 3],
        "exit_status": 2,
        "messages": [
            {
                "string": "Smartctl open device: /dev/sda failed: Permission denied",
                "severity": "error",
            },
        ],
    },
    "device": {"name": "/dev/sda", "info_name": "/dev/sda", "type": "sat", "protocol": "ATA"},
}

SCAN: dict[str, Any] = {
    "json_format_version": [1, 0],
    "smartctl": {"version": [7, 3], "exit_status": 0},
    "devices": [
        {"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat", "protocol": "ATA"},
        {"name": "/dev/nvme0", "info_name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
    ],
}


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


@pytest.mark.unit
def test_ata() -> None:
    assert smart.parse_device(json.dumps(ATA)) == DiskReading(
        disk=Disk(
            device="/dev/sda",
            protocol="ATA",
            model="WDC WD5000AAKX-08U6AA0",
            serial="WD-WCC2EUJ12345",
            power_on_hours=28123,
        )
    )


@pytest.mark.unit
def test_nvme() -> None:
    expected = Disk(
        device="/dev/nvme0",
        protocol="NVMe",
        model="Samsung SSD 970 EVO Plus 500GB",
        serial="S4EVNX0N123456A",
        power_on_hours=9876,
    )
    assert smart.parse_device(json.dumps(NVME)).disk == expected
    # Older smartctl put the hours only in the NVMe health log.
    assert smart.parse_device(json.dumps(_without(NVME, "power_on_time"))).disk == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a JSON object but list"),
        (json.dumps(_without(ATA, "device")), "no 'device' object"),
        (json.dumps(_without(ATA, "power_on_time")), "no power-on hours reported"),
        (json.dumps({**ATA, "power_on_time": {"hours": -5}}), "no power-on hours reported"),
        (json.dumps({**ATA, "power_on_time": {"hours": True}}), "no power-on hours reported"),
        (json.dumps({**ATA, "power_on_time": {"hours": "12"}}), "no power-on hours reported"),
        (json.dumps(DENIED), "Smartctl open device: /dev/sda failed: Permission denied"),
        (json.dumps(_without(DENIED, "device")), "Permission denied"),
    ],
)
def test_unusable_output_gives_a_reason(text: str | bytes, problem: str) -> None:
    reading = smart.parse_device(text)
    assert reading.disk is None
    assert problem in reading.problem


@pytest.mark.unit
def test_scan_output() -> None:
    listed = {**SCAN, "devices": [*SCAN["devices"], {"name": "-d"}, {"name": ""}, "junk"]}
    assert smart.parse_scan(json.dumps(listed)) == (
        [
            ScannedDevice(name="/dev/sda", type="sat", protocol="ATA"),
            ScannedDevice(name="/dev/nvme0", type="nvme", protocol="NVMe"),
        ],
        "",
    )
    assert smart.parse_scan("nope")[1].startswith("not JSON")
    assert smart.parse_scan("{}") == ([], "no 'devices' list")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=4,
)
KEYS = st.sampled_from(
    [
        "device",
        "power_on_time",
        "nvme_smart_health_information_log",
        "model_name",
        "serial_number",
        "smartctl",
        "devices",
        "hours",
    ]
)


@pytest.mark.unit
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_garbage_never_raises(text: str | bytes) -> None:
    assert smart.parse_device(text).disk is None
    smart.parse_scan(text)


@pytest.mark.unit
@settings(max_examples=60)
@given(st.dictionaries(KEYS, JSON | st.dictionaries(KEYS, JSON, max_size=3), max_size=4))
def test_hostile_json_never_raises(data: dict[str, object]) -> None:
    reading = smart.parse_device(json.dumps(data))
    assert (reading.disk is None) != (reading.problem == "")
    if reading.disk is not None:
        assert reading.disk.power_on_hours >= 0
    smart.parse_scan(json.dumps(data))


def _fake_smartctl(tmp_path: Path, body: str) -> str:
    """A stand-in smartctl: a Python script answering --scan and -a from the samples."""
    script = tmp_path / "smartctl"
    script.write_text(f"#!{sys.executable}\nimport sys, json, time\nargs = sys.argv[1:]\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.process
@pytest.mark.skipif(sys.platform == "win32", reason="the fake smartctl is a #! script")
def test_scan_runs_smartctl(tmp_path: Path) -> None:
    binary = _fake_smartctl(
        tmp_path,
        f"""
outputs = {{"/dev/sda": {json.dumps(ATA)!r}, "/dev/nvme0": {json.dumps(DENIED)!r}}}
if "--scan" in args:
    print({json.dumps(SCAN)!r})
else:
    assert args[:4] in (["--json", "-a", "-d", "sat"], ["--json", "-a", "-d", "nvme"]), args
    print(outputs[args[-1]])
    sys.exit(2)
""",
    )
    result = smart.scan(binary, timeout_s=10)
    assert [d.power_on_hours for d in result.disks] == [28123]
    assert result.problems == [
        "/dev/nvme0: Smartctl open device: /dev/sda failed: Permission denied"
    ]


@pytest.mark.process
@pytest.mark.skipif(sys.platform == "win32", reason="the fake smartctl is a #! script")
def test_scan_survives_a_hang_and_garbage(tmp_path: Path) -> None:
    hang = _fake_smartctl(tmp_path, "time.sleep(30)")
    assert smart.scan(hang, timeout_s=0.3) == smart.SmartScan(
        problems=["smartctl --scan: timed out after 0.3 s"]
    )
    (tmp_path / "smartctl").unlink()
    garbage = _fake_smartctl(tmp_path, "print('Segmentation fault')")
    (problem,) = smart.scan(garbage).problems
    assert problem.startswith("smartctl --scan: not JSON")


@pytest.mark.process
def test_absent_binary_is_an_empty_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert native.OS.smartctl() is None
    assert smart.scan().disks == []
    missing = smart.scan(str(tmp_path / "nowhere" / "smartctl"))
    assert missing.disks == []
    assert len(missing.problems) == 1
