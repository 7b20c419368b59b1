"""CPU per report of the collector's conversion stages, in this process, on simulator reports.

``wire.decode`` (msgspec: JSON and validation), ``admission.check`` (time, size and
cardinality bounds per agent), ``points.to_points`` (catalogue lookups and casts) and
``lineproto.encode_all`` (escaping), each timed alone over the same reports, so the
collector's measured CPU per report can be split into conversion and everything else (MQTT,
queueing, the write, the acks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wardwatch.collector.config import LifecycleSection, LimitsSection
from wardwatch.collector.influx.lineproto import encode_all
from wardwatch.collector.ingest.admission import Admission
from wardwatch.collector.ingest.clock import ClockJudge
from wardwatch.collector.ingest.points import to_points
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.collector.simulator.fleet import build_fleet
from wardwatch.collector.simulator.readings import sample_reports
from wardwatch.contract import wire


@dataclass
class Stages:
    decode_us: float
    admission_us: float
    to_points_us: float
    encode_us: float

    @property
    def total_us(self) -> float:
        return self.decode_us + self.admission_us + self.to_points_us + self.encode_us


def measure(reports: int = 20_000) -> Stages:
    made = sample_reports(build_fleet(1000, 21, seed=2), reports, seed=2)
    payloads = [(wire.topic(r.agent, "report"), wire.encode(r)) for r in made]
    received = wire.now()

    started = time.perf_counter()
    decoded = [wire.decode(topic, payload) for topic, payload in payloads]
    decode_s = time.perf_counter() - started

    admission = Admission(LimitsSection(), ClockJudge(300.0, 3600.0))
    started = time.perf_counter()
    for message in decoded:
        admission.check(message, received, received)  # type: ignore[arg-type]
    admission_s = time.perf_counter() - started

    started = time.perf_counter()
    judge = Lifecycle(LifecycleSection()).judge
    points = [to_points(message, received, judge=judge) for message in decoded]  # type: ignore[arg-type]
    points_s = time.perf_counter() - started

    started = time.perf_counter()
    for each in points:
        encode_all(each)
    encode_s = time.perf_counter() - started

    per = 1e6 / reports
    return Stages(decode_s * per, admission_s * per, points_s * per, encode_s * per)
