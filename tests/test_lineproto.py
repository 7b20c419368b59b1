"""Line protocol: exact escaping proven against a real InfluxDB, and clear refusals."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.lineproto import LineProtocolError, Point, encode, time_ns
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.collector.influx.writer import V1Writer, write_isolating

HOSTILE = ",= \"'\\=,Tân An Ea Tu Cư ÊBur Đắk Lắk ắâđươ"
text = st.text(
    st.one_of(st.sampled_from(HOSTILE), st.characters(blacklist_categories=("Cs", "Cc"))),
    min_size=1,
    max_size=40,
)
tag_text = text.filter(lambda s: not s.endswith("\\"))


def point(tags: dict[str, str], fields: dict[str, object], at: int = 1) -> Point:
    return Point("host", tuple(tags.items()), tuple(fields.items()), at)  # type: ignore[arg-type]


@pytest.mark.unit
def test_escaping_by_position() -> None:
    line = encode(point({"site": "Tân An, p=1"}, {"hostname": 'a "b" \\c', "n": 3}, 5))
    assert line == 'host,site=Tân\\ An\\,\\ p\\=1 hostname="a \\"b\\" \\\\c",n=3i 5'


@pytest.mark.unit
def test_field_types() -> None:
    line = encode(point({"a": "b"}, {"f": 1.0, "i": 2, "t": True, "s": "x"}))
    assert line == 'host,a=b f=1.0,i=2i,t=true,s="x" 1'


@pytest.mark.unit
@pytest.mark.parametrize(
    ("tags", "fields", "complaint"),
    [
        ({"site": "a\nhost,site=x f=1"}, {"f": 1.0}, "control character"),
        ({"site": "a\r"}, {"f": 1.0}, "control character"),
        ({"site": "ends\\"}, {"f": 1.0}, "backslash"),
        ({"site": ""}, {"f": 1.0}, "empty"),
        ({"site": "a"}, {"s": "two\nlines"}, "control character"),
        ({"site": "a"}, {"f": float("nan")}, "cannot store"),
        ({"site": "a"}, {"f": float("inf")}, "cannot store"),
        ({"site": "a"}, {}, "no field"),
    ],
)
def test_unstorable_values_are_refused(
    tags: dict[str, str], fields: dict[str, object], complaint: str
) -> None:
    with pytest.raises(LineProtocolError, match=complaint):
        encode(point(tags, fields))


@pytest.mark.unit
def test_time_is_exact_nanoseconds() -> None:
    moment = datetime(2026, 11, 2, 1, 30, 15, 123456, tzinfo=UTC)
    assert time_ns(moment) == 1_793_583_015_123_456_000


@pytest.fixture
def roundtrip(influxd: Influxd, influx_db: str):  # type: ignore[no-untyped-def]
    cfg = InfluxSection(url=influxd.url, database=influx_db)
    writer, reader = V1Writer(cfg), QueryClient(cfg)
    yield writer, reader
    writer.close()
    reader.close()


_times = itertools.count(1_700_000_000_000_000_000, 1000)


@pytest.mark.services
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agent=tag_text, site=tag_text, hostname=text)
def test_hostile_text_round_trips_through_influxdb(
    roundtrip: tuple[V1Writer, QueryClient], agent: str, site: str, hostname: str
) -> None:
    writer, reader = roundtrip
    at = next(_times)
    writer.write([encode(point({"agent": agent, "site": site}, {"hostname": hostname}, at))])
    rows = reader.query(
        f'SELECT "hostname", "site" FROM "host" WHERE "agent" = {quote_string(agent)} '
        f"AND time = {at}"
    )
    assert [(r.values["site"], r.values["hostname"], r.values["time"]) for r in rows] == [
        (site, hostname, at)
    ]


@pytest.mark.services
def test_write_isolating_stores_all_but_the_refused_lines(influxd: Influxd) -> None:
    influxd.query('CREATE DATABASE "isolating" WITH DURATION 1h')
    cfg = InfluxSection(url=influxd.url, database="isolating")
    now = time_ns(datetime.now(UTC))
    bad = {7, 50, 51}
    lines = [
        encode(point({"agent": f"pc{n}"}, {"f": float(n)}, 946684800000000000 if n in bad else now))
        for n in range(100)
    ]
    writer = V1Writer(cfg)
    refused = write_isolating(writer, lines, threading.Event())
    writer.close()
    assert [index for index, _ in refused] == sorted(bad)
    assert all("beyond retention policy" in reason for _, reason in refused)
    rows = influxd.query('SELECT count("f") FROM "host"', database="isolating")
    assert rows[0].values["count"] == 97
    influxd.query('DROP DATABASE "isolating"')
