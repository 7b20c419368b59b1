"""``wardwatch status`` logic: online, silent and said-offline agents, read from InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from agent import wire
from collector.config import InfluxSection
from collector.influxql import QueryClient
from collector.lineproto import encode_all, time_ns
from collector.localstack import Influxd
from collector.points import to_points
from collector.status import fleet_status, human_duration, render_table
from collector.writer import V1Writer
from tests.factories import JUDGE, T0, identity, report


@pytest.fixture
def store(influxd: Influxd, influx_db: str) -> Iterator[tuple[V1Writer, QueryClient]]:
    cfg = InfluxSection(url=influxd.url, database=influx_db)
    writer, reader = V1Writer(cfg), QueryClient(cfg)
    yield writer, reader
    writer.close()
    reader.close()


def test_online_silent_and_said_offline(store: tuple[V1Writer, QueryClient]) -> None:
    writer, reader = store
    quiet = identity(agent="ea-tu-pc01", site="ea-tu")
    gone = identity(agent="hoa-phu-vc1", site="hoa-phu", role="vc-endpoint")
    messages: list[wire.AgentMessage] = [
        report("a1", at=T0),
        report("b1", at=T0 - timedelta(minutes=10), **{k: quiet[k] for k in ("agent", "site")}),
        report("c1", at=T0, **gone),
        wire.Status(**gone, state="offline", sent_at=T0),
    ]
    for message in messages:
        writer.write(encode_all(to_points(message, T0 + timedelta(seconds=1), judge=JUDGE)))
    now = time_ns(T0 + timedelta(seconds=30))
    listed = fleet_status(reader, now_ns=now)
    assert [s.site for s in listed] == ["ea-tu", "hoa-phu", "tan-an"]
    fleet = {s.agent: s for s in listed}
    assert (fleet["tan-an-pc07"].online, fleet["tan-an-pc07"].why) == (True, "reporting")
    assert (fleet["ea-tu-pc01"].online, fleet["ea-tu-pc01"].why) == (False, "silent")
    assert (fleet["hoa-phu-vc1"].online, fleet["hoa-phu-vc1"].why) == (False, "said offline")
    table = render_table(listed, now_ns=now).splitlines()
    assert table[0].split() == ["SITE", "AGENT", "ROLE", "LAST", "SEEN", "STATE", "UPTIME"]
    assert table[1].split()[3:] == ["10m", "ago", "OFFLINE", "(silent)", "2h30m"]
    assert table[2].split()[:3] == ["hoa-phu", "hoa-phu-vc1", "vc-endpoint"]
    assert table[3].split()[3:] == ["30s", "ago", "online", "2h30m"]


def test_empty_fleet(store: tuple[V1Writer, QueryClient]) -> None:
    assert fleet_status(store[1]) == []
    assert "no agent has reported yet" in render_table([])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h00m"), (90061, "1d01h")],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
