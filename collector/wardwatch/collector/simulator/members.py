"""The simulator's members: each the real agent of a simulated machine, with what the loop keeps
about it; the run's counters and summary."""

from __future__ import annotations

import functools
import resource
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import msgspec
import paho.mqtt.client as paho

from wardwatch.agent.config import AgentConfig, MqttSection
from wardwatch.agent.probes.machine.probe import Reading
from wardwatch.agent.runner import Agent, SettledHook
from wardwatch.collector.simulator.fleet import Machine
from wardwatch.collector.simulator.readings import SimulatedHostProbe, machine_reading
from wardwatch.contract import wire

RECONNECT_MIN_S: Final = 1.0
RECONNECT_MAX_S: Final = 30.0


@dataclass(eq=False)
class Member:
    """One simulated agent: the real ``Agent`` of a simulated machine, and what the simulator's
    loop keeps about it (its place in the loop, its connection, its unacked messages)."""

    agent: Agent
    machine: Machine
    index: int
    """Its place in ``Simulator.members``."""
    outstanding: int = 0
    """Committed, not yet settled by an ack."""
    started: bool = False
    """Its inventory is committed and its connection begun."""
    stopping: bool = False
    is_connected: bool = False
    """As the loop counts it: CONNACK seen, socket not closed."""
    reconnect_at: float | None = None
    backoff_s: float = RECONNECT_MIN_S
    write_armed: bool = False
    """Its socket is registered for EVENT_WRITE."""

    @property
    def client(self) -> paho.Client:
        """Its paho client, which the simulator's network drives."""
        return self.agent.conn.client


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

    def progress(self, running_s: float, since_s: float, reports_then: int) -> str:
        """One progress line: ``running_s`` into the run, the report rate over the last
        ``since_s`` (when ``reports_then`` had been committed)."""
        rate = (self.reports - reports_then) / max(since_s, 1e-9)
        error = (
            f"; last error: {self.last_error}"
            if self.connected < self.agents and self.last_error
            else ""
        )
        return (
            f"{running_s:6.0f}s  connected {self.connected}/{self.agents}  "
            f"reports committed {self.reports} ({rate:.0f}/s)  acked {self.acked}  "
            f"outstanding {self.outstanding}{error}"
        )


@dataclass
class Summary:
    """The end of a run."""

    counters: Counters
    elapsed_s: float
    outstanding: int  # counted in the outboxes at the end
    state_dir: Path
    sites: int
    kept_in: Path | None
    """The outbox file, kept for a later run; None when it was temporary (deleted)."""

    @property
    def ok(self) -> bool:
        """Everything committed was acked."""
        return self.outstanding == 0

    @property
    def lines(self) -> list[str]:
        """The run in a few lines, for the command line."""
        c = self.counters
        rate = c.reports / self.elapsed_s if self.elapsed_s > 0 else 0.0
        lines = [
            f"agents {c.agents} over {self.sites} site(s), ran {self.elapsed_s:.1f} s",
            f"reports committed {c.reports} ({rate:.0f}/s), inventories {c.inventories}",
            f"acked {c.acked} (refused by the collector: {c.rejected}), "
            f"outstanding {self.outstanding}",
        ]
        if self.outstanding:
            where = (
                "(in a temporary outbox, now deleted)"
                if self.kept_in is None
                else f"(kept in {self.kept_in}; a run with the same --seed and --state-dir "
                "resends them)"
            )
            lines.append(f"NOT ACKED: {self.outstanding} committed message(s) {where}")
        return lines


def simulated_agent(
    machine: Machine,
    *,
    mqtt: MqttSection,
    outbox: Path,
    interval_s: int,
    resend_after_s: float,
    seed: int,
    on_settled: SettledHook,
) -> Agent:
    """The real agent of a simulated machine: its identity, this broker, the shared outbox file,
    and the machine's simulated host probe and readings instead of this computer's."""
    config = msgspec.convert(
        {
            "agent": {
                "id": machine.agent,
                "site": machine.site,
                "role": machine.role,
                "device_class": machine.device_class,
                "interval_s": interval_s,
                "resend_after_s": resend_after_s,
            },
            "mqtt": {"url": mqtt.url, "ca_file": mqtt.ca_file, "keepalive_s": mqtt.keepalive_s},
            "outbox": {"path": str(outbox)},
        },
        AgentConfig,
    )
    return Agent(
        config,
        [SimulatedHostProbe(machine, seed)],
        read_machine=functools.partial(_reading, machine),
        on_settled=on_settled,
    )


def _reading(machine: Machine, first_seen: date) -> Reading:
    """What the agent's machine probe reads on a simulated machine, now."""
    return machine_reading(machine, wire.now(), first_seen)


def raise_fd_limit(agents: int) -> None:
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
