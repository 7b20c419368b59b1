"""The agent's Windows installers: ``make windows`` builds the same bytes twice from pinned
inputs, and under Wine (Debian's wine64, a fresh prefix) the MSI installs, its agent runs from
``wardwatch-agent.cmd``, and the uninstall leaves no program file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import repo
from tests.support.wine import INSTALL, INSTALL_DIR, Wine

pytestmark = pytest.mark.wine

BUILD = repo.ROOT / "deploy" / "windows" / "build_msi.py"
CACHE = repo.ROOT / "build" / "windows-inputs"
"""Downloads are kept between runs (the build checks their hashes every time)."""


def build(out: Path) -> subprocess.CompletedProcess[str]:
    """``deploy/windows/build_msi.py --out OUT``, as ``make windows`` runs it."""
    for tool in ("wixl", "msiinfo", "faketime"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: {INSTALL}", pytrace=False)
    command = [sys.executable, str(BUILD), "--out", str(out), "--cache", str(CACHE)]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@dataclass(frozen=True)
class Built:
    """Two builds' output folders and the first one's printed lines."""

    first: Path
    second: Path
    printed: list[str]

    def msi(self, suffix: str = "") -> Path:
        """The first build's MSI of a runtime ("" for main, "-legacy")."""
        (found,) = self.first.glob(f"wardwatch-agent-*-x64{suffix}.msi")
        return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    first, second = tmp_path_factory.mktemp("dist1"), tmp_path_factory.mktemp("dist2")
    done = build(first)
    assert done.returncode == 0, done.stderr
    again = build(second)
    assert again.returncode == 0, again.stderr
    return Built(first, second, done.stdout.splitlines())


def table(msi: Path, name: str) -> list[list[str]]:
    """The rows of one table of an MSI (msiinfo export), past its three header lines."""
    exported = subprocess.run(
        ["msiinfo", "export", str(msi), name], capture_output=True, text=True, check=True
    )
    return [line.split("\t") for line in exported.stdout.splitlines()[3:]]


@pytest.mark.process
def test_two_builds_give_the_same_bytes_and_say_their_sha256(built: Built) -> None:
    names = sorted(path.name for path in built.first.glob("*.msi"))
    assert len(names) == 2 and names[0].endswith("-x64-legacy.msi")
    for name in names:
        first, second = built.first / name, built.second / name
        assert first.read_bytes() == second.read_bytes(), name
        digest = (built.first / f"{name}.sha256").read_text().split()[0]
        assert f"{digest}  {name}" in built.printed
        assert str(repo.ROOT).encode() not in first.read_bytes()  # no path of this machine
        assert b"/tmp/" not in first.read_bytes()


@pytest.mark.process
@pytest.mark.parametrize(
    ("suffix", "dll", "packages"),
    [("", "python313.dll", {"psutil", "paho", "msgspec"}), ("-legacy", "python38.dll", {"tomli"})],
)
def test_each_msi_holds_its_runtime_the_wheels_and_the_agent(
    built: Built, suffix: str, dll: str, packages: set[str]
) -> None:
    msi = built.msi(suffix)
    files = {row[2].split("|")[-1] for row in table(msi, "File")}
    assert {"python.exe", dll, "wardwatch-agent.cmd", "main.py", "wire.schema.json"} <= files
    directories = {row[2].split("|")[-1] for row in table(msi, "Directory")}
    assert {"python", "site-packages", "app", "wardwatch", "agent", *packages} <= directories


CASES = (("", "win10", "10"), ("-legacy", "win7", "7"))
"""Each MSI, the Windows its Wine prefix plays, and the version the agent must read there."""


@pytest.mark.process
def test_each_msi_installs_runs_the_agent_and_uninstalls_clean(
    built: Built, tmp_path: Path
) -> None:
    """CPython 3.13 on Windows 10 and CPython 3.8 on Windows 7, side by side: two prefixes,
    two Wine servers (the suite's time is what is saved)."""

    def case(suffix: str, windows: str, version: str) -> None:
        wine = Wine(tmp_path / f"prefix{suffix or '-main'}", windows)
        try:
            _install_run_uninstall(wine, str(built.msi(suffix)), version)
        finally:
            wine.kill()

    with ThreadPoolExecutor(len(CASES)) as pool:
        for done in [pool.submit(case, *c) for c in CASES]:
            done.result()  # re-raises a case's failure


def _install_run_uninstall(wine: Wine, msi: str, version: str) -> None:
    assert wine.run("wine", "msiexec", "/i", msi, "/qn").returncode == 0
    assert (wine.program_files / "wardwatch-agent.cmd").is_file()
    check = _agent(wine, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    inventory = _agent(wine, "inventory", "--json")
    assert inventory.returncode == 0, inventory.stderr
    facts = json.loads(inventory.stdout)
    assert (facts["os_name"], facts["os_version"]) == ("Windows", version)
    assert "Traceback" not in inventory.stderr
    assert wine.run("wine", "msiexec", "/x", msi, "/qn").returncode == 0
    assert not wine.program_files.exists()


def _agent(wine: Wine, *args: str) -> subprocess.CompletedProcess[str]:
    """``wardwatch-agent.cmd ARGS`` from the install folder, as from a console."""
    return wine.run("wine", "cmd", "/c", f"{INSTALL_DIR}\\wardwatch-agent.cmd", *args)
