"""Enrolling a ward PC without editing a file on the server: ``wardwatch agents``, run as the
README documents it, against the broker ``wardwatch broker init`` wrote, the real collector,
InfluxDB and an agent started from the very config ``agents add`` wrote."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import programs
from tests.support.broker import Client
from tests.support.city import City, city_of
from tests.support.helpers import wait_until
from wardwatch.collector.devstack.process import ManagedProcess
from wardwatch.collector.devstack.services import Influxd, free_port
from wardwatch.common.tomlconfig import toml_str

pytestmark = [pytest.mark.process, pytest.mark.services]

PC = "phuong-1-pc03"
SITE = "phuong-1"


@pytest.fixture
def city(tmp_path: Path, influxd: Influxd, influx_db: str) -> Iterator[City]:
    with city_of(tmp_path, influxd, influx_db) as running:
        yield running


def wardwatch(*args: str) -> subprocess.CompletedProcess[str]:
    """``wardwatch ARGS``, its output captured."""
    return subprocess.run([*programs.WARDWATCH, *args], capture_output=True, text=True, timeout=120)


def agents(city: City, *args: str) -> subprocess.CompletedProcess[str]:
    """``wardwatch agents --broker-dir D ARGS``."""
    return wardwatch("agents", "--broker-dir", str(city.broker.layout.directory), *args)


def status_of(city: City, tmp: Path, agent: str) -> str:
    """The STATE column of ``agent`` in ``wardwatch status``."""
    config = tmp / "reader.toml"
    config.write_text(
        f"[influx]\nurl = {toml_str(city.influx_url)}\ndatabase = {toml_str(city.database)}\n"
    )
    shown = wardwatch("status", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    (line,) = [line for line in shown.stdout.splitlines() if f" {agent} " in line]
    return line


def login_works(city: City, config: Path) -> bool:
    """Whether the username and password of an agent config log in now."""
    text = config.read_text()
    password = text.split('password = "')[1].split('"')[0]
    client = Client(city.broker, PC, password)
    client.close()
    return client.accepted


def test_a_ward_pc_is_enrolled_disabled_rotated_and_removed(city: City, tmp_path: Path) -> None:
    out = tmp_path / "out"
    added = agents(city, "add", "--id", PC, "--site", SITE, "--out", str(out))
    assert added.returncode == 0, added.stderr
    config = out / f"{PC}.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert (out / "ca.crt").read_bytes() == city.broker.layout.ca.read_bytes()
    assert 'url = "mqtts://localhost:' in config.read_text()
    script = (out / f"{PC}.install.cmd").read_text()  # for a Windows PC (the Wine tier runs it)
    assert stat.S_IMODE((out / f"{PC}.install.cmd").stat().st_mode) == 0o600
    password = config.read_text().split('password = "')[1].split('"')[0]
    assert f'AGENT_ID="{PC}" SITE="{SITE}"' in script and f'MQTT_PASSWORD="{password}"' in script
    agent = ManagedProcess(
        "agent",
        [*programs.AGENT, "--config", str(config), "-v"],
        tmp_path / "agent",
        install_hint="make venv",
        env={
            **os.environ,
            "WARDWATCH_OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
            "WARDWATCH_AGENT_INTERVAL_S": "1",
        },
    )
    (tmp_path / "agent").mkdir()
    with agent:
        wait_until(lambda: city.stored(PC) >= 2, what="the enrolled agent's reports")
        assert " online " in status_of(city, tmp_path, PC) + " "
        listed = agents(city, "list")
        assert PC in listed.stdout and "enabled" in listed.stdout
        disabled = agents(city, "disable", PC)
        assert disabled.returncode == 0, disabled.stderr
        assert "the collector recorded it" in disabled.stdout
        wait_until(lambda: "not authorized" in agent.log_path.read_text(), what="the refusal")
        assert "DISABLED" in status_of(city, tmp_path, PC)
        assert not login_works(city, config)
    assert agents(city, "enable", PC).returncode == 0
    assert login_works(city, config)
    rotated = agents(city, "rotate", PC, "--out", str(tmp_path / "rotated"))
    assert rotated.returncode == 0, rotated.stderr
    assert not login_works(city, config)
    assert login_works(city, tmp_path / "rotated" / f"{PC}.toml")
    removed = agents(city, "remove", PC)
    assert removed.returncode == 0 and "the collector recorded it" in removed.stdout
    assert not login_works(city, tmp_path / "rotated" / f"{PC}.toml")
    assert "REMOVED" in status_of(city, tmp_path, PC)
    assert PC not in agents(city, "list").stdout


def test_a_wards_list_is_enrolled_from_csv(city: City, tmp_path: Path) -> None:
    listing = tmp_path / "phuong-1.csv"
    # As Excel saves a CSV in UTF-8: a byte-order mark first; role and class may be left empty.
    listing.write_text(
        "\ufeffid,site,role,device_class\n"
        "p1-pc01,phuong-1,,\n"
        "p1-pc02,phuong-1,office-pc,laptop\n"
        "p1-vc,phuong-1,vc-endpoint,desktop\n",
        encoding="utf-8",
    )
    out = tmp_path / "configs"
    first = agents(city, "add", "--from-csv", str(listing), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "3 enrolled, 0 enrolled already" in first.stdout
    configs = sorted(path.name for path in out.glob("*.toml"))
    assert configs == ["p1-pc01.toml", "p1-pc02.toml", "p1-vc.toml"]
    assert 'device_class = "laptop"' in (out / "p1-pc02.toml").read_text()
    again = agents(city, "add", "--from-csv", str(listing), "--out", str(out))
    assert "0 enrolled, 3 enrolled already" in again.stdout
    listing.write_text("id,site\np1-pc09,phuong-1\np1-pc09,phuong-1\n", encoding="utf-8")
    twice = agents(city, "add", "--from-csv", str(listing), "--out", str(out))
    assert twice.returncode == 2
    assert twice.stderr.strip() == (f"wardwatch agents: {listing}:3: id 'p1-pc09' is listed twice")


def test_bad_requests_get_one_clear_line(city: City, tmp_path: Path) -> None:
    reserved = agents(city, "add", "--id", "wardwatch-collector-2", "--site", SITE)
    assert reserved.returncode == 2
    assert "the broker's own" in reserved.stderr
    missing = agents(city, "disable", "nobody")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "wardwatch agents: no agent 'nobody' on this broker (`wardwatch agents list`)"
    )
    elsewhere = wardwatch("agents", "--broker-dir", str(tmp_path), "list")
    assert elsewhere.returncode == 2
    assert "broker.toml: no such config file" in elsewhere.stderr
    down = tmp_path / "down"
    down.mkdir()
    state = city.broker.layout.state_file.read_text()
    (down / "broker.toml").write_text(
        state.replace(city.broker.url, f"mqtt://127.0.0.1:{free_port()}")
    )
    unreachable = wardwatch("agents", "--broker-dir", str(down), "list")
    assert unreachable.returncode == 1
    (line,) = unreachable.stderr.splitlines()
    assert line.startswith(
        "wardwatch agents: cannot log in to the broker as its admin: cannot reach"
    )
    assert city.broker.state.admin_password not in unreachable.stderr
    outputs = reserved.stderr + missing.stderr + elsewhere.stderr + unreachable.stderr
    assert "Traceback" not in outputs
