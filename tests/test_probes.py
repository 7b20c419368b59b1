"""Probes: the host probe on this machine, failure isolation, per-OS parsing on recorded data."""

from __future__ import annotations

import ast
from pathlib import Path

import psutil
import pytest

import wardwatch.agent
from tests.support.factories import report
from wardwatch.agent import osinfo_windows
from wardwatch.agent.osinfo import OsIdentity
from wardwatch.agent.osinfo_linux import parse_cpu_model, parse_os_release
from wardwatch.agent.osinfo_windows import identity_from
from wardwatch.agent.probes import host, run_all
from wardwatch.agent.probes.host import HostProbe
from wardwatch.contract import wire

pytestmark = pytest.mark.unit


def test_host_probe_reads_this_machine() -> None:
    facts, errors = run_all([HostProbe()])
    assert errors == []
    (host,) = facts
    assert isinstance(host, wire.HostFacts)
    assert host.uptime_s > 0
    assert host.boot_time < wire.now()
    assert host.cpu_count >= 1
    assert host.mem_total_mb > 0
    # What it measured passes the collector's validation.
    message = report(facts=facts)
    assert wire.decode(wire.topic(message.agent, "report"), wire.encode(message)) == message


class BrokenProbe:
    name = "broken"

    def collect(self) -> list[wire.Fact]:
        raise PermissionError("denied:\n/sys/firmware/dmi/tables/DMI")


def test_a_failing_probe_becomes_an_error_and_the_others_still_run() -> None:
    facts, errors = run_all([BrokenProbe(), HostProbe()])
    assert len(facts) == 1
    assert errors == [
        wire.ProbeError(
            probe="broken", error="PermissionError: denied: /sys/firmware/dmi/tables/DMI"
        )
    ]


DEBIAN_OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
# a comment
broken line without equals
QUOTE='unterminated
"""


def test_os_release_parsing() -> None:
    values = parse_os_release(DEBIAN_OS_RELEASE)
    assert values["NAME"] == "Debian GNU/Linux"
    assert values["VERSION_ID"] == "12"
    assert values["ID"] == "debian"
    assert "QUOTE" not in values


def test_cpu_model_parsing() -> None:
    x86 = (
        "processor\t: 0\nvendor_id\t: GenuineIntel\n"
        "model name\t: Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz\n"
    )
    assert parse_cpu_model(x86) == "Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz"
    assert parse_cpu_model("Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n") == (
        "Raspberry Pi 4 Model B Rev 1.4"
    )
    assert parse_cpu_model("") == ""


@pytest.mark.parametrize(
    ("version", "edition", "expected"),
    [
        ((6, 1, 7601), "", ("Windows", "7", "7601")),
        ((6, 3, 9600), "Professional", ("Windows Professional", "8.1", "9600")),
        ((10, 0, 19045), "Professional", ("Windows Professional", "10", "19045")),
        ((10, 0, 22000), "Core", ("Windows Core", "11", "22000")),
        ((10, 0, 26100), "Enterprise", ("Windows Enterprise", "11", "26100")),
    ],
)
def test_windows_version_is_decided_by_build(
    version: tuple[int, int, int], edition: str, expected: tuple[str, str, str]
) -> None:
    # Recorded values of sys.getwindowsversion() and platform.win32_edition(): Windows 11 still
    # reports major version 10, so only the build number tells them apart.
    identity = identity_from(*version, edition)
    assert (identity.name, identity.version, identity.build) == expected


class FakeWindows7Os:
    """A fake ``native.OS`` for a Windows 7 PC: the host probe's path there, on this machine's
    psutil (the disk is this machine's, the uptime osinfo_windows' own)."""

    def os_identity(self) -> OsIdentity:
        return identity_from(6, 1, 7601, "Professional")

    def system_disk(self) -> str:
        return "/"

    def uptime_s(self) -> float:
        return osinfo_windows.uptime_s()


def test_host_probe_never_asks_for_swap_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    # psutil.swap_memory() raises on Windows 7 (psutil #2681): the Windows path must not call it.
    def refuse() -> None:
        raise AssertionError("psutil.swap_memory() called on the Windows path")

    monkeypatch.setattr(psutil, "swap_memory", refuse)
    monkeypatch.setattr(host, "OS", FakeWindows7Os())
    facts, errors = run_all([HostProbe()])
    assert errors == []
    (facts_host,) = facts
    assert isinstance(facts_host, wire.HostFacts)
    assert (facts_host.os_name, facts_host.os_version) == ("Windows Professional", "7")


def test_swap_is_read_only_in_linux_modules() -> None:
    # The agent's per-OS split (wardwatch.agent.native) is where swap may be read: a module
    # shared by every OS, or a Windows one, must not call psutil.swap_memory().
    root = Path(wardwatch.agent.__file__).parent
    callers = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "swap_memory"
    ]
    assert [c for c in callers if not c.endswith("_linux.py")] == []
