"""``wardwatch status`` against fleets of growing size, in one InfluxDB, side by side.

Each machine has an hour of one-minute reports (its ``host`` and ``agent`` points) and a status;
``fleet_status`` (the command's three InfluxQL queries and the table's rows) is timed on 300,
3,000 and 10,000 machines. The per-machine cost should stay flat: the queries take each
series' last point, so the time grows with the number of machines, never with their history.
Before issue 11, one agent's login could add 100,000 invented machines; the collector's
``[limits]`` now bound what one agent adds to ``max_targets_per_agent`` endpoints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import msgspec

from wardwatch.collector.cli.status import fleet_status
from wardwatch.collector.config import InfluxSection, LifecycleSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.lineproto import encode_all
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.influx.writer import V1Writer
from wardwatch.collector.ingest.points import online, status_points, to_points
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.collector.simulator.fleet import build_fleet
from wardwatch.collector.simulator.readings import sample_reports
from wardwatch.contract import wire

SIZES = (300, 3000, 10_000)
REPORTS_PER_MACHINE = 60


@dataclass(frozen=True)
class Timing:
    """``fleet_status`` on one fleet size."""

    machines: int
    rows: int
    seconds: float

    @property
    def us_per_machine(self) -> float:
        return self.seconds / self.machines * 1e6


def _fill(influx: Influxd, database: str, machines: int) -> None:
    influx.query(f'CREATE DATABASE "{database}"')
    writer = V1Writer(InfluxSection(url=influx.url, database=database))
    judge = Lifecycle(LifecycleSection()).judge
    now = wire.now()
    reports = sample_reports(build_fleet(machines, 21, seed=3), machines, seed=3)
    for report in reports:
        lines: list[str] = []
        for minute in range(REPORTS_PER_MACHINE):
            at = now - timedelta(minutes=minute)
            # Only the host and agent points: the verdicts do not change what status reads.
            facts = [f for f in report.facts if isinstance(f, wire.HostFacts)]
            message = msgspec.structs.replace(report, measured_at=at, sent_at=at, facts=facts)
            lines += encode_all(to_points(message, at, judge=judge))
        lines += encode_all(status_points(online(report, now - timedelta(hours=1), 1), now))
        writer.write(lines)
    writer.close()


def measure(influx: Influxd) -> list[Timing]:
    """Fill one database per size, then time ``fleet_status`` on each (best of three)."""
    timings = []
    for machines in SIZES:
        database = f"status_{machines}"
        print(f"bench: status, {machines:,} machines", flush=True)
        _fill(influx, database, machines)
        client = QueryClient(InfluxSection(url=influx.url, database=database))
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            rows = fleet_status(client)
            best = min(best, time.perf_counter() - started)
        client.close()
        timings.append(Timing(machines, len(rows), best))
    return timings


def render(timings: list[Timing]) -> list[str]:
    """A markdown table, with each size's cost per machine against the smallest's."""
    base = timings[0].us_per_machine
    lines = [
        f"Each machine: {REPORTS_PER_MACHINE} one-minute reports and a status; best of three.",
        "",
        "| machines | rows | `wardwatch status` | per machine | per machine vs 300 |",
        "|---|---|---|---|---|",
    ]
    for t in timings:
        lines.append(
            f"| {t.machines:,} | {t.rows:,} | {t.seconds:.2f} s | {t.us_per_machine:.0f} us "
            f"| {t.us_per_machine / base:.2f}x |"
        )
    return lines
