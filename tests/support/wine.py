"""A Wine prefix playing one Windows, for the tests and benchmarks of the agent on Windows.

Debian's Wine 8 (``wine``, ``wine64``) runs python.org's embeddable CPython for Windows. What it
needs, measured: standard streams on pipes or /dev/null (a regular file as stdout stops Python
at start); ``WINEDLLOVERRIDES=wbemprox=d`` (Python >= 3.12 imports ``_wmi``, which crashes under
Wine's wbemprox; without it Python answers ``platform`` from the registry); ``winecfg /v`` to
play a Windows other than Wine's default (7).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL = (
    "apt-get install -y --no-install-recommends wixl msitools faketime wine wine64 osslsigncode"
)
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

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Keep this prefix's session up inside the block (a Windows process waiting).

        Wine starts every automatic service when a session begins, as Windows does at boot: a
        command in a session of its own (an uninstall) would start the agent's service first.
        The waiting process is ended by ``taskkill``: killing the Unix process that started it
        would leave it (and the session) running."""
        waiting = subprocess.Popen(
            [*self.wrap, "wine", "cmd", "/c", "ping -n 3600 127.0.0.1 >nul"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            self.run("wine", "taskkill", "/f", "/im", "ping.exe", settle=False)
            waiting.kill()
            waiting.wait(30)

    def running(self, needle: str) -> list[int]:
        """The Unix pids of this prefix's processes whose command line holds ``needle``.

        Read from /proc: Wine 8's ``sc`` has no ``query`` to ask the service manager."""
        mine = f"WINEPREFIX={self.prefix}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                environ = (proc / "environ").read_bytes().split(b"\0")
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:  # ended meanwhile, or not ours to read
                continue
            if mine in environ and needle.encode() in cmdline:
                found.append(int(proc.name))
        return found

    def path(self, windows: str) -> Path:
        """A ``C:\\...`` path as the Unix side sees it."""
        drive, _, rest = windows.partition(":\\")
        assert drive.upper() == "C", windows
        return self.prefix / "drive_c" / Path(*rest.split("\\"))

    @property
    def program_files(self) -> Path:
        """``%ProgramFiles%\\wardwatch`` as the Unix side sees it."""
        return self.path(INSTALL_DIR)


DMI_SCRIPT = """
set -e
real=$(mktemp -d)
mount --bind /sys/class "$real"
mount -t tmpfs wardwatch-dmi /sys/class
for entry in "$real"/*; do
    mkdir "/sys/class/${entry##*/}"
    mount --bind "$entry" "/sys/class/${entry##*/}"
done
mkdir -p /sys/class/dmi/id
while [ $# -gt 1 ]; do printf '%s\\n' "$2" > "/sys/class/dmi/id/$1"; shift 2; done
echo ready
exec sleep infinity
"""
"""Inside a new mount namespace: /sys/class as it is, plus a ``dmi/id`` of the given files
(sysfs itself cannot be written: a tmpfs over /sys/class holds every class bound back)."""


class DmiNamespace:
    """A private mount namespace whose ``/sys/class/dmi/id`` holds ``values`` (file: value).

    Wine builds the SMBIOS table ``GetSystemFirmwareTable`` returns from those files, in the
    process that asks; run every Wine command of a prefix through ``wrap`` so the service and
    the console see them. Needs root (``unshare -m``); killed by ``close``."""

    def __init__(self, values: dict[str, str]) -> None:
        if os.geteuid() != 0:
            pytest.fail("a mount namespace needs root: run the Wine tier as root", pytrace=False)
        pairs = [item for pair in sorted(values.items()) for item in pair]
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", DMI_SCRIPT, "dmi", *pairs],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout is not None
        line = self.holder.stdout.readline()
        assert line == "ready\n", f"the DMI namespace did not start: {line!r}"

    @property
    def wrap(self) -> tuple[str, ...]:
        """The command prefix that runs a command inside the namespace."""
        return ("nsenter", "-t", str(self.holder.pid), "-m", "--")

    def close(self) -> None:
        """End the namespace (its mounts go with its last process)."""
        self.holder.kill()
        self.holder.wait(10)
