"""InfluxDB's own ingest ceiling for wardwatch's points: big batches from a fast writer.

The points are the collector's own (``ingest.points.to_points`` and ``influx.lineproto.encode_all``
on simulator reports), encoded before the clock starts and sent by ``influx.writer.V1Writer`` in
requests of ``BATCH_LINES`` lines from ``WRITERS``
threads, so the figure is what InfluxDB can take, not what Python can encode.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from tests.benchmarks.common import CpuMeter
from wardwatch.collector.config import InfluxSection, LifecycleSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.lineproto import encode_all
from wardwatch.collector.influx.writer import V1Writer
from wardwatch.collector.ingest.points import to_points
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.collector.simulator.fleet import build_fleet
from wardwatch.collector.simulator.readings import sample_reports

BATCH_LINES = 5000
WRITERS = 2
SHIFT_NS = 3600 * 10**9  # each pass is an hour older than the previous: no overwrites


@dataclass
class Ceiling:
    points: int
    seconds: float
    fields_per_point: float
    cpu: CpuMeter

    @property
    def points_per_s(self) -> float:
        return self.points / self.seconds


def _shifted(lines: list[str], offset_ns: int) -> list[str]:
    out = []
    for line in lines:
        head, _, stamp = line.rpartition(" ")
        out.append(f"{head} {int(stamp) - offset_ns}")
    return out


def measure(
    influx: Influxd, *, agents: int = 1000, reports: int = 50_000, passes: int = 4, bench_pid: int
) -> Ceiling:
    """Write ``passes`` x ``reports`` reports' points as fast as InfluxDB takes them."""
    database = "ceiling"
    influx.query(f'CREATE DATABASE "{database}"')
    fleet = build_fleet(agents, 21, seed=1)
    made = sample_reports(fleet, reports, seed=1)
    judge = Lifecycle(LifecycleSection()).judge
    points = [p for report in made for p in to_points(report, report.sent_at, judge=judge)]
    base = encode_all(points)
    fields = sum(len(p.fields) for p in points) / len(points)
    chunks: queue.Queue[list[str]] = queue.Queue()
    for number in range(passes):
        lines = base if number == 0 else _shifted(base, number * SHIFT_NS)
        for i in range(0, len(lines), BATCH_LINES):
            chunks.put(lines[i : i + BATCH_LINES])
    total = len(base) * passes
    cfg = InfluxSection(url=influx.url, database=database, timeout_s=60)
    writers = [V1Writer(cfg) for _ in range(WRITERS)]
    writers[0].write(chunks.get())  # connection and shard creation outside the clock
    total -= BATCH_LINES
    errors: list[BaseException] = []

    def drain(writer: V1Writer) -> None:
        try:
            while True:
                try:
                    chunk = chunks.get_nowait()
                except queue.Empty:
                    return
                writer.write(chunk)
        except BaseException as exc:
            errors.append(exc)

    assert influx.pid is not None
    cpu = CpuMeter({"influxd": influx.pid, "writer (bench)": bench_pid})
    threads = [threading.Thread(target=drain, args=(w,)) for w in writers]
    cpu.start()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu.stop()
    for writer in writers:
        writer.close()
    if errors:
        raise errors[0]
    (row,) = influx.query('SELECT count("cpu_pct") FROM "host"', database)
    expected = sum(p.measurement == "host" for p in points) * passes
    if row.values["count"] != expected:
        raise AssertionError(f"ceiling: {row.values['count']} host points stored, {expected} sent")
    return Ceiling(total, seconds, fields, cpu)
