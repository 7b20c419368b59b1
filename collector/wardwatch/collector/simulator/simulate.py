"""``wardwatch simulate``: a fleet of simulated agents in one process, on the agent's own code.

Each simulated agent is a real :class:`agent.runner.Agent` (subclassed only to replace what
reads *this* machine: its probe and its inventory), with its own MQTT identity (client id and
username = its agent id), its ``online`` status and ``offline`` last will, and its messages
committed to the real durable :class:`agent.outbox.Outbox` before they are published; an
agent forgets a message only on the collector's end-to-end ack (``Outbox.settle``).

What is *not* the agent's code is the scheduling: ``Agent.run_forever`` owns a thread per agent
and paho's ``loop_start`` adds another, which thousands of agents cannot afford. Here one event
loop (``selectors``, epoll on Linux) drives every agent's paho client through paho's external
loop API (``on_socket_open``/``close``/``register_write``, ``loop_read``, ``loop_write``,
``loop_misc``), and does what ``run_forever`` does on each agent's behalf: the inventory at
start, a report every interval, resends of unacked messages, and ``offline`` at stop. The seams
that would let ``Agent`` itself run under an external loop are listed in ``AGENT_SEAMS``.

Who the machines are (sites, roles, CPUs, operating systems, load), deterministic for a
``seed``, is ``collector.fleet``. Message ids are random, as the agent's are.

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

import argparse
import contextlib
import heapq
import logging
import math
import random
import resource
import selectors
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TextIO

import msgspec
from msgspec import Struct

from wardwatch.agent.config import AgentConfig, MqttSection
from wardwatch.agent.runner import Agent
from wardwatch.collector.simulator.fleet import (
    Machine,
    SimulatedHostProbe,
    build_fleet,
    machine_reading,
    site_names,
)
from wardwatch.common import tomlconfig
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.simulate")

EXIT_OK = 0
EXIT_NOT_ACKED = 1
EXIT_CONFIG = 2

AGENT_SEAMS: Final = """\
Agent cannot be run as-is for many agents in one process: Agent.run_forever() blocks its thread
with its own clock, and Connection.start() calls paho's loop_start(), one network thread per
agent. The seams that would let the simulator (or any host of many agents) drive Agent itself:
  * Agent.tick(now) -> float: one step of run_forever (report when due, flush due resends),
    returning when it next needs to run, and Agent.goodbye(): the offline status of its stop;
  * an ack hook (on_settled(ack, removed)) instead of Agent._on_message discarding what
    Outbox.settle() returns;
  * Outbox(..., db=...): one SQLite connection shared by the agents of one file; a connection
    per agent re-reads the pages the others changed at each transaction;
"""

CONNECTS_IN_FLIGHT: Final = 64
"""Connections started but not yet acknowledged by the broker: keeps its accept queue short."""
STARTS_PER_TURN: Final = 64
"""Agents started (inventory committed) per loop turn."""
CONNECT_TIMEOUT_S: Final = 2.0
"""paho's TCP connect timeout; the loop blocks while it connects."""
MAX_QUEUED_PER_CLIENT: Final = 2000
"""paho's queue bound per client (in flight + waiting), far below the 65,535 MQTT packet ids."""
REPORTS_PER_TURN: Final = 50
"""Reports measured per loop turn before the sockets are served again."""
PROGRESS_EVERY_S: Final = 5.0
RECONNECT_MIN_S: Final = 1.0
RECONNECT_MAX_S: Final = 30.0
GOODBYE_TIMEOUT_S: Final = 5.0


# --------------------------------------------------------------------------------------------
# Configuration


class SimulateConfig(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The simulator's config file: only the broker (``[mqtt]``, the agent's own section).

    ``username`` and ``password`` are accepted and ignored: each simulated agent logs in as
    itself (username = agent id, no password), as the broker's per-agent ACL expects.
    """

    mqtt: MqttSection = msgspec.field(default_factory=MqttSection)


def load_config(path: Path | None) -> SimulateConfig:
    """Load the simulator config from ``path`` and the environment; raise ConfigError if bad."""
    return tomlconfig.load(path, SimulateConfig)


class SimulatedAgent(Agent):
    """``agent.runner.Agent`` for a simulated machine; the simulator's loop drives its client.

    Only two things differ from the agent on a ward PC: the host facts and the inventory come
    from the machine's profile instead of this computer, and acks are counted
    (``Agent._on_message`` discards what ``Outbox.settle`` returns).
    """

    def __init__(
        self,
        config: AgentConfig,
        machine: Machine,
        *,
        seed: int,
        on_ack: Callable[[SimulatedAgent, wire.Ack, int], None],
    ) -> None:
        super().__init__(
            config,
            [SimulatedHostProbe(machine, seed)],
            read_machine=lambda first_seen: machine_reading(machine, wire.now(), first_seen),
        )
        self.profile = machine
        self._on_ack = on_ack
        self.outstanding = 0  # committed, not yet settled
        self.reconnect_at: float | None = None
        self.backoff_s = RECONNECT_MIN_S
        self.started = False
        self.stopping = False
        self.is_connected = False  # as this loop counts it (CONNACK seen, socket not closed)
        self.index = 0  # in Simulator.agents
        self.write_armed = False  # its socket is registered for EVENT_WRITE
        # A bound on paho's queue per client (in flight + waiting): a refused publish stays in
        # the outbox and goes out again after resend_after_s, as any unacked message does.
        self.conn.client.max_queued_messages_set(MAX_QUEUED_PER_CLIENT)
        # The loop blocks during a TCP connect; a blackholed broker must not hold it long.
        self.conn.client.connect_timeout = CONNECT_TIMEOUT_S

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        # Agent._on_message, keeping settle()'s count.
        try:
            ack = wire.decode(message.topic, message.payload)
        except wire.WireError as exc:
            log.warning("%s: ignoring a bad message on %s: %s", self.id, message.topic, exc)
            return
        if isinstance(ack, wire.Ack):
            removed = self.outbox.settle(ack)
            self.outstanding = max(0, self.outstanding - removed)
            for rejection in ack.rejected:
                log.error("%s: collector rejected %s: %s", self.id, rejection.id, rejection.reason)
            self._on_ack(self, ack, removed)

    def status_payload(self, state: str) -> bytes:
        """The retained status message, as ``Agent`` publishes it."""
        return self._status(state)


# --------------------------------------------------------------------------------------------
# The simulator


@dataclass
class Counters:
    """What the simulator has done so far; read them from any thread."""

    agents: int = 0
    started: int = 0
    connected: int = 0
    connects: int = 0  # successful (re)connects, ever
    reports: int = 0  # reports committed to the outboxes
    inventories: int = 0  # inventories committed
    acked: int = 0  # committed messages settled by an ack (stored or refused)
    rejected: int = 0  # of which the collector refused
    outstanding: int = 0  # committed, not yet acked
    last_error: str = ""

    @property
    def committed(self) -> int:
        """Reports and inventories committed."""
        return self.reports + self.inventories


@dataclass
class Summary:
    """The end of a run."""

    counters: Counters
    elapsed_s: float
    outstanding: int  # counted in the outboxes at the end
    state_dir: Path
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything committed was acked."""
        return self.outstanding == 0


OutboxSync = Literal["full", "normal"]
CommitHook = Callable[[str, "wire.Report | wire.Inventory"], None]
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
        self.agents: list[SimulatedAgent] = []
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
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
        self._heap: list[tuple[float, int]] = []  # (next report, agent index)
        self._reconnects: list[tuple[float, int]] = []  # (when, agent index)
        self._pending: list[SimulatedAgent] = []  # not yet started, in start order
        self._connecting = 0
        self._connect_gate = 0.0  # no connection attempt before this (monotonic) time
        self._gate_backoff_s = RECONNECT_MIN_S
        self._to_write: dict[int, SimulatedAgent] = {}  # paho has bytes queued for these
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
        deadline = time.monotonic() + timeout_s
        while self.counters.connected < self.counters.agents:
            if self._done.is_set() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def wait_acked(self, timeout_s: float) -> bool:
        """True once nothing committed waits for its ack."""
        deadline = time.monotonic() + timeout_s
        while self.counters.outstanding:
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
        return not any(a.conn.client.want_write() for a in self.agents if a.started)

    # -- the loop ---------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._create_agents()
            self._started_at = time.monotonic()
            self._last_report_rate = (self._started_at, 0)
            self._loop()
            self._summary = self._shutdown()
        except BaseException as exc:  # surfaced by stop()/run()
            self._error = exc
            self._close_everything()
        finally:
            self._done.set()

    def _create_agents(self) -> None:
        interval = max(1, round(self.interval_s))
        now = time.monotonic()
        for machine in self.machines:
            config = msgspec.convert(
                {
                    "agent": {
                        "id": machine.agent,
                        "site": machine.site,
                        "role": machine.role,
                        "device_class": machine.device_class,
                        "interval_s": interval,
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
            agent = SimulatedAgent(config, machine, seed=self.seed, on_ack=self._acked)
            agent.index = len(self.agents)
            if self.outbox_sync == "normal":
                # Still WAL and committed before the publish; the fsync of each commit
                # (0.3-0.5 ms here) would cap one loop at ~600 reports/s.
                agent.outbox.set_synchronous("NORMAL")
            client = agent.conn.client
            client.on_socket_open = self._socket_open
            client.on_socket_close = self._socket_close
            client.on_socket_register_write = self._want_write
            client.on_socket_unregister_write = self._no_write
            client.user_data_set(agent)
            agent.conn.when_connected(lambda a=agent: self._connected(a))
            # Messages a previous run left in the outbox wait for their ack again.
            agent.outstanding = agent.outbox.depth()
            self.counters.outstanding += agent.outstanding
            heapq.heappush(self._heap, (now + machine.phase * self._interval_s, agent.index))
            self.agents.append(agent)
        self._pending = list(reversed(self.agents))

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
                    (now + agent.profile.phase * self._interval_s, agent.index)
                    for agent in self.agents
                ]
                heapq.heapify(self._heap)
            self._start_some(now)
            self._report_due(now)
            self._periodic(now)
            self._serve(self._timeout(now, self._next_tick))

    def _schedule_periodic(self) -> None:
        now = time.monotonic()
        self._next_tick = now
        self._next_resend_sweep = now + self._sweep_every()
        self._next_progress = now + PROGRESS_EVERY_S

    def _periodic(self, now: float) -> None:
        """What the run loop and the stop loop both do on schedule: the 1 s tick, the resend
        sweep and the progress line."""
        if now >= self._next_tick:
            self._tick(now)
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
        if self._connecting < CONNECTS_IN_FLIGHT:  # else a CONNACK wakes the loop
            if self._pending:
                return 0.0
            if self._reconnects:
                wake = min(wake, max(self._reconnects[0][0], self._connect_gate))
        return min(0.1, max(0.0, wake - now))

    def _serve(self, timeout: float) -> None:
        """Wait for socket events up to ``timeout`` and let paho handle them."""
        self._flush_writes()
        blocked = all(agent.write_armed for agent in self._to_write.values())
        for key, mask in self._selector.select(timeout if blocked else 0.0):
            client = key.data.conn.client
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE:
                client.loop_write()
        self._flush_writes()

    def _flush_writes(self) -> None:
        """Write what paho queued; ask epoll for writability only when a socket is full.

        Registering every socket for EVENT_WRITE at each publish (and unregistering it once
        written) costs two epoll_ctl calls per message; most writes succeed at once.
        """
        if not self._to_write:
            return
        for agent in list(self._to_write.values()):
            client = agent.conn.client
            client.loop_write()  # its unregister callback drops it from _to_write when done
            if agent.index in self._to_write and not agent.write_armed:
                sock = client.socket()
                if sock is not None:
                    agent.write_armed = True
                    self._modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, agent)

    def _start_some(self, now: float) -> None:
        """Start agents a few at a time, and (re)connect the ones whose wait is over.

        A failed TCP connect closes a gate for every agent (``_connect_gate``), so an
        unreachable broker costs one blocking attempt per backoff, not one per agent.
        """
        for _ in range(STARTS_PER_TURN):
            if not self._pending or self._connecting >= CONNECTS_IN_FLIGHT:
                break
            agent = self._pending.pop()
            agent.started = True
            self.counters.started += 1
            # As run_forever: the inventory is committed at start, whatever the connection.
            self._commit_inventory(agent)
            if time.monotonic() >= self._connect_gate:
                self._open(agent)
            else:
                agent.reconnect_at = self._connect_gate
                heapq.heappush(self._reconnects, (agent.reconnect_at, agent.index))
        while (
            self._reconnects
            and self._reconnects[0][0] <= now
            and self._connecting < CONNECTS_IN_FLIGHT
            and time.monotonic() >= self._connect_gate
        ):
            _, index = heapq.heappop(self._reconnects)
            agent = self.agents[index]
            if agent.reconnect_at is not None and not agent.stopping:
                agent.reconnect_at = None
                self._open(agent)

    def _open(self, agent: SimulatedAgent) -> None:
        """Connection.start() without paho's network thread: this loop owns the socket."""
        conn = agent.conn
        conn.open()
        self._connecting += 1
        try:
            conn.client.reconnect()
        except OSError as exc:
            self._connecting -= 1
            conn.last_error = f"cannot reach broker {conn.address.url} ({exc.strerror or exc})"
            self.counters.last_error = conn.last_error
            self._connect_gate = time.monotonic() + self._gate_backoff_s
            self._gate_backoff_s = min(RECONNECT_MAX_S, self._gate_backoff_s * 2)
            self._retry_later(agent)

    def _retry_later(self, agent: SimulatedAgent) -> None:
        if agent.stopping or self._stop.is_set():
            return
        delay = random.uniform(agent.backoff_s / 2, agent.backoff_s)
        agent.backoff_s = min(RECONNECT_MAX_S, agent.backoff_s * 2)
        agent.reconnect_at = time.monotonic() + delay
        heapq.heappush(self._reconnects, (agent.reconnect_at, agent.index))

    def _connected(self, agent: SimulatedAgent) -> None:
        # Runs after Agent._on_connected: ack subscription, online status, resend everything.
        self._connecting = max(0, self._connecting - 1)
        agent.is_connected = True
        self.counters.connected += 1
        self.counters.connects += 1
        agent.backoff_s = RECONNECT_MIN_S
        self._gate_backoff_s = RECONNECT_MIN_S

    def _socket_open(self, client: Any, agent: Any, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, agent)

    def _socket_close(self, client: Any, agent: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        if agent.is_connected:
            agent.is_connected = False
            agent.conn.connected.clear()  # paho calls on_disconnect only after this
            self.counters.connected -= 1
        else:
            self._connecting = max(0, self._connecting - 1)  # refused or lost before CONNACK
        if agent.conn.last_error:
            self.counters.last_error = agent.conn.last_error
        self._retry_later(agent)

    def _want_write(self, client: Any, agent: Any, sock: Any) -> None:
        self._to_write[agent.index] = agent

    def _no_write(self, client: Any, agent: Any, sock: Any) -> None:
        self._to_write.pop(agent.index, None)
        if agent.write_armed:
            agent.write_armed = False
            self._modify(sock, selectors.EVENT_READ, agent)

    def _modify(self, sock: Any, events: int, agent: SimulatedAgent) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(sock, events, agent)

    def _report_due(self, now: float) -> None:
        """Measure and commit the reports that are due, a bounded number per turn."""
        for _ in range(REPORTS_PER_TURN):
            if not self._heap or self._heap[0][0] > now:
                return
            due, index = heapq.heappop(self._heap)
            agent = self.agents[index]
            if not agent.started:  # it reports once it runs, as a real agent does
                heapq.heappush(self._heap, (now + 0.05, index))
                continue
            self._commit(agent, agent.measure())
            self._commit_inventory(agent)  # as run_forever: only if the machine changed
            interval = self._interval_s
            # As run_forever: skip missed slots instead of reporting in a burst.
            heapq.heappush(self._heap, (max(due + interval, now + interval / 2), index))

    def _commit(
        self, agent: SimulatedAgent, message: wire.Report | wire.Inventory, *, retain: bool = False
    ) -> None:
        agent.queue(message, retain=retain)  # commit to the outbox, publish if connected
        agent.outstanding += 1
        self.counters.outstanding += 1
        if isinstance(message, wire.Report):
            self.counters.reports += 1
        else:
            self.counters.inventories += 1
        if self.on_commit is not None:
            self.on_commit(agent.id, message)

    def _commit_inventory(self, agent: SimulatedAgent) -> None:
        inventory = agent.inventory()
        if inventory is not None:
            self._commit(agent, inventory, retain=True)

    def _acked(self, agent: SimulatedAgent, ack: wire.Ack, removed: int) -> None:
        self.counters.acked += removed
        self.counters.outstanding = max(0, self.counters.outstanding - removed)
        self.counters.rejected += len(ack.rejected)
        if self.on_ack is not None:
            self.on_ack(agent.id, ack, time.time())

    def _tick(self, now: float) -> None:
        """Once a second: keepalive pings (paho's loop_misc) for every connected agent."""
        for agent in self.agents:
            if agent.conn.connected.is_set():
                agent.conn.client.loop_misc()

    def _resend_sweep(self) -> None:
        """Publish what is due again (unacked past resend_after_s), as run_forever's flush."""
        for agent in self.agents:
            if agent.outstanding and agent.conn.connected.is_set():
                agent.flush()

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
            now = time.monotonic()
            self._periodic(now)
            self._serve(0.05)
        for agent in self.agents:
            agent.stopping = True
            agent.reconnect_at = None
        # As run_forever: a retained "offline" for whoever is connected, then a clean
        # disconnect (which suppresses the last will).
        infos = [
            agent.conn.client.publish(
                wire.topic(agent.id, "status"), agent.status_payload("offline"), qos=1, retain=True
            )
            for agent in self.agents
            if agent.conn.connected.is_set()
        ]
        deadline = time.monotonic() + GOODBYE_TIMEOUT_S
        while time.monotonic() < deadline and not all(i.is_published() for i in infos):
            self._serve(0.05)
        for agent in self.agents:
            if agent.conn.client.socket() is not None:
                agent.conn.client.disconnect()
        deadline = time.monotonic() + GOODBYE_TIMEOUT_S
        while time.monotonic() < deadline and any(
            a.conn.client.socket() is not None for a in self.agents
        ):
            self._serve(0.05)
        outstanding = sum(agent.outbox.depth() for agent in self.agents)
        self._close_everything()
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
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return summary

    def _close_everything(self) -> None:
        for agent in self.agents:
            agent.stopping = True
            sock = agent.conn.client.socket()
            if sock is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
                sock.close()
            with contextlib.suppress(Exception):  # already closed
                agent.outbox.close()
        self._selector.close()


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


# --------------------------------------------------------------------------------------------
# Command line


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``simulate`` subcommand of ``wardwatch``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "simulate",
        help="run a fleet of simulated agents against a broker (load tests, demos)",
        description="Run N simulated agents in one process, each logged in as itself "
        "(client id and username = its agent id, e.g. sim-tan-an-pc03), over M sites, through "
        "the agent's own outbox and MQTT code. Exits 0 when every committed message was acked "
        "by a collector, 1 otherwise.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML with an [mqtt] table (url; username/password are ignored: each simulated "
        "agent logs in as itself)",
    )
    parser.add_argument("--agents", type=int, required=True, metavar="N")
    parser.add_argument("--sites", type=int, required=True, metavar="M")
    parser.add_argument(
        "--interval-s",
        type=float,
        required=True,
        metavar="S",
        help="seconds between two reports of one agent (fractions allowed for load tests)",
    )
    parser.add_argument(
        "--duration-s", type=float, metavar="D", help="stop after D seconds (default: Ctrl-C)"
    )
    parser.add_argument("--seed", type=int, default=0, help="fleet seed (default 0)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where the outbox file is kept (default: a temporary directory, deleted at exit)",
    )
    parser.add_argument(
        "--outbox-sync",
        choices=("full", "normal"),
        default="full",
        help="full (the agent's own setting: fsync at each commit) or normal (no fsync per "
        "commit, for higher load; safe against a crash, not a power cut)",
    )
    parser.add_argument(
        "--drain-s",
        type=float,
        default=10.0,
        metavar="S",
        help="at stop, wait this long for outstanding acks (default 10)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """``wardwatch simulate``; returns the exit code."""
    if args.agents < 1 or args.sites < 1 or args.interval_s < 0:
        print(
            "wardwatch simulate: --agents and --sites must be >= 1, --interval-s >= 0",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        cfg = load_config(args.config)
    except tomlconfig.ConfigError as exc:
        print(f"wardwatch simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        simulator = Simulator(
            mqtt=cfg.mqtt,
            agents=args.agents,
            sites=args.sites,
            interval_s=args.interval_s,
            seed=args.seed,
            state_dir=args.state_dir,
            outbox_sync=args.outbox_sync,
            progress=sys.stderr,
        )
    except OSError as exc:
        print(f"wardwatch simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def on_signal(signum: int, frame: Any) -> None:
        simulator.request_stop(hurry=simulator.stopping)  # a second Ctrl-C skips the drain

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    print(
        f"simulate: {args.agents} agent(s) over {args.sites} site(s) to {cfg.mqtt.url}, "
        f"a report every {args.interval_s:g} s each; Ctrl-C stops",
        file=sys.stderr,
    )
    summary = simulator.run(duration_s=args.duration_s, drain_s=args.drain_s)
    for line in summary.lines:
        print(f"simulate: {line}", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_NOT_ACKED
