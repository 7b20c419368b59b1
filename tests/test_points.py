"""Messages to points: catalogue conformance, exact values, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.factories import (
    T0,
    host_facts,
    identity,
    inventory,
    link_facts,
    machine_facts,
    report,
)
from tests.support.judge import JUDGE
from wardwatch.collector.influx.lineproto import Point, time_ns
from wardwatch.collector.ingest.points import dead_letter_point, enrolment_point, to_points
from wardwatch.contract import wire
from wardwatch.contract.catalogue import AGENT_TAGS, CATALOGUE
from wardwatch.rules import link_quality

pytestmark = pytest.mark.unit

PYTHON_TYPES = {"float": float, "int": int, "str": str, "bool": bool}


def _messages() -> list[wire.AgentMessage]:
    return [
        report(),
        report(facts=[]),
        report(facts=[host_facts(), machine_facts()]),
        report(facts=[link_facts(), link_facts(target="dns", target_kind="dns", ports=[])]),
        inventory(),
        wire.Status(**identity(), state="online", sent_at=T0),
        wire.Status(**identity(), state="offline", sent_at=T0),
    ]


def _conforms(point: Point) -> None:
    spec = CATALOGUE[point.measurement]
    assert tuple(tag for tag, _ in point.tags) == spec.tags
    for key, value in point.fields:
        assert key in spec.fields, f"{point.measurement}.{key} missing from the catalogue"
        assert type(value) is PYTHON_TYPES[spec.fields[key].type], (point.measurement, key)


def test_every_point_is_in_the_catalogue_with_its_type() -> None:
    points = [point for message in _messages() for point in to_points(message, T0, judge=JUDGE)]
    points.append(dead_letter_point("tan-an-pc07", "host,agent=x f=1 1", "400: conflict", T0))
    notice = wire.Enrolment(id="e1", agent="tan-an-pc07", state="disabled", sent_at=T0)
    points.append(enrolment_point(notice, T0))
    for point in points:
        _conforms(point)
    assert {point.measurement for point in points} == set(CATALOGUE)


def test_integral_floats_stay_floats() -> None:
    # InfluxDB fixes a field's type at first write: a float field sent as 3 must still be 3.0.
    message = report(facts=[host_facts(cpu_pct=3, uptime_s=0)])
    host = next(p for p in to_points(message, T0, judge=JUDGE) if p.measurement == "host")
    fields = dict(host.fields)
    assert fields["cpu_pct"] == 3.0 and type(fields["cpu_pct"]) is float
    assert type(fields["uptime_s"]) is float


def test_report_values_are_exact() -> None:
    agent_point, host = to_points(report(), T0 + timedelta(hours=5), judge=JUDGE)
    assert host.time_ns == agent_point.time_ns == time_ns(T0)  # measured, not received, time
    assert dict(host.tags) == {tag: identity()[tag] for tag in AGENT_TAGS}
    assert dict(host.fields)["boot_time"] == int(host_facts().boot_time.timestamp())
    assert dict(agent_point.fields) == {
        "version": "0.1.0",
        "interval_s": 60,
        "probe_errors": 0,
        "outbox_depth": 0,
        "outbox_dropped": 0,
        "clock_skew_s": 0.0,
        "clock_skewed": 0,
    }


def test_same_message_same_points() -> None:
    message = report()
    assert to_points(message, T0, judge=JUDGE) == to_points(
        message, T0 + timedelta(days=1), judge=JUDGE
    )


def test_offline_status_is_stamped_when_heard() -> None:
    # The last will carries the time it was armed; the collector's receive time is the outage.
    heard = T0 + timedelta(hours=3)
    (offline,) = to_points(
        wire.Status(**identity(), state="offline", sent_at=T0), heard, judge=JUDGE
    )
    (online,) = to_points(wire.Status(**identity(), state="online", sent_at=T0), heard, judge=JUDGE)
    assert offline.time_ns == time_ns(heard)
    assert online.time_ns == time_ns(T0)


def test_link_round_and_ports_of_a_vc_endpoint() -> None:
    points = to_points(report(facts=[link_facts()]), T0, judge=JUDGE)
    link = next(p for p in points if p.measurement == "link")
    assert dict(link.tags)["target"] == "phong-hop-codec"
    assert dict(link.tags)["kind"] == "vc-endpoint"
    fields = dict(link.fields)
    assert (fields["state"], fields["rank"], fields["ports_open"], fields["ports_checked"]) == (
        "good",
        0,
        2,
        4,
    )
    ports = {dict(p.tags)["port"]: dict(p.fields) for p in points if p.measurement == "vc_port"}
    assert ports["1720"] == {"open": 1, "connect_ms": 19.1, "error": ""}
    assert ports["5061"] == {"open": 0, "error": "timeout"}


def test_link_thresholds_are_overridable_per_kind() -> None:
    slow_gateway = link_facts(target="gateway", target_kind="gateway", rtt_avg_ms=40.0, ports=[])
    message = report(facts=[slow_gateway])
    (_, default) = to_points(message, T0, judge=JUDGE)
    strict: dict[wire.TargetKind, link_quality.Thresholds] = {
        "gateway": link_quality.Thresholds(good_rtt_ms=20.0, degraded_rtt_ms=30.0)
    }
    (_, judged) = to_points(message, T0, judge=JUDGE, limits=strict)
    assert dict(default.fields)["state"] == "good"
    assert dict(judged.fields)["state"] == "bad"
