"""The agent's Windows installers as ``make windows`` builds them (deploy/windows/build_msi.py):
the same bytes at every build, signed when asked, each MSI holding its runtime, the wheels and
the agent precompiled. tests/test_windows_service.py installs them under Wine."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.support import repo
from tests.support.msi_build import Built, built, table

pytestmark = pytest.mark.wine
__all__ = ["built"]  # the session's build, a fixture


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
def test_a_signed_build_verifies_against_its_certificate(built: Built) -> None:
    for msi in sorted(built.newer.glob("*.msi")):
        verified = subprocess.run(
            ["osslsigncode", "verify", "-in", str(msi), "-CAfile", str(built.signer)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Signature verification: ok" in verified.stdout, verified.stdout + verified.stderr
        digest = (built.newer / f"{msi.name}.sha256").read_text().split()[0]
        assert digest == hashlib.sha256(msi.read_bytes()).hexdigest()  # of the signed file


@pytest.mark.process
@pytest.mark.parametrize(
    ("suffix", "tag", "packages", "oldest"),
    [("", "313", {"psutil", "paho", "msgspec"}, "603"), ("-legacy", "38", {"tomli"}, "601")],
)
def test_each_msi_holds_its_runtime_the_wheels_and_the_agent_precompiled(
    built: Built, suffix: str, tag: str, packages: set[str], oldest: str
) -> None:
    """Its runtime, the wheels, the agent and its bytecode; and the oldest Windows it accepts
    (Windows 7 gets the legacy MSI: the main one refuses it)."""
    msi = built.msi(suffix)
    files = {row[2].split("|")[-1] for row in table(msi, "File")}
    assert {"python.exe", f"python{tag}.dll", "wardwatch-agent.cmd", "wire.schema.json"} <= files
    assert {"main.py", f"main.cpython-{tag}.pyc", f"client.cpython-{tag}.pyc"} <= files
    directories = {row[2].split("|")[-1] for row in table(msi, "Directory")}
    assert {"python", "site-packages", "app", "wardwatch", "agent", *packages} <= directories
    ((condition, _),) = table(msi, "LaunchCondition")[1:]  # the first: WiX's downgrade check
    assert condition == f"Installed OR VersionNT >= {oldest}"
