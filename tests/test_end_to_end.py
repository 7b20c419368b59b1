"""Agent → Mosquitto → collector → InfluxDB, with the real services."""

from __future__ import annotations

import importlib.metadata
import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import T0, host_facts, identity, report
from tests.support.helpers import (
    RawClient,
    agent_config,
    collector_config,
    decode_ack,
    running_collector,
    wait_until,
)
from wardwatch.agent.runner import Agent
from wardwatch.collector.cli.status import fleet_status
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto, VictoriaMetrics, free_port
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.contract import wire


class FixedProbe:
    """A probe with known facts, so the values in InfluxDB can be compared exactly."""

    name = "host"

    def collect(self) -> list[wire.Fact]:
        return [host_facts()]


@pytest.fixture
def collector(mosquitto: Mosquitto, influxd: Influxd, influx_db: str) -> Iterator[Collector]:
    cfg = collector_config(mosquitto.url, influxd.url, influx_db, mqtt={"max_payload_bytes": 4096})
    with running_collector(cfg) as running:
        yield running


@pytest.fixture
def raw(mosquitto: Mosquitto) -> Iterator[RawClient]:
    client = RawClient(mosquitto.url)
    yield client
    client.close()


def host_row(reader: QueryClient, agent: str, at: int | None = None) -> dict[str, object]:
    when = "" if at is None else f" AND time = {at}"
    rows = reader.query(f'SELECT * FROM "host" WHERE "agent" = {quote_string(agent)}{when}')
    assert len(rows) == 1, rows
    return rows[0].values


@pytest.mark.services
def test_agent_once_report_lands_with_exact_values(
    mosquitto: Mosquitto, collector: Collector, reader: QueryClient, tmp_path: Path
) -> None:
    agent = Agent(agent_config(mosquitto.url, tmp_path / "outbox"), [FixedProbe()], once=True)
    before = wire.now()
    assert agent.run_once(deadline_s=15) == ""
    after = wire.now()
    values = host_row(reader, "tan-an-pc07")
    expected = host_facts()
    assert time_ns(before) <= values["time"] <= time_ns(after)  # type: ignore[operator]
    assert values["agent"] == "tan-an-pc07"
    assert values["site"] == "tan-an"
    assert values["role"] == "office-pc"
    assert values["device_class"] == "desktop"
    assert values["hostname"] == expected.hostname
    assert values["uptime_s"] == expected.uptime_s
    assert values["boot_time"] == int(expected.boot_time.timestamp())
    assert values["mem_used_pct"] == expected.mem_used_pct
    assert values["cpu_count"] == expected.cpu_count
    assert collector.stats.stored == 1
    assert not collector.stats.rejected


@pytest.mark.services
def test_bad_messages_are_counted_and_the_next_good_one_lands(
    collector: Collector, raw: RawClient, reader: QueryClient
) -> None:
    raw.subscribe(wire.subscription("ack"))
    good = wire.encode(report("good1"))
    topic = wire.topic("tan-an-pc07", "report")
    bad = [
        (topic, b"\x00garbage{"),  # malformed
        (topic, good.replace(b'"v":1', b'"v":2').replace(b'"good1"', b'"ver1"')),  # version
        (topic, wire.encode(report("inv1")).replace(b'"interval_s":60,', b"")),  # invalid
        (topic, wire.encode(report("nl1")).replace(b"TAN-AN-PC07", b"TAN\\nPC07")),  # invalid
        (topic, b'{"pad": "' + b"x" * 5000 + b'"}'),  # oversized
        (wire.topic("ea-tu-pc01", "report"), wire.encode(report("spoof1"))),  # spoofed
    ]
    for bad_topic, payload in bad:
        raw.publish(bad_topic, payload)
    raw.publish(topic, good)
    wait_until(lambda: collector.stats.received == 7, what="7 messages received")
    wait_until(lambda: collector.stats.stored == 1, what="the good message stored")
    assert dict(collector.stats.rejected) == {
        "malformed": 1,
        "version": 1,
        "invalid": 2,
        "oversized": 1,
        "spoofed": 1,
    }
    values = host_row(reader, "tan-an-pc07")
    assert values["time"] == time_ns(T0)
    assert values["hostname"] == "TAN-AN-PC07"
    # Refused messages whose id could be read are acked with the reason, so agents stop
    # resending them; the good one is acked as stored.
    acks = [decode_ack(m) for m in raw.messages(2)]
    by_agent = {ack.agent: ack for ack in acks}
    assert by_agent["tan-an-pc07"].stored == ["good1"]
    refused = {r.id: r.reason for r in by_agent["tan-an-pc07"].rejected}
    assert set(refused) == {"ver1", "inv1", "nl1"}
    assert refused["ver1"].startswith("version:")
    assert "interval_s" in refused["inv1"]
    assert "$.facts[0].hostname" in refused["nl1"]
    assert [r.reason.split(":")[0] for r in by_agent["ea-tu-pc01"].rejected] == ["spoofed"]


hostile = st.text(
    st.one_of(
        st.sampled_from(",= \"'\\Tân An Cư ÊBur Đắk"),
        # Not format characters (bidi marks and overrides, zero-width) nor line separators:
        # names holding them are refused (tests/test_admission.py).
        st.characters(
            blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp"), blacklist_characters="/+#"
        ),
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: not s.endswith("\\"))
_ids = itertools.count()


@pytest.mark.services
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agent=hostile, site=hostile, hostname=hostile)
def test_hostile_names_round_trip_end_to_end(
    collector: Collector, raw: RawClient, reader: QueryClient, agent: str, site: str, hostname: str
) -> None:
    n = next(_ids)
    message_id = f"h{n}"
    at = T0 + timedelta(seconds=n)  # one point per example, even when names repeat
    message = report(
        message_id, at=at, agent=agent, site=site, facts=[host_facts(hostname=hostname)]
    )
    raw.subscribe(wire.topic(agent, "ack"))
    raw.publish(wire.topic(agent, "report"), wire.encode(message))
    acks = [decode_ack(m) for m in raw.messages(1)]
    assert acks[0].stored == [message_id], acks
    raw.client.unsubscribe(wire.topic(agent, "ack"))
    values = host_row(reader, agent, time_ns(at))
    assert (values["agent"], values["site"], values["hostname"]) == (agent, site, hostname)
    assert (agent, site) in {(s.agent, s.site) for s in fleet_status(reader)}


@pytest.mark.process
@pytest.mark.services
def test_writes_wait_for_influxdb_and_nothing_is_acked_before(
    mosquitto: Mosquitto,
    tmp_path: Path,
    raw: RawClient,
) -> None:
    port = free_port()
    database = "late"
    cfg = collector_config(mosquitto.url, f"http://127.0.0.1:{port}", database)
    raw.subscribe(wire.subscription("ack"))
    with running_collector(cfg) as collector:
        raw.publish(wire.topic("tan-an-pc07", "report"), wire.encode(report("late1")))
        wait_until(lambda: collector.stats.received == 1, what="the report received")
        assert raw.received.empty(), "acked before InfluxDB stored anything"
        with Influxd(tmp_path / "influxd", port) as influxd:
            influxd.query(f'CREATE DATABASE "{database}"')
            (ack,) = [decode_ack(m) for m in raw.messages(1, timeout_s=60)]
            assert ack.stored == ["late1"]
            rows = influxd.query('SELECT "uptime_s" FROM "host"', database=database)
            assert [row.values for row in rows] == [{"time": time_ns(T0), "uptime_s": 9015.5}]
        assert collector.stats.stored == 1


@pytest.mark.services
def test_v2_write_api(mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path) -> None:
    # VictoriaMetrics answers InfluxDB's /api/v2/write, so the influxdb-client path is proven
    # against a real server; it keeps numbers only, as <measurement>_<field> series.
    # grafana-client (for `dashboards push`) is loaded in the same process, and its
    # urllib3-future has replaced urllib3 in this environment: influxdb-client must not mind.
    import grafana_client.api  # noqa: F401

    assert importlib.metadata.version("urllib3-future")
    cfg = collector_config(
        mosquitto.url,
        victoria.url,
        "unused",
        influx={"api": "v2", "org": "city", "bucket": "wardwatch", "token": "t"},
    )
    with running_collector(cfg) as collector:
        agent = Agent(
            agent_config(mosquitto.url, tmp_path / "outbox", site="Ea Tu, xã"),
            [FixedProbe()],
            once=True,
        )
        assert agent.run_once(deadline_s=15) == ""
        assert collector.stats.stored == 1
    series = wait_until(
        lambda: victoria.export('{__name__="host_uptime_s"}'), what="the v2 write to be visible"
    )
    assert len(series) == 1
    assert series[0]["values"] == [host_facts().uptime_s]
    assert series[0]["metric"]["site"] == "Ea Tu, xã"
    assert series[0]["metric"]["agent"] == "tan-an-pc07"


@pytest.mark.services
def test_redelivered_report_overwrites_itself(
    collector: Collector, raw: RawClient, reader: QueryClient
) -> None:
    payload = wire.encode(report("dup1"))
    # The agent's resend: same message, sent_at renewed.
    resend_at = wire.now() + timedelta(seconds=2)
    later = wire.encode(msgspec.structs.replace(report("dup1"), sent_at=resend_at))
    raw.publish(wire.topic("tan-an-pc07", "report"), payload)
    raw.publish(wire.topic("tan-an-pc07", "report"), later)
    wait_until(lambda: collector.stats.stored == 2, what="both copies stored")
    rows = reader.query('SELECT count("uptime_s") FROM "host"')
    assert rows[0].values["count"] == 1
    assert identity()["agent"] in {s.agent for s in fleet_status(reader)}


@pytest.mark.services
def test_batches_flush_by_size(mosquitto: Mosquitto, influxd: Influxd, influx_db: str) -> None:
    # Each report is 2 points; 4 points per batch means 2 reports per write. The delay is long,
    # so only the size can be what flushes them.
    cfg = collector_config(
        mosquitto.url, influxd.url, influx_db, batch={"max_points": 4, "max_delay_s": 60}
    )
    raw = RawClient(mosquitto.url)
    with running_collector(cfg) as collector:
        for n in range(10):
            raw.publish(
                wire.topic("tan-an-pc07", "report"),
                wire.encode(report(f"b{n}", at=T0 + timedelta(minutes=n))),
            )
        wait_until(lambda: collector.stats.stored == 10, what="10 reports stored")
        assert collector.stats.batches == 5
        assert collector.stats.points == 20
    raw.close()


@pytest.mark.services
def test_collector_session_keeps_messages_while_it_is_away(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, reader: QueryClient
) -> None:
    cfg = collector_config(mosquitto.url, influxd.url, influx_db)
    with running_collector(cfg):
        pass  # the broker now knows the collector's persistent session and subscriptions
    raw = RawClient(mosquitto.url)
    raw.publish(wire.topic("tan-an-pc07", "report"), wire.encode(report("away1")))
    raw.close()
    with running_collector(cfg) as collector:
        wait_until(lambda: collector.stats.stored == 1, what="the queued report stored")
    assert host_row(reader, "tan-an-pc07")["time"] == time_ns(T0)


@pytest.mark.services
def test_two_collectors_share_the_load(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, reader: QueryClient
) -> None:
    first = collector_config(mosquitto.url, influxd.url, influx_db)
    second = collector_config(mosquitto.url, influxd.url, influx_db, mqtt={"client_id": "c2"})
    raw = RawClient(mosquitto.url)
    with running_collector(first) as one, running_collector(second) as two:
        for n in range(20):
            raw.publish(
                wire.topic("tan-an-pc07", "report"),
                wire.encode(report(f"s{n}", at=T0 + timedelta(minutes=n))),
            )
        wait_until(lambda: one.stats.stored + two.stats.stored == 20, what="20 stored")
        assert one.stats.stored > 0 and two.stats.stored > 0
    raw.close()
    assert reader.query('SELECT count("uptime_s") FROM "host"')[0].values["count"] == 20


@pytest.mark.services
def test_points_influxdb_refuses_are_dead_lettered_and_the_rest_stored(
    mosquitto: Mosquitto, influxd: Influxd, raw: RawClient
) -> None:
    # A database that keeps one hour: a report measured two hours ago (an outbox replaying an
    # outage) is refused by InfluxDB itself, with a 400, inside a batch of good ones.
    database = "short_memory"
    influxd.query(f'CREATE DATABASE "{database}" WITH DURATION 1h')
    cfg = collector_config(mosquitto.url, influxd.url, database, batch={"max_delay_s": 1.0})
    now = wire.now()
    raw.subscribe(wire.subscription("ack"))
    with running_collector(cfg) as collector:
        old = now - timedelta(hours=2)
        later = now + timedelta(seconds=1)
        for name, at in (("ok1", now), ("old", old), ("ok2", later)):
            message = msgspec.structs.replace(report(name, at=at), sent_at=now)
            raw.publish(wire.topic("tan-an-pc07", "report"), wire.encode(message))
        wait_until(lambda: collector.stats.stored == 3, what="3 reports handled")
        assert collector.stats.dead_letters == 2  # the old report's host and agent points
    (ack,) = [decode_ack(m) for m in raw.messages(1)]
    assert sorted(ack.stored) == ["ok1", "ok2", "old"]  # resending would not help it
    reader = QueryClient(InfluxSection(url=influxd.url, database=database))
    assert reader.query('SELECT count("uptime_s") FROM "host"')[0].values["count"] == 2
    letters = reader.query('SELECT * FROM "dead_letter"')
    assert sorted(row.values["measurement"] for row in letters) == ["agent", "host"]
    for row in letters:
        assert row.values["agent"] == "tan-an-pc07"
        assert "beyond retention policy" in row.values["reason"]
        assert row.values["line"].endswith(f" {time_ns(old)}")
    reader.close()
    influxd.query(f'DROP DATABASE "{database}"')
