"""The collector's MQTT side: a persistent session on shared subscriptions, manual acks, and
the door and the bounded inbox (``inbox``) every delivery goes through."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paho.mqtt.subscribeoptions import SubscribeOptions

from wardwatch.collector.config import MqttSection
from wardwatch.collector.ingest.inbox import Door, Inbox
from wardwatch.common.mqtt import Connection
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.collector.mqtt")


@dataclass(frozen=True, slots=True)
class Incoming:
    """One MQTT delivery, and what is needed to acknowledge it later.

    ``session`` numbers the connection it arrived on: a message id (``mid``) is only
    meaningful within one connection, so an ack for an older one must not be sent.
    ``connected_at`` is when that connection began (the clock-skew rule needs it).
    """

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    session: int
    connected_at: datetime


class Subscriber:
    """Receives agents' messages through ``door`` into ``inbox``; acks each only when told
    to. The inbox's ``max_messages`` is the Receive Maximum asked of the broker."""

    def __init__(self, cfg: MqttSection, inbox: Inbox[Incoming], door: Door) -> None:
        self.inbox = inbox
        self.door = door
        self.share_group = cfg.share_group
        self.conn = Connection(
            url=cfg.url,
            client_id=cfg.client_id,
            username=cfg.username,
            password=cfg.password,
            ca_file=cfg.ca_file,
            keepalive_s=cfg.keepalive_s,
            session_expiry_s=cfg.session_expiry_s,
            manual_ack=True,
            receive_maximum=inbox.max_messages,
        )
        self._session = 0
        self._connected_at = wire.now()
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.conn.client.on_message = self._on_message
        self.conn.client.on_subscribe = self._on_subscribe
        self.conn.when_connected(self._on_connected)

    def start(self) -> None:
        """Connect (and keep reconnecting) in the background."""
        self.conn.start()

    def stop(self) -> None:
        """Disconnect; unacked messages stay with the broker for the next session."""
        self.inbox.close()  # or the network thread, waiting for room, would never end
        self.conn.stop()

    def _on_connected(self) -> None:
        with self._lock:
            self._session += 1
        self._connected_at = wire.now()
        # retainHandling=2: no retained copies at subscribe time. Every message reaches us live
        # or from the session queue (and inventories through the outbox as well); replaying the
        # retained statuses at each (re)subscription would stamp a new "offline" point for
        # every silent agent at every collector restart.
        topics = [
            (wire.subscription(kind, self.share_group), SubscribeOptions(qos=1, retainHandling=2))
            for kind in wire.COLLECTED_KINDS
        ]
        self.conn.client.subscribe(topics)
        log.info("connected to %s, subscribing to %s", self.conn.address.url, topics)

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reasons: Any, props: Any) -> None:
        failed = [str(reason) for reason in reasons if reason.is_failure]
        if failed:
            log.error("broker refused the subscriptions: %s", ", ".join(failed))
        else:
            log.info("subscribed; receiving agents' messages")
            self.subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        payload = bytes(message.payload)
        if self.door.admit(message.topic, message.qos, len(payload)):
            if message.qos:
                # Over the agent's rate: the broker forgets it now; its outbox sends it again.
                client.ack(message.mid, message.qos)
            return
        incoming = Incoming(
            message.topic,
            payload,
            message.mid,
            message.qos,
            wire.now(),
            self._session,
            self._connected_at,
        )
        # Waits while the inbox is full (see ``inbox``); False only when stopping, and then the
        # broker keeps the unacknowledged delivery for the next session.
        self.inbox.put(incoming, len(payload))

    def ack(self, incoming: Incoming) -> None:
        """PUBACK one delivery the pipeline is done with, if its connection is still the
        current one, and give its room in the inbox back."""
        self.inbox.release(len(incoming.payload))
        with self._lock:
            current = incoming.session == self._session
        if current and incoming.qos > 0:
            self.conn.client.ack(incoming.mid, incoming.qos)

    def publish_ack(self, ack: wire.Ack) -> None:
        """Tell an agent which of its messages are stored (or refused)."""
        self.conn.client.publish(wire.topic(ack.agent, "ack"), wire.encode(ack), qos=1)
