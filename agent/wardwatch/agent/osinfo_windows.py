"""OS identity on Windows, decided by build number (Windows 11 still calls itself 10)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from wardwatch.agent.osinfo import OsIdentity

# The first build of Windows 11; below it, a "10.0" kernel is Windows 10.
WINDOWS_11_FIRST_BUILD = 22000


def identity_from(major: int, minor: int, build: int, edition: str) -> OsIdentity:
    """Name the Windows release from the kernel version numbers the API reports."""
    if (major, minor) == (10, 0):
        version = "11" if build >= WINDOWS_11_FIRST_BUILD else "10"
    elif (major, minor) == (6, 3):
        version = "8.1"
    elif (major, minor) == (6, 2):
        version = "8"
    elif (major, minor) == (6, 1):
        version = "7"
    else:
        version = f"{major}.{minor}"
    name = f"Windows {edition}".strip() if edition else "Windows"
    return OsIdentity(name=name, version=version, build=str(build), edition=edition)


def os_identity() -> OsIdentity:
    """The running Windows, from ``sys.getwindowsversion`` and the edition platform reports."""
    import platform

    info = sys.getwindowsversion()  # type: ignore[attr-defined]  # exists on Windows only
    return identity_from(info.major, info.minor, info.build, platform.win32_edition() or "")


def system_disk() -> str:
    """The system drive, usually C:\\."""
    return os.environ.get("SYSTEMDRIVE", "C:") + "\\"


def cpu_model() -> str:
    """The processor's marketing name from the registry (platform.processor() is only a family)."""
    if sys.platform != "win32":
        raise OSError("the Windows registry exists only on Windows")
    import winreg

    key_path = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key_path) as key:
        value, _ = winreg.QueryValueEx(key, "ProcessorNameString")
    return str(value).strip()


SMARTCTL: Final = Path(r"C:\Program Files\smartmontools\bin\smartctl.exe")
"""Where smartmontools' Windows installer puts the binary; it is not always on PATH."""


def smartctl() -> str | None:
    """smartmontools' ``smartctl.exe``: on PATH, or where its installer puts it."""
    found = shutil.which("smartctl")
    if found is None and SMARTCTL.is_file():
        found = str(SMARTCTL)
    return found


CURRENT_VERSION_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"


def install_date_from(value: object) -> date | None:
    """The date of the registry's ``InstallDate`` (a REG_DWORD of seconds since the epoch,
    reset by each feature update); None when absent, zero or not a number."""
    if not isinstance(value, int) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def installed_on() -> date | None:
    """When this Windows was installed (or last feature-updated), from the registry."""
    if sys.platform != "win32":
        raise OSError("the Windows registry exists only on Windows")
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, CURRENT_VERSION_KEY) as key:
            value, _ = winreg.QueryValueEx(key, "InstallDate")
    except OSError:
        return None
    return install_date_from(value)


def state_dir() -> Path:
    """Where the agent keeps its state: %ProgramData%\\wardwatch."""
    return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "wardwatch"


def uptime_s() -> float:
    """Seconds since boot (psutil derives the boot time from the tick count)."""
    import psutil

    return max(0.0, time.time() - psutil.boot_time())
