"""The whole path, simulator → Mosquitto → collector → InfluxDB: throughput, latency, CPU.

The collector runs as its own process (``wardwatch-collector``, production batch defaults); the
simulator runs in this process (``wardwatch.collector.simulator``); an ack
watcher (``tests.benchmarks.ackwatch``) in a third notes when each stored report was acked.

1. **Drain**: with the collector stopped (its persistent session kept by the broker), the
   simulator commits and publishes a backlog, then is paused; the collector starts and the
   time from its first ack to its last gives its throughput with nothing else running but
   Mosquitto and InfluxDB. Then the same with two collectors sharing the subscription.
2. **Live steps**: the simulator offers increasing rates (250/s, 500/s, 1,000/s, as fast as
   it can) to the running collector; each step reports what was offered, what was stored,
   the CPU of every process, and the latency from ``measured_at`` to the ack.
3. **Exactness**: the simulator stops once everything is acked; InfluxDB must hold exactly the
   reports it committed.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks.common import AckWatch, CollectorProcess, CpuMeter, cpu_seconds, end_session
from tests.benchmarks.results import Drain, PipelineResult, Step
from wardwatch.agent.config import MqttSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port
from wardwatch.collector.simulator.loop import OutboxSync, Simulator
from wardwatch.contract import wire

AGENTS = 1000
SITES = 21
POINTS_PER_REPORT = 8  # agent, host, hardware, os, and a link round to each of 4 targets


class _Recorder:
    """The simulator's hooks: when each report was measured, when its agent read the ack."""

    def __init__(self) -> None:
        self.measured: dict[str, float] = {}
        self.acked: dict[str, float] = {}

    def on_commit(self, agent: str, message: wire.Report | wire.Inventory) -> None:
        if isinstance(message, wire.Report):
            self.measured[message.id] = message.measured_at.timestamp()

    def on_ack(self, agent: str, ack: wire.Ack, at: float) -> None:
        for message_id in ack.stored:
            self.acked.setdefault(message_id, at)


def _simulator(
    broker: Mosquitto,
    state_dir: Path,
    seed: int,
    recorder: _Recorder | None = None,
    *,
    agents: int = AGENTS,
    outbox_sync: OutboxSync = "normal",
    resend_after_s: float = 30.0,
) -> Simulator:
    """The benchmark's simulated fleet on ``broker``, idle (an hour between reports) until a
    step sets its pace; ``recorder`` notes each commit and ack."""
    return Simulator(
        mqtt=MqttSection(url=broker.url),
        agents=agents,
        sites=SITES,
        interval_s=3600.0,
        seed=seed,
        state_dir=state_dir,
        resend_after_s=resend_after_s,
        outbox_sync=outbox_sync,
        on_commit=recorder.on_commit if recorder else None,
        on_ack=recorder.on_ack if recorder else None,
    )


def _pids(broker: Mosquitto, influx: Influxd, watch: AckWatch) -> dict[str, int]:
    """The processes whose CPU every phase meters (this one is the simulator)."""
    assert broker.pid is not None and influx.pid is not None
    return {
        "mosquitto": broker.pid,
        "influxd": influx.pid,
        "simulator": os.getpid(),
        "ack watcher": watch.pid,
    }


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def _log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def _drain(
    collectors: list[CollectorProcess],
    sim: Simulator,
    watch: AckWatch,
    pids: dict[str, int],
    backlog: int,
) -> Drain:
    """Fill the broker with ``backlog`` reports while the collectors are away, then time them."""
    sim.resume()
    start_reports = sim.counters.reports
    start_acks = watch.count()
    sim.interval_s = 0.0
    _wait(lambda: sim.counters.reports - start_reports >= backlog, 120, "the backlog")
    sim.interval_s = 3600.0
    _wait(sim.is_idle, 30, "the simulator to publish its backlog")
    time.sleep(1.0)  # the broker takes what was written
    sim.pause()
    expected = start_acks + sim.counters.outstanding
    _log(f"drain: {sim.counters.outstanding} messages wait in the broker; starting collector(s)")
    # All collectors at once. The clock starts when the first is connected (the broker sends
    # a persistent session's queue right after the CONNACK, up to the collector's Receive
    # Maximum of 20,000, before even the SUBACK), each collector's CPU from its own connection
    # (Python's start-up left out), both until the last ack.
    for collector in collectors:
        collector.spawn()
    meter = CpuMeter(pids)
    baseline: dict[str, float] = {}
    first_count, first_at = 0, 0.0
    for number, collector in enumerate(collectors, 1):
        collector.wait_connected()
        baseline[f"collector {number}"] = cpu_seconds(collector.pid)
        if number == 1:
            meter.start()
            first_count, first_at = watch.count(), time.monotonic()
    _wait(lambda: watch.count() >= expected, 180, "the drain")
    used = {
        f"collector {number}": cpu_seconds(c.pid) - baseline[f"collector {number}"]
        for number, c in enumerate(collectors, 1)
    }
    meter.stop()
    seconds = time.monotonic() - first_at
    meter.seconds.update(used)
    meter.pids.update({f"collector {n}": c.pid for n, c in enumerate(collectors, 1)})
    drain = Drain(len(collectors), watch.count() - first_count, seconds, meter)
    sim.resume()
    _wait(lambda: sim.counters.outstanding == 0, 120, "the simulator to settle its acks")
    return drain


def _step(
    name: str,
    sim: Simulator,
    watch: AckWatch,
    pids: dict[str, int],
    interval_s: float,
    seconds: float,
    warmup_s: float,
    target: float | None,
) -> Step:
    sim.interval_s = interval_s
    time.sleep(warmup_s)
    meter = CpuMeter(pids)
    window_start = time.time()
    reports0, acks0 = sim.counters.reports, watch.count()
    meter.start()
    time.sleep(seconds)
    meter.stop()
    window_end = time.time()
    offered = (sim.counters.reports - reports0) / meter.wall_s
    stored = watch.count() - acks0
    step = Step(
        name,
        target,
        offered,
        stored / meter.wall_s,
        sim.counters.outstanding,
        meter,
        stored,
        window=(window_start, window_end),
    )
    _log(
        f"{name}: offered {offered:.0f}/s, stored {step.stored_per_s:.0f}/s, outstanding "
        f"{sim.counters.outstanding}; {meter.shares()}"
    )
    return step


def measure(
    work: Path,
    broker: Mosquitto,
    influx: Influxd,
    *,
    backlog: int = 30_000,
    quick: bool = False,
) -> PipelineResult:
    """Run the drains, the live steps and the exactness check."""
    database = "wardwatch"
    influx.query(f'CREATE DATABASE "{database}"')
    collectors = [
        CollectorProcess(
            work / f"collector{i + 1}", broker.url, influx.url, database, f"bench-c{i + 1}"
        )
        for i in range(2)
    ]
    # A collector's persistent session (and its shared subscriptions) must exist before the
    # backlog, so that the broker queues for it while it is away. Mosquitto gives each member
    # of a share group its turn even while it is away, so the second collector's session is
    # created only for the second drain, and removed after it.
    collectors[0].start()
    collectors[0].stop()
    watch = AckWatch(broker.url, work / "acks.txt")
    recorder = _Recorder()
    base_pids = _pids(broker, influx, watch)
    # No resends while a collector is deliberately away.
    sim = _simulator(broker, work / "sim", 3, recorder, resend_after_s=600.0)
    sim.start()
    try:
        if not sim.wait_connected(120):
            raise RuntimeError(f"simulator: not all agents connected: {sim.counters}")
        size = backlog // 3 if quick else backlog
        drains = _drains(collectors, sim, watch, base_pids, size)
        end_session(broker.url, collectors[1].client_id)
        pids = {**base_pids, "collector": collectors[0].pid}
        steps = _live_steps(sim, watch, pids, quick)
        sim.interval_s = 3600.0
        summary = sim.stop(drain_s=60)
        if not summary.ok:
            raise AssertionError(f"simulator: {summary.lines}")
        acks = watch.stop()
        for step in steps:
            _latencies(step, recorder, acks)
        full_rate = _full_sync_rate(broker, work)
        stats = collectors[0].stop()
        (row,) = influx.query('SELECT count("uptime_s") FROM "host"', database)
        return PipelineResult(
            drains,
            steps,
            summary.counters.reports + full_rate[1],
            int(row.values["count"]),
            full_rate[0],
            stats,
        )
    finally:
        if not sim.stopping:
            sim.stop(drain_s=0)
        for collector in collectors:
            collector.stop()
        if watch.process.poll() is None:
            watch.stop()


def _drains(
    collectors: list[CollectorProcess],
    sim: Simulator,
    watch: AckWatch,
    pids: dict[str, int],
    size: int,
) -> list[Drain]:
    """A backlog of ``size`` reports drained by one collector, then another by two."""
    drains: list[Drain] = []
    for count in (1, 2):
        what = "one collector" if count == 1 else "two collectors"
        _log(f"drain, {what}: committing {size} reports with the collector(s) stopped")
        drains.append(_drain(collectors[:count], sim, watch, pids, size))
        _log(f"drain, {what}: {drains[-1].reports_per_s:.0f} reports/s")
        collectors[count - 1].stop()
        if count == 1:
            # The second collector's session exists only for the second drain (see measure).
            collectors[1].start()
            collectors[1].stop()
    return drains


def _live_steps(sim: Simulator, watch: AckWatch, pids: dict[str, int], quick: bool) -> list[Step]:
    """The simulator reporting live at rising rates, then as fast as it can."""
    plan = [
        ("250/s", AGENTS / 250, 6.0, 250.0),
        ("500/s", AGENTS / 500, 6.0, 500.0),
        ("1000/s", AGENTS / 1000, 20.0, 1000.0),
        ("max", 0.0, 10.0, None),
    ]
    if quick:
        plan = [("1000/s", AGENTS / 1000, 8.0, 1000.0), ("max", 0.0, 5.0, None)]
    steps: list[Step] = []
    warmup = 4.0
    for name, interval, seconds, target in plan:
        steps.append(_step(name, sim, watch, pids, interval, seconds, warmup, target))
        warmup = 2.0
    return steps


def _latencies(step: Step, recorder: _Recorder, acks: dict[str, float]) -> None:
    """Latency of the reports measured in the step's window (but its last 3 s, whose acks
    may come after the next step began)."""
    start, end = step.window
    for message_id, measured in recorder.measured.items():
        if start <= measured < end - 3.0 and message_id in acks:
            step.latency_ack_s.append(acks[message_id] - measured)
            if message_id in recorder.acked:
                step.latency_sim_s.append(recorder.acked[message_id] - measured)


def what_if_inflight(work: Path, influx: Influxd, limits: str, inflight: int = 0) -> Step:
    """The 1,000/s step again on a broker whose ``max_inflight_messages`` is ``inflight``."""
    conf = re.sub(r"(?m)^max_inflight_messages .*$", f"max_inflight_messages {inflight}", limits)
    database = "whatif"
    influx.query(f'CREATE DATABASE "{database}"')
    with Mosquitto(work / "mqtt-whatif", free_port(), extra_conf=conf) as broker:
        collector = CollectorProcess(work / "collector-whatif", broker.url, influx.url, database)
        collector.start()
        watch = AckWatch(broker.url, work / "acks-whatif.txt")
        recorder = _Recorder()
        sim = _simulator(broker, work / "sim-whatif", 5, recorder)
        sim.start()
        try:
            if not sim.wait_connected(120):
                raise RuntimeError(f"simulator: not all agents connected: {sim.counters}")
            pids = {**_pids(broker, influx, watch), "collector": collector.pid}
            step = _step(
                f"1000/s, max_inflight_messages {inflight}",
                sim,
                watch,
                pids,
                AGENTS / 1000,
                15.0,
                4.0,
                1000.0,
            )
            sim.interval_s = 3600.0
            summary = sim.stop(drain_s=60)
            if not summary.ok:
                raise AssertionError(f"simulator: {summary.lines}")
            _latencies(step, recorder, watch.stop())
            return step
        finally:
            if not sim.stopping:
                sim.stop(drain_s=0)
            collector.stop()
            if watch.process.poll() is None:
                watch.stop()


def _full_sync_rate(broker: Mosquitto, work: Path) -> tuple[float, int]:
    """What one simulator loop offers with the agent's own ``synchronous=FULL`` outboxes."""
    sim = _simulator(broker, work / "sim-full", 4, agents=200, outbox_sync="full")
    sim.start()
    if not sim.wait_connected(60):
        raise RuntimeError("simulator (FULL): agents did not connect")
    sim.interval_s = 0.0
    time.sleep(1.0)
    start, at = sim.counters.reports, time.monotonic()
    time.sleep(6.0)
    rate = (sim.counters.reports - start) / (time.monotonic() - at)
    sim.interval_s = 3600.0
    summary = sim.stop(drain_s=60)
    if not summary.ok:
        raise AssertionError(f"simulator (FULL): {summary.lines}")
    _log(f"simulator with synchronous=FULL outboxes: {rate:.0f} reports/s")
    return rate, summary.counters.reports
