"""This OS's code: the one place where a Linux or a Windows module is chosen.

Whatever touches the operating system sits behind a small interface below, with one module per
OS named ``<topic>_linux`` and ``<topic>_windows`` (the POSIX ICMP module, ``icmp``, serves
Linux). Each pair is chosen here, once, at import: no other module tests ``sys.platform`` to
choose code (a Windows module's own test only refuses a call on another OS, which also tells
mypy where Windows APIs are reachable), and mypy checks both modules of every pair against
their interface whichever OS it runs on. Both modules import on any OS (ctypes and winreg are
reached only inside functions), so the tests run each Windows parser on recorded data here.

- ``OsInfo``: ``osinfo_linux`` / ``osinfo_windows``, for the host and machine probes, the
  outbox's default path and smartctl's place;
- ``SmbiosReader``: ``probes.machine.smbios_linux`` / ``smbios_windows``, the machine probe;
- ``NetworkInfo``: ``probes.links.netinfo_linux`` / ``netinfo_windows``, the link probe;
- ``Pinger``: ``probes.links.icmp`` / ``icmp_windows``, the link probe.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Final, Generic, Protocol, TypeVar

from wardwatch.agent import osinfo_linux, osinfo_windows
from wardwatch.agent.osinfo import OsIdentity
from wardwatch.agent.probes.links import icmp, icmp_windows, netinfo_linux, netinfo_windows
from wardwatch.agent.probes.machine import smbios_linux, smbios_windows
from wardwatch.agent.probes.machine.smbios import Smbios

IS_WINDOWS: Final = sys.platform == "win32"

T = TypeVar("T")


class PerOs(Generic[T]):
    """One interface's implementations, by OS; ``here`` is the running OS's.

    Written ``PerOs[Interface](linux=..., windows=...)`` so that mypy checks both modules.
    """

    def __init__(self, *, linux: T, windows: T) -> None:
        self.linux = linux
        self.windows = windows

    @property
    def here(self) -> T:
        """The implementation for the OS this process runs on."""
        return self.windows if IS_WINDOWS else self.linux


class OsInfo(Protocol):
    """What the OS says about itself, and where it keeps things."""

    def os_identity(self) -> OsIdentity:
        """Name, version, build and edition of the running OS."""
        ...

    def system_disk(self) -> str:
        """The filesystem whose use the host probe reports."""
        ...

    def cpu_model(self) -> str:
        """The processor's marketing name, as the CPU launch rules match it."""
        ...

    def installed_on(self) -> date | None:
        """When the OS was installed, if the OS records it."""
        ...

    def state_dir(self) -> Path:
        """Where the agent keeps its state (the outbox) by default."""
        ...

    def uptime_s(self) -> float:
        """Seconds since boot."""
        ...

    def smartctl(self) -> str | None:
        """smartmontools' ``smartctl`` binary, where this OS's installer puts it; None if absent."""
        ...


class SmbiosReader(Protocol):
    """This machine's SMBIOS table."""

    def read(self) -> Smbios:
        """Fetch and parse the table; what could not be read is in ``Smbios.missing``."""
        ...


class NetworkInfo(Protocol):
    """The hops every link probe round starts with."""

    def default_gateways(self) -> list[str]:
        """This machine's default gateways (IPv4)."""
        ...

    def dns_servers(self) -> list[str]:
        """This machine's DNS servers."""
        ...


class Pinger(Protocol):
    """ICMP echo rounds."""

    def ping(
        self, address: str, count: int, gap_s: float, timeout_s: float
    ) -> tuple[list[float | None], str] | None:
        """``count`` echo requests ``gap_s`` apart: each RTT in ms (None: lost) and the last
        error; None when this user may not send ICMP (the caller falls back to TCP)."""
        ...


OS: Final = PerOs[OsInfo](linux=osinfo_linux, windows=osinfo_windows).here
SMBIOS: Final = PerOs[SmbiosReader](linux=smbios_linux, windows=smbios_windows).here
NETWORK: Final = PerOs[NetworkInfo](linux=netinfo_linux, windows=netinfo_windows).here
ICMP: Final = PerOs[Pinger](linux=icmp, windows=icmp_windows).here
