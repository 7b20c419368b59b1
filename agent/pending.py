"""Messages published but not yet acknowledged end to end by a collector.

A broker's PUBACK proves nothing about storage (DESIGN.md, "Nothing lost"), so a message stays
here until the collector's ack names it, and is published again when that ack is late or after
a reconnect. Oldest first, with its original measurement time; only ``sent_at`` is renewed at
each publish, so the collector can tell a clock's skew from a message's age.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from agent.wire import Ack, Measured, Rejection


@dataclass
class Entry:
    """One message awaiting its ack."""

    id: str
    topic: str
    message: Measured
    retain: bool
    sent_at: float | None = None  # monotonic time of the last publish; None: never published


class Pending:
    """The in-memory set of unacknowledged messages, safe to use from two threads."""

    def __init__(self, resend_after_s: float) -> None:
        self.resend_after_s = resend_after_s
        self._entries: dict[str, Entry] = {}  # insertion order is age order
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        # The latest refusals, for --once to report; bounded, as a long-running agent never
        # reads them.
        self.rejected: deque[Rejection] = deque(maxlen=100)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def add(self, topic: str, message: Measured, *, retain: bool = False) -> None:
        """Keep a message until its ack arrives."""
        with self._lock:
            self._entries[message.id] = Entry(message.id, topic, message, retain)

    def due(self, now: float | None = None) -> list[Entry]:
        """Messages to publish now, oldest first: never sent, or unacked for too long."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return [
                entry
                for entry in self._entries.values()
                if entry.sent_at is None or now - entry.sent_at >= self.resend_after_s
            ]

    def mark_sent(self, message_id: str, now: float | None = None) -> None:
        """Record a publish, which restarts the message's ack timer."""
        with self._lock:
            entry = self._entries.get(message_id)
            if entry is not None:
                entry.sent_at = time.monotonic() if now is None else now

    def mark_all_unsent(self) -> None:
        """After a reconnect, everything unacked goes out again."""
        with self._lock:
            for entry in self._entries.values():
                entry.sent_at = None

    def settle(self, ack: Ack) -> int:
        """Forget the messages an ack names, stored or rejected; return how many were ours."""
        with self._lock:
            removed = 0
            for message_id in ack.stored:
                removed += self._entries.pop(message_id, None) is not None
            for rejection in ack.rejected:
                if self._entries.pop(rejection.id, None) is not None:
                    removed += 1
                    self.rejected.append(rejection)
            self._settled.notify_all()
            return removed

    def wait_empty(self, timeout_s: float) -> bool:
        """Block until every message is settled or ``timeout_s`` passes; True if empty."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._entries:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._settled.wait(remaining)
            return True
