"""What the collector lets in from the broker, and how much of it it holds.

Two parts, both on the MQTT network thread's path, before any decoding:

- the **door** (``Door``) refuses, at the cost of a dictionary lookup, a QoS 0 delivery (the
  agents publish at QoS 1; QoS 0 is neither acknowledged nor resent, so it is only load) and an
  agent's messages beyond its share: a token bucket per agent, ``[inbox] agent_rate`` tokens a
  second and ``agent_burst`` at once, a message costing a token per ``TOKEN_BYTES`` started (a
  report is a few kB: one token). A message over the rate is acknowledged to the broker at once,
  unread, so the broker forgets it; no end-to-end ack is sent, so an honest agent's outbox sends
  it again after its ``resend_after_s``, and loses nothing;
- the **inbox** (``Inbox``) holds what was let in until the pipeline has finished with it,
  bounded in messages by the MQTT Receive Maximum (``[inbox] max_messages``: the broker sends no
  more unacknowledged deliveries than that) and in payload bytes (``[inbox] max_mb``): past the
  bytes, the network thread waits in ``put`` and stops reading the socket, so TCP pushes back and
  the broker keeps the rest in its own queue (bounded by its ``max_queued_bytes``). The shipped
  broker configuration stops sending before that (its ``max_inflight_bytes`` is below
  ``max_mb``); this bound holds with any broker.

Blocking paho's network thread in ``on_message`` (read in paho-mqtt 2.2's client.py): paho
holds only its ``_in_callback_mutex`` around the callback. The worker's ``client.ack()`` and
``client.publish()`` take ``_out_message_mutex`` (publish only) and append to ``_out_packet``,
which the blocked thread does not hold, and in threaded mode never write to the socket
themselves: so they cannot deadlock; their packets go out when the thread returns. While it
waits nothing is read or written, so no PINGREQ is sent either: a wait longer than 1.5 times the
keepalive makes the broker drop the connection. A wait lasts until the pipeline releases room,
which it does after each batch (``[batch] max_delay_s`` plus the write), so only an InfluxDB
outage holds it that long; then the broker keeps the session's messages, paho reconnects once the
wait ends, and the deliveries of the old connection are redelivered (a redelivery overwrites
itself in InfluxDB). The wait is not bounded by a timeout, because giving up would either break
the bound or leave a delivery unacknowledged for the rest of the connection; ``close`` ends it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from wardwatch.collector.config import InboxSection
from wardwatch.collector.ingest.lru import Lru
from wardwatch.common.throttle import Throttle
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.collector")
T = TypeVar("T")
MIB = 1024 * 1024

TOKEN_BYTES = 16 * 1024
"""A message costs one token per this many payload bytes or part of them (one at least).
Decoding and holding a message costs in proportion to its size, so the share is counted in bytes
as well: one agent sending its largest messages (256 KiB, 16 tokens) gets a sixteenth of the
messages a second, and its burst fits in the inbox many times over, so it never makes the
network thread wait."""

MAX_BUCKETS = 100_000
"""Agents whose token bucket is remembered; the least recently heard is forgotten first. Unless
more agents than this are heard within ``agent_burst / agent_rate`` seconds, that one has been
idle as long, so its bucket is full again, the same as a new one: forgetting it changes nothing.
Agents are bounded by the broker's logins; this bounds memory regardless."""


def agent_of(topic: str) -> str:
    """The agent level of ``wardwatch/v1/<agent>/<kind>`` (the broker's ACL vouches for it); the
    whole topic if it is not such a topic (the pipeline refuses it later)."""
    try:
        return wire.parse_topic(topic)[0]
    except wire.WireError:
        return topic


class Door:
    """Refuses QoS 0 deliveries and each agent's messages beyond its rate; used by one thread
    (paho's network thread), so it takes no lock. ``refused(code)`` is told of each refusal
    (``"qos0"`` or ``"rate"``), e.g. ``Stats.reject``."""

    def __init__(
        self,
        cfg: InboxSection,
        refused: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = cfg.agent_rate
        self.burst = float(cfg.agent_burst)
        self._refused = refused
        self._clock = clock
        self._buckets: Lru[str, tuple[float, float]] = Lru(MAX_BUCKETS)  # tokens, at
        self._log = Throttle(log)

    def admit(self, topic: str, qos: int, size: int) -> str:
        """Let a delivery of ``size`` payload bytes in (``""``) or name why not: ``"qos0"``, or
        ``"rate"``."""
        agent = agent_of(topic)
        if qos == 0:
            code = "qos0"
        elif self._take(agent, max(1, -(-size // TOKEN_BYTES))):  # rounded up
            return ""
        else:
            code = "rate"
        self._refused(code)
        # One line a minute per reason, naming the agent refused first in that minute.
        self._log.warning(
            code,
            "refused a message from %s unread (%s): %s",
            agent,
            code,
            "published at QoS 0" if code == "qos0" else f"over its {self.rate:g} tokens/s",
            extra={"event": "refused_at_door", "agent": agent, "code": code},
        )
        return code

    def _take(self, agent: str, cost: int) -> bool:
        """Take ``cost`` tokens from ``agent``'s bucket; False (none taken) if it has fewer."""
        now = self._clock()
        tokens, at = self._buckets.get(agent, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        # A message costing more than the whole burst passes once the bucket is full.
        admitted = tokens >= min(cost, self.burst)
        self._buckets.put(agent, (tokens - cost if admitted else tokens, now))
        return admitted


class Inbox(Generic[T]):
    """Deliveries waiting for the pipeline, bounded in bytes: ``put`` waits while the bytes
    taken in and not yet ``release``d would exceed ``max_bytes``. Bytes are released when the
    pipeline is done with a delivery (acknowledged after its batch), not when it takes it, so
    the bound covers the batch in hand too. One delivery larger than the bound alone still
    passes, or it could never be taken. ``max_messages`` is the MQTT Receive Maximum that
    bounds the deliveries in flight."""

    def __init__(self, cfg: InboxSection) -> None:
        self.max_messages = cfg.max_messages
        self.max_bytes = int(cfg.max_mb * MIB)
        self._items: deque[T] = deque()
        self._held = 0  # bytes put and not yet released
        self._closed = False
        self._log = Throttle(log)
        lock = threading.Lock()
        self._room = threading.Condition(lock)
        self._ready = threading.Condition(lock)

    @property
    def held_bytes(self) -> int:
        """Bytes taken in and not yet released."""
        with self._room:
            return self._held

    def put(self, item: T, size: int) -> bool:
        """Add ``item`` of ``size`` bytes once there is room; False (not added) if closed."""
        with self._room:
            if self._full(size):
                self._log.warning(
                    "full",
                    "the inbox holds %.1f MiB (max_mb %g): reading from the broker waits for "
                    "the pipeline to write a batch",
                    self._held / MIB,
                    self.max_bytes / MIB,
                    extra={"event": "inbox_full"},
                )
            while self._full(size) and not self._closed:
                self._room.wait()
            if self._closed:
                return False
            self._held += size
            self._items.append(item)
            self._ready.notify()
        return True

    def _full(self, size: int) -> bool:
        """Whether ``size`` more bytes would exceed the bound (alone, they never do)."""
        return bool(self._held) and self._held + size > self.max_bytes

    def get(self, timeout: float) -> T:
        """The oldest item; raise ``queue.Empty`` if none came within ``timeout`` seconds."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._items, timeout):
                raise queue.Empty
            return self._items.popleft()

    def release(self, size: int) -> None:
        """Give back the room of a delivery the pipeline is done with."""
        with self._room:
            self._held -= size
            self._room.notify_all()

    def close(self) -> None:
        """End every wait in ``put``, now and later (the collector is stopping)."""
        with self._room:
            self._closed = True
            self._room.notify_all()
