"""The fleet simulator's loop: every simulated agent's reports, resends, connections and goodbye,
in one thread (the package's docstring says how and what it costs).

Long because the ``Simulator``'s controls (start, stop, pause, wait), its loop and its orderly
stop share one state, owned by the loop's thread; what has a name of its own is elsewhere: the
schedule, the network, the members and the command line.
"""

from __future__ import annotations

import contextlib
import functools
import math
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Literal, TextIO

from wardwatch.agent.config import MqttSection
from wardwatch.agent.runner import Committed
from wardwatch.collector.simulator.fleet import build_fleet, site_names
from wardwatch.collector.simulator.members import (
    Counters,
    Member,
    Summary,
    raise_fd_limit,
    simulated_agent,
)
from wardwatch.collector.simulator.network import Network
from wardwatch.collector.simulator.schedule import Schedule
from wardwatch.contract import wire

STARTS_PER_TURN: Final = 64
"""Agents started (inventory committed) per loop turn."""
REPORTS_PER_TURN: Final = 50
"""Reports measured per loop turn before the sockets are served again."""
PROGRESS_EVERY_S: Final = 5.0
GOODBYE_TIMEOUT_S: Final = 5.0

OutboxSync = Literal["full", "normal"]
CommitHook = Callable[[str, Committed], None]
AckHook = Callable[[str, wire.Ack, float], None]


class Simulator:
    """N simulated agents over M sites, all driven by one event loop in one thread.

    ``start()`` runs the loop in a background thread (tests, benchmarks); ``run()`` runs it in
    the calling thread (the CLI). ``stop()`` stops reporting, waits up to ``drain_s`` for the
    outstanding acks, publishes ``offline``, disconnects and closes the outboxes.

    Hooks run on the loop's thread: ``on_commit(agent, message)`` after each report or
    inventory is committed (``message.id``, ``message.measured_at``), ``on_ack(agent, ack,
    at)`` for each ack received (``at`` = ``time.time()`` when it was read).

    ``interval_s`` may be below 1 (a benchmark's pace; reports then say ``interval_s = 1``) or
    0: as fast as the loop can. It may be changed while running.
    """

    def __init__(
        self,
        *,
        mqtt: MqttSection,
        agents: int,
        sites: int,
        interval_s: float,
        seed: int = 0,
        state_dir: Path | None = None,
        resend_after_s: float = 30.0,
        outbox_sync: OutboxSync = "full",
        on_commit: CommitHook | None = None,
        on_ack: AckHook | None = None,
        progress: TextIO | None = None,
    ) -> None:
        self.mqtt = mqtt
        self.schedule = Schedule(interval_s)
        self.seed = seed
        self.machines = build_fleet(agents, sites, seed)
        self.sites = site_names(sites)
        self._own_state_dir = state_dir is None
        self.state_dir = (
            Path(tempfile.mkdtemp(prefix="wardwatch-sim-")) if state_dir is None else state_dir
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.outbox_path = self.state_dir / "outbox.sqlite3"
        self.resend_after_s = resend_after_s
        self.outbox_sync = outbox_sync
        self.on_commit = on_commit
        self.on_ack = on_ack
        self.progress = progress
        self.counters = Counters(agents=agents)
        self.members: list[Member] = []
        self._stop = threading.Event()
        self.network = Network(self.counters, self._stop)
        self._hurry = threading.Event()  # skip the drain
        self._pause = threading.Event()
        self._paused = threading.Event()
        self._drain_s = 10.0
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._done = threading.Event()
        self._summary: Summary | None = None
        self._error: BaseException | None = None
        self._duration_s: float | None = None
        self._pending: list[Member] = []  # not yet started, in start order
        self._last_report_rate: tuple[float, int] = (0.0, 0)
        raise_fd_limit(agents)

    # -- public API -------------------------------------------------------------------------

    @property
    def interval_s(self) -> float:
        """Seconds between two reports of one agent; 0 is as fast as the loop can.

        Changing it reschedules every agent within one new interval (their reports keep the
        ``interval_s`` the agents were created with).
        """
        return self.schedule.interval_s

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        self.schedule.interval_s = value

    @property
    def stopping(self) -> bool:
        """A stop was requested."""
        return self._stop.is_set()

    def start(self, duration_s: float | None = None) -> None:
        """Run the loop in a background thread; returns at once."""
        self._duration_s = duration_s
        self._thread = threading.Thread(target=self._main, name="simulator", daemon=True)
        self._thread.start()

    def run(self, duration_s: float | None = None, drain_s: float = 10.0) -> Summary:
        """Run the loop in this thread until ``request_stop()`` (a signal) or ``duration_s``."""
        self._duration_s = duration_s
        self._drain_s = drain_s
        self._main()
        if self._error is not None:
            raise self._error
        assert self._summary is not None
        return self._summary

    def request_stop(self, *, hurry: bool = False) -> None:
        """Ask the loop to stop (from a signal handler or another thread); see ``stop``."""
        if hurry:
            self._hurry.set()
        self._stop.set()

    def stop(self, drain_s: float = 10.0, timeout_s: float = 120.0) -> Summary:
        """Stop reporting; wait up to ``drain_s`` for acks; say offline; disconnect; close."""
        self._drain_s = drain_s
        self._stop.set()
        if not self._done.wait(timeout_s):
            raise TimeoutError("the simulator did not stop")
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._error is not None:
            raise self._error
        assert self._summary is not None
        return self._summary

    def wait_connected(self, timeout_s: float) -> bool:
        """True once every agent is connected."""
        return self._wait(lambda: self.counters.connected >= self.counters.agents, timeout_s)

    def wait_acked(self, timeout_s: float) -> bool:
        """True once nothing committed waits for its ack."""
        return self._wait(lambda: not self.counters.outstanding, timeout_s)

    def _wait(self, done: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not done():
            if self._done.is_set() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def pause(self, timeout_s: float = 10.0) -> bool:
        """Freeze the fleet: no reports, no socket served (the broker queues their acks).

        For benchmarks that measure the collector alone; keep it shorter than the keepalive
        (``[mqtt] keepalive_s``), or the broker drops the connections. True once frozen.
        """
        self._pause.set()
        return self._paused.wait(timeout_s)

    def resume(self) -> None:
        """Undo ``pause``; missed report slots are skipped, as a suspended agent does."""
        self._pause.clear()

    def is_idle(self) -> bool:
        """Nothing waits to be written on any socket (approximate; read from another thread)."""
        return not any(m.client.want_write() for m in self.members if m.started)

    # -- the loop ---------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._create_members()
            self._started_at = time.monotonic()
            self._last_report_rate = (self._started_at, 0)
            self._loop()
            self._summary = self._shutdown()
        except BaseException as exc:  # surfaced by stop()/run()
            self._error = exc
            self._close_everything()
        finally:
            self._done.set()

    def _create_members(self) -> None:
        now = time.monotonic()
        for machine in self.machines:
            index = len(self.members)
            agent = simulated_agent(
                machine,
                mqtt=self.mqtt,
                outbox=self.outbox_path,
                interval_s=max(1, round(self.interval_s)),
                resend_after_s=self.resend_after_s,
                seed=self.seed,
                on_settled=functools.partial(self._acked, index),
            )
            if self.outbox_sync == "normal":
                # Still WAL and committed before the publish; the fsync of each commit
                # (0.3-0.5 ms here) would cap one loop at ~600 reports/s.
                agent.outbox.set_synchronous("NORMAL")
            member = Member(agent, machine, index)
            self.network.attach(member)
            # Messages a previous run left in the outbox wait for their ack again.
            member.outstanding = agent.outbox.depth()
            self.counters.outstanding += member.outstanding
            self.schedule.add(index, machine.phase, now)
            self.members.append(member)
        self._pending = list(reversed(self.members))

    def _loop(self) -> None:
        self._schedule_periodic()
        deadline = math.inf if self._duration_s is None else self._started_at + self._duration_s
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= deadline:
                break
            if self._pause.is_set():
                self._paused.set()
                time.sleep(0.02)
                continue
            self._paused.clear()
            self.schedule.respread(((m.index, m.machine.phase) for m in self.members), now)
            self._start_some(now)
            self._report_due(now)
            self._periodic(now)
            self.network.serve(self._timeout(now, self._next_tick))

    def _schedule_periodic(self) -> None:
        now = time.monotonic()
        self._next_tick = now
        self._next_resend_sweep = now + self._sweep_every()
        self._next_progress = now + PROGRESS_EVERY_S

    def _periodic(self, now: float) -> None:
        """What the run loop and the stop loop both do on schedule: the 1 s keepalive tick,
        the resend sweep and the progress line."""
        if now >= self._next_tick:
            self.network.keepalive()
            self._next_tick = now + 1.0
        if now >= self._next_resend_sweep:
            self._resend_sweep()
            self._next_resend_sweep = now + self._sweep_every()
        if now >= self._next_progress:
            self._print_progress()
            self._next_progress = now + PROGRESS_EVERY_S

    def _sweep_every(self) -> float:
        return max(1.0, self.resend_after_s / 5)

    def _timeout(self, now: float, next_tick: float) -> float:
        wake = next_tick
        next_report = self.schedule.next_at()
        if next_report is not None:
            wake = min(wake, next_report)
        if self.network.can_connect:  # else a CONNACK wakes the loop
            if self._pending:
                return 0.0
            retry = self.network.next_retry()
            if retry is not None:
                wake = min(wake, retry)
        return min(0.1, max(0.0, wake - now))

    def _start_some(self, now: float) -> None:
        """Start members a few at a time, and reconnect the ones whose wait is over."""
        for _ in range(STARTS_PER_TURN):
            if not self._pending or not self.network.can_connect:
                break
            member = self._pending.pop()
            member.started = True
            self.counters.started += 1
            # As run_forever: the inventory is committed at start, whatever the connection.
            self._count(member, member.agent.queue_inventory())
            self.network.connect(member)
        self.network.reconnect_due(now)

    def _report_due(self, now: float) -> None:
        """Report for the members whose report is due, a bounded number per turn."""
        for _ in range(REPORTS_PER_TURN):
            popped = self.schedule.pop_due(now)
            if popped is None:
                return
            due, index = popped
            member = self.members[index]
            if not member.started:  # it reports once it runs, as a real agent does
                self.schedule.later(index, now, 0.05)
                continue
            self._count(member, member.agent.step())
            self.schedule.reschedule(index, due, now)

    def _count(self, member: Member, committed: Sequence[Committed]) -> None:
        for message in committed:
            member.outstanding += 1
            self.counters.outstanding += 1
            if isinstance(message, wire.Report):
                self.counters.reports += 1
            else:
                self.counters.inventories += 1
            if self.on_commit is not None:
                self.on_commit(member.agent.id, message)

    def _acked(self, index: int, ack: wire.Ack, removed: int) -> None:
        member = self.members[index]
        member.outstanding = max(0, member.outstanding - removed)
        self.counters.acked += removed
        self.counters.outstanding = max(0, self.counters.outstanding - removed)
        self.counters.rejected += len(ack.rejected)
        if self.on_ack is not None:
            self.on_ack(member.agent.id, ack, time.time())

    def _resend_sweep(self) -> None:
        """Publish what is due again (unacked past resend_after_s), as run_forever's flush."""
        for member in self.members:
            if member.outstanding and member.agent.conn.connected.is_set():
                member.agent.flush()

    def _print_progress(self) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        last_at, last_reports = self._last_report_rate
        self._last_report_rate = (now, self.counters.reports)
        line = self.counters.progress(now - self._started_at, now - last_at, last_reports)
        print(f"simulate: {line}", file=self.progress, flush=True)

    # -- stopping ---------------------------------------------------------------------------

    def _shutdown(self) -> Summary:
        """Drain the acks, say offline, disconnect, close the outboxes, and sum up."""
        elapsed = time.monotonic() - self._started_at
        self._drain()
        self._say_goodbye()
        outstanding = sum(member.agent.outbox.depth() for member in self.members)
        self._close_everything()
        summary = Summary(
            counters=self.counters,
            elapsed_s=elapsed,
            outstanding=outstanding,
            state_dir=self.state_dir,
            sites=len(self.sites),
            kept_in=None if self._own_state_dir else self.outbox_path,
        )
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return summary

    def _drain(self) -> None:
        """Wait up to ``drain_s`` for the outstanding acks, serving the sockets."""
        drain_until = time.monotonic() + self._drain_s
        if (
            self.progress is not None
            and self.counters.outstanding
            and self.counters.connected
            and not self._hurry.is_set()
        ):
            print(
                f"simulate: stopping; waiting up to {self._drain_s:g} s for "
                f"{self.counters.outstanding} ack(s) (Ctrl-C again to skip)",
                file=self.progress,
                flush=True,
            )
        self._schedule_periodic()
        while (
            self.counters.outstanding
            and time.monotonic() < drain_until
            and not self._hurry.is_set()
            and self.counters.connected
        ):
            self._periodic(time.monotonic())
            self.network.serve(0.05)

    def _say_goodbye(self) -> None:
        """As run_forever: a retained ``offline`` from whoever is connected, then a clean
        disconnect (which suppresses the last will)."""
        for member in self.members:
            member.stopping = True
            member.reconnect_at = None
        goodbyes = [info for m in self.members if (info := m.agent.say_offline()) is not None]
        self._serve_until(lambda: all(info.is_published() for info in goodbyes))
        for member in self.members:
            if member.client.socket() is not None:
                member.client.disconnect()
        self._serve_until(lambda: not self.network.open_sockets())

    def _serve_until(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + GOODBYE_TIMEOUT_S
        while time.monotonic() < deadline and not done():
            self.network.serve(0.05)

    def _close_everything(self) -> None:
        self.network.close()
        for member in self.members:
            with contextlib.suppress(Exception):  # already closed
                member.agent.outbox.close()
