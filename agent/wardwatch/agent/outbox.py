"""The agent's durable outbox: every message is on disk before it is published.

A broker's PUBACK proves nothing about storage (docs/design.md, "Nothing lost"), so a message stays
here until the collector's end-to-end ack names it. It is published again when that ack is late,
after a reconnect and after a restart, oldest first, with its original measurement time; only
``sent_at`` is renewed at each publish, so the collector can tell a clock's skew from a
message's age.

SQLite in WAL mode with ``synchronous=FULL``: a commit is on disk when ``add`` returns, and a
``kill -9`` (or a power cut) at any moment leaves either the old or the new state, never a
corrupt file. One file may hold the messages of several agents (the fleet simulator), each
agent seeing only its own rows.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from datetime import date
from pathlib import Path
from typing import Literal, NamedTuple

import msgspec

from wardwatch.contract import wire

# Publishing at most this many messages per flush keeps paho's in-flight window (and its
# memory) small after a long outage; the rest follow on the next ticks.
MAX_PER_FLUSH = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    agent TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    retain INTEGER NOT NULL,
    measured_at REAL NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (agent, id)
);
CREATE INDEX IF NOT EXISTS outbox_agent_seq ON outbox (agent, seq);
CREATE TABLE IF NOT EXISTS dropped (
    agent TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS first_seen (
    agent TEXT PRIMARY KEY,
    day TEXT NOT NULL
);
"""

DECODERS: dict[str, msgspec.json.Decoder[wire.Report] | msgspec.json.Decoder[wire.Inventory]] = {
    "report": msgspec.json.Decoder(wire.Report),
    "inventory": msgspec.json.Decoder(wire.Inventory),
}
"""How a stored payload is read back, by the ``kind`` column of its row."""


class OutboxError(Exception):
    """The outbox file cannot be opened or used; the message names the file."""


class Entry(NamedTuple):
    """One message due for publishing."""

    id: str
    topic: str
    payload: bytes  # with a fresh sent_at
    retain: bool


class Outbox:
    """One agent's unacknowledged messages, safe to use from the main and the MQTT threads."""

    def __init__(
        self,
        path: Path,
        agent: str,
        *,
        max_bytes: int,
        max_age_s: float,
        resend_after_s: float,
    ) -> None:
        self.path = path
        self.agent = agent
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.resend_after_s = resend_after_s
        self._sent: dict[str, float] = {}  # id -> monotonic time of the last publish
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        # The latest refusals, for --once to report; bounded, as a long-running agent never
        # reads them.
        self.rejected: deque[wire.Rejection] = deque(maxlen=100)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            # Kept in memory so that a deep outbox (days without a line) does not cost a scan
            # per report. Another process adding rows for the same agent (--once beside the
            # service) only makes the bound a little loose until the next start.
            (self._bytes,) = self._db.execute(
                "SELECT COALESCE(SUM(length(payload)), 0) FROM outbox WHERE agent = ?", (agent,)
            ).fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(
                f"outbox {path}: cannot open: {exc}; set [outbox] path to a writable file"
            ) from exc

    def set_synchronous(self, mode: Literal["FULL", "NORMAL"]) -> None:
        """``NORMAL`` skips the fsync of each commit: still safe from a crash of the process,
        not from a power cut. Only for load generators (the simulator); agents keep ``FULL``."""
        with self._lock:
            self._db.execute(f"PRAGMA synchronous={mode}")

    def close(self) -> None:
        """Close the database; committed messages stay for the next start."""
        with self._lock:
            self._db.close()

    def make_room(self, size: int) -> None:
        """Drop what the bounds require before a message of about ``size`` bytes is added, so
        that a report made now can carry a drop count that includes its own room."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._enforce_bounds(reserve=size)

    def add(self, message: wire.Report | wire.Inventory, *, retain: bool = False) -> int:
        """Commit a message to disk; then drop the oldest if the outbox is past its bounds.
        Returns the message's size in bytes."""
        kind = "report" if isinstance(message, wire.Report) else "inventory"
        payload = wire.encode(message)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO outbox (agent, id, kind, retain, measured_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.agent,
                    message.id,
                    kind,
                    int(retain),
                    message.measured_at.timestamp(),
                    payload,
                ),
            ).rowcount
            self._bytes += len(payload) * inserted
            self._enforce_bounds()
        return len(payload)

    def _enforce_bounds(self, reserve: int = 0) -> None:
        """Delete the oldest rows while they are past the age limit or the outbox is past its
        size limit; count them. Reads only the rows it deletes, and one more."""
        cutoff = time.time() - self.max_age_s
        doomed: list[int] = []
        rows = self._db.execute(
            "SELECT seq, measured_at, length(payload) FROM outbox WHERE agent = ? ORDER BY seq",
            (self.agent,),
        )
        for seq, measured_at, size in rows:
            if measured_at >= cutoff and self._bytes + reserve <= self.max_bytes:
                break
            doomed.append(seq)
            self._bytes -= size
        rows.close()
        if doomed:
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in doomed])
            self._db.execute(
                "INSERT INTO dropped (agent, count) VALUES (?, ?) "
                "ON CONFLICT (agent) DO UPDATE SET count = count + excluded.count",
                (self.agent, len(doomed)),
            )

    def depth(self) -> int:
        """How many messages wait for their ack."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE agent = ?", (self.agent,)
            ).fetchone()
            return int(count)

    __len__ = depth

    def first_seen(self, today: date) -> date:
        """The day this agent first opened its outbox (``today`` the first time): the
        machine existed then, which is evidence of its age."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO first_seen (agent, day) VALUES (?, ?)",
                (self.agent, today.isoformat()),
            )
            (day,) = self._db.execute(
                "SELECT day FROM first_seen WHERE agent = ?", (self.agent,)
            ).fetchone()
        return date.fromisoformat(day)

    def dropped(self) -> int:
        """How many messages the bounds have dropped, ever."""
        with self._lock:
            row = self._db.execute(
                "SELECT count FROM dropped WHERE agent = ?", (self.agent,)
            ).fetchone()
            return int(row[0]) if row else 0

    def due(self, now: float | None = None) -> list[Entry]:
        """Messages to publish now, oldest first: never sent, or unacked for too long.

        Each payload gets a fresh ``sent_at``; its ``measured_at`` is the original one.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            wanted: list[tuple[str, str, bool]] = []
            # Oldest first, stopping as soon as enough are due: after a reconnect that is the
            # first MAX_PER_FLUSH rows, in steady state the few in flight and one more.
            rows = self._db.execute(
                "SELECT id, kind, retain FROM outbox WHERE agent = ? ORDER BY seq", (self.agent,)
            )
            for message_id, kind, retain in rows:
                if now - self._sent.get(message_id, -float("inf")) >= self.resend_after_s:
                    wanted.append((message_id, kind, bool(retain)))
                    if len(wanted) == MAX_PER_FLUSH:
                        break
            rows.close()
            entries = []
            for message_id, kind, retain in wanted:
                (payload,) = self._db.execute(
                    "SELECT payload FROM outbox WHERE agent = ? AND id = ?",
                    (self.agent, message_id),
                ).fetchone()
                message = DECODERS[kind].decode(payload)
                fresh = wire.encode(msgspec.structs.replace(message, sent_at=wire.now()))
                topic = wire.topic(self.agent, "report" if kind == "report" else "inventory")
                entries.append(Entry(message_id, topic, fresh, retain))
            return entries

    def mark_sent(self, message_id: str, now: float | None = None) -> None:
        """Record a publish, which restarts the message's ack timer."""
        with self._lock:
            self._sent[message_id] = time.monotonic() if now is None else now

    def mark_all_unsent(self) -> None:
        """After a reconnect, everything unacked goes out again."""
        with self._lock:
            self._sent.clear()

    def settle(self, ack: wire.Ack) -> int:
        """Delete the messages an ack names, stored or refused; return how many were ours."""
        ids = [*ack.stored, *(r.id for r in ack.rejected)]
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            removed = 0
            for message_id in ids:
                for (size,) in self._db.execute(
                    "DELETE FROM outbox WHERE agent = ? AND id = ? RETURNING length(payload)",
                    (self.agent, message_id),
                ).fetchall():
                    removed += 1
                    self._bytes -= size
                self._sent.pop(message_id, None)
            self.rejected.extend(ack.rejected)
            self._settled.notify_all()
            return removed

    def wait_empty(self, timeout_s: float) -> bool:
        """Block until every message is settled or ``timeout_s`` passes; True if empty."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                (count,) = self._db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE agent = ?", (self.agent,)
                ).fetchone()
                remaining = deadline - time.monotonic()
                if not count:
                    return True
                if remaining <= 0:
                    return False
                self._settled.wait(remaining)
