"""A ward fleet of known truth for the inspection report, written into a real InfluxDB through
the collector's own code: each machine's reports (``wire.Report``) become points with
``ingest.points.report_points`` and its lifecycle judge, as the collector would store them.

Seven machines in three wards, reporting every 30 minutes over the last ``DAYS`` days, each
with three videoconference targets (hub, mcu, internet) per report:

============  ==========  ========  =========  =================  ==========================
ward          machine     verdict   OS         links              reports
============  ==========  ========  =========  =================  ==========================
Phường Tân An ta-old      overdue   Windows 7  all good           all
Phường Tân An ta-new      ok        11 25H2    all good           all
Phường Tân An ta-due      due       11 25H2    all good           all
Xã Đức Hòa    dh-vc       overdue   10 22H2    mcu bad, others    all
                                               good
Xã Đức Hòa    dh-bare     unknown   11 25H2    all good           all
Phường 7      p7-old      overdue   Windows 7  hub degraded       all
Phường 7      p7-half     ok        11 25H2    all good           the first half, then none
============  ==========  ========  =========  =================  ==========================

dh-vc is a videoconference machine (role vc-endpoint). Verdicts follow the shipped policy
(vn-tt23-2023: 5 years, due 180 days before) and the evidence each machine sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tests.support.factories import host_facts, link_facts, machine_facts
from wardwatch.collector.config import LifecycleSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.lineproto import encode_all
from wardwatch.collector.ingest.points import report_points
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.contract import wire

DAYS = 7
INTERVAL_S = 1800
TAN_AN, DUC_HOA, P7 = "Phường Tân An", "Xã Đức Hòa", "Phường 7"
GOOD = {"rtt_avg_ms": 21.5, "jitter_ms": 2.4, "loss_pct": 0.0, "received": 10}
DEGRADED = {"rtt_avg_ms": 450.0, "jitter_ms": 2.4, "loss_pct": 0.0, "received": 10}
BAD = {"rtt_avg_ms": 21.5, "jitter_ms": 2.4, "loss_pct": 20.0, "received": 8}
WIN7 = {"os_name": "Windows 7 Professional", "os_version": "7", "os_build": "7601"}
WIN10 = {"os_name": "Windows 10 Pro", "os_version": "10", "os_build": "19045"}
WIN11 = {"os_name": "Windows 11 Pro", "os_version": "10", "os_build": "26200"}


@dataclass(frozen=True)
class Member:
    """One machine of the fleet, what it sends, and the truth the report must find."""

    site: str
    agent: str
    verdict: str
    os: dict[str, str]
    links: dict[str, dict[str, float | int]]
    bios: date | None
    cpu: str
    role: str = "office-pc"
    half: bool = False
    model: str = ""


def members(today: date) -> list[Member]:
    """The fleet, dated from ``today`` so each verdict holds whenever the test runs."""
    good = {"hub": GOOD, "mcu": GOOD, "internet": GOOD}
    due = date(today.year - 5, today.month, 1) + timedelta(days=90)  # 5 years less ~60 days
    old, new = date(2012, 11, 20), date(today.year - 1, 3, 1)
    i3, i5 = "Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz", "12th Gen Intel(R) Core(TM) i5-12400"
    ultra = "Intel(R) Core(TM) Ultra 5 225"
    return [
        Member(TAN_AN, "ta-old", "overdue", WIN7, good, old, i3, model="OptiPlex 3010"),
        Member(TAN_AN, "ta-new", "ok", WIN11, good, new, ultra),
        Member(TAN_AN, "ta-due", "due", WIN11, good, due, i5),
        Member(DUC_HOA, "dh-vc", "overdue", WIN10, {**good, "mcu": BAD}, old, i3, "vc-endpoint"),
        Member(DUC_HOA, "dh-bare", "unknown", WIN11, good, None, ""),
        Member(P7, "p7-old", "overdue", WIN7, {**good, "hub": DEGRADED}, old, i3),
        Member(P7, "p7-half", "ok", WIN11, good, new, ultra, half=True),
    ]


def report_of(m: Member, at: datetime, n: int) -> wire.Report:
    machine = machine_facts(
        hostname=m.agent.upper(), bios_date=m.bios, cpu=m.cpu, disks=[], os_installed=None,
        model=m.model,
        serial=f"SN-{m.agent}", os_edition="Professional", **m.os,
    )  # fmt: skip
    links = [
        link_facts(
            target=f"{kind}-1", target_kind=kind, host=f"{kind}.example", ports=[], **figures
        )
        for kind, figures in m.links.items()
    ]
    return wire.Report(
        agent=m.agent,
        site=m.site,
        role=m.role,
        device_class="desktop",
        id=f"{m.agent}-{n}",
        measured_at=at,
        sent_at=at,
        interval_s=INTERVAL_S,
        agent_version="0.1.0",
        facts=[host_facts(hostname=m.agent.upper()), machine, *links],
    )


def write_fleet(influxd: Influxd, database: str, now: datetime) -> list[Member]:
    """Write the fleet's reports of the ``DAYS`` days before ``now``; the fleet."""
    fleet = members(now.date())
    judge = Lifecycle(LifecycleSection()).judge
    start = now - timedelta(days=DAYS)
    steps = DAYS * 86400 // INTERVAL_S
    lines: list[str] = []
    for m in fleet:
        for n in range(1, steps + 1):
            if m.half and n > steps // 2:
                break
            lines += encode_all(
                report_points(report_of(m, start + timedelta(seconds=n * INTERVAL_S), n), judge)
            )
    for i in range(0, len(lines), 5000):
        influxd.write(database, "\n".join(lines[i : i + 5000]))
    return fleet


def reports_of(m: Member) -> int:
    """How many reports ``m`` sent."""
    steps = DAYS * 86400 // INTERVAL_S
    return steps // 2 if m.half else steps
