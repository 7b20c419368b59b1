"""The report's hourly rollups (``wardwatch.collector.inspection.rollup``) against a real
InfluxDB: they equal the raw points' counts, a refresh is idempotent, a late report is counted
once its hour is refreshed, a refresh that fails keeps its hours, and the collector refreshes
the hours it writes, an agent's outbox replay days later included."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support import programs
from tests.support.factories import link_facts
from tests.support.helpers import RawClient, collector_config, running_collector, wait_until
from tests.support.inspection_fleet import DAYS, DUC_HOA, members, report_of, write_fleet
from wardwatch.collector.config import InfluxSection, LifecycleSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port
from wardwatch.collector.influx.lineproto import encode_all, time_ns
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.ingest.points import report_points
from wardwatch.collector.inspection import gather, rollup
from wardwatch.collector.inspection.queries import Reader, Scope
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.contract import wire

pytestmark = pytest.mark.services


@pytest.fixture
def database(influxd: Influxd) -> Iterator[tuple[Influxd, str, QueryClient]]:
    name = f"rollup_{uuid.uuid4().hex[:8]}"
    influxd.query(f'CREATE DATABASE "{name}"')
    client = QueryClient(influxd.section(name))
    yield influxd, name, client
    client.close()
    influxd.query(f'DROP DATABASE "{name}"')


def _by(client: QueryClient, statement: str, *tags: str) -> dict[tuple[str, ...], tuple[Any, ...]]:
    """Each row's values (time left out) by its tags."""
    found = {}
    for row in client.query(statement):
        key = tuple(row.tags.get(tag, "") for tag in tags)
        found[key] = tuple(value for name, value in row.values.items() if name != "time")
    return found


def _site_sums(client: QueryClient) -> dict[tuple[str, ...], tuple[Any, ...]]:
    return _by(
        client,
        'SELECT sum("rounds"), sum("bad") FROM "link_site_1h" GROUP BY "site", "kind"',
        "site",
        "kind",
    )


def test_rollups_equal_the_raw_counts_and_a_refresh_is_idempotent(
    database: tuple[Influxd, str, QueryClient],
) -> None:
    influxd, name, client = database
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    write_fleet(influxd, name, now)
    hours = rollup.refresh_period(client, now - timedelta(days=DAYS), now, lambda _: None)
    assert hours == DAYS * 24 + 1
    raw_rounds = _by(
        client, 'SELECT count("rank") FROM "link" GROUP BY "site", "kind"', "site", "kind"
    )
    raw_bad = _by(
        client, 'SELECT count("rank") FROM "link" WHERE "rank" = 2 GROUP BY "site", "kind"',
        "site", "kind",
    )  # fmt: skip
    sums = _site_sums(client)
    assert {k: v[0] for k, v in sums.items()} == {k: v[0] for k, v in raw_rounds.items()}
    assert {k: v[1] for k, v in sums.items() if v[1]} == {k: v[0] for k, v in raw_bad.items()}
    reports = _by(client, 'SELECT sum("reports") FROM "agent_1h" GROUP BY "agent"', "agent")
    raw = _by(client, 'SELECT count("interval_s") FROM "agent" GROUP BY "agent"', "agent")
    assert reports == raw and len(raw) == 7
    # Again: the same points, not twice the counts.
    rollup.refresh_period(client, now - timedelta(days=DAYS), now, lambda _: None)
    assert _site_sums(client) == sums


def test_a_late_report_is_counted_once_its_hour_is_refreshed_and_a_failed_refresh_retries(
    database: tuple[Influxd, str, QueryClient],
) -> None:
    influxd, name, client = database
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    write_fleet(influxd, name, now)
    rollup.refresh_period(client, now - timedelta(days=DAYS), now, lambda _: None)
    before = _site_sums(client)[(DUC_HOA, "mcu")]
    # dh-vc's outbox delivers a report measured three days ago, 15 minutes into an hour.
    member = next(m for m in members(now.date()) if m.agent == "dh-vc")
    late = report_of(member, now - timedelta(days=3, minutes=45), 9999)
    lines = encode_all(report_points(late, Lifecycle(LifecycleSection()).judge))
    influxd.write(name, "\n".join(lines))
    assert _site_sums(client)[(DUC_HOA, "mcu")] == before, "counted before its refresh"
    stop = threading.Event()
    dead = QueryClient(InfluxSection(url=f"http://127.0.0.1:{free_port()}", database=name))
    refresher = rollup.Refresher(dead, 60.0, stop)
    refresher.touched(lines)
    refresher.once()  # InfluxDB out of reach: nothing refreshed, the hour kept
    assert refresher.refreshed == 0 and _site_sums(client)[(DUC_HOA, "mcu")] == before
    refresher.client = client
    refresher.once()
    assert refresher.refreshed == 1
    rounds, bad = _site_sums(client)[(DUC_HOA, "mcu")]
    assert (rounds, bad) == (before[0] + 1, before[1] + 1)


@pytest.mark.process
def test_the_collector_refreshes_the_hours_it_writes_an_outbox_replay_included(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str
) -> None:
    """A report measured two days ago reaches the collector now: its hour's rollup follows
    within a refresh round."""
    cfg = collector_config(mosquitto.url, influxd.url, influx_db, report={"rollup_every_s": 0.3})
    at = datetime.now(UTC) - timedelta(days=2)
    report = wire.Report(
        agent="tan-an-pc07", site="tan-an", role="office-pc", device_class="desktop",
        id="late-1", measured_at=at, sent_at=wire.now(), interval_s=60, agent_version="0.1.0",
        facts=[link_facts(target="mcu-1", target_kind="mcu", ports=[], loss_pct=20.0)],
    )  # fmt: skip
    client = QueryClient(InfluxSection(url=influxd.url, database=influx_db))
    raw = RawClient(mosquitto.url, "rollup-test")
    try:
        with running_collector(cfg):
            raw.publish(wire.topic("tan-an-pc07", "report"), msgspec.json.encode(report))
            rows = wait_until(
                lambda: client.query('SELECT "rounds", "bad" FROM "link_site_1h"'),
                30,
                "the late hour's rollup",
            )
    finally:
        raw.close()
        client.close()
    (row,) = rows
    assert (row.values["rounds"], row.values["bad"]) == (1, 1)
    assert int(row.values["time"]) == time_ns(rollup.hour_of(at))


@pytest.mark.process
def test_wardwatch_rollup_rolls_up_a_past_period_and_names_a_dead_influxdb(
    database: tuple[Influxd, str, QueryClient], tmp_path: Path
) -> None:
    influxd, name, client = database
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    write_fleet(influxd, name, now)
    config = tmp_path / "collector.toml"
    config.write_text(f'[influx]\nurl = "{influxd.url}"\ndatabase = "{name}"\n')
    done = subprocess.run(
        [*programs.WARDWATCH, "rollup", "--config", str(config), "--days", "8"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[1] rollups of" in done.stderr and "hours rolled up" in done.stderr
    assert _site_sums(client)[(DUC_HOA, "mcu")] == (672, 336)
    config.write_text(f'[influx]\nurl = "http://127.0.0.1:{free_port()}"\ndatabase = "x"\n')
    dead = subprocess.run(
        [*programs.WARDWATCH, "rollup", "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dead.returncode == 2 and "cannot roll up" in dead.stderr.strip().splitlines()[-1]


def test_the_report_rolls_up_what_came_before_the_rollups(
    database: tuple[Influxd, str, QueryClient],
) -> None:
    """A database whose collector kept rollups only for its last day (as after an upgrade):
    the report finds its first hour of reports not rolled up, rolls up the period from there,
    and its figures are the fleet's whole week."""
    influxd, name, client = database
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    write_fleet(influxd, name, now)
    rollup.refresh_period(client, now - timedelta(days=1), now, lambda _: None)
    said: list[str] = []
    reader = Reader(client, Scope(now - timedelta(days=DAYS), now), said.append)
    options = gather.Options(
        city="", language="vi", policy="", horizon_months=12, prices={},
        prices_are_examples=True, now=now,
    )  # fmt: skip
    report = gather.gather(reader, options)
    assert any(line.startswith("rollups of") for line in said)
    mcu = next(s for w in report.wards if w.site == DUC_HOA for s in w.links if s.kind == "mcu")
    assert (mcu.rounds, mcu.bad_pct) == (672, 50.0)
    # Now complete: the next report rolls up only its last two hours.
    said.clear()
    gather.gather(Reader(client, Scope(now - timedelta(days=DAYS), now), said.append), options)
    assert sum(line.startswith("rollups of") for line in said) == 1
