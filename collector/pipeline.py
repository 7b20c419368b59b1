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

import msgspec

from agent import wire
from collector.config import CollectorConfig
from collector.lineproto import LineProtocolError, encode_all
from collector.points import to_points
from collector.subscriber import Incoming, Subscriber
from collector.writer import WriteError, Writer, make_writer, write_with_retry

log = logging.getLogger("wardwatch.collector")

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
    except msgspec.DecodeError:
        return None
    message_id = value.get("id") if isinstance(value, dict) else None
    try:
        return msgspec.convert(message_id, wire.MessageId)
    except msgspec.ValidationError:
        return None


def decode_stage(incoming: Incoming, max_bytes: int) -> tuple[Entry, str]:
    """Decode, validate and convert one delivery; return the entry and a reason code if refused."""
    try:
        agent, _ = wire.parse_topic(incoming.topic)
    except wire.WireError as exc:
        return Entry(incoming, "", None, rejection=str(exc)), exc.code
    try:
        message = wire.decode(incoming.topic, incoming.payload, max_bytes=max_bytes)
        if isinstance(message, wire.Ack):
            raise wire.WireError("topic", "an ack is not an agent message")
        lines = encode_all(to_points(message, incoming.received_at))
    except wire.WireError as exc:
        return Entry(incoming, agent, _salvage_id(incoming.payload), rejection=str(exc)), exc.code
    except LineProtocolError as exc:
        rejection = f"unstorable: {exc}"
        return Entry(
            incoming, agent, _salvage_id(incoming.payload), rejection=rejection
        ), "unstorable"
    message_id = None if isinstance(message, wire.Status) else message.id
    return Entry(incoming, agent, message_id, lines=lines), ""


class Stats:
    """What the collector has done, for its log and for tests; counts only grow."""

    def __init__(self) -> None:
        self.received = 0
        self.stored = 0
        self.points = 0
        self.batches = 0
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
                f"batches={self.batches} rejected: {refused or 'none'}"
            )


class Collector:
    """Wires the subscriber, the stages and the writer together."""

    def __init__(self, cfg: CollectorConfig, writer: Writer | None = None) -> None:
        self.cfg = cfg
        self.inbox: queue.Queue[Incoming] = queue.Queue()
        self.subscriber = Subscriber(cfg.mqtt, self.inbox)
        self.writer = writer if writer is not None else make_writer(cfg.influx)
        self.stats = Stats()
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Process deliveries until ``stop_event`` is set; the batch in hand is finished."""
        self.subscriber.start()
        try:
            while not self.stop_event.is_set():
                batch = self._gather()
                if batch:
                    self._flush(batch)
        finally:
            self.subscriber.stop()
            self.writer.close()
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
            entry, code = decode_stage(incoming, self.cfg.mqtt.max_payload_bytes)
            self.stats.add(received=1)
            if code:
                self.stats.reject(code)
                log.warning("refused a message on %s: %s", incoming.topic, entry.rejection)
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
        for agent in stored.keys() | refused.keys():
            self.subscriber.publish_ack(
                wire.Ack(agent=agent, stored=stored[agent], rejected=refused[agent])
            )
        accepted = sum(1 for entry in batch if not entry.rejection)
        self.stats.add(stored=accepted, points=points, batches=1)

    def _store(self, accepted: list[Entry]) -> bool:
        """Write the accepted entries; isolate any entry InfluxDB refuses. False if stopping."""
        lines = [line for entry in accepted for line in entry.lines]
        if not lines:
            return True
        try:
            return write_with_retry(self.writer, lines, self.stop_event)
        except WriteError as exc:
            log.warning("InfluxDB refused a batch (%s); writing its messages one by one", exc)
        for entry in accepted:
            if not entry.lines:
                continue
            try:
                if not write_with_retry(self.writer, entry.lines, self.stop_event):
                    return False
            except WriteError as exc:
                entry.rejection = f"refused by InfluxDB: {exc}"
                self.stats.reject("refused")
                log.error("InfluxDB refused message on %s: %s", entry.incoming.topic, exc)
        return True
