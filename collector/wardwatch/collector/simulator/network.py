"""Thousands of agents' MQTT connections on one selector, in one thread.

``Connection.start()`` gives each agent paho's network thread, which thousands of agents cannot
afford. Here one selector (epoll on Linux) serves every member's paho client through paho's
external-loop API (``on_socket_open``/``close``/``register_write``, ``loop_read``,
``loop_write``, ``loop_misc``). Connections are begun a few at a time (``CONNECTS_IN_FLIGHT``),
retried with backoff and jitter, and a failed TCP connect closes a gate for every member, so an
unreachable broker costs one blocking attempt per backoff, not one per agent.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import selectors
import threading
import time
from typing import Any, Final

from wardwatch.collector.simulator.members import (
    RECONNECT_MAX_S,
    RECONNECT_MIN_S,
    Counters,
    Member,
)

CONNECTS_IN_FLIGHT: Final = 64
"""Connections started but not yet acknowledged by the broker: keeps its accept queue short."""
CONNECT_TIMEOUT_S: Final = 2.0
"""paho's TCP connect timeout; the loop blocks while it connects."""
MAX_QUEUED_PER_CLIENT: Final = 2000
"""paho's queue bound per client (in flight + waiting), far below the 65,535 MQTT packet ids."""


class Network:
    """The members' sockets, their writes, and their (re)connections.

    ``stop`` is the simulator's stop request: once set, a lost connection is not retried.
    """

    def __init__(self, counters: Counters, stop: threading.Event) -> None:
        self.counters = counters
        self._stop = stop
        self._selector = selectors.DefaultSelector()
        self._members: list[Member] = []
        self._to_write: dict[int, Member] = {}  # paho has bytes queued for these
        self._reconnects: list[tuple[float, int]] = []  # (when, member index)
        self.connecting = 0
        self._gate = 0.0  # no connection attempt before this (monotonic) time
        self._gate_backoff_s = RECONNECT_MIN_S

    def attach(self, member: Member) -> None:
        """Take over ``member``'s paho client: its socket events come to this selector."""
        client = member.client
        # A bound on paho's queue per client (in flight + waiting): a refused publish stays in
        # the outbox and goes out again after resend_after_s, as any unacked message does.
        client.max_queued_messages_set(MAX_QUEUED_PER_CLIENT)
        # The loop blocks during a TCP connect; a blackholed broker must not hold it long.
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._want_write
        client.on_socket_unregister_write = self._no_write
        client.user_data_set(member)
        member.agent.conn.when_connected(lambda: self._connected(member))
        self._members.append(member)

    @property
    def can_connect(self) -> bool:
        """Fewer connections are in progress than ``CONNECTS_IN_FLIGHT``."""
        return self.connecting < CONNECTS_IN_FLIGHT

    def connect(self, member: Member) -> None:
        """Begin connecting ``member`` now, or when the gate opens."""
        if time.monotonic() >= self._gate:
            self._open(member)
        else:
            member.reconnect_at = self._gate
            heapq.heappush(self._reconnects, (member.reconnect_at, member.index))

    def reconnect_due(self, now: float) -> None:
        """Begin the reconnections whose wait is over, as many as may be in flight."""
        while (
            self._reconnects
            and self._reconnects[0][0] <= now
            and self.can_connect
            and time.monotonic() >= self._gate
        ):
            _, index = heapq.heappop(self._reconnects)
            member = self._members[index]
            if member.reconnect_at is not None and not member.stopping:
                member.reconnect_at = None
                self._open(member)

    def next_retry(self) -> float | None:
        """When the next reconnection may begin; None when none waits."""
        if not self._reconnects:
            return None
        return max(self._reconnects[0][0], self._gate)

    def serve(self, timeout: float) -> None:
        """Wait for socket events up to ``timeout`` and let paho handle them."""
        self._flush_writes()
        blocked = all(member.write_armed for member in self._to_write.values())
        for key, mask in self._selector.select(timeout if blocked else 0.0):
            client = key.data.client
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE:
                client.loop_write()
        self._flush_writes()

    def keepalive(self) -> None:
        """Keepalive pings and timeouts (paho's ``loop_misc``) of every connected member."""
        for member in self._members:
            if member.agent.conn.connected.is_set():
                member.client.loop_misc()

    def open_sockets(self) -> int:
        """How many members still have a socket."""
        return sum(1 for member in self._members if member.client.socket() is not None)

    def close(self) -> None:
        """Close every socket and the selector."""
        for member in self._members:
            member.stopping = True
            sock = member.client.socket()
            if sock is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
                sock.close()
        self._selector.close()

    def _open(self, member: Member) -> None:
        """Connection.start() without paho's network thread: this selector owns the socket."""
        conn = member.agent.conn
        conn.open()
        self.connecting += 1
        try:
            conn.client.reconnect()
        except OSError as exc:
            self.connecting -= 1
            conn.last_error = f"cannot reach broker {conn.address.url} ({exc.strerror or exc})"
            self.counters.last_error = conn.last_error
            self._gate = time.monotonic() + self._gate_backoff_s
            self._gate_backoff_s = min(RECONNECT_MAX_S, self._gate_backoff_s * 2)
            self._retry_later(member)

    def _retry_later(self, member: Member) -> None:
        if member.stopping or self._stop.is_set():
            return
        delay = random.uniform(member.backoff_s / 2, member.backoff_s)
        member.backoff_s = min(RECONNECT_MAX_S, member.backoff_s * 2)
        member.reconnect_at = time.monotonic() + delay
        heapq.heappush(self._reconnects, (member.reconnect_at, member.index))

    def _connected(self, member: Member) -> None:
        # Runs after the agent's own on-connect: ack subscription, online status, resends.
        self.connecting = max(0, self.connecting - 1)
        member.is_connected = True
        self.counters.connected += 1
        self.counters.connects += 1
        member.backoff_s = RECONNECT_MIN_S
        self._gate_backoff_s = RECONNECT_MIN_S

    def _socket_open(self, client: Any, member: Member, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, member)

    def _socket_close(self, client: Any, member: Member, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        if member.is_connected:
            member.is_connected = False
            member.agent.conn.connected.clear()  # paho calls on_disconnect only after this
            self.counters.connected -= 1
        else:
            self.connecting = max(0, self.connecting - 1)  # refused or lost before CONNACK
        if member.agent.conn.last_error:
            self.counters.last_error = member.agent.conn.last_error
        self._retry_later(member)

    def _want_write(self, client: Any, member: Member, sock: Any) -> None:
        self._to_write[member.index] = member

    def _no_write(self, client: Any, member: Member, sock: Any) -> None:
        self._to_write.pop(member.index, None)
        if member.write_armed:
            member.write_armed = False
            self._modify(sock, selectors.EVENT_READ, member)

    def _modify(self, sock: Any, events: int, member: Member) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(sock, events, member)

    def _flush_writes(self) -> None:
        """Write what paho queued; ask epoll for writability only when a socket is full.

        Registering every socket for EVENT_WRITE at each publish (and unregistering it once
        written) costs two epoll_ctl calls per message; most writes succeed at once.
        """
        if not self._to_write:
            return
        for member in list(self._to_write.values()):
            client = member.client
            client.loop_write()  # its unregister callback drops it from _to_write when done
            if member.index in self._to_write and not member.write_armed:
                sock = client.socket()
                if sock is not None:
                    member.write_armed = True
                    self._modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, member)
