"""MQTT connection set-up shared by the agent and the collector (paho-mqtt 2.x, MQTT 5)."""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.parse
from typing import Annotated, Any

import paho.mqtt.client as paho
from msgspec import Meta
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MqttUrl = Annotated[str, Meta(pattern=r"^mqtts?://[^/]+$")]
"""A broker's address in a config file: ``mqtt://host:port`` or ``mqtts://host:port``."""


class BrokerAddress:
    """Where a broker listens, parsed from ``mqtt://host:port`` or ``mqtts://host:port``."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise ValueError(f"broker url {url!r}: expected mqtt://host:port or mqtts://host:port")
        self.url = url
        self.host = parsed.hostname
        self.tls = parsed.scheme == "mqtts"
        self.port = parsed.port or (8883 if self.tls else 1883)


class Connection:
    """One paho client, its connection state, and the reason of its last failure.

    paho reconnects by itself from its network thread; this class records what happened so a
    caller can wait for a connection with a deadline and explain a failure in words.
    """

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        username: str,
        password: str,
        ca_file: str,
        keepalive_s: int,
        session_expiry_s: int,
        manual_ack: bool = False,
        receive_maximum: int = 0,
    ) -> None:
        self.address = BrokerAddress(url)
        self.keepalive_s = keepalive_s
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = receive_maximum
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=manual_ack,
        )
        if username:
            self.client.username_pw_set(username, password or None)
        if self.address.tls:
            self.client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        # Ward lines drop for minutes: retry often at first, then at most every 30 s.
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.connected = threading.Event()
        self.last_error = ""
        self._on_connected: list[Any] = []
        self.client.on_connect = self._handle_connect
        self.client.on_connect_fail = self._handle_connect_fail
        self.client.on_disconnect = self._handle_disconnect

    def when_connected(self, callback: Any) -> None:
        """Call ``callback()`` from the network thread after every successful (re)connect."""
        self._on_connected.append(callback)

    def open(self) -> None:
        """Begin connecting, without a network thread: for a caller that runs its own loop
        (paho's loop_read/loop_write), as the fleet simulator does for thousands of clients."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry_s
        if self.receive_maximum:
            # How many QoS 1 messages the broker may send before we acknowledge one.
            properties.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.address.host,
            self.address.port,
            keepalive=self.keepalive_s,
            clean_start=self.session_expiry_s == 0,
            properties=properties,
        )

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until ``stop``."""
        self.open()
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout_s: float) -> bool:
        """True once connected, False if ``timeout_s`` passed first."""
        return self.connected.wait(timeout_s)

    def _handle_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker {self.address.url} refused the connection: {reason}"
            return
        self.last_error = ""
        self.connected.set()
        for callback in self._on_connected:
            callback()

    def _handle_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho does not pass the socket error on; one plain TCP attempt names it for the user.
        try:
            with socket.create_connection((self.address.host, self.address.port), timeout=2):
                detail = "TCP works, the MQTT handshake failed"
        except OSError as exc:
            detail = exc.strerror or str(exc) or type(exc).__name__
        self.last_error = f"cannot reach broker {self.address.url} ({detail})"

    def _handle_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        if reason.is_failure:
            self.last_error = f"lost broker {self.address.url}: {reason}"
