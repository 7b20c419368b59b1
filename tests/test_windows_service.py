"""The agent's MSIs under Wine (Debian's Wine 8, a fresh prefix each, side by side): installed
through the script ``wardwatch agents add`` writes, against a real broker, collector and
InfluxDB; the service reports, stops, survives an upgrade with its config and outbox, and the
uninstall leaves no service and no program file."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import programs
from tests.support.city import City, city_of
from tests.support.faults import read_outbox
from tests.support.helpers import wait_until
from tests.support.msi_build import NEWER, Built, built
from tests.support.wine import INSTALL_DIR, DmiNamespace, Wine
from wardwatch.agent.service_windows import COMMAND as SERVICE_COMMAND
from wardwatch.collector.cli.status import fleet_status
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.query import quote_string

pytestmark = pytest.mark.wine
__all__ = ["built"]  # the session's build, a fixture


DMI = {
    "sys_vendor": "Dell Inc.",
    "product_name": "OptiPlex 3010",
    "product_serial": "WINE3010",
    "bios_vendor": "Dell Inc.",
    "bios_version": "A12",
    "bios_date": "05/14/2013",
    "chassis_type": "3",
}
"""The machine Wine's SMBIOS table describes (``/sys/class/dmi/id`` in the case's namespace)."""
SITE = "phuong-wine"
SERVICE_KEY = "HKLM\\System\\CurrentControlSet\\Services\\wardwatch-agent"
PROPERTIES_KEY = "HKLM\\SOFTWARE\\wardwatch\\agent"
PROBE_CONFIG = """
[links]
count = 3
spread_s = 0.3
timeout_s = 1
deadline_s = 5
gateway = false
dns = false

[[target]]
name = "loopback"
host = "127.0.0.1"
"""


@dataclass(frozen=True)
class Case:
    """One MSI, the Windows its Wine prefix plays, the version the agent must read there, and
    the agent id it is enrolled as."""

    suffix: str
    windows: str
    version: str
    agent: str


CASES = (Case("", "win10", "10", "wine-win10"), Case("-legacy", "win7", "7", "wine-win7"))


@pytest.mark.services
@pytest.mark.process
def test_each_msi_serves_the_city_survives_an_upgrade_and_uninstalls_clean(
    built: Built, tmp_path: Path, influxd: Influxd
) -> None:
    """CPython 3.13 on Windows 10 and CPython 3.8 on Windows 7, side by side (two prefixes,
    two Wine servers, two cities: each case stops its own broker)."""

    def case(case: Case) -> None:
        database = f"wine_{case.windows}_{uuid.uuid4().hex[:8]}"
        influxd.query(f'CREATE DATABASE "{database}"')
        dmi = DmiNamespace(DMI)
        try:
            with city_of(tmp_path / case.windows, influxd, database) as city:
                _lifecycle(
                    case,
                    built,
                    city,
                    Wine(tmp_path / case.windows / "prefix", case.windows, dmi.wrap),
                )
        finally:
            dmi.close()
            influxd.query(f'DROP DATABASE "{database}"')

    with ThreadPoolExecutor(len(CASES)) as pool:
        for done in [pool.submit(case, c) for c in CASES]:
            done.result()  # re-raises a case's failure


def _lifecycle(case: Case, built: Built, city: City, wine: Wine) -> None:
    try:
        with wine.session():
            _install(wine, built.msi(case.suffix), city, case.agent)
            _console_commands_work(wine, case)
            _service_reports(wine, city, case.agent)
            _net_stop_says_offline(wine, city, case.agent)
            _upgrade_keeps_config_and_outbox(wine, city, case, built)
            _msiexec(wine, "/x", built.msi(case.suffix, built.newer))
        wine.settle(120)  # nothing may be left running once the service is gone
        assert not wine.program_files.exists(), sorted(wine.program_files.rglob("*"))
        assert wine.run("wine", "reg", "query", SERVICE_KEY).returncode != 0, "service left"
        assert (_state(wine) / "agent.toml").is_file(), "the uninstall took the config"
    finally:
        wine.kill()


def _install(wine: Wine, msi: Path, city: City, agent: str) -> None:
    """As the README says: ``wardwatch agents add --out SHARE`` writes ``<id>.install.cmd``
    beside ca.crt; the MSI goes there too, and the PC runs the script (for the legacy MSI,
    edited as its comment says)."""
    share = wine.prefix.parent / "share"
    added = subprocess.run(
        [
            *programs.WARDWATCH,
            "agents",
            "--broker-dir",
            str(city.broker.layout.directory),
            "add",
            "--id",
            agent,
            "--site",
            SITE,
            "--out",
            str(share),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    shutil.copyfile(msi, share / msi.name)
    script = share / f"{agent}.install.cmd"
    script.write_text(script.read_text().replace(msi.name.replace("-legacy", ""), msi.name))
    done = wine.run("wine", "cmd", "/c", _windows(script), settle=False, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"{script.name}: exit {done.returncode}\n{done.stdout}{done.stderr}")


def _windows(path: Path) -> str:
    """A Unix path as Wine's programs name it (drive Z: is the Unix root)."""
    return "Z:" + str(path).replace("/", "\\")


def _msiexec(wine: Wine, action: str, msi: Path, *properties: str) -> None:
    """``msiexec ACTION MSI /qn PROPERTIES``, logged; a failure shows the log and the agent's."""
    log = wine.path(f"C:\\msiexec-{uuid.uuid4().hex[:8]}.log")
    done = wine.run(
        "wine",
        "msiexec",
        action,
        str(msi),
        "/qn",
        "/l*v",
        f"C:\\{log.name}",
        *properties,
        settle=False,
        timeout=300,
    )
    if done.returncode != 0:
        agent_log = _state(wine) / "agent.log"
        steps = log.read_text(errors="replace").splitlines() if log.exists() else []
        pytest.fail(
            f"msiexec {action} {msi.name}: exit {done.returncode}\n"
            + "\n".join(line for line in steps if line.startswith("Action ended"))
            + "\n"
            f"{agent_log.read_text(errors='replace')[-3000:] if agent_log.exists() else ''}"
        )


def _state(wine: Wine) -> Path:
    """The service's ``%ProgramData%\\wardwatch``: Wine's services see ProgramData as
    ``C:\\users\\Public``."""
    return wine.path("C:\\users\\Public\\wardwatch")


def _console_commands_work(wine: Wine, case: Case) -> None:
    """``--check`` of the written config, ``inventory`` (SMBIOS through
    GetSystemFirmwareTable), ``probe`` (IcmpSendEcho), from the install folder's .cmd."""
    wait_until(
        lambda: (_state(wine) / "agent.toml").is_file(), 60, "the config from the properties"
    )
    config = "C:\\users\\Public\\wardwatch\\agent.toml"
    check = _agent(wine, "--check", "--config", config)
    assert check.returncode == 0 and repr(case.agent) in check.stdout, check.stdout + check.stderr
    inventory = _agent(wine, "inventory", "--json")
    facts = json.loads(inventory.stdout)
    assert (facts["os_name"], facts["os_version"]) == ("Windows", case.version)
    assert (facts["manufacturer"], facts["model"], facts["bios_date"]) == (
        "Dell Inc.",
        "OptiPlex 3010",
        "2013-05-14",
    )
    wine.path("C:\\probe.toml").write_text(PROBE_CONFIG)
    probe = _agent(wine, "probe", "--json", "--config", "C:\\probe.toml")
    (loopback,) = json.loads(probe.stdout)
    assert (loopback["method"], loopback["state"], loopback["received"]) == ("icmp", "good", 3), (
        probe.stdout + probe.stderr
    )
    assert "Traceback" not in inventory.stderr + probe.stderr
    # The agent runs from the MSI's bytecode (-v names each module's source of code).
    python = f"{INSTALL_DIR}\\python\\python.exe"
    imported = wine.run(
        "wine", python, "-v", "-B", "-c", "import wardwatch.agent.runner", settle=False
    )
    assert "wardwatch\\agent\\__pycache__\\runner.cpython-" in imported.stderr, imported.stderr[
        -2000:
    ]


def _service_reports(wine: Wine, city: City, agent: str) -> None:
    """The service started at install: its reports and the machine's SMBIOS land; its path is
    quoted; the password left the registry for the config."""
    wait_until(lambda: city.stored(agent) >= 1, 90, f"a report of {agent} stored")
    (row,) = city.reader.query(
        'SELECT last("model") AS "model", last("bios_date") AS "bios_date" FROM "hardware" '
        f'WHERE "agent" = {quote_string(agent)}'
    )
    assert (row.values["model"], row.values["bios_date"]) == ("OptiPlex 3010", "2013-05-14")
    image = wine.run("wine", "reg", "query", SERVICE_KEY, "/v", "ImagePath", settle=False)
    assert (
        f'"{INSTALL_DIR}\\python\\python.exe" -B -m wardwatch.agent.service_windows' in image.stdout
    )
    properties = wine.run("wine", "reg", "query", PROPERTIES_KEY, settle=False).stdout
    assert "MQTT_URL" in properties and "MQTT_PASSWORD" not in properties, properties
    config = (_state(wine) / "agent.toml").read_text()
    assert f'site = "{SITE}"' in config and 'ca_file = "ca.crt"' in config
    # Reports every 2 s from here on, as an IT team would edit it (and restart the service).
    (_state(wine) / "agent.toml").write_text(
        config.replace("[agent]\n", "[agent]\ninterval_s = 2\n")
    )


def _net_stop_says_offline(wine: Wine, city: City, agent: str) -> None:
    _net_stop(wine)
    wait_until(lambda: _status(city, agent) == (False, "said offline"), 30, f"{agent} offline")
    log = (_state(wine) / "agent.log").read_text(errors="replace")
    assert "Traceback" not in log, log
    start = wine.run("wine", "net", "start", "wardwatch-agent", settle=False)
    assert start.returncode == 0, start.stdout + start.stderr
    wait_until(lambda: _status(city, agent) == (True, "reporting"), 60, f"{agent} back")


def _net_stop(wine: Wine) -> None:
    """``net stop wardwatch-agent``, then wait until the service's process has ended.

    Windows' ``net stop`` returns once the service is stopped; Wine 8's returns once the stop
    is asked, while the agent may still be closing its outbox (a ``net start`` or an
    installer's StartServices right after then fails: exit 91 from msiexec, seen in CI)."""
    assert wine.running(SERVICE_COMMAND), "the service's process is not found in /proc"
    stop = wine.run("wine", "net", "stop", "wardwatch-agent", settle=False)
    assert "stopped successfully" in stop.stdout, stop.stdout + stop.stderr
    wait_until(lambda: not wine.running(SERVICE_COMMAND), 60, "the service's process to end")


def _status(city: City, agent: str) -> tuple[bool, str] | None:
    found = [s for s in fleet_status(city.reader) if s.agent == agent]
    return (found[0].online, found[0].why) if found else None


def _upgrade_keeps_config_and_outbox(wine: Wine, city: City, case: Case, built: Built) -> None:
    """With the broker down, reports wait in the outbox; a newer MSI replaces the program and
    starts the service; once the broker is back, the reports measured before the upgrade are
    stored."""
    config = (_state(wine) / "agent.toml").read_bytes()
    city.broker.stop()
    waiting = wait_until(lambda: _pending_reports(wine), 60, "a report waiting in the outbox")
    # Windows Installer's StopServices waits for the old service to stop before the new one
    # starts; Wine 8's does not, and the agent takes up to a second to stop while its broker
    # is away (paho's reconnect wait): the new StartServices then fails, 1603 (measured). So
    # the service is stopped first, as from a GPO script.
    _net_stop(wine)
    _msiexec(wine, "/i", built.msi(case.suffix, built.newer))
    assert (_state(wine) / "agent.toml").read_bytes() == config
    version = wine.run("wine", "reg", "query", PROPERTIES_KEY, "/v", "Version", settle=False)
    assert NEWER in version.stdout, version.stdout
    assert waiting.items() <= _pending_reports(wine).items(), "the upgrade lost the outbox"
    city.broker.start()
    # Acked, so gone from the outbox: the collector stored them (it acks only then).
    wait_until(lambda: not waiting.keys() & _pending_reports(wine).keys(), 90, "their acks")
    first, last = min(waiting.values()), max(waiting.values())
    (row,) = city.reader.query(
        f'SELECT count("interval_s") FROM "agent" WHERE "agent" = {quote_string(case.agent)} '
        f"AND time >= {int(first * 1e9) - 1000} AND time <= {int(last * 1e9) + 1000}"
    )
    assert row.values["count"] >= len(waiting)


def _pending_reports(wine: Wine) -> dict[str, float]:
    """The reports waiting in the service's outbox: id, and when measured."""
    query = "SELECT id, measured_at FROM outbox WHERE kind = 'report'"
    rows = read_outbox(_state(wine) / "outbox.sqlite3", query)
    return {str(id_): float(at) for id_, at in rows}


def _agent(wine: Wine, *args: str) -> subprocess.CompletedProcess[str]:
    """``wardwatch-agent.cmd ARGS`` from the install folder, as from a console."""
    return wine.run("wine", "cmd", "/c", f"{INSTALL_DIR}\\wardwatch-agent.cmd", *args, settle=False)
