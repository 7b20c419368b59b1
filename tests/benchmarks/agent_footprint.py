"""The agent's resident memory and CPU over an hour's worth of cycles, against a bare floor.

Starts ``wardwatch-agent`` as a ward PC runs it (the ``wardwatch-agent`` wheel, built from a
copy of the checkout and installed into a fresh virtualenv) with a 1 s interval for ``--cycles``
reports (60 = one hour at the default 60 s interval) against a broker, InfluxDB and an in-process
collector, and compares its RSS and CPU time per cycle with a bare Python process of the same
virtualenv that only imports psutil and paho-mqtt.
``make bench`` runs it as part of ``tests.benchmarks.run_all``; alone (its own services):

    .venv/bin/python -m tests.benchmarks.agent_footprint [--cycles 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support import wheels
from tests.support.helpers import collector_config, running_collector, wait_until
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port

FLOOR = "import psutil, paho.mqtt.client, time; time.sleep(30)"


@dataclass
class Footprint:
    cycles: int
    first_rss_mb: float
    last_rss_mb: float
    floor_rss_mb: float
    cpu_per_cycle_ms: float

    @property
    def ratio(self) -> float:
        return self.last_rss_mb / self.floor_rss_mb

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("agent RSS after first report", f"{self.first_rss_mb:.1f} MiB"),
            (f"agent RSS after {self.cycles} cycles", f"{self.last_rss_mb:.1f} MiB"),
            ("floor RSS (python + psutil + paho)", f"{self.floor_rss_mb:.1f} MiB"),
            ("agent / floor", f"{self.ratio:.2f}x"),
            ("agent CPU per cycle", f"{self.cpu_per_cycle_ms:.2f} ms"),
        ]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MiB."""
    return psutil.Process(pid).memory_info().rss / 1024 / 1024


def floor_rss_mb(python: Path) -> float:
    """RSS of a Python process that has imported only what the agent cannot do without."""
    process = subprocess.Popen([str(python), "-c", FLOOR])
    try:
        time.sleep(2)
        return rss_mb(process.pid)
    finally:
        process.kill()
        process.wait()


def measure(
    work: Path, broker: Mosquitto, influx: Influxd, cycles: int, progress: bool = True
) -> Footprint:
    """Run the agent for ``cycles`` reports against running services; measure it."""
    if progress:
        print("installing the agent's wheel into a fresh virtualenv...", file=sys.stderr)
    wheel = wheels.build(wheels.copy_checkout(work / "checkout"), "wardwatch-agent", work / "w")
    bin_dir = wheels.venv_with(wheel, work / "venv")
    database = "footprint"
    influx.query(f'CREATE DATABASE "{database}"')
    cfg = collector_config(broker.url, influx.url, database, mqtt={"client_id": "footprint"})
    with running_collector(cfg) as collector:
        config = work / "agent.toml"
        config.write_text(
            f'[agent]\nid = "bench-pc"\ninterval_s = 1\n[mqtt]\nurl = "{broker.url}"\n'
            f'[outbox]\npath = "{work / "outbox.sqlite3"}"\n'
        )
        agent = subprocess.Popen(
            [str(bin_dir / "wardwatch-agent"), "--config", str(config)],
            stderr=subprocess.DEVNULL,
        )
        try:
            process = psutil.Process(agent.pid)
            wait_until(lambda: collector.stats.stored >= 2, what="first report")
            first_rss = rss_mb(agent.pid)
            cpu_start = sum(process.cpu_times()[:2])
            stored_start = collector.stats.stored
            while collector.stats.stored - stored_start < cycles:
                if progress:
                    print(
                        f"\r{collector.stats.stored - stored_start}/{cycles} cycles",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
                time.sleep(1)
            if progress:
                print(file=sys.stderr)
            done = collector.stats.stored - stored_start
            cpu_per_cycle_ms = (sum(process.cpu_times()[:2]) - cpu_start) / done * 1000
            last_rss = rss_mb(agent.pid)
        finally:
            agent.terminate()
            agent.wait(30)
    return Footprint(done, first_rss, last_rss, floor_rss_mb(bin_dir / "python"), cpu_per_cycle_ms)


def main() -> int:
    """Measure with services of its own and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60, help="reports to run (default 60)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with (
            Mosquitto(work / "mqtt", free_port()) as broker,
            Influxd(work / "influx", free_port()) as influx,
        ):
            result = measure(work, broker, influx, args.cycles)
    rows = result.rows()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
