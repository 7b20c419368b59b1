"""``wardwatch report`` on a city's month: 2,000 machines in 20 wards, 30 days, side by side at
growing report densities, to see how the report's time grows with the raw points it reads.

Each report writes what a real one stores for the report's queries: an ``agent`` point, the
``hardware`` and ``os`` verdicts and three link rounds (hub, MCU, Internet); a link is bad on
one ward's MCU path, degraded on another's hub. The lines are written straight from templates
(the collector's own encoder would take longer than the measurement). Times are of
``gather`` (every InfluxQL statement and the model), best of two, and of writing each format.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.influx.writer import V1Writer
from wardwatch.collector.inspection import gather, html, pdf, xlsx
from wardwatch.collector.inspection.queries import Reader, Scope

MACHINES = 2000
WARDS = 20
DAYS = 30
BATCH = 10_000


@dataclass(frozen=True)
class Run:
    """One density: its points, and the report's times."""

    interval_min: int
    points: int
    write_s: float
    gather_s: float
    xlsx_s: float
    html_s: float
    pdf_s: float


def _lines(machine: int, at_ns: int) -> list[str]:
    site = f"ward-{machine % WARDS:02d}"
    tags = f"agent=pc{machine:04d},device_class=desktop,role=office-pc,site={site}"
    old = machine % 3 == 0
    hw = (
        f'lifecycle="{"overdue" if old else "ok"}",rank={3 if old else 0}i,'
        f"days_left={-900 if old else 700}i,age_years={8.5 if old else 2.1},"
        f'since="{"2018-05-01" if old else "2024-10-01"}",age_source="bios",'
        f'age_confidence="high",end_date="{"2023-05-01" if old else "2029-10-01"}",'
        f'manufacturer="Dell Inc.",model="OptiPlex 3020",serial="SN{machine}",'
        f'reason="BIOS release date"'
    )
    os = (
        'support="overdue",rank=3i,name="Windows",version="7",release="7 SP1",eol_date="2020-01-14"'
    )
    lines = [
        f"agent,{tags} interval_s=60i {at_ns}",
        f"hardware,{tags} {hw} {at_ns}",
        f"os,{tags} {os} {at_ns}",
    ]
    for kind in ("hub", "mcu", "internet"):
        rank = (
            2
            if (kind == "mcu" and machine % WARDS == 1)
            else 1
            if (kind == "hub" and machine % WARDS == 2)
            else 0
        )
        lines.append(
            f"link,{tags},kind={kind},target={kind}-1 rank={rank}i,"
            f"loss_pct={10.0 if rank == 2 else 0.0},rtt_avg_ms={450.0 if rank == 1 else 25.0},"
            f"jitter_ms=3.0 {at_ns}"
        )
    return lines


def _fill(section: InfluxSection, end: datetime, interval_min: int) -> int:
    start = end - timedelta(days=DAYS)
    steps = DAYS * 24 * 60 // interval_min

    def machines(part: int) -> int:
        writer = V1Writer(section)
        lines: list[str] = []
        written = 0
        for machine in range(part, MACHINES, 2):
            for step in range(1, steps + 1):
                lines += _lines(machine, time_ns(start + timedelta(minutes=step * interval_min)))
                if len(lines) >= BATCH:
                    writer.write(lines)
                    written, lines = written + len(lines), []
        writer.write(lines)
        writer.close()
        return written + len(lines)

    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(machines, (0, 1)))


def measure(influx: Influxd, densities: tuple[int, ...]) -> list[Run]:
    """Fill one database per report interval (minutes), then time the report on it."""
    runs = []
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for interval in densities:
        database = f"report_{interval}min"
        influx.query(f'CREATE DATABASE "{database}"')
        section = InfluxSection(url=influx.url, database=database, timeout_s=300)
        print(
            f"bench: report, {MACHINES:,} machines x {DAYS} days every {interval} min", flush=True
        )
        started = time.perf_counter()
        points = _fill(section, end, interval)
        written = time.perf_counter() - started
        best, report = float("inf"), None
        for _ in range(2):
            client = QueryClient(section)
            started = time.perf_counter()
            report = gather.gather(
                Reader(client, Scope(end - timedelta(days=DAYS), end), lambda _: None),
                gather.Options(city="bench", language="vi", policy="vn-tt23-2023",
                               horizon_months=12, prices={"desktop": 15_000_000},
                               prices_are_examples=True, now=end),
            )  # fmt: skip
            best = min(best, time.perf_counter() - started)
            client.close()
        assert report is not None and len(report.machines) == MACHINES
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            xlsx.write(report, Path(tmp) / "r.xlsx")
            xlsx_s = time.perf_counter() - started
            started = time.perf_counter()
            page = html.render(report)
            (Path(tmp) / "r.html").write_text(page, encoding="utf-8")
            html_s = time.perf_counter() - started
            started = time.perf_counter()
            pdf.print_pdf(page, Path(tmp) / "r.pdf")
            pdf_s = time.perf_counter() - started
        runs.append(Run(interval, points, written, best, xlsx_s, html_s, pdf_s))
        influx.query(f'DROP DATABASE "{database}"')
    return runs


def render(runs: list[Run]) -> list[str]:
    """A markdown table: each density's points, the report's time and its time per million
    points, against the sparsest's; then what the measured cost per point says of one-minute
    reports, which are not written here (at the measured write rate they would take longer
    than the whole benchmark)."""
    base = runs[0].gather_s / runs[0].points
    lines = [
        f"{MACHINES:,} machines, {WARDS} wards, {DAYS} days; per report 6 points (agent, "
        "hardware, os, 3 link rounds). Report: every query and the model, best of two; then "
        "each format written from it.",
        "",
        "| reports every | points | written in | report (gather) | per M points | vs sparsest "
        "| xlsx | html | pdf |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.interval_min} min | {r.points:,} | {r.write_s:.0f} s | {r.gather_s:.1f} s "
            f"| {r.gather_s / r.points * 1e6:.2f} s | {r.gather_s / r.points / base:.2f}x "
            f"| {r.xlsx_s:.1f} s | {r.html_s:.1f} s | {r.pdf_s:.1f} s |"
        )
    densest = runs[-1]
    minute_points = densest.points * densest.interval_min
    if len(runs) > 1:
        # The cost is a fixed part plus a part per point: the line through the two densest.
        other = runs[-2]
        slope = (densest.gather_s - other.gather_s) / (densest.points - other.points)
        fixed = densest.gather_s - slope * densest.points
        at_minute = f"{fixed + slope * minute_points:.0f} s ({fixed:.1f} s + {slope * 1e6:.2f} s"
        at_minute += " per million points, the line through the two runs)"
    else:
        at_minute = f"{densest.gather_s * densest.interval_min:.0f} s (its cost per point)"
    lines += [
        "",
        f"One-minute reports would be {minute_points:,} points; the report would take about "
        f"{at_minute}: an extrapolation, not a measurement (writing them takes about "
        f"{densest.write_s * densest.interval_min / 60:.0f} min here). The goal, under a minute, "
        "needs the report to read rounds pre-aggregated as they arrive rather than raw ones.",
    ]
    return lines
