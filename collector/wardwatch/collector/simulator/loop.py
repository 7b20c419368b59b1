"""The fleet simulator: N real agents of simulated machines, driven by one loop in one thread.

Each simulated agent is a real :class:`wardwatch.agent.runner.Agent`, fed by a simulated host
probe and machine reading (``readings``) instead of this computer's, with its own MQTT identity
(client id and username = its agent id), its ``online`` status and ``offline`` last will, and
its messages committed to the real durable outbox before they are published; it forgets a
message only on the collector's end-to-end ack.

What is not the agent's own is the scheduling: ``Agent.run_forever`` owns a thread per agent,
which thousands of agents cannot afford. This loop drives the agent's seams instead: ``begin``
when a member starts, ``step`` when its report is due, ``flush`` for resends, ``say_offline``
at the end, and hears of acks through ``on_settled``; ``network`` serves every MQTT socket.

Measured on 2 cores. One shared SQLite file against one file per agent (400 agents): opening
an outbox costs 0.4 ms against 5 ms, a commit costs the same (0.45-0.65 ms, mostly the fsync of
``synchronous=FULL``), and the shared file needs two descriptors per agent instead of three; so
every agent's outbox is in ``<state-dir>/outbox.sqlite3``. Each agent costs ~150 KiB and three
descriptors (its socket, the file and its WAL); 5,000 agents connect in ~13 s. One loop offers
~950 reports/s with the agent's own ``synchronous=FULL`` (two fsyncs per report: the commit and
the settle) and ~1,400/s with ``--outbox-sync normal``; it is then bound by one core (paho's
packet handling, SQLite, msgspec), like the agent on a ward PC, 1,000 times over.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import math
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Final, Literal, TextIO

import msgspec

from wardwatch.agent.config import AgentConfig, MqttSection
from wardwatch.agent.probes.machine.probe import Reading
from wardwatch.agent.runner import Agent, Committed
from wardwatch.collector.simulator.fleet import Machine, build_fleet, site_names
from wardwatch.collector.simulator.members import Counters, Member, Summary
from wardwatch.collector.simulator.network import Network
from wardwatch.collector.simulator.readings import SimulatedHostProbe, machine_reading
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
        if interval_s < 0:
            raise ValueError("interval_s must be >= 0")
        self.mqtt = mqtt
        self._interval_s = interval_s
        self._reschedule = False
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
        self._heap: list[tuple[float, int]] = []  # (next report, member index)
        self._pending: list[Member] = []  # not yet started, in start order
        self._last_report_rate: tuple[float, int] = (0.0, 0)
        _raise_fd_limit(agents)

    # -- public API -------------------------------------------------------------------------

    @property
    def interval_s(self) -> float:
        """Seconds between two reports of one agent; 0 is as fast as the loop can.

        Changing it reschedules every agent within one new interval (their reports keep the
        ``interval_s`` the agents were created with).
        """
        return self._interval_s

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("interval_s must be >= 0")
        self._interval_s = value
        self._reschedule = True

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
            agent = Agent(
                self._agent_config(machine),
                [SimulatedHostProbe(machine, self.seed)],
                read_machine=functools.partial(_reading, machine),
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
            heapq.heappush(self._heap, (now + machine.phase * self._interval_s, index))
            self.members.append(member)
        self._pending = list(reversed(self.members))

    def _agent_config(self, machine: Machine) -> AgentConfig:
        """The config an agent on this machine would have: its identity, this broker, the
        shared outbox file."""
        return msgspec.convert(
            {
                "agent": {
                    "id": machine.agent,
                    "site": machine.site,
                    "role": machine.role,
                    "device_class": machine.device_class,
                    "interval_s": max(1, round(self.interval_s)),
                    "resend_after_s": self.resend_after_s,
                },
                "mqtt": {
                    "url": self.mqtt.url,
                    "ca_file": self.mqtt.ca_file,
                    "keepalive_s": self.mqtt.keepalive_s,
                },
                "outbox": {"path": str(self.outbox_path)},
            },
            AgentConfig,
        )

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
            if self._reschedule:
                self._reschedule = False
                self._heap = [
                    (now + member.machine.phase * self._interval_s, member.index)
                    for member in self.members
                ]
                heapq.heapify(self._heap)
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
        if self._heap:
            wake = min(wake, self._heap[0][0])
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
            self._count(member, member.agent.begin())
            self.network.connect(member)
        self.network.reconnect_due(now)

    def _report_due(self, now: float) -> None:
        """Report for the members whose report is due, a bounded number per turn."""
        for _ in range(REPORTS_PER_TURN):
            if not self._heap or self._heap[0][0] > now:
                return
            due, index = heapq.heappop(self._heap)
            member = self.members[index]
            if not member.started:  # it reports once it runs, as a real agent does
                heapq.heappush(self._heap, (now + 0.05, index))
                continue
            self._count(member, member.agent.step())
            interval = self._interval_s
            # As run_forever: skip missed slots instead of reporting in a burst.
            heapq.heappush(self._heap, (max(due + interval, now + interval / 2), index))

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
        c = self.counters
        now = time.monotonic()
        last_at, last_reports = self._last_report_rate
        rate = (c.reports - last_reports) / max(now - last_at, 1e-9)
        self._last_report_rate = (now, c.reports)
        error = f"; last error: {c.last_error}" if c.connected < c.agents and c.last_error else ""
        print(
            f"simulate: {now - self._started_at:6.0f}s  connected {c.connected}/{c.agents}  "
            f"reports committed {c.reports} ({rate:.0f}/s)  acked {c.acked}  "
            f"outstanding {c.outstanding}{error}",
            file=self.progress,
            flush=True,
        )

    # -- stopping ---------------------------------------------------------------------------

    def _shutdown(self) -> Summary:
        """Drain the acks, say offline, disconnect, close the outboxes, and sum up."""
        elapsed = time.monotonic() - self._started_at
        self._drain()
        self._say_goodbye()
        outstanding = sum(member.agent.outbox.depth() for member in self.members)
        self._close_everything()
        summary = self._summarize(elapsed, outstanding)
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

    def _summarize(self, elapsed: float, outstanding: int) -> Summary:
        c = self.counters
        summary = Summary(
            counters=c, elapsed_s=elapsed, outstanding=outstanding, state_dir=self.state_dir
        )
        rate = c.reports / elapsed if elapsed > 0 else 0.0
        summary.lines = [
            f"agents {c.agents} over {len(self.sites)} site(s), ran {elapsed:.1f} s",
            f"reports committed {c.reports} ({rate:.0f}/s), inventories {c.inventories}",
            f"acked {c.acked} (refused by the collector: {c.rejected}), outstanding {outstanding}",
        ]
        if outstanding:
            where = (
                "(in a temporary outbox, now deleted)"
                if self._own_state_dir
                else f"(kept in {self.outbox_path}; a run with the same --seed and --state-dir "
                "resends them)"
            )
            summary.lines.append(f"NOT ACKED: {outstanding} committed message(s) {where}")
        return summary

    def _close_everything(self) -> None:
        self.network.close()
        for member in self.members:
            with contextlib.suppress(Exception):  # already closed
                member.agent.outbox.close()


def _reading(machine: Machine, first_seen: date) -> Reading:
    """What the agent's machine probe reads on a simulated machine, now."""
    return machine_reading(machine, wire.now(), first_seen)


def _raise_fd_limit(agents: int) -> None:
    """Each agent needs a socket and two SQLite descriptors; raise the soft limit if needed."""
    needed = 3 * agents + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise OSError(
            f"{agents} agents need about {needed} open files, the limit is {soft} "
            f"(hard {hard}); raise it (ulimit -n) or simulate fewer agents"
        )
