"""The systemd units in deploy/systemd: hardened, and still granting what the programs need.

``systemd-analyze security --offline=yes`` scores each unit file as it stands (no running
systemd needed): the collector at most 2.5, the agent at most 4.5 (it keeps three capabilities,
the host's disks and the network). ``systemd-analyze verify`` must find nothing wrong but the
program the unit starts, which a test machine need not have in /opt/wardwatch. Both are programs
started, so those tests are ``process``; the unit tier reads the files and checks that each
thing the agent does (deploy/systemd/README.md lists them) is still granted, that no hardening
line is dropped unnoticed in the room below the bounds, and that the README explains every line
of both units.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest

from tests.support import repo

UNITS: Final = repo.DEPLOY / "systemd"
AGENT: Final = UNITS / "wardwatch-agent.service"
COLLECTOR: Final = UNITS / "wardwatch-collector.service"
README: Final = UNITS / "README.md"
MAX_EXPOSURE: Final = {AGENT: 4.5, COLLECTOR: 2.5}
"""Issue 12's bounds on the overall exposure level (0 = locked down, 10 = root and everything)."""

AGENT_CAPABILITIES: Final = {"CAP_DAC_READ_SEARCH", "CAP_SYS_RAWIO", "CAP_NET_RAW"}
"""The raw SMBIOS table and serial; smartctl's ATA pass-through; ICMP echo on a raw socket."""

_EXPOSURE = re.compile(r"Overall exposure level for (\S+): (\d+(?:\.\d+)?)")

Settings = dict[str, dict[str, list[str]]]
"""Section -> key -> every value assigned to it, in order (systemd keys may repeat)."""


def read_unit(path: Path) -> Settings:
    """Parse a unit file as systemd does: sections, ``#``/``;`` comments, repeated keys,
    lines continued with a trailing backslash."""
    settings: Settings = {}
    section: dict[str, list[str]] = {}
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = settings.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return settings


def words(settings: Settings, key: str, section: str = "Service") -> list[str]:
    """A list-valued setting's words after every assignment, as systemd merges them: each
    assignment adds its words, an empty one clears what came before."""
    merged: list[str] = []
    for value in settings.get(section, {}).get(key, []):
        merged = [*merged, *value.split()] if value else []
    return merged


def last(settings: Settings, key: str, section: str = "Service") -> str | None:
    """A single-valued setting: the last assignment wins; None when never assigned."""
    values = settings.get(section, {}).get(key)
    return values[-1] if values else None


def systemd_analyze() -> str:
    """The systemd-analyze binary; a clear failure, never a skip, where it is missing."""
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze not found: apt-get install -y systemd", pytrace=False)
    return found


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze ARGS``, its output captured as text."""
    return subprocess.run(
        [systemd_analyze(), *args],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
        check=False,
    )


# -- process tier: systemd's own verdict --------------------------------------------------


@pytest.mark.process
@pytest.mark.parametrize("unit", [AGENT, COLLECTOR], ids=lambda unit: unit.stem)
def test_exposure_is_within_the_bound(unit: Path) -> None:
    result = analyze("security", "--offline=yes", "--no-pager", str(unit))
    assert result.returncode == 0, result.stderr
    # A line systemd could not parse is ignored with a warning, and its hardening silently lost.
    assert result.stderr.strip() == "", result.stderr
    found = _EXPOSURE.search(result.stdout)
    assert found, f"no overall exposure level in:\n{result.stdout}"
    assert found[1] == unit.name
    exposure = float(found[2])
    assert exposure <= MAX_EXPOSURE[unit], (
        f"{unit.name} scores {exposure}, above {MAX_EXPOSURE[unit]}:\n{result.stdout}"
    )


@pytest.mark.process
@pytest.mark.parametrize("unit", [AGENT, COLLECTOR], ids=lambda unit: unit.stem)
def test_verify_finds_nothing_but_a_missing_program(unit: Path) -> None:
    # verify checks every key and value, and that ExecStart's program is executable. A test
    # machine has no /opt/wardwatch: that one complaint, and only while the program is really
    # absent, is expected; the unit is not rewritten to point at something else.
    program = last(read_unit(unit), "ExecStart")
    assert program, f"{unit.name}: no ExecStart"
    binary = program.split()[0]
    result = analyze("verify", "--man=no", "--recursive-errors=no", str(unit))
    missing = f"{unit.name}: Command {binary} is not executable: No such file or directory"
    expected = set() if Path(binary).exists() else {missing}
    output = (result.stdout + result.stderr).splitlines()
    unexpected = {line.strip() for line in output if line.strip()} - expected
    assert not unexpected, "\n".join(sorted(unexpected))
    assert result.returncode == (1 if expected else 0), result.stderr


# -- unit tier: what each program needs is still granted ----------------------------------


@pytest.mark.unit
def test_the_agent_keeps_its_three_capabilities_and_no_more() -> None:
    agent = read_unit(AGENT)
    assert set(words(agent, "AmbientCapabilities")) == AGENT_CAPABILITIES
    assert set(words(agent, "CapabilityBoundingSet")) == AGENT_CAPABILITIES
    # A user namespace would make the capabilities count only inside it: the root-owned SMBIOS
    # table, the disks and the host's network would stay out of reach.
    assert last(agent, "PrivateUsers") in (None, "no")
    assert last(agent, "NoNewPrivileges") == "yes"


@pytest.mark.unit
def test_the_agent_reaches_the_disks_proc_and_the_network() -> None:
    agent = read_unit(AGENT)
    # PrivateDevices=yes would hide /dev/sd* and drop CAP_SYS_RAWIO from the bounding set.
    assert last(agent, "PrivateDevices") in (None, "no")
    allowed = set(agent["Service"].get("DeviceAllow", []))
    assert {"block-sd r", "char-nvme r"} <= allowed
    # psutil reads /proc/stat and /proc/meminfo, the agent /proc/cpuinfo and /proc/net/route:
    # none of them is a process's, so ProcSubset=pid would hide them.
    assert last(agent, "ProcSubset") in (None, "all")
    families = set(words(agent, "RestrictAddressFamilies"))
    assert {"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"} <= families
    assert not any(family.startswith("~") for family in families)
    # Wards reach the collector, their gateway, DNS and the internet at any address.
    assert last(agent, "IPAddressDeny") is None
    assert last(agent, "PrivateNetwork") in (None, "no")
    assert last(agent, "StateDirectory") == "wardwatch"


@pytest.mark.unit
def test_the_collector_has_no_capability_and_no_state() -> None:
    collector = read_unit(COLLECTOR)
    assert words(collector, "CapabilityBoundingSet") == []
    assert "CapabilityBoundingSet" in collector["Service"]  # set, and empty: not the default
    assert words(collector, "AmbientCapabilities") == []
    assert last(collector, "StateDirectory") is None
    assert last(collector, "PrivateNetwork") in (None, "no")
    assert {"AF_INET", "AF_INET6"} <= set(words(collector, "RestrictAddressFamilies"))


@pytest.mark.unit
@pytest.mark.parametrize("unit", [AGENT, COLLECTOR], ids=lambda unit: unit.stem)
def test_hardening_keeps_the_existing_behaviour(unit: Path) -> None:
    settings = read_unit(unit)
    for key, value in {
        "DynamicUser": "yes",
        "Restart": "always",
        "ProtectSystem": "strict",
    }.items():
        assert last(settings, key) == value, f"{unit.name}: {key}"
    for key in ("MemoryHigh", "MemoryMax", "EnvironmentFile", "ExecStart"):
        assert last(settings, key), f"{unit.name}: {key} is gone"


COMMON_HARDENING: Final = {
    "NoNewPrivileges": "yes",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "UMask": "0077",
    "DevicePolicy": "closed",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "SystemCallArchitectures": "native",
    "SystemCallErrorNumber": "EPERM",
    "MemoryDenyWriteExecute": "yes",
    "LockPersonality": "yes",
    "RestrictRealtime": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
}
"""What both units set: the scores leave room below their bounds, so a line dropped by mistake
would pass the process tier; this names it."""


@pytest.mark.unit
@pytest.mark.parametrize("unit", [AGENT, COLLECTOR], ids=lambda unit: unit.stem)
def test_both_units_keep_the_common_hardening(unit: Path) -> None:
    settings = read_unit(unit)
    wrong = {key: last(settings, key) for key in COMMON_HARDENING}
    wrong = {key: value for key, value in wrong.items() if value != COMMON_HARDENING[key]}
    assert not wrong, f"{unit.name}: {wrong}"
    assert words(settings, "SystemCallFilter") == ["@system-service", "~@privileged", "@resources"]


@pytest.mark.unit
def test_the_readme_explains_every_line_of_both_units() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = sorted(
        f"{unit.name}: {key}="
        for unit in (AGENT, COLLECTOR)
        for key in read_unit(unit)["Service"]
        if f"{key}=" not in readme
    )
    assert not missing, f"{README.relative_to(repo.ROOT)} does not mention: {', '.join(missing)}"
