"""OS identity on Windows, decided by build number (Windows 11 still calls itself 10)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Final

from wardwatch.agent.osinfo import OsIdentity

CURRENT_VERSION_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"

# The first build of Windows 11; below it, a "10.0" kernel is Windows 10.
WINDOWS_11_FIRST_BUILD = 22000

# Windows Server releases by build. Server shares builds with clients (14393 is also Windows 10
# 1607, 17763 is 1809, 26100 Windows 11 24H2) but not their end of support, so the agent names
# it apart; the collector's OS table matches it by build.
SERVER_RELEASES: Final[Mapping[int, str]] = {
    7600: "2008 R2",
    7601: "2008 R2",
    9200: "2012",
    9600: "2012 R2",
    14393: "2016",
    17763: "2019",
    20348: "2022",
    26100: "2025",
}

# sys.getwindowsversion().product_type: VER_NT_WORKSTATION; 2 and 3 are a domain controller and
# a server.
_WORKSTATION = 1
# Windows 10/11 Enterprise multi-session's EditionID: a client, though it starts with "Server".
_MULTI_SESSION = "serverrdsh"


def identity_from(
    major: int, minor: int, build: int, edition: str, *, server: bool = False
) -> OsIdentity:
    """Name the Windows release from the kernel version numbers the API reports.

    A server's version is ``Server <year>`` (``Server`` alone for a build not listed in
    ``SERVER_RELEASES``), whatever its kernel version.
    """
    if server:
        release = SERVER_RELEASES.get(build)
        version = f"Server {release}" if release else "Server"
    elif (major, minor) == (10, 0):
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


def is_server(current_version: Mapping[str, object], product_type: int | None) -> bool:
    """Whether this Windows is a Server, from the values of the registry's
    ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` and the product type.

    ``InstallationType`` decides when present (``Client``; ``Server``, ``Server Core``, ``Nano
    Server``); else ``EditionID`` (``ServerStandard``...; Enterprise multi-session's
    ``ServerRdsh`` is a client), ``ProductName`` (``Windows Server 2019 Standard``: trusted for
    Server only, Windows 11 still calls itself Windows 10 there), then the product type.
    """
    installation = current_version.get("InstallationType")
    if isinstance(installation, str) and installation.strip():
        return "server" in installation.lower()
    edition = current_version.get("EditionID")
    if isinstance(edition, str) and edition.lower().startswith("server"):
        return not edition.lower().startswith(_MULTI_SESSION)
    product = current_version.get("ProductName")
    if isinstance(product, str) and "windows server" in product.lower():
        return True
    return product_type is not None and product_type != _WORKSTATION


def os_identity() -> OsIdentity:
    """The running Windows, from ``sys.getwindowsversion``, the edition platform reports and
    whether the registry says Server."""
    import platform

    info = sys.getwindowsversion()  # type: ignore[attr-defined]  # exists on Windows only
    server = is_server(_current_version(), getattr(info, "product_type", None))
    edition = platform.win32_edition() or ""
    return identity_from(info.major, info.minor, info.build, edition, server=server)


def _current_version() -> dict[str, object]:
    """The values ``is_server`` reads; those that cannot be read are left out."""
    if sys.platform != "win32":
        raise OSError("the Windows registry exists only on Windows")
    import winreg

    values: dict[str, object] = {}
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, CURRENT_VERSION_KEY) as key:
            for name in ("InstallationType", "EditionID", "ProductName"):
                try:
                    values[name] = winreg.QueryValueEx(key, name)[0]
                except OSError:
                    continue
    except OSError:
        pass  # no registry answer: the product type alone decides
    return values


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


def install_date_from(value: object) -> date | None:
    """The date of the registry's ``InstallDate`` (a REG_DWORD of seconds since the epoch,
    reset by each feature update); None when absent, zero or not a number."""
    if not isinstance(value, int) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc).date()
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
