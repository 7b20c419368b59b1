"""The agent's life: measure on an interval, publish, and forget a message only when acked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal

import paho.mqtt.client as paho

from wardwatch.agent import __version__
from wardwatch.agent.config import AgentConfig
from wardwatch.agent.outbox import Outbox
from wardwatch.agent.probes import Probe, run_all
from wardwatch.agent.probes.machine.probe import MachineProbe, Reading, same_machine
from wardwatch.common.mqtt import Connection
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.agent")

# How long the agent's broker session (and its ack subscription) outlives a disconnect: a ward
# PC switched off overnight still finds the acks the collector sent in the meantime.
SESSION_EXPIRY_S = 86400
# The longest wait between two checks for due resends.
TICK_S = 1.0


Committed = wire.Report | wire.Inventory
"""A message the outbox holds until the collector acks it."""
SettledHook = Callable[[wire.Ack, int], None]
"""Told of each ack and how many of this agent's messages it settled."""


class Agent:
    """One agent: its identity, its probes, its MQTT connection and its outbox.

    ``read_machine(first_seen)`` reads what the machine is (``probes.machine``); with it, every
    report carries the machine fact and the retained inventory is sent at start and on change.
    ``once=True`` is the one-shot mode of ``--once``: it uses its own client id and leaves the
    retained status and inventory alone, so it can run beside the long-running agent of the
    same machine. ``on_settled(ack, removed)`` is called for every ack received.

    ``run_forever`` and ``run_once`` are a whole agent's life. A host of many agents (the fleet
    simulator) drives the same parts from its own loop instead: ``queue_inventory`` at start,
    ``step`` when its schedule says a report is due, ``flush`` for resends, ``say_offline`` at
    the end; it owns the MQTT network (``conn``) and hears of acks through ``on_settled``.
    """

    def __init__(
        self,
        config: AgentConfig,
        probes: Sequence[Probe],
        *,
        read_machine: Callable[[date], Reading] | None = None,
        once: bool = False,
        on_settled: SettledHook | None = None,
    ) -> None:
        self.config = config
        self.id = config.agent_id
        self.once = once
        self.outbox = Outbox(
            config.outbox.resolved_path(),
            self.id,
            max_bytes=int(config.outbox.max_mb * 1024 * 1024),
            max_age_s=config.outbox.max_age_days * 86400,
            resend_after_s=config.agent.resend_after_s,
        )
        self._on_settled = on_settled
        self._report_bytes = 0  # the size of the last report, to make room for the next
        self.machine: MachineProbe | None = None
        self._inventoried: wire.MachineFacts | None = None  # what the last inventory said
        if read_machine is not None:
            first_seen = self.outbox.first_seen(wire.now().date())
            self.machine = MachineProbe(lambda: read_machine(first_seen))
        self.probes = [*probes, self.machine] if self.machine else list(probes)
        self.identity: dict[str, Any] = {
            "agent": self.id,
            "site": config.agent.site,
            "role": config.agent.role,
            "device_class": config.agent.device_class,
        }
        self.conn = Connection(
            url=config.mqtt.url,
            client_id=f"{self.id}-once" if once else self.id,
            username=config.mqtt_username,
            password=config.mqtt.password,
            ca_file=config.mqtt.ca_file,
            keepalive_s=config.mqtt.keepalive_s,
            session_expiry_s=0 if once else SESSION_EXPIRY_S,
        )
        self.conn.client.on_message = self._on_message
        self.conn.when_connected(self._on_connected)
        if not once:
            # The broker publishes this when the agent vanishes without saying goodbye.
            self.conn.client.will_set(
                wire.topic(self.id, "status"), self.status_message("offline"), qos=1, retain=True
            )

    def status_message(self, state: Literal["online", "offline"]) -> bytes:
        """The retained status payload saying ``state``, stamped now."""
        return wire.encode(wire.Status(**self.identity, state=state, sent_at=wire.now()))

    def measure(self) -> wire.Report:
        """Run every probe once and wrap the result in a report."""
        # Drop now what this report's arrival will require, so its drop count is current.
        self.outbox.make_room(self._report_bytes)
        measured_at = wire.now()
        facts, errors = run_all(self.probes)
        for error in errors:
            log.warning("probe %s failed: %s", error.probe, error.error)
        return wire.Report(
            **self.identity,
            id=wire.new_message_id(),
            measured_at=measured_at,
            sent_at=measured_at,
            interval_s=self.config.agent.interval_s,
            agent_version=__version__,
            outbox_depth=self.outbox.depth(),
            outbox_dropped=self.outbox.dropped(),
            facts=facts,
            errors=errors,
        )

    def inventory(self) -> wire.Inventory | None:
        """The inventory to send now: at the first call, then only when the machine changed
        (disk hours aside); None otherwise, or when the machine cannot be read."""
        if self.machine is None:
            return None
        try:
            reading = self.machine.reading()
        except Exception as exc:  # the report's machine probe carries the error too
            log.warning("cannot read this machine's inventory: %s", exc)
            return None
        if self._inventoried is not None and same_machine(self._inventoried, reading.facts):
            return None
        self._inventoried = reading.facts
        at = wire.now()
        return wire.Inventory(
            **self.identity,
            id=wire.new_message_id(),
            measured_at=at,
            sent_at=at,
            machine=reading.facts,
            missing=reading.missing,
        )

    def queue(self, message: Committed, *, retain: bool = False) -> None:
        """Commit a message to the outbox, and publish it now if connected."""
        size = self.outbox.add(message, retain=retain)
        if isinstance(message, wire.Report):
            self._report_bytes = size
        kind = type(message).__name__.lower()
        measured_at = message.measured_at.isoformat()
        log.debug(
            "committed %s %s measured at %s",
            kind,
            message.id,
            measured_at,
            extra={
                "event": "committed",
                "kind": kind,
                "id": message.id,
                "measured_at": measured_at,
            },
        )
        self.flush()

    def queue_inventory(self) -> list[Committed]:
        """Commit and publish the inventory, retained, when it is new (at start) or the machine
        changed; returns what was committed (nothing when the machine cannot be read)."""
        inventory = self.inventory()
        if inventory is None:
            return []
        self.queue(inventory, retain=True)
        return [inventory]

    def step(self) -> list[Committed]:
        """One reporting step, when the schedule says a report is due: measure and commit a
        report, then the inventory if the machine changed (the report's machine probe may have
        re-read it). Each is published at once if connected. Returns what was committed."""
        report = self.measure()
        self.queue(report)
        return [report, *self.queue_inventory()]

    def flush(self) -> None:
        """Publish every due message, oldest first, each with a fresh ``sent_at``."""
        if not self.conn.connected.is_set():
            return
        for entry in self.outbox.due():
            self.conn.client.publish(entry.topic, entry.payload, qos=1, retain=entry.retain)
            self.outbox.mark_sent(entry.id)

    def say_offline(self) -> paho.MQTTMessageInfo | None:
        """Publish the retained ``offline`` status, if connected (a clean disconnect afterwards
        suppresses the last will); None when not connected."""
        if not self.conn.connected.is_set():
            return None
        return self._announce("offline")

    def _announce(self, state: Literal["online", "offline"]) -> paho.MQTTMessageInfo:
        """Publish the retained status saying ``state``."""
        return self.conn.client.publish(
            wire.topic(self.id, "status"), self.status_message(state), qos=1, retain=True
        )

    def _on_connected(self) -> None:
        log.info(
            "connected to %s as %s",
            self.conn.address.url,
            self.id,
            extra={"event": "connected", "broker": self.conn.address.url},
        )
        self.conn.client.subscribe(wire.topic(self.id, "ack"), qos=1)
        if not self.once:
            self._announce("online")
        self.outbox.mark_all_unsent()
        self.flush()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            ack = wire.decode(message.topic, message.payload)
        except wire.WireError as exc:
            log.warning("ignoring a bad message on %s: %s", message.topic, exc)
            return
        if isinstance(ack, wire.Ack):
            removed = self.outbox.settle(ack)
            for rejection in ack.rejected:
                log.error("collector rejected message %s: %s", rejection.id, rejection.reason)
            if self._on_settled is not None:
                self._on_settled(ack, removed)

    def run_forever(self, stop: threading.Event) -> None:
        """Report every interval until ``stop`` is set; say goodbye as ``offline`` then."""
        self.conn.start()
        self.queue_inventory()  # at start, connected or not
        interval = self.config.agent.interval_s
        next_at = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_at:
                self.step()
                # Skip missed slots (a suspended laptop) instead of reporting in a burst.
                next_at = max(next_at + interval, now + interval / 2)
            self.flush()
            stop.wait(min(TICK_S, max(0.0, next_at - time.monotonic())))
        goodbye = self.say_offline()
        if goodbye is not None:
            goodbye.wait_for_publish(timeout=2)
        self.conn.stop()
        log.info("stopped; %d message(s) wait in the outbox", self.outbox.depth())
        self.outbox.close()

    def run_once(self, deadline_s: float) -> str:
        """Send one report, and whatever waits in the outbox; return "" once a collector acked
        all of it as stored, else the reason (the unacked messages stay in the outbox)."""
        start = time.monotonic()
        self.queue(self.measure())
        self.conn.start()
        try:
            if not self.conn.wait_connected(deadline_s):
                return self.conn.last_error or (
                    f"no connection to broker {self.conn.address.url} within {deadline_s:g} s"
                )
            remaining = deadline_s - (time.monotonic() - start)
            if not self.outbox.wait_empty(max(0.0, remaining)):
                return (
                    f"the broker {self.conn.address.url} took the report, but no collector "
                    f"acknowledged it as stored within {deadline_s:g} s "
                    f"({self.outbox.depth()} message(s) wait in the outbox); "
                    "is wardwatch-collector running against this broker and its database?"
                )
            if self.outbox.rejected:
                return "; ".join(
                    f"collector rejected message {r.id}: {r.reason}" for r in self.outbox.rejected
                )
            return ""
        finally:
            self.conn.stop()
            self.outbox.close()
