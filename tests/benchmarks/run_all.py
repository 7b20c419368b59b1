"""``make bench``: every wardwatch benchmark in one run, side by side, on this machine.

Starts Mosquitto (with the queue and in-flight limits of the broker ``wardwatch broker init``
writes) and InfluxDB in a temporary directory on 127.0.0.1, then measures, in order:

1. InfluxDB's own ingest ceiling for wardwatch's points (``tests.benchmarks.ceiling``);
2. the collector's throughput, live rates, end-to-end latency and CPU per report, with the
   fleet simulator (``tests.benchmarks.pipeline``);
3. the agent's memory and CPU against a bare Python floor (``tests.benchmarks.agent_footprint``);
4. the same on Windows under Wine: working set and private bytes of the agent under each of its
   Windows runtimes, CPython 3.13 and 3.8, against their floors
   (``tests.benchmarks.windows_footprint``);
5. ``wardwatch status`` on 300, 3,000 and 10,000 machines (``tests.benchmarks.status_scale``);
6. ``wardwatch report`` on 2,000 machines and 30 days of one-minute reports
   (``tests.benchmarks.report_scale``).

Prints a table and writes it to ``bench-results/latest.md``. About six minutes.

    .venv/bin/python -m tests.benchmarks.run_all [--quick] [--cycles 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import (
    agent_footprint,
    ceiling,
    link_accuracy,
    pipeline,
    report_scale,
    stages,
    status_scale,
    windows_footprint,
)
from tests.benchmarks.common import ROOT, machine_facts, production_broker_limits
from tests.benchmarks.results import PipelineResult, Step
from wardwatch.collector.config import BatchSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port

RESULTS = ROOT / "bench-results" / "latest.md"


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _raise_fd_limit() -> None:
    # A thousand simulated agents, and the broker inherits the limit for their connections.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def render(
    facts: dict[str, str],
    limits: str,
    ceil: ceiling.Ceiling,
    pipe: PipelineResult,
    foot: agent_footprint.Footprint,
    whatif: Step | None,
    stage: stages.Stages,
    elapsed_s: float,
) -> str:
    """The markdown report: where it ran, the summary table, CPU per phase, the notes."""
    return "\n".join(
        [
            *_setting(facts, limits, elapsed_s),
            *_summary(ceil, pipe, foot, whatif, stage),
            *_cpu_per_phase(facts, ceil, pipe),
            *_notes(pipe),
        ]
    )


def _setting(facts: dict[str, str], limits: str, elapsed_s: float) -> list[str]:
    batch = BatchSection()
    return [
        f"# wardwatch benchmarks, {facts['date']}",
        "",
        f"Machine: {facts['nproc']} cores ({facts['cpu']}), {facts['memory']}, Linux "
        f"{facts['kernel']}; Python {facts['python']}, {facts['influxdb']}, "
        f"{facts['mosquitto']}, paho-mqtt {facts['paho-mqtt']}. Everything on 127.0.0.1, "
        f"one run of `make bench` ({elapsed_s / 60:.1f} min).",
        "",
        "Broker limits as `wardwatch broker init` writes them: "
        + ", ".join(f"`{line}`" for line in limits.splitlines())
        + ". Collector: `wardwatch-collector`, production batch defaults "
        f"(`max_points = {batch.max_points}`, `max_delay_s = {batch.max_delay_s:g}`). "
        f"Simulator: {pipeline.AGENTS} agents over {pipeline.SITES} sites in this process "
        "(one event loop), outboxes `synchronous=NORMAL` unless said otherwise. "
        f"A report is {pipeline.POINTS_PER_REPORT} points (`agent`, `host`, `hardware`, `os`, "
        "and `link` to the gateway, the city hub, the province MCU and the Internet); an "
        "inventory is 2 (`hardware`, `os`).",
        "",
    ]


def _summary(
    ceil: ceiling.Ceiling,
    pipe: PipelineResult,
    foot: agent_footprint.Footprint,
    whatif: Step | None,
    stage: stages.Stages,
) -> list[str]:
    ppr = pipeline.POINTS_PER_REPORT
    one, two = pipe.drains
    at_1000 = next(s for s in pipe.steps if s.name == "1000/s")
    fastest = pipe.steps[-1]
    c_ceiling = ceil.points_per_s
    return [
        "| measure | result | goal |",
        "|---|---|---|",
        f"| InfluxDB ingest ceiling: {ceiling.WRITERS} writers x {ceiling.BATCH_LINES:,} "
        f"lines/request, wardwatch points ({ceil.fields_per_point:.1f} fields each) "
        f"| **{_n(c_ceiling)} points/s** (influxd {ceil.cpu.percent('influxd'):.0f}% CPU) | |",
        f"| collector throughput, 1 process, draining a {_n(one.reports)}-message backlog "
        f"| **{_n(one.reports_per_s)} reports/s = {_n(one.reports_per_s * ppr)} points/s** "
        f"(collector {one.cpu.percent('collector 1'):.0f}% CPU) | |",
        f"| ratio to the ceiling, 1 collector | **{one.reports_per_s * ppr / c_ceiling:.2f}** "
        "| >= 0.7 |",
        f"| collector throughput, 2 processes on the shared subscription "
        f"| {_n(two.reports_per_s)} reports/s = {_n(two.reports_per_s * ppr)} points/s "
        f"(ratio {two.reports_per_s * ppr / c_ceiling:.2f}) | |",
        f"| live, simulator as fast as it can | offered {_n(fastest.offered_per_s)}/s, "
        f"stored {_n(fastest.stored_per_s)} reports/s "
        f"(ratio {fastest.stored_per_s * ppr / c_ceiling:.2f}) | |",
        f"| latency measured_at -> ack after InfluxDB's 204, at {_n(at_1000.offered_per_s)} "
        f"reports/s offered, p50 / p99 (ack watcher) | **{at_1000.p(0.5):.2f} s / "
        f"{at_1000.p(0.99):.2f} s** ({len(at_1000.latency_ack_s):,} reports) | p99 <= 2 s |",
        f"| same, as the simulated agent read its ack, p50 / p99 "
        f"| {at_1000.p(0.5, 'sim'):.2f} s / {at_1000.p(0.99, 'sim'):.2f} s | |",
        *_whatif_row(whatif),
        f"| collector CPU per report: drain / at 1,000/s "
        f"| {_n(one.collector_us_per_report())} us / "
        f"{_n(at_1000.cpu_us_per_report('collector'))} us | |",
        f"| of which conversion (in-process, same reports): wire.decode / admission / "
        f"to_points / encode_all | {stage.decode_us:.0f} / {stage.admission_us:.0f} / "
        f"{stage.to_points_us:.0f} / {stage.encode_us:.0f} us = {stage.total_us:.0f} us "
        "per report | |",
        f"| nothing lost: reports committed by the simulators / `host` points in InfluxDB "
        f"| {_n(pipe.committed)} / {_n(pipe.stored_in_influx)} "
        f"({'exact' if pipe.committed == pipe.stored_in_influx else 'MISMATCH'}) | equal |",
        f"| simulator, one loop, agent's own `synchronous=FULL` outboxes (200 agents) "
        f"| {_n(pipe.full_sync_offered_per_s)} reports/s offered | |",
        f"| agent RSS after {foot.cycles} cycles / floor (python + psutil + paho) "
        f"| **{foot.ratio:.2f}x** ({foot.last_rss_mb:.1f} / {foot.floor_rss_mb:.1f} MiB) "
        "| <= 1.15x |",
        f"| agent CPU per cycle | {foot.cpu_per_cycle_ms:.2f} ms | |",
        "",
    ]


def _cpu_per_phase(facts: dict[str, str], ceil: ceiling.Ceiling, pipe: PipelineResult) -> list[str]:
    ppr = pipeline.POINTS_PER_REPORT
    c_ceiling = ceil.points_per_s
    lines = [
        "CPU per process, % of one core (this machine has "
        f"{facts['nproc']}), and per stored report:",
        "",
        "| phase | offered/s | stored/s | collector | mosquitto | influxd | simulator "
        "| ack watcher | collector us/report | p50 / p99 latency |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for drain in pipe.drains:
        collectors = [n for n in drain.cpu.pids if n.startswith("collector")]
        collector_pct = " + ".join(f"{drain.cpu.percent(n):.0f}" for n in collectors)
        collector_us = drain.collector_us_per_report()
        lines.append(
            f"| drain, {drain.collectors} collector(s) | (backlog) | "
            f"{_n(drain.reports_per_s)} | {collector_pct} | "
            f"{drain.cpu.percent('mosquitto'):.0f} | {drain.cpu.percent('influxd'):.0f} | "
            f"{drain.cpu.percent('simulator'):.0f} (paused) | "
            f"{drain.cpu.percent('ack watcher'):.0f} | {_n(collector_us)} | |"
        )
    for step in pipe.steps:
        lines.append(
            f"| live {step.name} | {_n(step.offered_per_s)} | {_n(step.stored_per_s)} | "
            f"{step.cpu.percent('collector'):.0f} | {step.cpu.percent('mosquitto'):.0f} | "
            f"{step.cpu.percent('influxd'):.0f} | {step.cpu.percent('simulator'):.0f} | "
            f"{step.cpu.percent('ack watcher'):.0f} | "
            f"{_n(step.cpu_us_per_report('collector'))} | "
            f"{step.p(0.5):.2f} / {step.p(0.99):.2f} s |"
        )
    lines.append(
        f"| ceiling (no collector) | | {_n(c_ceiling / ppr)} (as reports) | | | "
        f"{ceil.cpu.percent('influxd'):.0f} | {ceil.cpu.percent('writer (bench)'):.0f} "
        "(writer) | | | |"
    )
    return lines


def _notes(pipe: PipelineResult) -> list[str]:
    batch = BatchSection()
    lines: list[str] = []
    stats = pipe.collector_stats
    if stats.get("batches"):
        lines += [
            "",
            f"Collector's own counters over the live steps: received {_n(stats['received'])}, "
            f"stored {_n(stats['stored'])}, {_n(stats['points'])} points in "
            f"{_n(stats['batches'])} batches ({stats['points'] / stats['batches']:.0f} points "
            "per batch).",
        ]
    lines += [
        "",
        "Latency is `measured_at` (agent clock) to the moment a separate MQTT client saw the "
        "collector's ack, which is sent after InfluxDB answered 204 to the write holding the "
        "report; InfluxDB 1.x answers queries from what it acknowledged, so it bounds "
        "'queryable' from above by one broker hop. It includes the agent's outbox commit and "
        f"the collector's batching (`max_delay_s = {batch.max_delay_s:g}`).",
        "",
    ]
    return lines


def _whatif_row(whatif: Step | None) -> list[str]:
    if whatif is None:
        return []
    return [
        f"| what-if (not the production value): the 1,000/s step on a broker with "
        f"`max_inflight_messages 0`, p50 / p99 | {whatif.p(0.5):.2f} s / {whatif.p(0.99):.2f} s "
        f"({_n(whatif.offered_per_s)}/s offered, {_n(whatif.stored_per_s)}/s stored) "
        "| p99 <= 2 s |"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60, help="agent footprint cycles")
    parser.add_argument("--quick", action="store_true", help="shorter steps (a smoke run)")
    args = parser.parse_args()
    _raise_fd_limit()
    started = time.monotonic()
    facts = machine_facts()
    limits = production_broker_limits()
    with tempfile.TemporaryDirectory(prefix="wardwatch-bench-") as scratch:
        work = Path(scratch)
        with (
            Mosquitto(work / "mqtt", free_port(), extra_conf=limits) as broker,
            Influxd(work / "influx", free_port()) as influx,
        ):
            print("bench: InfluxDB ingest ceiling", flush=True)
            ceil = ceiling.measure(influx, bench_pid=os.getpid(), passes=2 if args.quick else 5)
            print(f"bench: ceiling {ceil.points_per_s:,.0f} points/s", flush=True)
            pipe = pipeline.measure(work / "pipeline", broker, influx, quick=args.quick)
            whatif = None
            if "max_inflight_messages 0" not in limits.splitlines():
                # The production cap under test; show what lifting it would give.
                print("bench: what-if, max_inflight_messages 0", flush=True)
                whatif = pipeline.what_if_inflight(work / "whatif", influx, limits)
            print("bench: collector stages in-process", flush=True)
            stage = stages.measure()
            print(f"bench: agent footprint, {args.cycles} cycles", flush=True)
            # A broker of its own: the simulated fleet's retained messages stay behind.
            with Mosquitto(work / "mqtt-footprint", free_port()) as own_broker:
                (work / "footprint").mkdir()
                foot = agent_footprint.measure(work / "footprint", own_broker, influx, args.cycles)
            print(f"bench: agent footprint on Windows (Wine), {args.cycles} cycles", flush=True)
            # Each runtime starts a broker of its own; the database is this one.
            win = windows_footprint.measure(work / "footprint-windows", influx, args.cycles)
            status_lines = status_scale.render(status_scale.measure(influx))
            report_lines = report_scale.render(report_scale.measure(influx))
    if os.geteuid() == 0:
        print("bench: link probes over real packets (network namespaces)", flush=True)
        link_lines = link_accuracy.render(*link_accuracy.measure())
    else:
        link_lines = ["(not measured: the network lab needs root)"]
    report = render(facts, limits, ceil, pipe, foot, whatif, stage, time.monotonic() - started)
    report += "\n".join(["", "## Agent footprint on Windows, under Wine", "", *win.markdown(), ""])
    report += "\n".join(["", "## Link probes over real packets", "", *link_lines, ""])
    report += "\n".join(["", "## `wardwatch status` by fleet size", "", *status_lines, ""])
    report += "\n".join(["", "## `wardwatch report` on a city's month", "", *report_lines, ""])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(report)
    print()
    print(report)
    print(f"(written to {RESULTS.relative_to(ROOT)})")
    return 0 if pipe.committed == pipe.stored_in_influx else 1


if __name__ == "__main__":
    sys.exit(main())
