"""MQTT connection set-up shared by the agent and the collector (paho-mqtt 2.x, MQTT 5)."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as paho
from msgspec import Meta, Struct
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from wardwatch.common.compat import Annotated
from wardwatch.common.throttle import Throttle

log = logging.getLogger("wardwatch.mqtt")

_PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})"
"""1 to 65535, without leading zeros."""
MQTT_URL_PATTERN: Final = rf"^mqtts?://(?:\[[0-9A-Fa-f:.]+\]|[^/:@\[\]]+)(?::{_PORT})?$"
"""``mqtt://host[:port]`` or ``mqtts://host[:port]``, the port from 1 to 65535. No
``user:password@``: a login in a URL ends up in logs and errors; it has its own keys."""
MqttUrl = Annotated[str, Meta(pattern=MQTT_URL_PATTERN)]
"""A broker's address in a config file (``MQTT_URL_PATTERN``)."""

FAILURE_LOG_EVERY_S: Final = 60.0
"""Each way of failing (lost, unreachable, refused) of a broker is logged at once, then at most
once per this."""
_failures = Throttle(log, every_s=FAILURE_LOG_EVERY_S)
# One for the process, keyed by broker: a thousand simulated agents losing their broker log a
# few lines a minute, not a thousand.

_PACKET_TOO_LARGE: Final = 0x95
_TOO_LARGE_NAME: Final = "Packet too large"


def _read_packet_too_large_pubacks() -> None:
    """Let paho read a PUBACK whose reason code is 0x95 "Packet too large".

    Mosquitto 2.0 answers a PUBLISH beyond its ``message_size_limit`` with that PUBACK, which
    MQTT 5 does not list for PUBACK; paho then calls the packet malformed, drops the connection
    and, at the reconnect, sends the same message again, for ever (measured: 1,087 times in
    45 s). Read as a refusal, it reaches ``on_publish`` like any other, and paho forgets the
    message. paho reads a PUBACK's code through ``__getName__`` then ``getId``: both learn this
    one code of this one packet, once per process. (paho 2.1, the last for CPython 3.8, builds
    its table in each instance; 2.2 has it on the class: patching the lookups serves both.)
    """
    name_of, id_of = ReasonCode.__getName__, ReasonCode.getId

    def get_name(code: ReasonCode, packet_type: int, identifier: int) -> str:
        if packet_type == PacketTypes.PUBACK and identifier == _PACKET_TOO_LARGE:
            return _TOO_LARGE_NAME
        return str(name_of(code, packet_type, identifier))

    def get_id(code: ReasonCode, name: str) -> int:
        if code.packetType == PacketTypes.PUBACK and name == _TOO_LARGE_NAME:
            return _PACKET_TOO_LARGE
        return int(id_of(code, name))

    ReasonCode.__getName__ = get_name  # type: ignore[method-assign,assignment]
    ReasonCode.getId = get_id  # type: ignore[method-assign,assignment]


_read_packet_too_large_pubacks()  # once, at import: every client of the process reads it


def once_name(name: str) -> str:
    """The second identity of agent login ``name``: the username and client id that
    ``wardwatch-agent --once`` uses beside the running agent (which holds ``name``). No agent
    id holds a "/", so it is no other agent's name."""
    return f"{name}/once"


def publish_size(topic: str, payload: bytes) -> int:
    """The size of the MQTT 5 PUBLISH packet (QoS 1, no properties) carrying ``payload``, as a
    broker compares it with its Maximum Packet Size."""
    remaining = 2 + len(topic.encode()) + 2 + 1 + len(payload)  # topic, packet id, properties
    length_bytes = 1 + (remaining >= 128) + (remaining >= 16_384) + (remaining >= 2_097_152)
    return 1 + length_bytes + remaining


LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
"""Hosts a plaintext ``mqtt://`` may reach without ``allow_plaintext``."""


def check_transport(url: str, ca_file: str, allow_plaintext: bool) -> None:
    """Raise ValueError, saying what to do, for a ``[mqtt]`` section that would send its
    password in clear over a network, or name a CA file that is not there."""
    address = BrokerAddress(url)
    if not address.tls and not allow_plaintext and address.host not in LOOPBACK:
        raise ValueError(
            f"url {url!r} is plaintext MQTT to another machine: the password and every report "
            "would cross the network in clear. Use mqtts:// (the broker's TLS port, 8883) with "
            "ca_file, or set allow_plaintext = true for a network you trust (a VPN)"
        )
    if ca_file and not Path(ca_file).is_file():
        raise ValueError(f"ca_file {ca_file!r}: no such file (the CA certificate of the broker)")


class BrokerLogin(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[mqtt]`` keys every program has: the broker, the login, the transport.

    A relative ``ca_file`` is relative to the config file (``tomlconfig``)."""

    url: MqttUrl = "mqtt://127.0.0.1:1883"
    username: str = ""
    password: str = ""
    ca_file: str = ""
    allow_plaintext: bool = False
    """Allow plaintext ``mqtt://`` to another machine (a VPN, a trusted network)."""
    keepalive_s: Annotated[int, Meta(ge=5, le=3600)] = 60

    def __post_init__(self) -> None:
        check_transport(self.url, self.ca_file, self.allow_plaintext)


class BrokerAddress:
    """Where a broker listens, parsed from ``mqtt://host:port`` or ``mqtts://host:port``."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.username is not None:
            raise ValueError(
                "broker url: no login in the URL (it would show in logs and errors); give the "
                "username and password their own settings"
            )
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise ValueError(f"broker url {url!r}: expected mqtt://host:port or mqtts://host:port")
        try:
            port = parsed.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError(f"broker url {url!r}: the port must be a number from 1 to 65535")
        self.url = url
        self.host = parsed.hostname
        self.tls = parsed.scheme == "mqtts"
        self.port = port or (8883 if self.tls else 1883)


class Connection:
    """One paho client, its connection state, and the reason of its last failure.

    paho reconnects by itself from its network thread; this class records what happened so a
    caller can wait for a connection with a deadline and explain a failure in words. Failures
    are logged with their reason at once, then at most once per ``FAILURE_LOG_EVERY_S`` (event
    ``broker_failure``; ``failure`` is lost, unreachable or refused).
    ``max_packet_size`` is the limit the broker announced at the last connect (None: none).
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
        self.username = username
        self.ca_file = ca_file
        self._refused = False
        if self.address.tls:
            self.client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        elif self.address.host not in LOOPBACK:
            _failures.warning(f"plaintext {url}", "broker %s: plaintext MQTT over the network", url)
        # Ward lines drop for minutes: retry often at first, then at most every 30 s.
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.connected = threading.Event()
        self.last_error = ""
        self.max_packet_size: int | None = None
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
        # The disconnect can end paho's thread by itself, which then sets its own handle to None
        # between loop_stop's check of it and its join (measured: "'NoneType' object has no
        # attribute 'join'", once under load): the thread is gone, as asked.
        with contextlib.suppress(AttributeError):
            self.client.loop_stop()

    def wait_connected(self, timeout_s: float) -> bool:
        """True once connected, False if ``timeout_s`` passed first."""
        return self.connected.wait(timeout_s)

    def _failed(self, failure: str, error: str) -> None:
        self.last_error = error
        _failures.warning(
            f"{failure} {self.address.url}",
            "%s; retrying",
            error,
            extra={"event": "broker_failure", "failure": failure, "broker": self.address.url},
        )

    def _handle_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refused = True
            self._failed("refused", refusal(self.address.url, self.username, reason))
            return
        self._refused = False
        self.last_error = ""
        # A broker may lift or change its limit between two connections.
        self.max_packet_size = getattr(properties, "MaximumPacketSize", None)
        self.connected.set()
        for callback in self._on_connected:
            callback()

    def _handle_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho does not pass the socket error on; one attempt of our own names it for the user.
        detail = handshake_problem(self.address, self.ca_file)
        self._failed("unreachable", f"cannot reach broker {self.address.url} ({detail})")

    def _handle_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        # After a refused CONNECT, paho reports the closed socket as a "Protocol error": the
        # refusal already said why.
        if reason.is_failure and not self._refused:
            self._failed("lost", f"lost broker {self.address.url}: {reason}")


# OpenSSL's verification codes (X509_V_ERR_*) that have a fix we can name.
_EXPIRED, _NOT_YET_VALID = 10, 9
_NAME_MISMATCH = frozenset({62, 64})  # a host name, an IP address
_UNKNOWN_CA = frozenset({2, 18, 19, 20, 21})


def refusal(url: str, username: str, reason: Any) -> str:
    """Why a broker refused a CONNECT, in words an operator can act on."""
    code = getattr(reason, "value", 0)
    if code in (0x86, 0x87, 0x04, 0x05):  # bad user name or password, not authorized
        return (
            f"broker {url} refused the login {username!r}: not authorized (a wrong username or "
            "password, an agent disabled or removed on the broker, or a client id that is not "
            "this login's)"
        )
    return f"broker {url} refused the connection: {reason}"


def _tls_verdict(exc: ssl.SSLCertVerificationError, address: BrokerAddress, ca_file: str) -> str:
    code = exc.verify_code
    if code in _NAME_MISMATCH:
        return (
            f"the broker's TLS certificate is not made for {address.host!r}: put the name the "
            "certificate was made for in the url, or make one for this name on the broker "
            f"(wardwatch broker init --hostname {address.host})"
        )
    if code in (_EXPIRED, _NOT_YET_VALID):
        state = "has expired" if code == _EXPIRED else "is not valid yet"
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"the broker's TLS certificate {state}: renew it on the broker, or set this "
            f"machine's clock if it is wrong (it says {now})"
        )
    if code in _UNKNOWN_CA:
        trusted = f"the CA in ca_file {ca_file!r}" if ca_file else "any CA this machine trusts"
        return (
            f"the broker's TLS certificate is not signed by {trusted} (unknown CA): set "
            "[mqtt] ca_file to the ca.crt of the city's broker"
        )
    return f"the broker's TLS certificate was refused: {exc.verify_message}"


def handshake_problem(address: BrokerAddress, ca_file: str, timeout_s: float = 5.0) -> str:
    """What stops a connection to ``address``: the socket's error, the TLS certificate's
    problem, or "the MQTT handshake failed" once TCP (and TLS) work."""
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout_s) as sock:
            if not address.tls:
                return "TCP works, the MQTT handshake failed (a TLS port? then use mqtts://)"
            context = ssl.create_default_context(cafile=ca_file or None)
            with context.wrap_socket(sock, server_hostname=address.host):
                return "TCP and TLS work, the MQTT handshake failed"
    except ssl.SSLCertVerificationError as exc:
        return _tls_verdict(exc, address, ca_file)
    except ssl.SSLError as exc:
        return f"TLS handshake failed ({exc.reason or exc}): is {address.port} a TLS port?"
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
