"""Messages to points: each wire message becomes the InfluxDB points the catalogue describes.

The same message always yields the same points (same tags, same timestamps), so a message
delivered twice overwrites itself: at-least-once delivery, exactly-once data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from wardwatch.collector.influx.lineproto import FieldValue, Point, time_ns
from wardwatch.collector.ingest.clock import UNKNOWN, ClockCheck
from wardwatch.collector.judgement.stage import Judge
from wardwatch.contract import wire
from wardwatch.contract.catalogue import (
    AGENT,
    AGENT_TAGS,
    DEAD_LETTER,
    ENROLMENT,
    HARDWARE,
    HOST,
    LINK,
    OS,
    STATUS,
    VC_ENDPOINT_CLASS,
    VC_PORT,
    Measurement,
)
from wardwatch.rules import link_quality

_COERCE: dict[str, Callable[[Any], FieldValue]] = {
    "float": float,
    "int": int,
    "str": str,
    "bool": bool,
}


def make_point(
    measurement: Measurement,
    tags: Mapping[str, str],
    values: Mapping[str, Any],
    at: datetime,
) -> Point:
    """A point of ``measurement`` for one agent; each field is cast to its catalogue type.

    Casting matters: InfluxDB fixes a field's type at its first write, so a float field sent
    once as ``3`` (an int) would refuse every later ``3.5``. A None value is left out.
    """
    fields: list[tuple[str, FieldValue]] = []
    for key, value in values.items():
        if value is None:  # unknown: InfluxDB has no null, the field is left out
            continue
        spec = measurement.fields.get(key)
        if spec is None:
            raise KeyError(f"{measurement.name}.{key} is not in the catalogue")
        fields.append((key, _COERCE[spec.type](value)))
    return Point(
        measurement.name,
        tuple((tag, tags[tag]) for tag in measurement.tags),
        tuple(fields),
        time_ns(at),
    )


def agent_tags(identity: wire.Identity) -> dict[str, str]:
    """The tags every per-agent point carries."""
    return {tag: getattr(identity, tag) for tag in AGENT_TAGS}


def _host(identity: wire.Identity, facts: wire.HostFacts, at: datetime, clock: ClockCheck) -> Point:
    values = msgspec.structs.asdict(facts)
    values["boot_time"] = int((facts.boot_time + clock.correction).timestamp())
    return make_point(HOST, agent_tags(identity), values, at)


def machine_points(
    identity: wire.Identity, machine: wire.MachineFacts, at: datetime, judge: Judge
) -> list[Point]:
    """The machine's hardware and OS verdicts, as of the day of ``at``."""
    judgement = judge(identity, machine, at.date())
    tags = agent_tags(identity)
    return [
        make_point(HARDWARE, tags, msgspec.structs.asdict(judgement.hardware), at),
        make_point(OS, tags, msgspec.structs.asdict(judgement.os), at),
    ]


Limits = Mapping[wire.TargetKind, link_quality.Thresholds]
"""Per target kind, the thresholds that override the defaults (``[thresholds.<kind>]``)."""


def link_points(
    identity: wire.Identity, link: wire.LinkFacts, at: datetime, limits: Limits
) -> list[Point]:
    """The round's figures and verdict, and for a VC endpoint one point per port."""
    state = link_quality.grade(link, limits.get(link.target_kind, link_quality.DEFAULT))
    tags = agent_tags(identity) | {"target": link.target, "kind": link.target_kind}
    values = {
        "state": state,
        "rank": link_quality.RANK[state],
        "method": link.method,
        "host": link.host,
        "address": link.address,
        "sent": link.sent,
        "received": link.received,
        "loss_pct": link.loss_pct,
        "rtt_min_ms": link.rtt_min_ms,
        "rtt_avg_ms": link.rtt_avg_ms,
        "rtt_median_ms": link.rtt_median_ms,
        "rtt_max_ms": link.rtt_max_ms,
        "jitter_ms": link.jitter_ms,
        "http_status": link.http_status,
        "ports_open": sum(p.open for p in link.ports) if link.ports else None,
        "ports_checked": len(link.ports) if link.ports else None,
        "error": link.error,
    }
    points = [make_point(LINK, tags, values, at)]
    if link.target_kind == "vc-endpoint":
        points.append(_endpoint_status(identity, link, at))
    for port in link.ports:
        port_values = {"open": int(port.open), "connect_ms": port.connect_ms, "error": port.error}
        points.append(make_point(VC_PORT, tags | {"port": str(port.port)}, port_values, at))
    return points


def endpoint_id(prober: str, target: str) -> str:
    """The fleet name of the agentless endpoint ``target`` as probed by agent ``prober``."""
    return f"{prober}/{target}"


def _endpoint_status(identity: wire.Identity, link: wire.LinkFacts, at: datetime) -> Point:
    """An agentless VC endpoint joins the fleet as a machine of its own, as its prober sees it
    (role ``vc-endpoint``, at the probing agent's site): online when it answered ICMP or any of
    its ports. Its name is ``<prober>/<target>``: no agent id holds a '/', so no agent can
    write another's status through an endpoint, and two agents probing one endpoint keep one
    line each instead of overwriting each other's finding."""
    up = link.received > 0 or any(p.open for p in link.ports)
    tags = {
        "agent": endpoint_id(identity.agent, link.target),
        "site": identity.site,
        "role": "vc-endpoint",
        "device_class": VC_ENDPOINT_CLASS,
    }
    values = {
        "state": "online" if up else "offline",
        "online": int(up),
        "probed_by": identity.agent,
    }
    return make_point(STATUS, tags, values, at)


def report_points(
    report: wire.Report, judge: Judge, clock: ClockCheck = UNKNOWN, limits: Limits | None = None
) -> list[Point]:
    """The agent's health point and the points of each fact, all at the measurement time
    (corrected when the agent's clock is off, never later than its receipt)."""
    at = clock.stamp(report.measured_at)
    points = [
        make_point(
            AGENT,
            agent_tags(report),
            {
                "version": report.agent_version,
                "interval_s": report.interval_s,
                "probe_errors": len(report.errors),
                "outbox_depth": report.outbox_depth,
                "outbox_dropped": report.outbox_dropped,
                "clock_skew_s": round(clock.skew_s, 3),
                "clock_skewed": int(clock.skewed),
            },
            at,
        )
    ]
    for fact in report.facts:
        if isinstance(fact, wire.HostFacts):
            points.append(_host(report, fact, at, clock))
        elif isinstance(fact, wire.MachineFacts):
            points.extend(machine_points(report, fact, at, judge))
        else:
            points.extend(link_points(report, fact, at, limits or {}))
    return points


def inventory_points(
    inventory: wire.Inventory, judge: Judge, clock: ClockCheck = UNKNOWN
) -> list[Point]:
    """The verdicts of the machine the inventory describes."""
    at = clock.stamp(inventory.measured_at)
    return machine_points(inventory, inventory.machine, at, judge)


def online(identity: wire.Identity, sent_at: datetime, session: int) -> wire.Status:
    """The ``online`` status of ``identity``'s agent on connection ``session``."""
    return wire.Status(
        agent=identity.agent,
        site=identity.site,
        role=identity.role,
        device_class=identity.device_class,
        state="online",
        sent_at=sent_at,
        session=session,
    )


def status_time(status: wire.Status, received_at: datetime, clock: ClockCheck) -> datetime:
    """When a status happened.

    ``online`` is stamped with the agent's ``sent_at``. ``offline`` usually comes from the
    broker's last will, armed when the agent connected, so its ``sent_at`` is that old
    connect time; the moment the collector heard it is the better estimate of the outage.
    Either stays within the clock check's bounds (after the agent's previous status).
    """
    return clock.stamp(status.sent_at) if status.state == "online" else clock.bound(received_at)


def status_points(
    status: wire.Status, received_at: datetime, clock: ClockCheck = UNKNOWN
) -> list[Point]:
    """A connection change, at ``status_time``."""
    at = status_time(status, received_at, clock)
    values = {
        "state": status.state,
        "online": int(status.state == "online"),
        "session": status.session,
    }
    return [make_point(STATUS, agent_tags(status), values, at)]


def to_points(
    message: wire.AgentMessage,
    received_at: datetime,
    *,
    judge: Judge,
    clock: ClockCheck = UNKNOWN,
    limits: Limits | None = None,
) -> list[Point]:
    """Every point one agent message yields; ``judge`` gives a machine's lifecycle verdicts,
    ``clock`` says how far off its agent's clock is, ``limits`` the link thresholds."""
    if isinstance(message, wire.Report):
        return report_points(message, judge, clock, limits)
    if isinstance(message, wire.Inventory):
        return inventory_points(message, judge, clock)
    return status_points(message, received_at, clock)


def enrolment_point(notice: wire.Enrolment, received_at: datetime) -> Point:
    """The admin's change to an agent's login, at its receipt: the collector's clock, not the
    admin machine's, orders it against the agent's own points."""
    return make_point(ENROLMENT, {"agent": notice.agent}, {"state": notice.state}, received_at)


def dead_letter_point(agent: str, line: str, reason: str, at: datetime) -> Point:
    """A refused point, kept as text with InfluxDB's reason, tagged by the agent that sent it."""
    measurement = line.split(",", 1)[0].split(" ", 1)[0]
    values = {"measurement": measurement, "line": wire.one_line(line, 60_000), "reason": reason}
    return make_point(DEAD_LETTER, {"agent": agent}, values, at)
