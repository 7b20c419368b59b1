"""Link verdicts end to end: a simulated fleet whose wards have good, degraded and bad lines,
through real Mosquitto, the collector and InfluxDB; ``wardwatch links`` and InfluxQL must name
exactly the degraded and bad links."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.support import programs
from tests.support.helpers import wait_until
from wardwatch.agent.config import MqttSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.collector.simulator.fleet import LINK_KINDS
from wardwatch.collector.simulator.loop import Simulator

pytestmark = [pytest.mark.process, pytest.mark.services]


def test_degraded_and_bad_links_are_exactly_the_expected_ones(
    tmp_path: Path,
    mosquitto: Mosquitto,
    influxd: Influxd,
    influx_db: str,
    collector: Collector,
    reader: QueryClient,
) -> None:
    simulator = Simulator(
        mqtt=MqttSection(url=mosquitto.url), agents=42, sites=21, interval_s=1, seed=9
    )
    simulator.start()
    assert simulator.wait_connected(20), simulator.counters
    wait_until(lambda: simulator.counters.reports >= 84, 20, "two reports per agent")
    summary = simulator.stop(drain_s=20)
    assert summary.ok, summary.lines

    expected: dict[tuple[str, str], str] = {}
    for m in simulator.machines:
        for target in LINK_KINDS:
            expected[(m.agent, target)] = "good" if target == "gateway" else m.link.grade
    grades = Counter(m.link.grade for m in simulator.machines)
    assert grades["degraded"] and grades["bad"] and grades["good"], grades

    rows = reader.query('SELECT last("state") AS "state" FROM "link" GROUP BY "agent", "target"')
    assert {(r.tags["agent"], r.tags["target"]): r.values["state"] for r in rows} == expected
    for state in ("degraded", "bad"):
        rows = reader.query(
            f'SELECT "rtt_avg_ms" FROM "link" WHERE "state" = \'{state}\' '
            'GROUP BY "agent", "target"'
        )
        assert {(r.tags["agent"], r.tags["target"]) for r in rows} == {
            key for key, value in expected.items() if value == state
        }

    config = tmp_path / "collector.toml"
    config.write_text(f'[influx]\nurl = "{influxd.url}"\ndatabase = "{influx_db}"\n')
    listed = subprocess.run(
        [
            *programs.WARDWATCH,
            "links",
            "--config",
            str(config),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    links = json.loads(listed.stdout)
    assert {(s["agent"], s["target"]): s["state"] for s in links} == expected
    ranks = [s["rank"] for s in links]
    assert ranks == sorted(ranks, reverse=True), "worst first"
    bad_site = next(m.site for m in simulator.machines if m.link.grade == "bad")
    table = subprocess.run(
        [
            *programs.WARDWATCH,
            "links",
            "--config",
            str(config),
            "--site",
            bad_site,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    assert table[0].split()[:5] == ["SITE", "AGENT", "TARGET", "KIND", "STATE"]
    assert all(line.startswith(bad_site) for line in table[1:])
    assert "BAD" in table[1]
