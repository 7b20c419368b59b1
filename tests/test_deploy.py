"""The production broker files in deploy/mosquitto: real Mosquitto, real logins, the real ACL."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties

from tests.support.broker import MOSQUITTO, shipped
from tests.support.factories import report
from tests.support.helpers import wait_until
from wardwatch.collector.devstack.services import Mosquitto
from wardwatch.contract import wire

pytestmark = [pytest.mark.process, pytest.mark.services]

PASSWORDS = {"wardwatch-collector": "c-secret", "tan-an-pc07": "a-secret", "ea-tu-pc01": "b-secret"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with shipped(tmp_path, PASSWORDS) as running:
        yield running


class Client:
    """A logged-in MQTT 5 client that records what it receives and its PUBACK reason codes."""

    def __init__(self, broker: Mosquitto, user: str | None, password: str | None = None) -> None:
        self.received: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.refused: list[str] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{user}", protocol=MQTTProtocolVersion.MQTTv5
        )
        if user is not None:
            self.client.username_pw_set(user, PASSWORDS[user] if password is None else password)
        self.client.on_message = lambda _c, _u, m: self.received.put(m)
        self.client.on_publish = self._on_publish
        self.connect_reason = ""
        self.connack: Properties | None = None  # the broker's CONNACK properties
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        wait_until(lambda: self.connect_reason, what=f"CONNACK for {user}")

    def _on_connect(self, _c: object, _u: object, _f: object, reason: object, props: Any) -> None:
        self.connack = props
        self.connect_reason = str(reason)

    def _on_publish(self, _c: object, _u: object, _mid: int, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            self.refused.append(str(reason))

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_wrong_password_and_anonymous_are_refused(broker: Mosquitto) -> None:
    wrong = Client(broker, "tan-an-pc07", password="guess")
    anonymous = Client(broker, None)
    assert wrong.connect_reason == "Not authorized"  # what Mosquitto 2.0 answers for both
    assert anonymous.connect_reason == "Not authorized"
    wrong.close()
    anonymous.close()


def test_agents_write_only_their_own_topics(broker: Mosquitto) -> None:
    collector = Client(broker, "wardwatch-collector")
    collector.subscribe(wire.subscription("report", "wardwatch"))
    agent = Client(broker, "tan-an-pc07")
    other = Client(broker, "ea-tu-pc01")
    other.subscribe(wire.topic("tan-an-pc07", "ack"))  # not its own: must receive nothing
    agent.subscribe(wire.topic("tan-an-pc07", "ack"))
    # A spoof: ea-tu-pc01 writing under tan-an-pc07's id is refused by the broker.
    other.publish(wire.topic("tan-an-pc07", "report"), wire.encode(report("spoof")))
    assert other.refused == ["Not authorized"]
    agent.publish(wire.topic("tan-an-pc07", "report"), wire.encode(report("own")))
    (delivered,) = [collector.received.get(timeout=10)]
    assert delivered.topic == wire.topic("tan-an-pc07", "report")
    assert b'"own"' in delivered.payload
    collector.publish(wire.topic("tan-an-pc07", "ack"), wire.encode(wire.Ack(agent="tan-an-pc07")))
    assert agent.received.get(timeout=10).topic == wire.topic("tan-an-pc07", "ack")
    assert collector.received.empty() and other.received.empty()
    for client in (collector, agent, other):
        client.close()


def test_the_broker_announces_its_limits(broker: Mosquitto) -> None:
    """MQTT 5 clients learn at connect the largest packet the broker takes (the agent reads it)
    and that it takes QoS 1 at most."""
    limit = next(
        int(line.split()[1])
        for line in (MOSQUITTO / "mosquitto.conf").read_text().splitlines()
        if line.startswith("max_packet_size ")
    )
    agent = Client(broker, "tan-an-pc07")
    assert getattr(agent.connack, "MaximumPacketSize", None) == limit
    assert getattr(agent.connack, "MaximumQoS", None) == 1
    agent.close()
