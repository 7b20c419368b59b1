"""Lifecycle verdicts end to end: a fleet of known ages, asset records and OSes through real
Mosquitto, the collector and InfluxDB; ``wardwatch lifecycle`` and InfluxQL must return exactly
the expected sets, and editing the policy or the register changes the next report's verdicts."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import programs
from tests.support.factories import T0, identity, machine_facts
from tests.support.helpers import RawClient, collector_config, running_collector, wait_until
from tests.support.known_fleet import (
    CASES,
    REGISTER,
    case_report,
)
from wardwatch.collector.config import LifecycleSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.collector.simulator.fleet import build_fleet
from wardwatch.collector.simulator.readings import machine_reading
from wardwatch.common.tomlconfig import ConfigError
from wardwatch.contract import wire
from wardwatch.rules.policy import DATA

# T0 is 2026-11-02: every expectation below is as of that day (verdicts are as of the day a
# report was measured, so these hold whenever the test runs).
assert T0.date() == date(2026, 11, 2)


@pytest.fixture
def city(tmp_path: Path) -> tuple[Path, Path]:
    """The city's own policy (a copy of the default) and its asset register."""
    policy = tmp_path / "city-policy.toml"
    policy.write_text((DATA / "policy-vn-tt23-2023.toml").read_text(encoding="utf-8"))
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    return policy, register


@pytest.fixture
def stack(
    tmp_path: Path,
    city: tuple[Path, Path],
    mosquitto: Mosquitto,
    influxd: Influxd,
    influx_db: str,
) -> Iterator[tuple[RawClient, Path]]:
    """A collector judging with the city's files, a publisher, and a config for the CLI."""
    policy, register = city
    lifecycle = {"policy": str(policy), "asset_register": str(register), "check_every_s": 0.01}
    cfg = collector_config(mosquitto.url, influxd.url, influx_db, lifecycle=lifecycle)
    config_file = tmp_path / "collector.toml"
    config_file.write_text(
        f'[influx]\nurl = "{influxd.url}"\ndatabase = "{influx_db}"\n', encoding="utf-8"
    )
    client = RawClient(mosquitto.url, "test-fleet")
    with running_collector(cfg):
        yield client, config_file
    client.close()


def _send_round(client: RawClient, reader: QueryClient, n: int) -> None:
    for case in CASES:
        client.publish(wire.topic(case.agent, "report"), wire.encode(case_report(case, n)))
    at = time_ns(T0 + timedelta(minutes=n))

    def stored() -> bool:
        rows = reader.query(f'SELECT count("lifecycle") FROM "hardware" WHERE time = {at}')
        return bool(rows) and rows[0].values["count"] == len(CASES)

    wait_until(stored, 20, f"round {n} of verdicts in InfluxDB")


def _cli(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *programs.WARDWATCH,
            "lifecycle",
            "--config",
            str(config_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _latest(reader: QueryClient, measurement: str, field: str) -> dict[str, Any]:
    rows = reader.query(f'SELECT last("{field}") AS v FROM "{measurement}" GROUP BY "agent"')
    return {row.tags["agent"]: row.values["v"] for row in rows}


@pytest.mark.process
@pytest.mark.services
def test_known_fleet_gets_exactly_the_expected_verdicts(
    stack: tuple[RawClient, Path], reader: QueryClient
) -> None:
    client, config_file = stack
    _send_round(client, reader, 0)

    assert _latest(reader, "hardware", "lifecycle") == {c.agent: c.hardware for c in CASES}
    assert _latest(reader, "os", "support") == {c.agent: c.os for c in CASES}
    assert _latest(reader, "hardware", "age_source") == {
        c.agent: c.source for c in CASES if c.source
    }
    # The sets a dashboard panel asks for, with InfluxQL's WHERE on the verdict.
    for verdict in ("overdue", "due", "ok", "unknown"):
        rows = reader.query(
            f'SELECT "lifecycle" FROM "hardware" WHERE "lifecycle" = \'{verdict}\' GROUP BY "agent"'
        )
        assert {r.tags["agent"] for r in rows} == {
            c.agent for c in CASES if c.hardware == verdict
        }, verdict

    exact = {
        row.tags["agent"]: row.values
        for row in reader.query(
            'SELECT "days_left", "end_date", "since", "age_confidence", "asset_line", '
            '"policy", "model", "serial", "made_earliest", "made_latest" FROM "hardware" '
            'GROUP BY "agent"'
        )
    }
    assert exact["reg-overdue"]["end_date"] == "2025-06-01"
    assert exact["reg-overdue"]["days_left"] == (date(2025, 6, 1) - T0.date()).days
    assert exact["reg-overdue"]["asset_line"] == 2
    assert exact["reg-due"]["days_left"] == (date(2027, 1, 15) - T0.date()).days == 74
    assert exact["reg-due"]["asset_line"] == 3  # matched by hostname
    assert exact["bios-overdue"]["since"] == "2014-05-10"
    assert exact["bios-overdue"]["age_confidence"] == "high"
    # The years the evidence allows: the i5-4590's launch, the OptiPlex 3020's line.
    assert exact["bios-overdue"]["made_earliest"] == 2014
    assert 2014 <= exact["bios-overdue"]["made_latest"] <= 2015
    assert exact["bios-updated"]["since"] == "2012-01-01"
    assert exact["reg-ok"]["policy"] == "vn-tt23-2023"
    assert (exact["reg-ok"]["model"], exact["reg-ok"]["serial"]) == ("OptiPlex 3010", "SN-OK")

    eol = {
        r.tags["agent"]: (r.values["eol_date"], r.values["release"])
        for r in reader.query('SELECT "eol_date", "release" FROM "os" GROUP BY "agent"')
    }
    assert eol["reg-overdue"] == ("2025-10-14", "Windows 10 22H2 Home/Pro")
    assert eol["bios-overdue"] == ("2027-01-12", "Windows 10 Enterprise LTSC 2021")
    assert eol["reg-ok"] == ("2028-10-10", "Windows 11 25H2 Enterprise/Education")

    listed = _cli(config_file, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    machines = json.loads(listed.stdout)
    assert {m["agent"]: (m["lifecycle"], m["os_support"]) for m in machines} == {
        c.agent: (c.hardware, c.os) for c in CASES
    }
    ranks = [m["rank"] for m in machines]
    assert ranks == sorted(ranks, reverse=True), "worst first"
    assert machines[0]["lifecycle"] == "overdue" or machines[0]["os_support"] == "overdue"
    assert {m["agent"] for m in machines if m["as_of"] != "2026-11-02"} == set()

    one_site = json.loads(_cli(config_file, "--site", "ea-tu", "--format", "json").stdout)
    assert {m["agent"] for m in one_site} == {"reg-ok", "bios-overdue"}

    table = _cli(config_file).stdout.splitlines()
    assert table[0].split()[:3] == ["SITE", "AGENT", "HARDWARE"]
    assert len(table) == 1 + len(CASES)
    assert "OVERDUE" in table[1]

    csv_lines = _cli(config_file, "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("site,agent,role,device_class,as_of,lifecycle")
    assert len(csv_lines) == 1 + len(CASES)


@pytest.mark.services
def test_editing_the_policy_or_the_register_changes_the_next_verdicts(
    stack: tuple[RawClient, Path], city: tuple[Path, Path], reader: QueryClient
) -> None:
    client, _ = stack
    policy, register = city
    _send_round(client, reader, 0)
    before = _latest(reader, "hardware", "lifecycle")
    assert (before["reg-overdue"], before["reg-due"], before["bios-overdue"]) == (
        "overdue",
        "due",
        "overdue",
    )

    # The city moves desktops to 8 years, and records when the BIOS-dated machine was bought.
    text = policy.read_text(encoding="utf-8")
    assert "[useful_life.desktop]\nyears = 5" in text
    policy.write_text(
        text.replace("[useful_life.desktop]\nyears = 5", "[useful_life.desktop]\nyears = 8"),
        encoding="utf-8",
    )
    register.write_text(REGISTER + "SN-BIOS,,2025-01-01,desktop,ea-tu,\n", encoding="utf-8")
    _send_round(client, reader, 1)

    after = _latest(reader, "hardware", "lifecycle")
    assert after["reg-overdue"] == "ok"  # 2020-06-01 + 8 years
    assert after["reg-due"] == "ok"  # 2022-01-15 + 8 years
    assert after["bios-overdue"] == "ok"  # now in the register, bought 2025
    assert after["bios-updated"] == "overdue"  # 2012 + 8 years is still past
    assert after["reg-ok"] == "ok"  # a laptop: its class kept 5 years
    assert _latest(reader, "hardware", "age_source")["bios-overdue"] == "register"
    years = _latest(reader, "hardware", "useful_life_years")
    assert (years["reg-overdue"], years["reg-ok"]) == (8, 5)

    # A broken edit is refused: the previous policy (8 years) stays in force.
    policy.write_text("name = [not toml\n", encoding="utf-8")
    _send_round(client, reader, 2)
    assert _latest(reader, "hardware", "useful_life_years")["reg-overdue"] == 8


@pytest.mark.unit
def test_register_class_beats_the_agents_and_the_reason_names_the_evidence(
    tmp_path: Path,
) -> None:
    register = tmp_path / "register.csv"
    register.write_text(
        "serial,hostname,purchase_date,device_class,site\n7XK2Q12,,2019-12-01,server,tan-an\n",
        encoding="utf-8",
    )
    policy = tmp_path / "p.toml"
    text = (DATA / "policy-vn-tt23-2023.toml").read_text(encoding="utf-8")
    policy.write_text(
        text.replace("[useful_life.server]\nyears = 5", "[useful_life.server]\nyears = 8")
    )
    lifecycle = Lifecycle(LifecycleSection(policy=str(policy), asset_register=str(register)))
    judged = lifecycle.judge(wire.Identity(**identity()), machine_facts(), T0.date())
    assert (judged.hardware.policy_class, judged.hardware.useful_life_years) == ("server", 8)
    assert (judged.hardware.lifecycle, judged.hardware.end_date) == ("ok", "2027-12-01")
    assert judged.hardware.reason == "asset register purchase date"
    assert (judged.os.support, judged.os.eol_date) == ("overdue", "2025-10-14")


@pytest.mark.unit
def test_a_bad_policy_or_os_table_is_refused_at_start_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nsource = "s"\n[useful_life.desktop]\nyears = 0\nsource = "s"\n')
    with pytest.raises(ConfigError, match=r"\[lifecycle\] policy: .*useful_life.desktop.years"):
        Lifecycle(LifecycleSection(policy=str(bad)))
    with pytest.raises(ConfigError, match=r"\[lifecycle\] policy: no shipped lifecycle policy"):
        Lifecycle(LifecycleSection(policy="vn-tt99"))
    with pytest.raises(ConfigError, match=r"\[lifecycle\] os_table: .*nope.json"):
        Lifecycle(LifecycleSection(os_table=str(tmp_path / "nope.json")))


@pytest.mark.unit
def test_simulated_fleet_no_machine_past_its_life_is_judged_ok() -> None:
    # The simulator's machines know their purchase date; a quarter had their BIOS updated
    # (a later date) and a fifth a disk replaced. Without the register, the estimate must
    # still never call a machine ok when it is more than a year past its useful life, and a
    # register row must decide exactly.
    now = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    machines = build_fleet(400, 21, seed=3, now=now)
    judge = Lifecycle(LifecycleSection()).judge
    missed = []
    for m in machines:
        facts = machine_reading(m, now).facts
        got = judge(
            wire.Identity(agent=m.agent, site=m.site, role=m.role, device_class=m.device_class),
            facts,
            now.date(),
        )
        truth_end = m.hardware.purchased.replace(year=m.hardware.purchased.year + 5)
        if (now.date() - truth_end).days > 365 and got.hardware.lifecycle == "ok":
            missed.append((m.agent, m.hardware, got.hardware.since))
    assert missed == []
    assert sum(m.hardware.bios_updated for m in machines) > 50  # the trap is exercised
