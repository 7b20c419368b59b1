"""OS identity on Linux (and other POSIX systems): /etc/os-release and the kernel release."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import time
from datetime import date, datetime, timezone
from pathlib import Path

from wardwatch.agent.osinfo import OsIdentity

OS_RELEASE = Path("/etc/os-release")
CPUINFO = Path("/proc/cpuinfo")
INSTALL_MARKERS = (Path("/var/log/installer"), Path("/etc/machine-id"))
"""Written when the system was installed (Debian/Ubuntu's installer logs; the machine id of
the first boot), and not touched afterwards."""


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5): KEY=value lines with shell quoting; bad lines are skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or key.lstrip().startswith("#"):
            continue
        try:
            parts = shlex.split(value)
        except ValueError:
            continue
        values[key.strip()] = parts[0] if parts else ""
    return values


def os_identity() -> OsIdentity:
    """Distribution name and version from os-release; the kernel release as the build."""
    try:
        release = parse_os_release(OS_RELEASE.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        release = {}
    return OsIdentity(
        name=release.get("NAME", platform.system()),
        version=release.get("VERSION_ID", ""),
        build=platform.release(),
    )


def system_disk() -> str:
    """The filesystem whose use the host probe reports."""
    return "/"


def parse_cpu_model(cpuinfo: str) -> str:
    """The first ``model name`` (x86) or ``Model`` (ARM boards) in /proc/cpuinfo, or ""."""
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("model name", "Model"):
            return value.strip()
    return ""


def cpu_model() -> str:
    """The processor's marketing name, as the lifecycle rules match it."""
    try:
        return parse_cpu_model(CPUINFO.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return platform.processor()


def installed_on(markers: tuple[Path, ...] = INSTALL_MARKERS) -> date | None:
    """When this system was installed: the oldest modification time of the install markers;
    None when none exists. Linux keeps no install date, so this is evidence, not a record."""
    times: list[float] = []
    for marker in markers:
        try:
            times.append(marker.stat().st_mtime)
        except OSError:
            continue
    return datetime.fromtimestamp(min(times), timezone.utc).date() if times else None


def state_dir() -> Path:
    """Where the agent keeps its state: systemd's StateDirectory, else the usual places."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    if os.geteuid() == 0:
        return Path("/var/lib/wardwatch")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wardwatch"


def smartctl() -> str | None:
    """smartmontools' ``smartctl`` on PATH (Debian: ``apt-get install smartmontools``)."""
    return shutil.which("smartctl")


def uptime_s() -> float:
    """Seconds since boot, suspend included, from the kernel's boot clock.

    Not ``now - psutil.boot_time()``: that mixes the wall clock of today with the wall clock
    of the boot, and is wrong by any jump in between (an NTP fix of a dead clock battery).
    """
    return time.clock_gettime(time.CLOCK_BOOTTIME)
