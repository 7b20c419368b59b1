"""The collector's pipeline: decode/validate → to points → batch → write → ack.

Each stage is a plain function or a small class. The pipeline runs in one worker thread fed
by the MQTT network thread through a queue; a message is acknowledged, to the broker and end
to end to its agent, only after InfluxDB accepted the batch that holds it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec

from wardwatch.collector.config import CollectorConfig
from wardwatch.collector.influx.lineproto import LineProtocolError, encode, encode_all
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.influx.writer import (
    Stopping,
    WriteError,
    Writer,
    make_writer,
    write_isolating,
    write_with_retry,
)
from wardwatch.collector.ingest.admission import Admission, stored_status
from wardwatch.collector.ingest.clock import ClockJudge
from wardwatch.collector.ingest.inbox import Door, Inbox
from wardwatch.collector.ingest.points import (
    Limits,
    dead_letter_point,
    enrolment_point,
    status_points,
    to_points,
)
from wardwatch.collector.ingest.subscriber import Incoming, Subscriber
from wardwatch.collector.inspection.rollup import Refresher
from wardwatch.collector.judgement.stage import Judge, Lifecycle
from wardwatch.common.throttle import Throttle
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.collector")

_bugs = Throttle(log)
"""Tracebacks of messages that found a bug: one per kind a minute, however many share it."""

POLL_S = 0.2
"""Longest wait on an empty queue, so that a stop is noticed quickly."""


@dataclass
class Entry:
    """One delivery on its way through the pipeline."""

    incoming: Incoming
    agent: str  # from the topic, which the broker's ACL vouches for
    message_id: str | None  # None when it has none (a status) or it cannot be read
    lines: list[str] = field(default_factory=list)
    rejection: str = ""  # why it is refused; empty when accepted


def _salvage_id(payload: bytes) -> str | None:
    """The message id of a refused payload, if one can be read, so the agent can be told."""
    try:
        value = msgspec.json.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        return None
    message_id = value.get("id") if isinstance(value, dict) else None
    try:
        return msgspec.convert(message_id, wire.MessageId)
    except msgspec.ValidationError:
        return None


def decode_stage(
    incoming: Incoming,
    max_bytes: int,
    admission: Admission,
    lifecycle: Judge,
    limits: Limits | None = None,
) -> tuple[Entry, str]:
    """Decode, validate, admit, judge the lifecycle, and convert one delivery; return the entry
    and a reason code if refused. Nothing a message holds can raise past this function."""
    try:
        agent, _ = wire.parse_topic(incoming.topic)
    except wire.WireError as exc:
        return Entry(incoming, "", None, rejection=str(exc)), exc.code
    try:
        message = wire.decode(incoming.topic, incoming.payload, max_bytes=max_bytes)
        if isinstance(message, wire.Ack):
            raise wire.WireError("topic", "an ack is not an agent message")
        if isinstance(message, wire.Enrolment):  # the broker admits only its admin here
            points = [enrolment_point(message, incoming.received_at)]
        else:
            admitted = admission.check(message, incoming.received_at, incoming.connected_at)
            points = to_points(
                message, incoming.received_at, judge=lifecycle, clock=admitted.clock, limits=limits
            )
            if admitted.implied is not None:
                online, online_clock = admitted.implied
                points += status_points(online, incoming.received_at, online_clock)
        lines = encode_all(points)
    except wire.WireError as exc:
        return Entry(incoming, agent, _salvage_id(incoming.payload), rejection=str(exc)), exc.code
    except LineProtocolError as exc:
        rejection = f"unstorable: {exc}"
        return Entry(
            incoming, agent, _salvage_id(incoming.payload), rejection=rejection
        ), "unstorable"
    except Exception as exc:  # a bug this message found: refuse it, keep collecting
        _bugs.log(
            logging.ERROR,
            type(exc).__name__,
            "could not convert a message on %s",
            incoming.topic,
            exc_info=True,
        )
        rejection = f"internal: {type(exc).__name__}: {exc}"
        return Entry(incoming, agent, _salvage_id(incoming.payload), rejection=rejection), (
            "internal"
        )
    message_id = None if isinstance(message, wire.Status) else message.id
    return Entry(incoming, agent, message_id, lines=lines), ""


class Stats:
    """What the collector has done, for its log and for tests; counts only grow."""

    def __init__(self) -> None:
        self.received = 0
        self.stored = 0
        self.points = 0
        self.batches = 0
        self.dead_letters = 0
        self.rejected: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, **counts: int) -> None:
        """Add to the named counters."""
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def reject(self, code: str) -> None:
        """Count one refused message by its reason code."""
        with self._lock:
            self.rejected[code] += 1

    def summary(self) -> str:
        """One log line."""
        with self._lock:
            refused = ", ".join(f"{code}={n}" for code, n in sorted(self.rejected.items()))
            return (
                f"received={self.received} stored={self.stored} points={self.points} "
                f"batches={self.batches} dead_letters={self.dead_letters} "
                f"rejected: {refused or 'none'}"
            )


class Collector:
    """Wires the subscriber, the stages and the writer together."""

    def __init__(
        self,
        cfg: CollectorConfig,
        writer: Writer | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        """``lifecycle`` defaults to the one ``cfg`` describes (ConfigError if it is bad)."""
        self.cfg = cfg
        self.lifecycle = lifecycle if lifecycle is not None else Lifecycle(cfg.lifecycle)
        self.stats = Stats()
        self.inbox: Inbox[Incoming] = Inbox(cfg.inbox)
        self.subscriber = Subscriber(cfg.mqtt, self.inbox, Door(cfg.inbox, self.stats.reject))
        self.writer = writer if writer is not None else make_writer(cfg.influx)
        self.stop_event = threading.Event()
        self.admission = Admission(
            cfg.limits,
            ClockJudge(cfg.clock.max_skew_s, cfg.mqtt.session_expiry_s),
            stored_status(QueryClient(cfg.influx)),
        )
        self.refusals = Throttle(log)
        # The report's hourly rollups of the hours written; SELECT ... INTO is InfluxDB 1.x's.
        self.rollups = (
            Refresher(QueryClient(cfg.influx), cfg.report.rollup_every_s, self.stop_event)
            if cfg.influx.api == "v1" and cfg.report.rollup_every_s > 0
            else None
        )

    def run(self) -> None:
        """Process deliveries until ``stop_event`` is set; the batch in hand is finished."""
        self.subscriber.start()
        if self.rollups:
            # A daemon: a refresh waiting on a dead InfluxDB must not hold the process.
            threading.Thread(target=self.rollups.run, name="rollups", daemon=True).start()
        try:
            while not self.stop_event.is_set():
                batch = self._gather()
                if batch:
                    self._flush(batch)
        finally:
            self.subscriber.stop()
            self.writer.close()
            self.stop_event.set()  # the rollups' thread too
            log.info("stopped: %s", self.stats.summary())

    def _gather(self) -> list[Entry]:
        """Collect entries until the batch is full, old enough, or the collector stops."""
        batch: list[Entry] = []
        points = 0
        deadline = float("inf")
        limit = self.cfg.batch
        while points < limit.max_points and not self.stop_event.is_set():
            wait = min(POLL_S, deadline - time.monotonic())
            if wait <= 0:
                break  # the oldest message has waited max_delay_s
            try:
                incoming = self.inbox.get(timeout=wait)
            except queue.Empty:
                continue
            if not batch:
                deadline = time.monotonic() + limit.max_delay_s
            entry, code = decode_stage(
                incoming,
                self.cfg.mqtt.max_payload_bytes,
                self.admission,
                self.lifecycle.judge,
                self.cfg.thresholds,
            )
            self.stats.add(received=1)
            if code:
                self.stats.reject(code)
                self.refusals.warning(
                    code, "refused a message on %s: %s", incoming.topic, entry.rejection
                )
            batch.append(entry)
            points += len(entry.lines)
        return batch

    def _flush(self, batch: list[Entry]) -> None:
        """Write the batch, then ack every delivery in order and tell each agent."""
        if not self._store([entry for entry in batch if not entry.rejection]):
            return  # stopping before InfluxDB took it: no ack, the broker redelivers later
        stored: dict[str, list[str]] = defaultdict(list)
        refused: dict[str, list[wire.Rejection]] = defaultdict(list)
        points = 0
        for entry in batch:
            self.subscriber.ack(entry.incoming)
            if not entry.rejection:
                points += len(entry.lines)
            if entry.message_id is None or not entry.agent:
                continue
            if entry.rejection:
                reason = wire.one_line(entry.rejection)
                refused[entry.agent].append(wire.Rejection(id=entry.message_id, reason=reason))
            else:
                stored[entry.agent].append(entry.message_id)
        # Counted before the agents hear of it, so whoever sees an ack sees it counted.
        accepted = sum(1 for entry in batch if not entry.rejection)
        self.stats.add(stored=accepted, points=points, batches=1)
        for agent in stored.keys() | refused.keys():
            self.subscriber.publish_ack(
                wire.Ack(agent=agent, stored=stored[agent], rejected=refused[agent])
            )

    def _store(self, accepted: list[Entry]) -> bool:
        """Write the accepted entries' points; dead-letter each point InfluxDB refuses for
        good, so one bad point never blocks the rest. False if stopping first."""
        owners = [entry for entry in accepted for _ in entry.lines]
        lines = [line for entry in accepted for line in entry.lines]
        if not lines:
            return True
        try:
            refused = write_isolating(self.writer, lines, self.stop_event)
        except Stopping:
            return False
        if self.rollups:
            self.rollups.touched(lines)
        if refused:
            self._dead_letter([(owners[index], lines[index], reason) for index, reason in refused])
        return True

    def _dead_letter(self, refused: list[tuple[Entry, str, str]]) -> None:
        """Keep refused points in the ``dead_letter`` measurement, log and count them."""
        now = wire.now()
        letters = []
        for n, (entry, line, reason) in enumerate(refused):
            log.error("InfluxDB refused a point from %s: %s: %s", entry.agent, reason, line)
            # A microsecond apart: letters of one batch would otherwise overwrite each other.
            at = now + timedelta(microseconds=n)
            letters.append(encode(dead_letter_point(entry.agent or "-", line, reason, at)))
        self.stats.add(dead_letters=len(letters))
        try:
            write_with_retry(self.writer, letters, self.stop_event)
        except WriteError as exc:  # not even as text: the log above is all that remains
            log.error("could not keep %d dead letter(s): %s", len(letters), exc)
