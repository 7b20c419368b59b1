"""Disk power-on hours from smartmontools' ``smartctl --json``, where smartctl is installed.

A disk's power-on hours are a lower bound on the machine's age (it has been running at least
that long), used by ``wardwatch.rules.age`` when better evidence is missing. The parser is pure and
OS-independent; ``scan`` runs the binary (Linux, or Windows with smartmontools installed) and
never raises: no binary, a timeout or garbage output becomes a problem string, not an error.

JSON keys follow smartctl's documented ``--json`` output (smartmontools 7.x): ``device``
(``name``, ``type``, ``protocol``), ``model_name``, ``serial_number``, ``power_on_time.hours``
for every protocol that reports it, and, for NVMe, also
``nvme_smart_health_information_log.power_on_hours``.
"""

from __future__ import annotations

import subprocess
from typing import Any, Final, List, Optional

import msgspec
from msgspec import Struct

from wardwatch.agent import native
from wardwatch.contract.wire import Disk, one_line

DEFAULT_TIMEOUT_S: Final = 20.0
"""Per smartctl run; a sleeping disk may take seconds to spin up, a hung one must not block."""

MAX_OUTPUT_BYTES: Final = 1024 * 1024
"""smartctl's JSON for one disk is tens of kB; anything far larger is not its output."""


class DiskReading(Struct, frozen=True, kw_only=True):
    """The result of parsing one ``smartctl --json -a`` output: a disk, or why there is none."""

    disk: Optional[Disk] = None
    problem: str = ""


class ScannedDevice(Struct, frozen=True, kw_only=True):
    """One entry of ``smartctl --json --scan``."""

    name: str
    type: str = ""
    protocol: str = ""


class SmartScan(Struct, frozen=True, kw_only=True):
    """Every disk smartctl could read, and what went wrong with the others."""

    disks: List[Disk] = msgspec.field(default_factory=list)
    problems: List[str] = msgspec.field(default_factory=list)


def _load(text: str | bytes) -> dict[str, Any] | str:
    """The JSON object in ``text``, or a problem string."""
    try:
        data = msgspec.json.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return f"not JSON: {exc}"
    if not isinstance(data, dict):
        return f"not a JSON object but {type(data).__name__}"
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    # Cleaned here: the text travels in the wire contract, which refuses control characters.
    return one_line(value.strip()) if isinstance(value, str) else ""


def _hours(value: object) -> int | None:
    # bool is an int subclass; true is not a number of hours.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _smartctl_error(data: dict[str, Any]) -> str:
    """smartctl's own error message (e.g. permission denied), if it printed one."""
    smartctl = data.get("smartctl")
    messages = smartctl.get("messages") if isinstance(smartctl, dict) else None
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("severity") == "error":
                return str(message.get("string", "")).strip()
    return ""


def parse_device(text: str | bytes) -> DiskReading:
    """Parse the output of ``smartctl --json -a DEVICE``."""
    data = _load(text)
    if isinstance(data, str):
        return DiskReading(problem=data)
    device = data.get("device")
    if not isinstance(device, dict):
        error = _smartctl_error(data)
        return DiskReading(problem=error or "no 'device' object")
    # NVMe reports the hours in its health log too; older smartctl only there.
    nvme_log = data.get("nvme_smart_health_information_log")
    power_on = data.get("power_on_time")
    hours = _hours(power_on.get("hours")) if isinstance(power_on, dict) else None
    if hours is None and isinstance(nvme_log, dict):
        hours = _hours(nvme_log.get("power_on_hours"))
    if hours is None:
        error = _smartctl_error(data)
        return DiskReading(problem=error or "no power-on hours reported")
    return DiskReading(
        disk=Disk(
            device=_text(device, "name"),
            protocol=_text(device, "protocol"),
            model=_text(data, "model_name"),
            serial=_text(data, "serial_number"),
            power_on_hours=hours,
        )
    )


def parse_scan(text: str | bytes) -> tuple[list[ScannedDevice], str]:
    """Parse ``smartctl --json --scan``: the devices, and a problem string ("" if none)."""
    data = _load(text)
    if isinstance(data, str):
        return [], data
    devices = data.get("devices")
    if not isinstance(devices, list):
        return [], _smartctl_error(data) or "no 'devices' list"
    found: list[ScannedDevice] = []
    for entry in devices:
        if not isinstance(entry, dict):
            continue
        name = _text(entry, "name")
        # The name becomes an argument: one starting with "-" would be read as an option.
        if name and not name.startswith("-"):
            found.append(
                ScannedDevice(
                    name=name, type=_text(entry, "type"), protocol=_text(entry, "protocol")
                )
            )
    return found, ""


def _run(argv: list[str], timeout_s: float) -> tuple[bytes, str]:
    """smartctl's stdout, or a problem. Its exit status is a bit mask that is non-zero for
    many healthy-enough cases (e.g. an old error in the log), so the JSON decides, not it."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return b"", f"timed out after {timeout_s:g} s"
    except OSError as exc:
        return b"", str(exc)
    if len(done.stdout) > MAX_OUTPUT_BYTES:
        return b"", f"{len(done.stdout)} bytes of output, too large"
    return done.stdout, ""


def scan(binary: str | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> SmartScan:
    """Every disk's power-on hours, by running smartctl; empty when smartctl is absent."""
    smartctl = binary if binary is not None else native.OS.smartctl()
    if smartctl is None:
        return SmartScan(problems=["smartctl not installed"])
    output, problem = _run([smartctl, "--json", "--scan"], timeout_s)
    devices: list[ScannedDevice] = []
    if not problem:
        devices, problem = parse_scan(output)
    if problem:
        return SmartScan(problems=[f"smartctl --scan: {problem}"])
    problems: list[str] = []
    disks: list[Disk] = []
    for device in devices:
        # The type from the scan (e.g. "sat", "megaraid,0") tells smartctl how to reach it.
        kind = ["-d", device.type] if device.type else []
        output, problem = _run([smartctl, "--json", "-a", *kind, device.name], timeout_s)
        reading = DiskReading(problem=problem) if problem else parse_device(output)
        if reading.disk is not None:
            disks.append(reading.disk)
        else:
            problems.append(f"{device.name}: {reading.problem}")
    return SmartScan(disks=disks, problems=problems)
