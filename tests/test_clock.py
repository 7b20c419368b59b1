"""Clock skew: the collector's rule, and agents whose clocks are years off, for real."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from tests.support import programs
from tests.support.factories import T0, report
from tests.support.helpers import RawClient, wait_until
from wardwatch.collector.devstack.services import Mosquitto
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.collector.ingest.clock import ClockJudge
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.contract import wire

DAY = timedelta(days=1)
judge = ClockJudge(max_skew_s=300, max_wait_s=7 * 86400)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sent", "received", "connected", "skewed"),
    [
        (T0, T0 + timedelta(seconds=299), T0 - DAY, False),  # within the threshold
        (T0 + timedelta(hours=1), T0, T0, True),  # agent ahead: no wait explains that
        (T0 - timedelta(hours=1), T0, T0 - DAY, True),  # behind, collector long connected
        # Behind, but the collector just (re)connected: the message may have waited for it
        # at the broker, so it is not judged.
        (T0 - timedelta(hours=1), T0, T0 - timedelta(seconds=10), False),
        (T0 - 30 * DAY, T0, T0, True),  # longer than the broker keeps anything
    ],
)
def test_rule(sent, received, connected, skewed) -> None:  # type: ignore[no-untyped-def]
    check = judge.check(sent, received, connected)
    assert check.skew_s == (received - sent).total_seconds()
    assert check.skewed is skewed
    assert check.correction == (timedelta(seconds=round(check.skew_s)) if skewed else timedelta(0))


@pytest.mark.unit
def test_correction_is_whole_seconds_so_redelivery_collapses() -> None:
    a = judge.check(T0, T0 + timedelta(hours=2, milliseconds=120), T0 - DAY)
    b = judge.check(T0, T0 + timedelta(hours=2, milliseconds=380), T0 - DAY)
    assert a.correction == b.correction == timedelta(hours=2)


@pytest.mark.process
@pytest.mark.services
@pytest.mark.parametrize("offset", ["-3650d", "+3650d"])
def test_agent_ten_years_off_is_flagged_and_lands_at_the_right_time(
    tmp_path: Path, mosquitto: Mosquitto, collector: Collector, reader: QueryClient, offset: str
) -> None:
    # A real agent process whose clock is 10 years off, through libfaketime.
    if shutil.which("faketime") is None:
        pytest.fail("faketime is missing: apt-get install -y faketime (or: make deps)")
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nid = "dead-battery"\n[mqtt]\nurl = "{mosquitto.url}"\n'
        f'[outbox]\npath = "{tmp_path / "outbox.db"}"\n'
    )
    before = wire.now()
    result = subprocess.run(
        [
            "faketime",
            "-f",
            offset,
            *programs.AGENT,
            "--config",
            str(config),
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        # Only the wall clock is wrong on such a PC; its boot clock counts on.
        env={**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"},
    )
    after = wire.now()
    assert result.returncode == 0, result.stderr
    agent = quote_string("dead-battery")
    (health,) = reader.query(f'SELECT * FROM "agent" WHERE "agent" = {agent}')
    assert health.values["clock_skewed"] == 1
    ten_years = 3650 * 86400
    assert abs(abs(health.values["clock_skew_s"]) - ten_years) < 60
    # The corrected time falls within the run (give or take the whole-second rounding).
    assert time_ns(before) - 10**9 <= health.values["time"] <= time_ns(after) + 10**9
    (host,) = reader.query(f'SELECT "uptime_s", "boot_time" FROM "host" WHERE "agent" = {agent}')
    assert host.values["time"] == health.values["time"]
    assert 0 < host.values["uptime_s"] < 10 * 365 * 86400  # the boot clock, not the wall clock
    assert abs(host.values["boot_time"] - (after.timestamp() - host.values["uptime_s"])) < 60


@pytest.mark.services
def test_replayed_old_message_is_not_mistaken_for_skew(
    collector: Collector, mosquitto: Mosquitto, reader: QueryClient
) -> None:
    # Measured two days ago, kept in an outbox, sent now: its sent_at is fresh.
    old = report("replayed", at=wire.now() - 2 * DAY)
    raw = RawClient(mosquitto.url)
    raw.publish(
        wire.topic(old.agent, "report"),
        wire.encode(msgspec.structs.replace(old, sent_at=wire.now())),
    )
    raw.close()
    wait_until(lambda: collector.stats.stored == 1, what="the replayed report stored")
    (health,) = reader.query('SELECT * FROM "agent"')
    assert health.values["clock_skewed"] == 0
    assert abs(health.values["clock_skew_s"]) < 5
    assert health.values["time"] == time_ns(old.measured_at)
