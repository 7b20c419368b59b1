"""The agent's durable outbox: every message is on disk before it is published.

A broker's PUBACK proves nothing about storage (docs/design.md, "Nothing lost"), so a message stays
here until the collector's end-to-end ack names it. It is published again when that ack is late,
after a reconnect and after a restart, oldest first, with its original measurement time; only
``sent_at`` is renewed at each publish, so the collector can tell a clock's skew from a
message's age.

SQLite in WAL mode with ``synchronous=FULL``: a commit is on disk when ``add`` returns, and a
``kill -9`` (or a power cut) at any moment leaves either the old or the new state, never a
corrupt file. One file may hold the messages of several agents (the fleet simulator), each
agent seeing only its own rows. A file that is not a readable database all the same is moved
aside with a timestamp and a fresh one started; a commit that fails (a full disk) raises
``OutboxWriteError`` and leaves nothing behind (``moved_aside``, ``write_error`` say why).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Final, Literal, NamedTuple

import msgspec

from wardwatch.common.compat import sqlite_errorcode
from wardwatch.contract import wire

# Publishing at most this many messages per flush keeps paho's in-flight window (and its
# memory) small after a long outage; the rest follow on the next ticks.
MAX_PER_FLUSH = 200

DISK_FACTOR: Final = 3
DISK_OVERHEAD: Final = 256 * 1024
"""The file and its WAL take at most ``DISK_FACTOR * max_bytes + DISK_OVERHEAD`` on disk. Measured
worst case 2.4x: rows just over 2 KiB, one per 4 KiB page, plus the WAL (a quarter of the bound);
the overhead is the schema's pages, the WAL's floor and its shared-memory index."""
_WAL_MIN, _WAL_MAX = 8, 1000  # the WAL's bounds in pages: 1,000 is SQLite's own default
_CORRUPT: Final = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB

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
CREATE TABLE IF NOT EXISTS dropped (agent TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS first_seen (agent TEXT PRIMARY KEY, day TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session (agent TEXT PRIMARY KEY, number INTEGER NOT NULL);
"""


class OutboxError(Exception):
    """The outbox file cannot be opened or used; the message names the file and the fix."""


class OutboxWriteError(Exception):
    """A commit failed (a full disk, an I/O error, a damaged file); nothing of it was kept."""


class Entry(NamedTuple):
    """One message due for publishing."""

    id: str
    topic: str
    payload: bytes  # with a fresh sent_at
    retain: bool


def kind_of(message: wire.Report | wire.Inventory) -> Literal["report", "inventory"]:
    """The kind of a message the outbox holds: its topic's last level."""
    return "report" if isinstance(message, wire.Report) else "inventory"


def renewed(payload: bytes, session: int) -> bytes:
    """A payload as sent now on connection ``session``: ``sent_at`` and ``session`` renewed,
    nothing else changed nor checked (what is not valid, an agent's bug, the collector refuses
    and acks, so it is not kept for ever)."""
    message = msgspec.json.decode(payload)
    message.update(sent_at=wire.now(), session=session)
    return msgspec.json.encode(message)


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
        self.write_error = ""
        """Why the last commit failed; empty once one succeeded."""
        self.moved_aside = ""
        """What was wrong with the file, and where it went, when it had to be replaced."""
        self._sent: dict[str, float] = {}  # id -> monotonic time of the last publish
        self._session = 0  # the last connection number handed out
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        # The latest refusals, for --once; bounded, as a long-running agent never reads them.
        self.rejected: deque[wire.Rejection] = deque(maxlen=100)
        try:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if (sqlite_errorcode(exc) or 0) & 0xFF not in _CORRUPT:
                    raise
                self._move_aside(exc)
                self._db = self._open()
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(
                f"outbox {path}: cannot open: {exc}; set [outbox] path to a file in a writable "
                "directory"
            ) from exc

    def _open(self) -> sqlite3.Connection:
        """Connect, set the file up, and read how much this agent holds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            if not db.execute("PRAGMA page_count").fetchone()[0]:
                # A new file can give freed pages back (an old one cannot; it fails if full).
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            (page,) = db.execute("PRAGMA page_size").fetchone()
            self._wal_pages = min(max(self.max_bytes // 4 // page, _WAL_MIN), _WAL_MAX)
            db.execute(f"PRAGMA wal_autocheckpoint={self._wal_pages}")
            db.execute(f"PRAGMA journal_size_limit={self._wal_pages * page}")
            db.executescript(_SCHEMA)
            # In memory, so a deep outbox (days without a line) costs no scan per report; this
            # scan also finds a damaged file. Rows another process adds (--once beside the
            # service) only make the bound a little loose until the next start.
            (self._bytes,) = db.execute(
                "SELECT COALESCE(SUM(length(payload)), 0) FROM outbox WHERE agent = ?",
                (self.agent,),
            ).fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, error: sqlite3.DatabaseError) -> None:
        """Rename the unreadable file with a timestamp, and its WAL and shared memory if SQLite
        left them: never to be replayed into the fresh file."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").replace(f"{aside}{suffix}")
        self.moved_aside = (
            f"{self.path} was not a readable database ({error}); moved aside to {aside.name}, "
            "started a fresh outbox"
        )

    def set_synchronous(self, mode: Literal["FULL", "NORMAL"]) -> None:
        """``NORMAL`` skips the fsync of each commit: still safe from a crash of the process,
        not from a power cut. Only for load generators (the simulator); agents keep ``FULL``."""
        with self._lock:
            self._db.execute(f"PRAGMA synchronous={mode}")

    def close(self) -> None:
        """Close the database; committed messages stay for the next start."""
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, under the lock. If it fails, nothing of it is kept, on disk
        or in memory, and OutboxWriteError says why."""
        with self._lock:
            size = self._bytes
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    yield self._db
            except sqlite3.ProgrammingError:
                raise  # a bug, not the disk
            except sqlite3.DatabaseError as exc:
                self._bytes = size
                self.write_error = f"cannot write {self.path}: {exc}"
                raise OutboxWriteError(self.write_error) from exc
            self.write_error = ""

    def make_room(self, size: int) -> None:
        """Drop what the bounds require before a message of about ``size`` bytes is added, so
        that a report made now can carry a drop count that includes its own room."""
        with self._writing():
            self._enforce_bounds(reserve=size)

    def add(self, message: wire.Report | wire.Inventory, *, retain: bool = False) -> int:
        """Commit a message to disk; then drop the oldest if the outbox is past its bounds.
        Returns the message's size in bytes; raises OutboxWriteError if it was not committed."""
        payload = wire.encode(message)
        with self._writing() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO outbox (agent, id, kind, retain, measured_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.agent,
                    message.id,
                    kind_of(message),
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
            self._count_dropped(len(doomed))

    def _count_dropped(self, count: int) -> None:
        self._db.execute(
            "INSERT INTO dropped (agent, count) VALUES (?, ?) "
            "ON CONFLICT (agent) DO UPDATE SET count = count + excluded.count",
            (self.agent, count),
        )

    def drop(self, message_id: str) -> bool:
        """Delete a message that can never be delivered, and count it as dropped; False if it
        was not here. Raises OutboxWriteError if the disk refuses."""
        with self._writing():
            deleted = self._delete(message_id)
            if deleted:
                self._count_dropped(deleted)
        return bool(deleted)

    def _delete(self, message_id: str) -> int:
        """Delete one message, in the caller's transaction; 1 if it was here, else 0."""
        self._sent.pop(message_id, None)
        sizes = self._db.execute(
            "DELETE FROM outbox WHERE agent = ? AND id = ? RETURNING length(payload)",
            (self.agent, message_id),
        ).fetchall()
        self._bytes -= sum(size for (size,) in sizes)
        return len(sizes)

    def depth(self) -> int:
        """How many messages wait for their ack."""
        with self._lock:
            return self._count()

    def _count(self) -> int:
        sql = "SELECT COUNT(*) FROM outbox WHERE agent = ?"
        return int(self._db.execute(sql, (self.agent,)).fetchone()[0])

    def first_seen(self, today: date) -> date:
        """The day this agent first opened its outbox (``today`` the first time): the
        machine existed then, which is evidence of its age. ``today`` when the disk refuses."""
        with contextlib.suppress(OutboxWriteError), self._writing() as db:
            db.execute(
                "INSERT OR IGNORE INTO first_seen (agent, day) VALUES (?, ?)",
                (self.agent, today.isoformat()),
            )
        with self._lock:
            row = self._db.execute(
                "SELECT day FROM first_seen WHERE agent = ?", (self.agent,)
            ).fetchone()
        return date.fromisoformat(row[0]) if row else today

    def next_session(self) -> int:
        """The number of a new connection attempt: one more than the last one, ever, of this
        agent (kept on disk across restarts). While the disk refuses, it counts on in memory."""
        wanted = self._session + 1
        try:
            with self._writing() as db:
                (number,) = db.execute(
                    "INSERT INTO session (agent, number) VALUES (?, ?) ON CONFLICT (agent) "
                    "DO UPDATE SET number = max(number + 1, excluded.number) RETURNING number",
                    (self.agent, wanted),
                ).fetchone()
        except OutboxWriteError:
            number = wanted
        self._session = int(number)
        return self._session

    def dropped(self) -> int:
        """How many messages the outbox has dropped, ever: at its bounds, or undeliverable."""
        with self._lock:
            row = self._db.execute(
                "SELECT count FROM dropped WHERE agent = ?", (self.agent,)
            ).fetchone()
            return int(row[0]) if row else 0

    def due(self, now: float | None = None) -> list[Entry]:
        """Messages to publish now, oldest first: never sent, or unacked for too long; each
        ``renewed`` for the last session handed out, its ``measured_at`` the original one."""
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
                topic = wire.topic(self.agent, "report" if kind == "report" else "inventory")
                entries.append(Entry(message_id, topic, renewed(payload, self._session), retain))
            return entries

    def mark_sent(self, message_id: str, now: float | None = None) -> None:
        """Record a publish, which restarts the message's ack timer."""
        with self._lock:
            self._sent[message_id] = time.monotonic() if now is None else now

    def mark_all_unsent(self) -> None:
        """Before a (re)connect, everything unacked is due to go out again."""
        with self._lock:
            self._sent.clear()

    def settle(self, ack: wire.Ack) -> int:
        """Delete the messages an ack names, stored or refused; return how many were ours.
        Raises OutboxWriteError if the disk refuses (they are published again later)."""
        ids = [*ack.stored, *(r.id for r in ack.rejected)]
        with self._writing():
            removed = sum(self._delete(message_id) for message_id in ids)
            self.rejected.extend(ack.rejected)
            self._settled.notify_all()
        self._give_back_space()
        return removed

    def _give_back_space(self) -> None:
        """Shrink the file when acks freed more than a WAL's worth of pages, half that at a
        time, as the moved pages pass through the WAL. A file made before auto_vacuum was set
        only reuses its free pages; a full disk keeps them for a later try."""
        with self._lock:
            (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
            if free > self._wal_pages:
                # executescript: execute() would step the pragma once, freeing a single page.
                with contextlib.suppress(sqlite3.OperationalError):
                    self._db.executescript(f"PRAGMA incremental_vacuum({self._wal_pages // 2});")

    def wait_empty(self, timeout_s: float) -> bool:
        """Block until every message is settled or ``timeout_s`` passes; True if empty."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                remaining = deadline - time.monotonic()
                if not self._count():
                    return True
                if remaining <= 0:
                    return False
                self._settled.wait(remaining)
