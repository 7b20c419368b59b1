"""The agent's life: measure on an interval, publish, and forget a message only when acked."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from datetime import date
from typing import Any, Callable, Literal, Union

import paho.mqtt.client as paho

from wardwatch.agent import __version__
from wardwatch.agent.config import AgentConfig
from wardwatch.agent.notices import Notices
from wardwatch.agent.outbox import Entry, Outbox, OutboxWriteError, kind_of, renewed
from wardwatch.agent.probes import Probe, run_all
from wardwatch.agent.probes.machine.probe import MachineProbe, Reading, same_machine
from wardwatch.common.mqtt import Connection, once_name, publish_size
from wardwatch.common.throttle import Throttle
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.agent")
_unwelcome = Throttle(log)  # bad messages on the ack topic: a flood must not fill the log

# How long the agent's broker session (and its ack subscription) outlives a disconnect: a ward
# PC switched off overnight still finds the acks the collector sent in the meantime.
SESSION_EXPIRY_S = 86400
# PUBACK reason codes that refuse a message for what it is, so that it can never be accepted:
# packet too large (0x95, as Mosquitto's message_size_limit answers), topic name invalid (0x90),
# payload format invalid (0x99). Other refusals (not authorized, quota exceeded) may be lifted.
NEVER_ACCEPTED = frozenset({0x90, 0x95, 0x99})
# The longest wait between two checks for due resends.
TICK_S = 1.0


# Aliases are built at import: typing's spelling, which 3.8 can build (wardwatch.common.compat).
Committed = Union[wire.Report, wire.Inventory]
"""A message the outbox holds until the collector acks it."""
SettledHook = Callable[[wire.Ack, int], None]
"""Told of each ack and how many of this agent's messages it settled."""


class Agent:
    """One agent: its identity, its probes, its MQTT connection and its outbox.

    ``read_machine(first_seen)`` reads what the machine is (``probes.machine``); with it, every
    report carries the machine fact and the retained inventory is sent at start and on change.
    ``once=True`` is the one-shot mode of ``--once``: it logs in as the agent's second identity
    (``once_name``: its own username and client id, enrolled with the agent) and leaves the
    retained status and inventory alone, so it can run beside the long-running agent of the
    same machine. ``on_settled(ack, removed)`` is called for every ack received.

    Each connection attempt takes the next ``session`` number (kept in the outbox file, growing
    across restarts); its last will, its ``online`` and its ``offline`` carry it, so a stale
    will published after the next ``online`` is known for what it is. A message that can never
    be delivered (too large for the broker or the collector, or refused by the broker) is
    dropped, counted and reported; when the outbox cannot commit (a full disk), messages are
    published without it.

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
        self.notices = Notices()
        if self.outbox.moved_aside:
            self.notices.add("corrupt", self.outbox.moved_aside, level=logging.ERROR)
        self._on_settled = on_settled
        self.session = 0
        """The number of the current (or last) connection attempt; 0 with ``once``."""
        self._in_flight: dict[int, str] = {}  # paho's message id -> ours, until its PUBACK
        # A refusal can arrive before publish() has returned its id: kept here until it has.
        self._early: dict[int, Any] = {}
        self._pubacks = threading.Lock()  # never held around publish(): paho calls on_publish
        # holding the lock publish() takes
        self._flushing = threading.Lock()  # the main and the MQTT thread both flush
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
            client_id=once_name(self.id) if once else self.id,
            username=once_name(config.mqtt_username) if once else config.mqtt_username,
            password=config.mqtt.password,
            ca_file=config.mqtt.ca_file,
            keepalive_s=config.mqtt.keepalive_s,
            session_expiry_s=0 if once else SESSION_EXPIRY_S,
        )
        self.conn.client.on_message = self._on_message
        self.conn.client.on_publish = self._on_publish
        self.conn.when_connected(self._on_connected)
        self.conn.client.on_pre_connect = self._before_connect

    def status_message(self, state: Literal["online", "offline"]) -> bytes:
        """The retained status payload saying ``state`` in this session, stamped now."""
        return wire.encode(
            wire.Status(**self.identity, state=state, sent_at=wire.now(), session=self.session)
        )

    def _before_connect(self, client: paho.Client, userdata: Any) -> None:
        # paho calls this before each attempt, and sends the will set here in its CONNECT.
        # Everything unacked goes out again on the new connection: marked before it is up, so
        # that the main thread's flush and the one at connect never both send a message.
        self.outbox.mark_all_unsent()
        if self.once:
            return
        self.session = self.outbox.next_session()
        # The broker publishes this when the agent vanishes without saying goodbye.
        client.will_set(
            wire.topic(self.id, "status"), self.status_message("offline"), qos=1, retain=True
        )

    def measure(self) -> wire.Report:
        """Run every probe once and wrap the result in a report."""
        # Drop now what this report's arrival will require, so its drop count is current.
        with contextlib.suppress(OutboxWriteError):  # the commit will fail and say so
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
            errors=[*errors, *self.notices.take()],
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

    def queue(self, message: Committed, *, retain: bool = False) -> bool:
        """Commit a message to the outbox, and publish it now if connected; True if committed.

        When the outbox cannot commit (a full disk), the message is published at once without
        it, if connected (lost otherwise): the collector still hears from this machine, and
        the next report says why.
        """
        kind = kind_of(message)
        try:
            size = self.outbox.add(message, retain=retain)
        except OutboxWriteError as exc:
            connected = self.conn.connected.is_set()
            fate = "published without the outbox" if connected else "lost (no connection)"
            self.notices.add("unwritable", f"{exc}; {kind} {message.id} {fate}")
            if connected:
                payload = renewed(wire.encode(message), self.session)
                self._publish(Entry(message.id, wire.topic(self.id, kind), payload, retain))
            return False
        if isinstance(message, wire.Report):
            self._report_bytes = size
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
        return True

    def queue_inventory(self) -> list[Committed]:
        """Commit and publish the inventory, retained, when it is new (at start) or the machine
        changed; returns what was committed (nothing when the machine cannot be read)."""
        inventory = self.inventory()
        if inventory is None or not self.queue(inventory, retain=True):
            return []
        return [inventory]

    def step(self) -> list[Committed]:
        """One reporting step, when the schedule says a report is due: measure and commit a
        report, then the inventory if the machine changed (the report's machine probe may have
        re-read it). Each is published at once if connected. Returns what was committed."""
        report = self.measure()
        committed = [report] if self.queue(report) else []
        return [*committed, *self.queue_inventory()]

    def flush(self) -> None:
        """Publish every due message, oldest first, each with a fresh ``sent_at`` and this
        connection's ``session``."""
        if not self.conn.connected.is_set():
            return
        with self._flushing:  # else both threads could publish (or drop) the same messages
            for due in self.outbox.due():
                self._publish(due)

    def _publish(self, due: Entry) -> None:
        """Publish one message at QoS 1, unless its size means it can never arrive."""
        too_large = self._too_large(due)
        if too_large:
            self._drop(due.id, "oversized", too_large)
            return
        info = self.conn.client.publish(due.topic, due.payload, qos=1, retain=due.retain)
        self.outbox.mark_sent(due.id)
        with self._pubacks:
            refusal = self._early.pop(info.mid, None)
            if refusal is None:
                self._in_flight[info.mid] = due.id
        if refusal is not None:
            self._refused(due.id, refusal)

    def _too_large(self, due: Entry) -> str:
        """Why ``due`` is too large for the collector or the broker; "" if it is not."""
        if len(due.payload) > wire.MAX_PAYLOAD_BYTES:
            return f"{len(due.payload):,} bytes, over the collector's {wire.MAX_PAYLOAD_BYTES:,}"
        size, limit = publish_size(due.topic, due.payload), self.conn.max_packet_size
        if limit is not None and size > limit:
            return f"a {size:,}-byte packet, over the broker's {limit:,}"
        return ""

    def _drop(self, message_id: str, kind: str, why: str) -> None:
        """Drop a message that can never be delivered: counted in ``outbox_dropped`` and told
        in the next report, instead of being sent again and again."""
        try:
            self.outbox.drop(message_id)
        except OutboxWriteError:
            self.outbox.mark_sent(message_id)  # tried again after resend_after_s
        self.notices.add(kind, f"dropped message {message_id}: {why}")

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        with self._pubacks:
            message_id = self._in_flight.pop(mid, None)
            if message_id is None and reason.is_failure:
                self._early[mid] = reason  # faster than publish() returning its id
        if message_id is not None and reason.is_failure:
            self._refused(message_id, reason)

    def _refused(self, message_id: str, reason: Any) -> None:
        """The broker's PUBACK refused a message."""
        if reason.value in NEVER_ACCEPTED:  # the broker would refuse it again: drop, not loop
            self._drop(message_id, "refused", f"the broker refused it: {reason}")
        else:  # a wrong ACL or a full quota can be fixed: sent again after resend_after_s
            self.notices.add("refused", f"the broker refused message {message_id}: {reason}")

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
            "connected to %s as %s, session %d",
            self.conn.address.url,
            self.id,
            self.session,
            extra={"event": "connected", "broker": self.conn.address.url, "session": self.session},
        )
        self.conn.client.subscribe(wire.topic(self.id, "ack"), qos=1)
        if not self.once:
            self._announce("online")
        self.flush()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            ack = wire.decode(message.topic, message.payload)
            if isinstance(ack, wire.Ack):
                self._settle(ack)
        except OutboxWriteError as exc:
            self.notices.add("unwritable", f"{exc}; acked messages will be sent again")
        except Exception as exc:  # whatever arrives, paho's thread and the agent go on
            _unwelcome.warning("ack", "ignoring a message on the ack topic: %s", exc)

    def _settle(self, ack: wire.Ack) -> None:
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
        try:
            if not self.queue(self.measure()):
                return f"the outbox cannot keep the report: {self.outbox.write_error}"
            self.conn.start()
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
