"""Test plumbing: waiting for a condition, a raw MQTT client, an in-process collector."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from wardwatch.agent.config import AgentConfig
from wardwatch.collector.config import CollectorConfig
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.common.mqtt import BrokerAddress
from wardwatch.contract import wire

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float = 30.0, what: str = "condition") -> T:
    """Poll until ``condition()`` is truthy and return it; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


class RawClient:
    """A plain MQTT 5 client, to publish what no agent would and to watch topics."""

    def __init__(self, url: str, client_id: str = "test-raw") -> None:
        address = BrokerAddress(url)
        self.received: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.on_message = lambda _c, _u, message: self.received.put(message)
        self.client.connect(address.host, address.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK."""
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and wait until the broker confirms."""
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(10), f"no SUBACK for {topic}"

    def messages(self, count: int, timeout_s: float = 20.0) -> list[paho.MQTTMessage]:
        """The next ``count`` messages received."""
        return [self.received.get(timeout=timeout_s) for _ in range(count)]

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def collector_config(
    mqtt_url: str, influx_url: str, database: str, **sections: Any
) -> CollectorConfig:
    """A collector config for tests; ``sections`` are extra keys per section, as dicts."""
    raw: dict[str, dict[str, Any]] = {
        "mqtt": {"url": mqtt_url, "client_id": "test-collector"},
        "influx": {"url": influx_url, "database": database},
        "batch": {"max_delay_s": 0.2},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return msgspec.convert(raw, CollectorConfig)


def agent_config(mqtt_url: str, outbox: Path, **agent: Any) -> AgentConfig:
    """An agent config for tests, its outbox in the file ``outbox``."""
    values = {"id": "tan-an-pc07", "site": "tan-an", "interval_s": 60, **agent}
    raw = {"agent": values, "mqtt": {"url": mqtt_url}, "outbox": {"path": str(outbox)}}
    return msgspec.convert(raw, AgentConfig)


@contextmanager
def running_collector(cfg: CollectorConfig) -> Iterator[Collector]:
    """A collector running in a thread of this process, subscribed before the test goes on."""
    collector = Collector(cfg)
    thread = threading.Thread(target=collector.run, name="collector", daemon=True)
    thread.start()
    try:
        assert collector.subscriber.subscribed.wait(20), "collector did not subscribe"
        yield collector
    finally:
        collector.stop_event.set()
        thread.join(20)
        assert not thread.is_alive(), "collector did not stop"


def decode_ack(message: paho.MQTTMessage) -> wire.Ack:
    """The ack carried by a message on an ack topic."""
    ack = wire.decode(message.topic, bytes(message.payload))
    assert isinstance(ack, wire.Ack)
    return ack
