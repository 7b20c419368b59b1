"""The agent as a process: --once exit codes and reasons, status, last will, and the status CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import programs
from tests.support.helpers import RawClient, collector_config, running_collector, wait_until
from wardwatch.agent import native
from wardwatch.collector.cli.status import fleet_status
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.contract import wire

AGENT_ID = "Tân An, PC 07"  # a space, a comma and Vietnamese text, as an operator might type


def write_agent_config(path: Path, mqtt_url: str, interval_s: int = 60) -> Path:
    path.write_text(
        f'[agent]\nid = "{AGENT_ID}"\nsite = "Tân An"\ninterval_s = {interval_s}\n'
        f'[mqtt]\nurl = "{mqtt_url}"\nkeepalive_s = 5\n'
        f'[outbox]\npath = "{path.with_suffix(".outbox")}"\n',
        encoding="utf-8",
    )
    return path


def run_agent(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*programs.AGENT, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture
def collector_toml(tmp_path: Path, influxd: Influxd, influx_db: str) -> Path:
    path = tmp_path / "collector.toml"
    path.write_text(f'[influx]\nurl = "{influxd.url}"\ndatabase = "{influx_db}"\n')
    return path


@pytest.mark.process
@pytest.mark.services
def test_once_exits_0_when_stored(
    tmp_path: Path, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = write_agent_config(tmp_path / "agent.toml", mosquitto.url)
    result = run_agent("--config", str(config), "--once")
    assert result.returncode == 0, result.stderr
    assert f"stored: report of {AGENT_ID} acknowledged" in result.stdout
    assert collector.stats.stored == 1


@pytest.mark.process
def test_once_without_broker_exits_1_with_the_reason(tmp_path: Path) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    config = write_agent_config(tmp_path / "agent.toml", url)
    result = run_agent("--config", str(config), "--once", "--deadline", "2", timeout_s=30)
    assert result.returncode == 1
    assert f"not stored: cannot reach broker {url} (Connection refused)" in result.stderr


@pytest.mark.process
@pytest.mark.services
def test_once_without_collector_exits_1_with_the_reason(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = write_agent_config(tmp_path / "agent.toml", mosquitto.url)
    result = run_agent("--config", str(config), "--once", "--deadline", "2", timeout_s=30)
    assert result.returncode == 1
    assert "took the report, but no collector acknowledged it as stored within 2 s" in (
        result.stderr
    )


def retained_status(mqtt_url: str) -> str:
    """The retained state on the agent's status topic, read by a fresh subscriber."""
    client = RawClient(mqtt_url, client_id="status-reader")
    try:
        client.subscribe(wire.topic(AGENT_ID, "status"))
        (message,) = client.messages(1, timeout_s=10)
        status = wire.decode(message.topic, bytes(message.payload))
        assert isinstance(status, wire.Status)
        return status.state
    finally:
        client.close()


@pytest.mark.process
@pytest.mark.services
@pytest.mark.parametrize("ending", ["SIGTERM", "SIGKILL"])
def test_running_agent_reports_and_goes_offline(
    tmp_path: Path,
    mosquitto: Mosquitto,
    influxd: Influxd,
    influx_db: str,
    collector: Collector,
    collector_toml: Path,
    ending: str,
) -> None:
    config = write_agent_config(tmp_path / "agent.toml", mosquitto.url, interval_s=1)
    with config.open("a", encoding="utf-8") as extra:  # one link, probed in the background
        extra.write(
            "[links]\ncount = 3\nspread_s = 0.2\ntimeout_s = 0.5\ngateway = false\n"
            'dns = false\n[[target]]\nname = "city-hub"\nhost = "127.0.0.1"\nkind = "hub"\n'
        )
    reader = QueryClient(InfluxSection(url=influxd.url, database=influx_db))
    process = subprocess.Popen(
        [*programs.AGENT, "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Two reports, so the agent runs on its interval, not just once.
        wait_until(lambda: collector.stats.stored >= 3, what="inventory and two reports")
        (me,) = fleet_status(reader)
        assert (me.agent, me.site, me.online) == (AGENT_ID, "Tân An", True)
        assert retained_status(mosquitto.url) == "online"
        table = subprocess.run(
            [
                *programs.WARDWATCH,
                "status",
                "--config",
                str(collector_toml),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert table.returncode == 0, table.stderr
        header, row = table.stdout.splitlines()
        assert header.split() == ["SITE", "AGENT", "ROLE", "LAST", "SEEN", "STATE", "UPTIME"]
        assert row.startswith(f"Tân An  {AGENT_ID}  office-pc")
        assert " online " in row
        # Every report carries this machine's facts: the collector judged it.
        life = subprocess.run(
            [
                *programs.WARDWATCH,
                "lifecycle",
                "--config",
                str(collector_toml),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert life.returncode == 0, life.stderr
        (judged,) = json.loads(life.stdout)
        assert (judged["agent"], judged["cpu_model"]) == (AGENT_ID, native.OS.cpu_model())
        assert judged["os_name"].startswith(native.OS.os_identity().name)
        # The link round runs beside the reports; a later report carries it.
        wait_until(lambda: reader.query('SELECT count("state") FROM "link"'), what="a link round")
        links = subprocess.run(
            [
                *programs.WARDWATCH,
                "links",
                "--config",
                str(collector_toml),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        (hub,) = json.loads(links.stdout)
        assert (hub["agent"], hub["target"], hub["kind"], hub["state"]) == (
            AGENT_ID,
            "city-hub",
            "hub",
            "good",
        )
    finally:
        os.kill(process.pid, getattr(signal, ending))
        process.wait(30)
    # SIGTERM: the agent says goodbye; SIGKILL: the broker publishes its last will.
    wait_until(
        lambda: not fleet_status(reader)[0].online, what=f"offline after {ending}", timeout_s=30
    )
    assert fleet_status(reader)[0].why == "said offline"
    assert retained_status(mosquitto.url) == "offline"
    reader.close()
    if ending == "SIGTERM":
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""


@pytest.mark.process
@pytest.mark.services
def test_once_keeps_an_unacked_report_and_the_next_run_sends_it(
    tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, influx_db: str
) -> None:
    config = write_agent_config(tmp_path / "agent.toml", mosquitto.url)
    first = run_agent("--config", str(config), "--once", "--deadline", "2", timeout_s=30)
    assert first.returncode == 1
    assert "(1 message(s) wait in the outbox)" in first.stderr
    cfg = collector_config(mosquitto.url, influxd.url, influx_db)
    with running_collector(cfg) as collector:
        second = run_agent("--config", str(config), "--once")
        assert second.returncode == 0, second.stderr
        wait_until(lambda: collector.stats.stored == 2, what="both reports counted")
    reader = QueryClient(InfluxSection(url=influxd.url, database=influx_db))
    assert reader.query('SELECT count("uptime_s") FROM "host"')[0].values["count"] == 2
    reader.close()
