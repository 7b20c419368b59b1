"""``wardwatch status`` logic: online, silent and said-offline agents, read from InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.support.factories import T0, dead_link, host_facts, identity, link_facts, report
from tests.support.judge import JUDGE
from wardwatch.collector.cli.status import fleet_status, human_duration, render_table
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.lineproto import encode_all, time_ns
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.influx.writer import V1Writer
from wardwatch.collector.ingest.points import to_points
from wardwatch.contract import wire


@pytest.fixture
def store(influxd: Influxd, influx_db: str) -> Iterator[tuple[V1Writer, QueryClient]]:
    cfg = InfluxSection(url=influxd.url, database=influx_db)
    writer, reader = V1Writer(cfg), QueryClient(cfg)
    yield writer, reader
    writer.close()
    reader.close()


@pytest.mark.services
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


@pytest.mark.services
def test_agentless_vc_endpoints_join_the_fleet(store: tuple[V1Writer, QueryClient]) -> None:
    writer, reader = store
    answering = link_facts(target="codec-tan-an")
    dead = dead_link(target="codec-ea-tu")
    old = link_facts(target="codec-old")
    for message in (
        report("p1", at=T0, facts=[host_facts(), answering]),
        report("p2", at=T0, facts=[host_facts(), dead], agent="ea-tu-pc01", site="ea-tu"),
        report("p3", at=T0 - timedelta(hours=1), facts=[old], agent="x-pc", site="x"),
    ):
        writer.write(encode_all(to_points(message, T0, judge=JUDGE)))
    fleet = {s.agent: s for s in fleet_status(reader, now_ns=time_ns(T0 + timedelta(seconds=5)))}
    # Each endpoint is named by its prober, which no agent id can be (ids hold no '/').
    codec = fleet["tan-an-pc07/codec-tan-an"]
    assert (codec.site, codec.role, codec.online, codec.why) == (
        "tan-an",
        "vc-endpoint",
        True,
        "answering",
    )
    dead_codec, old_codec = fleet["ea-tu-pc01/codec-ea-tu"], fleet["x-pc/codec-old"]
    assert (dead_codec.online, dead_codec.why) == (False, "no answer")
    assert (old_codec.online, old_codec.why) == (False, "not probed")
    assert codec.uptime_s is None


@pytest.mark.services
def test_empty_fleet(store: tuple[V1Writer, QueryClient]) -> None:
    assert fleet_status(store[1]) == []
    assert "no agent has reported yet" in render_table([])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h00m"), (90061, "1d01h")],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
