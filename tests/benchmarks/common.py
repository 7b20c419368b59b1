"""Shared plumbing of the benchmarks: the production broker limits, processes, CPU, facts."""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import psutil
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support import programs, repo
from wardwatch.collector.broker import setup
from wardwatch.common.mqtt import BrokerAddress
from wardwatch.contract import wire

ROOT = repo.ROOT
PRODUCTION_BROKER_CONF = setup.TEMPLATE
"""What ``wardwatch broker init`` writes as mosquitto.conf (its listener lines are templates)."""
# The production settings that shape throughput; listeners, logins and paths stay local. The
# byte bounds against one agent's flood (max_inflight_bytes, max_queued_bytes) are
# left out: the drain step's backlog of 31,000 reports (about 90 MB), built while no collector
# runs, is more than max_queued_bytes keeps by design (the outboxes would resend the rest, but
# the drain is timed with the simulator paused). tests/test_flood.py measures those bounds.
BROKER_LIMITS = ("max_queued_messages", "max_inflight_messages", "max_packet_size")


def production_broker_limits() -> str:
    """The queue and in-flight limits of the broker ``wardwatch broker init`` writes, as conf
    lines.

    Its ``autosave_interval`` comes too: the local stack's 1 s would make the broker write
    its whole queue to disk every second, which production does not do.
    """
    lines = []
    for line in PRODUCTION_BROKER_CONF.read_text().splitlines():
        key = line.split("#", 1)[0].split()
        if key and key[0] in (*BROKER_LIMITS, "autosave_interval"):
            lines.append(" ".join(key))
    missing = [k for k in BROKER_LIMITS if not any(line.startswith(k) for line in lines)]
    if missing:
        raise RuntimeError(f"{PRODUCTION_BROKER_CONF} no longer sets {', '.join(missing)}")
    return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class CpuMeter:
    """CPU time of named processes between ``start()`` and ``stop()``."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._start: dict[str, float] = {}
        self._started_at = 0.0
        self.seconds: dict[str, float] = {}
        self.wall_s = 0.0

    def start(self) -> None:
        self._started_at = time.monotonic()
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> None:
        self.wall_s = time.monotonic() - self._started_at
        self.seconds = {
            name: cpu_seconds(pid) - self._start[name] for name, pid in self.pids.items()
        }

    def percent(self, name: str) -> float:
        """Share of one core the process used, in %."""
        return 100 * self.seconds[name] / self.wall_s if self.wall_s else 0.0

    def shares(self) -> str:
        """``collector 48%, mosquitto 10%, ...`` (of one core each; this machine has N)."""
        return ", ".join(f"{name} {self.percent(name):.0f}%" for name in self.pids)


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if (done.stdout or done.stderr)
        else "?"
    )


def machine_facts() -> dict[str, str]:
    """What the figures depend on: date, cores, CPU, memory and component versions."""
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import paho.mqtt

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "influxdb": _first_line(["influxd", "version"]),
        "mosquitto": _first_line(["mosquitto", "-h"]),
        "paho-mqtt": paho.mqtt.__version__,
    }


@dataclass
class CollectorProcess:
    """``python -m wardwatch.collector.ingest.main`` with its config and log in ``workdir``."""

    workdir: Path
    mqtt_url: str
    influx_url: str
    database: str
    client_id: str = "bench-collector"
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def config_path(self) -> Path:
        return self.workdir / "collector.toml"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"collector-{self.runs}.log"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start it with the production batch defaults; return once it has subscribed."""
        self.spawn()
        self.wait_subscribed(timeout_s)

    def spawn(self) -> None:
        """Start it with the production batch defaults; return at once."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            f'[mqtt]\nurl = "{self.mqtt_url}"\nclient_id = "{self.client_id}"\n'
            f'[influx]\nurl = "{self.influx_url}"\ndatabase = "{self.database}"\n'
        )
        self.runs += 1
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *programs.COLLECTOR,
                    "--config",
                    str(self.config_path),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_subscribed(self, timeout_s: float = 30.0) -> None:
        """Return once its log says it subscribed."""
        self.wait_log("subscribed; receiving", timeout_s)

    def wait_connected(self, timeout_s: float = 30.0) -> None:
        """Return once its log says the broker accepted its connection (its CONNACK, which a
        persistent session's queued messages follow at once)."""
        self.wait_log("connected to", timeout_s)

    def wait_log(self, text: str, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while text not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"collector: no {text!r} in its log:\n{self.log_path.read_text()}"
                )
            time.sleep(0.01)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> dict[str, int]:
        """SIGTERM, wait; return the counters of its last log line (received, stored, ...)."""
        if self.process is None:
            return {}
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        stats: dict[str, int] = {}
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "stopped:" in line:
                stats = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
        return stats


class AckWatch:
    """``tests.benchmarks.ackwatch`` in its own process: when each stored id was acked."""

    def __init__(self, mqtt_url: str, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.ackwatch", mqtt_url, str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the ack watcher did not subscribe")
        self._ids: set[bytes] = set()
        self._offset = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def count(self) -> int:
        """Distinct stored ids seen so far (read incrementally from its file).

        Distinct: a collector that (re)subscribes receives every retained inventory again and
        acks it again.
        """
        with self.out.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk.rfind(b"\n") + 1
        self._offset += complete
        self._ids.update(line.partition(b" ")[2] for line in chunk[:complete].splitlines())
        return len(self._ids)

    def stop(self) -> dict[str, float]:
        """Stop it; return id -> time.time() its first ack arrived."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        acked: dict[str, float] = {}
        for line in self.out.read_text().splitlines():
            at, _, message_id = line.partition(" ")
            acked.setdefault(message_id, float(at))
        return acked


def end_session(mqtt_url: str, client_id: str) -> None:
    """Remove a client's persistent session (and its subscriptions) from the broker: connect
    with its id, a clean start and no session expiry, and leave."""
    address = BrokerAddress(mqtt_url)
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    client.connect(address.host, address.port, clean_start=True, properties=properties)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.02)
    client.disconnect()
    client.loop_stop()


def epoch(moment: datetime) -> float:
    """A timestamp as ``time.time()`` gives it."""
    return moment.timestamp()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def now_iso() -> str:
    return wire.now().isoformat(timespec="seconds")
