"""What the pipeline benchmark measured, phase by phase, for ``run_all`` to print."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.benchmarks.common import CpuMeter, percentile


@dataclass
class Drain:
    """A backlog drained by ``collectors`` collectors: how many messages, how long, what CPU."""

    collectors: int
    reports: int  # messages (reports, a few inventories) acked from subscribed to the last ack
    seconds: float
    cpu: CpuMeter  # over the same window

    @property
    def reports_per_s(self) -> float:
        return self.reports / self.seconds if self.seconds else 0.0

    def collector_us_per_report(self) -> float:
        """CPU of all collectors per message drained."""
        used = sum(s for n, s in self.cpu.seconds.items() if n.startswith("collector"))
        return used / self.reports * 1e6 if self.reports else float("nan")


@dataclass
class Step:
    """One live step: the pace offered, what was stored, the CPU and the latencies."""

    name: str
    target_per_s: float | None
    offered_per_s: float
    stored_per_s: float
    outstanding_end: int
    cpu: CpuMeter
    stored: int
    latency_ack_s: list[float] = field(default_factory=list)  # ack watcher
    latency_sim_s: list[float] = field(default_factory=list)  # ack read by the simulated agent
    window: tuple[float, float] = (0.0, 0.0)  # time.time() of the measured window

    def p(self, q: float, which: str = "ack") -> float:
        return percentile(self.latency_ack_s if which == "ack" else self.latency_sim_s, q)

    def cpu_us_per_report(self, name: str) -> float:
        return self.cpu.seconds[name] / self.stored * 1e6 if self.stored else float("nan")


@dataclass
class PipelineResult:
    """The whole pipeline benchmark: its drains, its live steps, and the exactness check."""

    drains: list[Drain]
    steps: list[Step]
    committed: int
    stored_in_influx: int
    full_sync_offered_per_s: float
    collector_stats: dict[str, int]
    notes: list[str] = field(default_factory=list)
