"""What the simulated machines report: host facts, link rounds and machine facts, built from
each machine's profile (``fleet``) as the agent's own probes would read them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final

from wardwatch.agent import __version__
from wardwatch.agent.probes.machine.probe import Reading
from wardwatch.collector.simulator.fleet import LINK_KINDS, Machine
from wardwatch.contract import wire

_HOURS_A_DAY: Final = {True: 24.0, False: 8.5}  # always on, or office hours on working days
_WORKING_DAYS: Final = 250 / 365


class SimulatedHostProbe:
    """The ``host`` probe of a simulated machine: the real probe's facts, from its profile."""

    name = "host"

    def __init__(self, machine: Machine, seed: int = 0) -> None:
        self.machine = machine
        # Per-machine randomness, so a machine's readings do not depend on the others'.
        self._rng = random.Random(f"{seed}/{machine.agent}")

    def collect(self) -> list[wire.Fact]:
        """One reading: uptime from the boot time, load around the machine's baseline."""
        m = self.machine
        rng = self._rng
        now = wire.now()
        cpu = rng.gauss(m.base_load_pct, m.base_load_pct / 3)
        if rng.random() < 0.04:  # Windows Update, an antivirus scan, a videoconference
            cpu += rng.uniform(35, 90)
        small_memory = m.memory_mb < 5000
        memory = rng.gauss(82 if small_memory else 48, 6)
        facts: list[wire.Fact] = [
            wire.HostFacts(
                hostname=m.hostname,
                os_name=m.os.name,
                os_version=m.os.version,
                os_build=m.os.build,
                boot_time=m.boot_time,
                uptime_s=round(max(0.0, (now - m.boot_time).total_seconds()), 3),
                cpu_pct=round(min(100.0, max(0.0, cpu)), 1),
                cpu_count=m.cpu.threads,
                mem_total_mb=m.memory_mb,
                mem_used_pct=round(min(99.0, max(5.0, memory)), 1),
                disk_total_gb=m.disk_total_gb,
                disk_used_pct=m.disk_used_pct,
            )
        ]
        facts.extend(self.link_facts())
        return facts

    def link_facts(self) -> list[wire.Fact]:
        """One round per target kind, from the site's line: RTT around its base, jitter and
        loss as the profile says (so each link's verdict is the site's grade)."""
        link, rng = self.machine.link, self._rng
        facts: list[wire.Fact] = []
        for kind, base in link.rtt_ms.items():
            lan = kind == "gateway"
            jitter = 0.2 if lan else link.jitter_ms
            rtt = base + rng.uniform(0, jitter)
            facts.append(
                wire.LinkFacts(
                    target=kind,
                    target_kind=LINK_KINDS[kind],
                    host=f"{kind}.{self.machine.site}.example",
                    address="",
                    method="icmp",
                    sent=100,
                    received=100 if lan else round(100 - link.loss_pct),
                    loss_pct=0.0 if lan else link.loss_pct,
                    rtt_min_ms=round(max(0.1, rtt - jitter), 3),
                    rtt_avg_ms=round(rtt, 3),
                    rtt_median_ms=round(rtt, 3),
                    rtt_max_ms=round(rtt + 2 * jitter, 3),
                    jitter_ms=jitter,
                )
            )
        return facts


def machine_reading(m: Machine, now: datetime, first_seen: date | None = None) -> Reading:
    """What the agent's machine probe would read on this simulated machine ``now``."""
    hw = m.hardware
    days_on = max(0, (now.date() - hw.disk_since).days)
    share = 1.0 if m.always_on else _WORKING_DAYS
    hours = int(days_on * share * _HOURS_A_DAY[m.always_on])
    facts = wire.MachineFacts(
        hostname=m.hostname,
        os_name=m.os.name,
        os_version=m.os.version,
        os_build=m.os.build,
        os_edition=m.os.edition,
        os_installed=hw.os_installed,
        manufacturer=hw.manufacturer,
        model=hw.model,
        serial=hw.serial,
        chassis=hw.chassis,
        bios_vendor="Dell Inc." if hw.manufacturer == "Dell Inc." else "AMI",
        bios_version="A12" if hw.bios_updated else "A02",
        bios_date=hw.bios_date,
        cpu=m.cpu.model,
        cpu_count=m.cpu.threads,
        memory_mb=m.memory_mb,
        disks=[
            wire.Disk(
                device="/dev/sda",
                protocol="ATA",
                model="ST500DM002-1BD142",
                serial=f"Z{hw.serial}",
                power_on_hours=hours,
            )
        ],
        first_seen=first_seen,
    )
    return Reading(facts=facts, missing=[])


def sample_reports(
    machines: Sequence[Machine], count: int, *, seed: int = 0, end: datetime | None = None
) -> list[wire.Report]:
    """``count`` reports of these machines without MQTT or outbox (InfluxDB-only benchmarks,
    dashboard tests).

    Built like ``Agent.measure`` builds them, 1 ms apart and ending at ``end`` (default now;
    one machine's reports are ``len(machines)`` ms apart), so no two points share an identity.
    """
    probes = [SimulatedHostProbe(m, seed) for m in machines]
    end = end or wire.now()
    reports: list[wire.Report] = []
    for index in range(count):
        probe = probes[index % len(probes)]
        m = probe.machine
        at = end - timedelta(milliseconds=count - index)
        reports.append(
            wire.Report(
                agent=m.agent,
                site=m.site,
                role=m.role,
                device_class=m.device_class,
                id=wire.new_message_id(),
                measured_at=at,
                sent_at=at,
                interval_s=60,
                agent_version=__version__,
                facts=[*probe.collect(), machine_reading(m, at).facts],
            )
        )
    return reports
