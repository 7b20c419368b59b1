"""Talking to the running broker's dynamic security plugin, as its admin.

The plugin takes commands as JSON on ``$CONTROL/dynamic-security/v1`` and answers on
``…/response``; each command carries a ``correlationData`` that its answer repeats. ``Control``
sends a batch and waits for every answer, so a change is known applied (or refused, with the
plugin's reason) before the command line says so.
"""

from __future__ import annotations

import json
import threading
import time
from types import TracebackType
from typing import Any, Self

from wardwatch.collector.broker import dynsec
from wardwatch.common.mqtt import Connection
from wardwatch.contract import wire

TIMEOUT_S = 10.0


class ControlError(Exception):
    """The broker could not be reached, refused the admin, or refused a command."""


class Control:
    """An admin session on the broker: ``run`` plugin commands, ``publish`` and wait for acks.

    Used as a context manager: connects (``ControlError`` if it cannot within ``timeout_s``),
    subscribes to the answers, and disconnects at exit.
    """

    def __init__(
        self, url: str, username: str, password: str, *, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.timeout_s = timeout_s
        self.conn = Connection(
            url=url,
            client_id=username,
            username=username,
            password=password,
            ca_file="",
            keepalive_s=30,
            session_expiry_s=0,
        )
        self._answers: dict[str, dict[str, Any]] = {}
        self._acked: set[str] = set()
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.conn.client.on_message = self._on_message
        self.conn.client.on_subscribe = lambda *_: self._subscribed.set()

    def __enter__(self) -> Self:
        self.conn.start()
        deadline = time.monotonic() + self.timeout_s
        # The first failure is the answer: a command line should not retry for the user.
        while not self.conn.wait_connected(0.1) and not self.conn.last_error:
            if time.monotonic() > deadline:
                break
        if not self.conn.connected.is_set():
            self.conn.stop()
            error = self.conn.last_error or "no answer"
            raise ControlError(f"cannot log in to the broker as its admin: {error}")
        self.conn.client.subscribe([(dynsec.RESPONSE_TOPIC, 1), (wire.topic("+", "ack"), 1)])
        if not self._subscribed.wait(self.timeout_s):
            raise ControlError("the broker did not answer the admin's subscription")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.conn.stop()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        with self._changed:
            if message.topic == dynsec.RESPONSE_TOPIC:
                for answer in body.get("responses", []):
                    self._answers[str(answer.get("correlationData"))] = answer
            else:
                self._acked.update(str(i) for i in body.get("stored", []))
            self._changed.notify_all()

    def run(self, *commands: dict[str, Any], tolerate: tuple[str, ...] = ()) -> list[Any]:
        """Send ``commands`` in one batch; return each answer's ``data`` (None if none).

        Raises ControlError naming the first command refused, unless its error contains one of
        ``tolerate`` (e.g. "not found", for a removal that may have half happened before).
        """
        sent = []
        for command in commands:
            ident = wire.new_message_id()
            sent.append({**command, "correlationData": ident})
        payload = json.dumps({"commands": sent}).encode()
        self.conn.client.publish(dynsec.CONTROL_TOPIC, payload, qos=1)
        wanted = [command["correlationData"] for command in sent]
        with self._changed:
            if not self._changed.wait_for(
                lambda: all(w in self._answers for w in wanted), self.timeout_s
            ):
                raise ControlError("the broker's security plugin did not answer in time")
            answers = [self._answers.pop(w) for w in wanted]
        for command, answer in zip(sent, answers, strict=True):
            error = answer.get("error")
            if error and not any(t in error for t in tolerate):
                raise ControlError(f"{command['command']}: {error}")
        return [answer.get("data") for answer in answers]

    def publish(self, topic: str, payload: bytes, message_id: str) -> bool:
        """Publish at QoS 1 and wait for a collector's ack of ``message_id``; True if it came."""
        self.conn.client.publish(topic, payload, qos=1)
        with self._changed:
            return self._changed.wait_for(lambda: message_id in self._acked, self.timeout_s)
