"""The broker as ``wardwatch broker init`` writes it: real Mosquitto, real logins, real roles."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import CityBroker, Client
from tests.support.factories import report
from wardwatch.contract import wire

pytestmark = [pytest.mark.process, pytest.mark.services]

AGENTS = ("tan-an-pc07", "ea-tu-pc01")
COLLECTOR = "wardwatch-collector-1"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[CityBroker]:
    with CityBroker.made(tmp_path) as running:
        yield running


@pytest.fixture
def passwords(broker: CityBroker) -> dict[str, str]:
    """The enrolled agents' passwords, and the collector's."""
    return {**broker.enrol(*AGENTS), COLLECTOR: broker.collector_login()["password"]}


def test_wrong_password_and_anonymous_are_refused(
    broker: CityBroker, passwords: dict[str, str]
) -> None:
    for client in (
        Client(broker, AGENTS[0], "guess"),
        Client(broker, None, client_id="anonymous"),
        Client(broker, None, client_id="anonymous", plaintext=True),
    ):
        assert client.connacks[0] == "Not authorized"  # what Mosquitto 2.0 answers for all
        client.close()


def test_the_agents_port_speaks_tls_only(broker: CityBroker) -> None:
    """A plaintext CONNECT on the agents' listener gets no CONNACK."""
    with socket.create_connection(("127.0.0.1", broker.agent_port), timeout=5) as raw:
        raw.sendall(b"\x10\x0d\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x00")  # CONNECT, MQTT 5
        try:
            answer = raw.recv(16)
        except (ConnectionError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"\x20"), "the TLS port answered plaintext MQTT"


def test_agents_write_only_their_own_topics(broker: CityBroker, passwords: dict[str, str]) -> None:
    collector = Client(broker, COLLECTOR, passwords[COLLECTOR], plaintext=True)
    collector.subscribe(wire.subscription("report", "wardwatch"))
    agent = Client(broker, AGENTS[0], passwords[AGENTS[0]])
    other = Client(broker, AGENTS[1], passwords[AGENTS[1]])
    assert other.subscribe(wire.topic(AGENTS[0], "ack")) == [0x87]  # not its own
    assert agent.subscribe(wire.topic(AGENTS[0], "ack")) == [1]
    # A spoof: ea-tu-pc01 writing under tan-an-pc07's id is refused by the broker.
    other.publish(wire.topic(AGENTS[0], "report"), wire.encode(report("spoof")))
    assert other.refused == ["Not authorized"]
    agent.publish(wire.topic(AGENTS[0], "report"), wire.encode(report("own")))
    (delivered,) = [collector.received.get(timeout=10)]
    assert delivered.topic == wire.topic(AGENTS[0], "report")
    assert b'"own"' in delivered.payload
    collector.publish(wire.topic(AGENTS[0], "ack"), wire.encode(wire.Ack(agent=AGENTS[0])))
    assert agent.received.get(timeout=10).topic == wire.topic(AGENTS[0], "ack")
    assert collector.received.empty() and other.received.empty()
    for client in (collector, agent, other):
        client.close()


def test_the_broker_announces_its_limits(broker: CityBroker, passwords: dict[str, str]) -> None:
    """MQTT 5 clients learn at connect the largest packet the broker takes (the agent reads it)
    and that it takes QoS 1 at most."""
    limit = next(
        int(line.split()[1])
        for line in broker.layout.conf.read_text().splitlines()
        if line.startswith("max_packet_size ")
    )
    agent = Client(broker, AGENTS[0], passwords[AGENTS[0]])
    assert getattr(agent.connack, "MaximumPacketSize", None) == limit
    assert getattr(agent.connack, "MaximumQoS", None) == 1
    agent.close()
