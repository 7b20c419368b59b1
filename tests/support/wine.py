"""A Wine prefix playing one Windows, for the tests and benchmarks of the agent on Windows.

Debian's Wine 8 (``wine``, ``wine64``) runs python.org's embeddable CPython for Windows. What it
needs, measured: standard streams on pipes or /dev/null (a regular file as stdout stops Python
at start); ``WINEDLLOVERRIDES=wbemprox=d`` (Python >= 3.12 imports ``_wmi``, which crashes under
Wine's wbemprox; without it Python answers ``platform`` from the registry); ``winecfg /v`` to
play a Windows other than Wine's default (7).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL = "apt-get install -y --no-install-recommends wixl msitools faketime wine wine64"
"""What ``make deps`` installs for the Windows installers and their tests."""
INSTALL_DIR = "C:\\Program Files\\wardwatch"
"""Where the MSI installs the agent, as Windows names it."""


class Wine:
    """A fresh Wine prefix, booted as ``windows`` (win7, win10...), with stdio on pipes.

    ``wrap`` goes before every command: e.g. ``nsenter`` into a mount namespace that gives Wine
    the DMI values it builds its SMBIOS table from."""

    def __init__(self, prefix: Path, windows: str, wrap: tuple[str, ...] = ()) -> None:
        if shutil.which("wine") is None:
            pytest.fail(f"wine is missing: {INSTALL}", pytrace=False)
        self.env = {
            **os.environ,
            "WINEPREFIX": str(prefix),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "wbemprox=d",
        }
        self.prefix = prefix
        self.wrap = wrap
        self.run("wineboot", "-i")
        self.run("wine", "winecfg", "/v", windows)

    def run(
        self, *command: str, timeout: float = 180, settle: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """A Windows command; then, with ``settle``, wait until Wine's server is idle."""
        done = subprocess.run(
            [*self.wrap, *command],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if settle:
            self.settle(timeout)
        return done

    def settle(self, timeout: float = 180) -> None:
        """Wait until Wine's server has nothing left to run (services stopped included)."""
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=timeout, check=False)

    def kill(self) -> None:
        """End every process of this prefix and its Wine server."""
        subprocess.run(["wineserver", "-k"], env=self.env, timeout=60, check=False)

    def session(self) -> subprocess.Popen[bytes]:
        """A Windows process that keeps this prefix's session up (kill it to end the session).

        Wine starts every automatic service when a session begins, as Windows does at boot: a
        command in a session of its own (an uninstall) would start the agent's service first."""
        return subprocess.Popen(
            [*self.wrap, "wine", "cmd", "/c", "ping -n 3600 127.0.0.1 >nul"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def path(self, windows: str) -> Path:
        """A ``C:\\...`` path as the Unix side sees it."""
        drive, _, rest = windows.partition(":\\")
        assert drive.upper() == "C", windows
        return self.prefix / "drive_c" / Path(*rest.split("\\"))

    @property
    def program_files(self) -> Path:
        """``%ProgramFiles%\\wardwatch`` as the Unix side sees it."""
        return self.path(INSTALL_DIR)
