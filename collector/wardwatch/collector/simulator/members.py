"""The simulator's bookkeeping: one ``Member`` per simulated agent, and the run's counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import paho.mqtt.client as paho

from wardwatch.agent.runner import Agent
from wardwatch.collector.simulator.fleet import Machine

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
