"""The city's broker as shipped: what ``wardwatch broker init`` writes, run by a real Mosquitto.

``CityBroker.made(workdir)`` runs the real command (``wardwatch broker init``) on free loopback
ports, and starts ``mosquitto -c DIR/mosquitto.conf`` as it is written: TLS for the agents, the
collectors' plaintext listener, the dynamic security plugin. Agents are enrolled through the
same admin session ``wardwatch agents add`` uses.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties

from tests.support import programs
from tests.support.helpers import wait_until
from wardwatch.collector.broker import setup
from wardwatch.collector.broker.control import Control
from wardwatch.collector.broker.enrol import Enrolled, Enrolment
from wardwatch.collector.devstack.services import (
    APT_MOSQUITTO_INFLUXDB,
    HOST,
    LocalService,
    free_port,
    tcp_connects,
)

HOSTNAME = "localhost"
"""The name the test agents reach the broker by, and its certificate is for."""
SITE = "tan-an"


class CityBroker(LocalService):
    """``mosquitto -c <dir>/mosquitto.conf`` of a setup ``wardwatch broker init`` wrote."""

    def __init__(self, directory: Path, agent_port: int, collector_port: int) -> None:
        self.layout = setup.Layout(directory)
        super().__init__(
            "mosquitto",
            [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.layout.conf)],
            directory.parent,
            collector_port,
            install_hint=f"{APT_MOSQUITTO_INFLUXDB} (or: make deps)",
        )
        self.agent_port = agent_port
        self.state = setup.load_state(directory)

    @classmethod
    def made(cls, workdir: Path, *extra: str, user: str | None = None) -> CityBroker:
        """Run ``wardwatch broker init`` into ``workdir/broker`` on free ports (not started).

        As root, Mosquitto runs as ``user``: root by default, since pytest's temporary
        directories are closed to others; a test of the shipped ownership passes "mosquitto".
        """
        directory = workdir / "broker"
        agent_port, collector_port = free_port(), free_port()
        as_root = ["--user", user or "root"] if os.geteuid() == 0 else []
        command = [
            *programs.WARDWATCH,
            "broker",
            "init",
            "--dir",
            str(directory),
            "--hostname",
            HOSTNAME,
            "--agent-port",
            str(agent_port),
            "--collector-port",
            str(collector_port),
            *as_root,
            *extra,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return cls(directory, agent_port, collector_port)

    @property
    def url(self) -> str:
        """The collectors' plaintext listener, ``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://{HOST}:{self.port}"

    @property
    def agent_url(self) -> str:
        """The agents' TLS listener, ``mqtts://localhost:<port>``."""
        return f"mqtts://{HOSTNAME}:{self.agent_port}"

    def _listen_ports(self) -> tuple[int, ...]:
        return (self.agent_port, self.port)

    def _answers(self) -> bool:
        return tcp_connects(self.port) and tcp_connects(self.agent_port)

    def collector_login(self, number: int = 1) -> dict[str, Any]:
        """Collector ``number``'s ``[mqtt]`` section, as ``broker init`` wrote it."""
        section: dict[str, Any] = tomllib.loads(self.layout.collector(number).read_text())["mqtt"]
        return section

    def admin(self) -> Control:
        """An admin session (a context manager), as ``wardwatch agents`` opens."""
        state = self.state
        return Control(state.admin_url, state.admin_username, state.admin_password)

    def enrol(self, *agents: str, site: str = SITE) -> dict[str, str]:
        """Enrol ``agents``; their passwords by id."""
        with self.admin() as control:
            enrolment = Enrolment(control)
            return {
                agent: enrolment.add(Enrolled(agent, site, "office-pc", "desktop", False))
                for agent in agents
            }

    def grant(self, username: str, password: str, acls: list[dict[str, Any]]) -> None:
        """A login for a test's own tool (a watcher), bound to its client id, with ``acls``."""
        role = f"test:{username}"
        with self.admin() as control:
            control.run(
                {"command": "createRole", "rolename": role, "acls": acls},
                {
                    "command": "createClient",
                    "username": username,
                    "clientid": username,
                    "password": password,
                    "roles": [{"rolename": role}],
                },
            )


def read_grant(topic: str) -> list[dict[str, Any]]:
    """The rules that let a test's tool subscribe to ``topic`` and receive what it matches."""
    return [
        {"acltype": "subscribePattern", "topic": topic, "allow": True},
        {"acltype": "publishClientReceive", "topic": topic, "allow": True},
    ]


class Client:
    """A raw MQTT 5 login that records what the broker answers: CONNACK reasons, disconnects,
    SUBACK codes, messages received and PUBACK refusals. Over TLS to the agents' listener
    (trusting the broker's CA) unless ``plaintext``."""

    def __init__(
        self,
        broker: CityBroker,
        username: str | None,
        password: str = "",
        *,
        client_id: str | None = None,
        plaintext: bool = False,
        connect: bool = True,
    ) -> None:
        self.received: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.connacks: list[str] = []
        self.disconnects: list[str] = []
        self.subacks: list[list[int]] = []
        self.refused: list[str] = []
        self.connack: Properties | None = None
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id if client_id is not None else (username or ""),
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if not plaintext:
            self.client.tls_set(ca_certs=str(broker.layout.ca))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda _c, _u, _f, reason, _p: self.disconnects.append(
            str(reason)
        )
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: self.subacks.append(
            [code.value for code in codes]
        )
        self.client.on_message = lambda _c, _u, message: self.received.put(message)
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(1, 1)
        port = broker.port if plaintext else broker.agent_port
        self.client.connect_async(HOST if plaintext else HOSTNAME, port)
        if connect:
            self.client.loop_start()
            wait_until(lambda: self.connacks, what=f"CONNACK for {username}")

    def _on_connect(self, _c: object, _u: object, _f: object, reason: object, props: Any) -> None:
        self.connack = props
        self.connacks.append(str(reason))

    def _on_publish(self, _c: object, _u: object, _mid: int, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            self.refused.append(str(reason))

    @property
    def accepted(self) -> bool:
        """Whether the last CONNACK accepted the login."""
        return bool(self.connacks) and self.connacks[-1] == "Success"

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the PUBACK."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def subscribe(self, *topics: str) -> list[int]:
        """Subscribe at QoS 1; the SUBACK's codes, one per topic (0x87: not authorized)."""
        before = len(self.subacks)
        self.client.subscribe([(topic, 1) for topic in topics])
        wait_until(lambda: len(self.subacks) > before, what="SUBACK")
        return self.subacks[before]

    def close(self) -> None:
        """Disconnect (no will) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()
