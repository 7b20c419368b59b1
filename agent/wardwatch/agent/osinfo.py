"""Which operating system this is: chosen once from the per-OS module, never ``if platform``."""

from __future__ import annotations

import sys

from msgspec import Struct


class OsIdentity(Struct, frozen=True, kw_only=True):
    """Name, version, build and edition of the running OS, as an operator would write them."""

    name: str
    version: str
    build: str
    edition: str = ""


if sys.platform == "win32":
    from wardwatch.agent.osinfo_windows import (
        cpu_model,
        installed_on,
        os_identity,
        state_dir,
        system_disk,
        uptime_s,
    )
else:
    from wardwatch.agent.osinfo_linux import (
        cpu_model,
        installed_on,
        os_identity,
        state_dir,
        system_disk,
        uptime_s,
    )

__all__ = [
    "OsIdentity",
    "cpu_model",
    "installed_on",
    "os_identity",
    "state_dir",
    "system_disk",
    "uptime_s",
]
