"""Watch every end-to-end ack on the broker and note when each stored message was acked.

Runs as its own process, so the time an ack is seen does not wait for the simulator's loop:

    python -m tests.benchmarks.ackwatch mqtt://127.0.0.1:1883 acks.txt

prints ``ready`` once subscribed, then appends ``<time.time()> <message id>`` per stored id to
the file (flushed every 0.2 s) until SIGTERM. The collector sends an ack only after InfluxDB
answered 204 to the write holding the message, and InfluxDB 1.x answers queries from what it
acknowledged, so this time is an upper bound of "queryable" (by one broker hop).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from wardwatch.common.mqtt import BrokerAddress
from wardwatch.contract import wire


class _StoredIds(msgspec.Struct):
    stored: list[str] = msgspec.field(default_factory=list)


_decode = msgspec.json.Decoder(_StoredIds).decode


def main(argv: list[str]) -> int:
    url, out = argv
    address = BrokerAddress(url)
    stop = threading.Event()
    subscribed = threading.Event()
    lines: list[str] = []
    lock = threading.Lock()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        at = time.time()
        try:  # only the ids: this process shares the CPU with what it measures
            ack = _decode(message.payload)
        except msgspec.DecodeError:
            return
        with lock:
            lines.extend(f"{at:.6f} {message_id}\n" for message_id in ack.stored)

    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-ackwatch-{time.time_ns()}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe(wire.subscription("ack"), qos=1)
    client.connect(address.host, address.port, keepalive=60)
    client.loop_start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if not subscribed.wait(20):
        return 1
    print("ready", flush=True)
    with Path(out).open("a") as f:
        while True:
            stopping = stop.wait(0.2)
            with lock:
                pending, lines[:] = lines[:], []
            f.writelines(pending)
            f.flush()
            if stopping:
                break
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
