"""The fleet simulator: many agents on the agent's own code, counted exactly in InfluxDB."""

from __future__ import annotations

import subprocess
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support import programs
from tests.support.helpers import wait_until
from wardwatch.agent.config import MqttSection
from wardwatch.collector.devstack.services import Mosquitto
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.collector.simulator.config import load_config
from wardwatch.collector.simulator.fleet import SITES, build_fleet, site_names
from wardwatch.collector.simulator.loop import Simulator
from wardwatch.contract import wire

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


@pytest.mark.unit
def test_fleet_is_deterministic_and_plausible() -> None:
    fleet = build_fleet(300, 7, seed=42, now=NOW)
    assert fleet == build_fleet(300, 7, seed=42, now=NOW)
    assert fleet != build_fleet(300, 7, seed=43, now=NOW)
    assert len({m.agent for m in fleet}) == 300
    assert {m.site for m in fleet} == set(SITES[:7])
    roles = Counter(m.role for m in fleet)
    assert set(roles) == {"office-pc", "vc-endpoint"}
    assert roles["office-pc"] > 0.75 * 300 and roles["vc-endpoint"] > 0.05 * 300
    assert {m.device_class for m in fleet} == {"desktop", "laptop"}
    assert {m.cpu.year for m in fleet} <= set(range(2011, 2025))
    assert min(m.cpu.year for m in fleet) == 2011 and max(m.cpu.year for m in fleet) >= 2022
    builds = Counter(m.os.build for m in fleet if m.os.name.startswith("Windows"))
    assert {"7601", "19045", "22631", "26100"} <= set(builds)
    assert any(m.os.name == "Ubuntu" and m.os.version == "22.04" for m in fleet)
    # Windows 11 only where its CPU requirement holds; Windows 7 only on old hardware.
    assert all(m.cpu.year >= 2017 for m in fleet if m.os.version == "11")
    assert all(m.cpu.year <= 2016 for m in fleet if m.os.version == "7")
    assert all(m.boot_time < NOW for m in fleet)
    assert all(m.agent.startswith(f"sim-{m.site}-") for m in fleet)
    assert site_names(23)[21:] == [f"{SITES[0]}-2", f"{SITES[1]}-2"]


@pytest.mark.services
def test_every_committed_report_is_stored_exactly(
    mosquitto: Mosquitto, collector: Collector, reader: QueryClient
) -> None:
    committed: dict[str, set[int]] = defaultdict(set)  # agent -> measured_at of its reports
    lock = threading.Lock()

    def on_commit(agent: str, message: wire.Report | wire.Inventory) -> None:
        if isinstance(message, wire.Report):
            with lock:
                committed[agent].add(time_ns(message.measured_at))

    simulator = Simulator(
        mqtt=MqttSection(url=mosquitto.url),
        agents=50,
        sites=5,
        interval_s=1,
        seed=7,
        on_commit=on_commit,
    )
    simulator.start()
    assert simulator.wait_connected(20), simulator.counters
    wait_until(lambda: simulator.counters.reports >= 150, 20, "150 reports committed")
    summary = simulator.stop(drain_s=20)
    assert summary.ok, summary.lines
    assert summary.counters.acked == summary.counters.committed
    assert summary.counters.inventories == 50 and summary.counters.rejected == 0

    machines = {m.agent: m for m in simulator.machines}
    stored: dict[str, set[int]] = defaultdict(set)
    for row in reader.query('SELECT "uptime_s" FROM "host" GROUP BY "agent", "site", "role"'):
        machine = machines[row.tags["agent"]]
        assert (row.tags["site"], row.tags["role"]) == (machine.site, machine.role)
        stored[row.tags["agent"]].add(row.values["time"])
    assert stored == committed
    total = sum(len(times) for times in committed.values())
    assert total == summary.counters.reports
    (count,) = reader.query('SELECT count("version") FROM "agent"')
    assert count.values["count"] == total

    for measurement, field, expected in (
        ("hardware", "cpu_model", {m.agent: m.cpu.model for m in machines.values()}),
        ("os", "build", {m.agent: m.os.build for m in machines.values()}),
    ):
        rows = reader.query(
            f'SELECT count("{field}") AS n, last("{field}") AS v FROM "{measurement}" '
            'GROUP BY "agent"'
        )
        # Every report carries the machine's facts, and so does the one inventory of each.
        assert {r.tags["agent"]: (r.values["n"], r.values["v"]) for r in rows} == {
            agent: (len(committed[agent]) + 1, value) for agent, value in expected.items()
        }
    assert {m.site for m in machines.values()} == set(site_names(5))
    assert set(Counter(m.role for m in machines.values())) <= {"office-pc", "vc-endpoint"}

    def said_offline() -> bool:
        rows = reader.query('SELECT last("state") AS "state" FROM "status" GROUP BY "agent"')
        return {r.tags["agent"]: r.values["state"] for r in rows} == dict.fromkeys(
            machines, "offline"
        )

    wait_until(said_offline, 10, "every simulated agent's offline status")
    online = reader.query('SELECT count("online") FROM "status" WHERE "state" = \'online\'')
    assert online[0].values["count"] == 50


def _simulate(config: Path, *args: str, timeout_s: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *programs.WARDWATCH,
            "simulate",
            "--config",
            str(config),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.mark.process
@pytest.mark.services
def test_cli_exits_0_when_everything_was_acked(
    mosquitto: Mosquitto, collector: Collector, tmp_path: Path
) -> None:
    config = tmp_path / "simulate.toml"
    config.write_text(f'[mqtt]\nurl = "{mosquitto.url}"\nusername = "ignored"\n')
    done = _simulate(
        config, "--agents", "3", "--sites", "1", "--interval-s", "1", "--duration-s", "3"
    )
    assert done.returncode == 0, done.stderr
    assert "outstanding 0" in done.stderr
    assert "connected 3/3" in done.stderr or "agents 3 over 1 site(s)" in done.stderr
    wait_until(lambda: collector.stats.stored >= 9, 10, "the CLI's reports stored")


@pytest.mark.process
@pytest.mark.services
def test_cli_exits_1_with_the_count_when_no_collector_acks(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = tmp_path / "simulate.toml"
    config.write_text(f'[mqtt]\nurl = "{mosquitto.url}"\n')
    done = _simulate(
        config,
        *("--agents", "2", "--sites", "2", "--interval-s", "1", "--duration-s", "1.5"),
        *("--drain-s", "0.5"),
    )
    assert done.returncode == 1, done.stderr
    assert "NOT ACKED" in done.stderr


@pytest.mark.process
def test_cli_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "simulate.toml"
    config.write_text('[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[agent]\nid = "x"\n')
    done = _simulate(config, "--agents", "1", "--sites", "1", "--interval-s", "1")
    assert done.returncode == 2
    assert "agent" in done.stderr
    config.write_text("")
    assert load_config(config).mqtt.url == MqttSection().url
