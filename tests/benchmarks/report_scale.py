"""``wardwatch report`` on a city's month: 2,000 machines in 20 wards, 30 days of one-minute
reports, each with three videoconference rounds (hub, MCU, Internet).

Half a billion raw points cannot be written here in a benchmark's time (about 150,000 points/s:
an hour), and the report does not read them: it reads the hourly rollups the collector keeps
(``wardwatch.collector.inspection.rollup``). So the month is written as the collector leaves
it: the rollups of every hour (what 60 reports an hour make: 4.3 million link-hours, 1.4
million machine-hours), each machine's daily verdicts, and the raw one-minute points of the
hours the report itself reads raw (the first, to check the rollups are complete, and the last
two, which it refreshes). A ward's MCU path is bad, another's hub degraded.

Measured: the report (``gather``: every statement, the refresh of the last two hours from raw
one-minute points, the model), best of two, then each format; and what the collector spends
keeping the rollups: one hour of the whole city refreshed from its raw points.
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
from wardwatch.collector.inspection import gather, html, pdf, rollup, xlsx
from wardwatch.collector.inspection.model import Inspection
from wardwatch.collector.inspection.queries import Reader, Scope

MACHINES = 2000
WARDS = 20
DAYS = 30
KINDS = ("hub", "mcu", "internet")
BATCH = 10_000


@dataclass(frozen=True)
class Result:
    """The month written, the report's times, and the collector's hourly refresh."""

    points: int
    write_s: float
    gather_s: float
    xlsx_s: float
    html_s: float
    pdf_s: float
    pages: int
    refresh_hour_s: float
    raw_hour_points: int


def _tags(machine: int) -> str:
    return f"agent=pc{machine:04d},site=ward-{machine % WARDS:02d}"


def _rank(machine: int, kind: str) -> int:
    ward = machine % WARDS
    return 2 if (kind == "mcu" and ward == 1) else 1 if (kind == "hub" and ward == 2) else 0


def _verdicts(machine: int, at: int) -> list[str]:
    tags = f"{_tags(machine)},device_class=desktop,role=office-pc"
    old = machine % 3 == 0
    hw = (
        f'lifecycle="{"overdue" if old else "ok"}",rank={3 if old else 0}i,'
        f"days_left={-900 if old else 700}i,age_years={8.5 if old else 2.1},"
        f'since="{"2018-05-01" if old else "2024-10-01"}",age_source="bios",'
        f'age_confidence="high",end_date="{"2023-05-01" if old else "2029-10-01"}",'
        f'manufacturer="Dell Inc.",model="OptiPlex 3020",serial="SN{machine}",'
        f'reason="BIOS release date"'
    )
    os = 'support="overdue",rank=3i,name="Windows",version="7",release="7 SP1"'
    return [f"hardware,{tags} {hw} {at}", f"os,{tags} {os} {at}"]


def _hour_rollups(machine: int, at: int) -> list[str]:
    lines = [f"agent_1h,{_tags(machine)} reports=60i,interval_sum=3600i {at}"]
    for kind in KINDS:
        rank = _rank(machine, kind)
        lines.append(
            f"link_1h,{_tags(machine)},kind={kind},target={kind}-1 rounds=60i,ranks={60 * rank}i,"
            f"{'bad=60i,' if rank == 2 else ''}loss_sum={600.0 if rank == 2 else 0.0},loss_n=60i,"
            f"rtt_sum={60 * (450.0 if rank == 1 else 25.0)},rtt_n=60i,jitter_sum=180.0,"
            f"jitter_n=60i {at}"
        )
    return lines


def _raw_minutes(machine: int, hour: datetime) -> list[str]:
    lines = []
    for minute in range(60):
        at = time_ns(hour + timedelta(minutes=minute))
        lines.append(f"agent,{_tags(machine)} interval_s=60i {at}")
        for kind in KINDS:
            rank = _rank(machine, kind)
            lines.append(
                f"link,{_tags(machine)},kind={kind},target={kind}-1 rank={rank}i,"
                f"loss_pct={10.0 if rank == 2 else 0.0},rtt_avg_ms={450.0 if rank == 1 else 25.0},"
                f"jitter_ms=3.0 {at}"
            )
    return lines


def _site_rollups(hour: int) -> list[str]:
    lines = []
    for ward in range(WARDS):
        machines = len(range(ward, MACHINES, WARDS))
        for kind in KINDS:
            rank = 2 if (kind == "mcu" and ward == 1) else 1 if (kind == "hub" and ward == 2) else 0
            rounds = 60 * machines
            bad = f",bad={rounds}i" if rank == 2 else ""
            lines.append(
                f"link_site_1h,site=ward-{ward:02d},kind={kind} rounds={rounds}i,"
                f"ranks={rounds * rank}i{bad} {hour}"
            )
    return lines


def _fill(section: InfluxSection, start: datetime, end: datetime) -> int:
    hours = [start + rollup.HOUR * i for i in range((end - start) // rollup.HOUR)]
    raw_hours = [hours[0], hours[-2], hours[-1]]

    def part(which: int) -> int:
        writer, lines, written = V1Writer(section), [], 0
        for machine in range(which, MACHINES, 2):
            for hour in hours:
                at = time_ns(hour)
                lines += _hour_rollups(machine, at)
                if hour.hour == 0:
                    lines += _verdicts(machine, at)
            lines += _verdicts(machine, time_ns(hours[-1]))
            for hour in raw_hours:
                lines += _raw_minutes(machine, hour)
            if len(lines) >= BATCH:
                writer.write(lines)
                written, lines = written + len(lines), []
        if which == 0:
            lines += [line for hour in hours for line in _site_rollups(time_ns(hour))]
        writer.write(lines)
        writer.close()
        return written + len(lines)

    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(part, (0, 1)))


def _formats(report: Inspection) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        xlsx.write(report, Path(tmp) / "r.xlsx")
        xlsx_s = time.perf_counter() - started
        started = time.perf_counter()
        page = html.render(report)
        html_s = time.perf_counter() - started
        started = time.perf_counter()
        pdf.print_pdf(page, Path(tmp) / "r.pdf")
        pdf_s = time.perf_counter() - started
        pages = (Path(tmp) / "r.pdf").read_bytes().count(b"/Type /Page\n")
        pages = pages or (Path(tmp) / "r.pdf").read_bytes().count(b"/Type/Page")
    return xlsx_s, html_s, pdf_s, pages


def measure(influx: Influxd) -> Result:
    """Write the month, time the report and the collector's refresh of one hour."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    influx.query('CREATE DATABASE "report_month"')
    section = InfluxSection(url=influx.url, database="report_month", timeout_s=300)
    print(f"bench: report, {MACHINES:,} machines x {DAYS} days of one-minute reports", flush=True)
    started = time.perf_counter()
    points = _fill(section, start, end + rollup.HOUR)
    written = time.perf_counter() - started
    best, report = float("inf"), None
    for _ in range(2):
        client = QueryClient(section)
        started = time.perf_counter()
        report = gather.gather(
            Reader(client, Scope(start, end + timedelta(minutes=59)), lambda _: None),
            gather.Options(city="bench", language="vi", policy="vn-tt23-2023",
                           horizon_months=12, prices={"desktop": 15_000_000},
                           prices_are_examples=True, now=end),
        )  # fmt: skip
        best = min(best, time.perf_counter() - started)
        client.close()
    assert report is not None and len(report.machines) == MACHINES
    client = QueryClient(section)
    started = time.perf_counter()
    rollup.refresh(client, [end])  # the last hour: 60 one-minute reports of every machine
    refresh_s = time.perf_counter() - started
    client.close()
    influx.query('DROP DATABASE "report_month"')
    raw_hour = MACHINES * 60 * (1 + len(KINDS))
    return Result(points, written, best, *_formats(report), refresh_s, raw_hour)


def render(r: Result) -> list[str]:
    """The measurement as markdown."""
    raw = MACHINES * DAYS * 24 * 60 * (1 + len(KINDS))
    return [
        f"{MACHINES:,} machines, {WARDS} wards, {DAYS} days of one-minute reports with 3 "
        f"videoconference rounds each ({raw:,} raw agent and link points), as the collector "
        f"leaves them: hourly rollups and the raw minutes of three hours ({r.points:,} points "
        f"written in {r.write_s:.0f} s).",
        "",
        "| | time | goal |",
        "|---|---|---|",
        f"| the report (every query, the last two hours rolled up from raw, the model), best "
        f"of two | **{r.gather_s:.1f} s** | < 60 s |",
        f"| then the workbook (xlsx) | {r.xlsx_s:.1f} s | |",
        f"| or the web page (html) | {r.html_s:.1f} s | |",
        f"| or the PDF ({r.pages} pages, headless Chromium) | {r.pdf_s:.1f} s | |",
        f"| the collector: one hour of the city rolled up ({r.raw_hour_points:,} raw points), "
        f"each minute for the current hour | {r.refresh_hour_s:.2f} s | |",
    ]
