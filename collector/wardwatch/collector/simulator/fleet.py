"""The simulated fleet: who the machines are, what they report, deterministic for a seed.

Sites are Buôn Ma Thuột's wards and communes; roles mostly ``office-pc`` with some
``vc-endpoint``; device classes, CPUs from 2011 to 2024, operating systems (Windows 7 SP1 to
Windows 11 24H2, Ubuntu 22.04) named as the agent's own OS probes name them, boot times and
load. Used by ``wardwatch simulate`` and the benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from wardwatch.agent import __version__, osinfo, osinfo_linux, osinfo_windows
from wardwatch.agent.probes.machine.probe import Reading
from wardwatch.contract import wire

# The wards and communes of Buôn Ma Thuột before the 2025 reform (/work/shared/FACTS.md).
SITES: Final = (
    "tan-lap",
    "tan-hoa",
    "tan-an",
    "thong-nhat",
    "thanh-nhat",
    "thang-loi",
    "tan-loi",
    "thanh-cong",
    "tan-thanh",
    "tan-tien",
    "tu-an",
    "ea-tam",
    "khanh-xuan",
    "hoa-thuan",
    "cu-ebur",
    "ea-tu",
    "hoa-thang",
    "ea-kao",
    "hoa-phu",
    "hoa-khanh",
    "hoa-xuan",
)

VC_SHARE: Final = 0.12
"""Share of machines that drive a site's videoconference (role ``vc-endpoint``)."""
LAPTOP_SHARE: Final = 0.18
"""Share of office machines that are laptops (device class ``laptop``)."""
ALWAYS_ON_SHARE: Final = 0.15
"""Office PCs nobody switches off at night (weeks of uptime)."""

LOCAL_TZ: Final = timedelta(hours=7)  # Asia/Ho_Chi_Minh, for office hours


# --------------------------------------------------------------------------------------------
# The fleet: who the simulated machines are


@dataclass(frozen=True)
class Cpu:
    """A processor model as the OS names it, its launch year and logical processors."""

    model: str
    year: int
    threads: int
    laptop: bool = False


CPUS: Final = (
    Cpu("Intel(R) Pentium(R) CPU G630 @ 2.70GHz", 2011, 2),
    Cpu("Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz", 2011, 4),
    Cpu("Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz", 2011, 4),
    Cpu("Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz", 2012, 4),
    Cpu("Intel(R) Core(TM) i5-3470 CPU @ 3.20GHz", 2012, 4),
    Cpu("Intel(R) Pentium(R) CPU G2030 @ 3.00GHz", 2013, 2),
    Cpu("Intel(R) Pentium(R) CPU G3220 @ 3.00GHz", 2013, 2),
    Cpu("Intel(R) Core(TM) i3-4150 CPU @ 3.50GHz", 2014, 4),
    Cpu("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", 2014, 4),
    Cpu("Intel(R) Pentium(R) CPU G4400 @ 3.30GHz", 2015, 2),
    Cpu("Intel(R) Core(TM) i3-6100 CPU @ 3.70GHz", 2015, 4),
    Cpu("Intel(R) Core(TM) i5-7400 CPU @ 3.00GHz", 2017, 4),
    Cpu("Intel(R) Core(TM) i3-8100 CPU @ 3.60GHz", 2017, 4),
    Cpu("Intel(R) Core(TM) i5-9400 CPU @ 2.90GHz", 2019, 6),
    Cpu("AMD Ryzen 5 3400G with Radeon Vega Graphics", 2019, 8),
    Cpu("Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz", 2020, 8),
    Cpu("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 2020, 12),
    Cpu("AMD Ryzen 5 5600G with Radeon Graphics", 2021, 12),
    Cpu("12th Gen Intel(R) Core(TM) i5-12400", 2022, 12),
    Cpu("13th Gen Intel(R) Core(TM) i5-13400", 2023, 16),
    Cpu("Intel(R) Core(TM) i5-14400", 2024, 16),
    Cpu("Intel(R) Core(TM) i5-3230M CPU @ 2.60GHz", 2013, 4, laptop=True),
    Cpu("Intel(R) Core(TM) i5-5200U CPU @ 2.20GHz", 2015, 4, laptop=True),
    Cpu("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", 2017, 8, laptop=True),
    Cpu("Intel(R) Core(TM) i5-1035G1 CPU @ 1.00GHz", 2019, 8, laptop=True),
    Cpu("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", 2020, 8, laptop=True),
    Cpu("AMD Ryzen 5 5500U with Radeon Graphics", 2021, 12, laptop=True),
    Cpu("12th Gen Intel(R) Core(TM) i5-1235U", 2022, 12, laptop=True),
)


def _purchase_weight(cpu: Cpu) -> float:
    """Ward offices bought most of their PCs long ago (the 2020 inspection's finding)."""
    if cpu.year <= 2013:
        return 3.0
    if cpu.year <= 2017:
        return 2.0
    if cpu.year <= 2021:
        return 1.5
    return 1.0


# (name, build, Windows kernel version or None for Ubuntu, minimum CPU year)
_WINDOWS_7 = (6, 1, 7601)
_WINDOWS_10 = (10, 0, 19045)
_WINDOWS_11_23H2 = (10, 0, 22631)
_WINDOWS_11_24H2 = (10, 0, 26100)
_UBUNTU_KERNELS: Final = ("5.15.0-119-generic", "6.8.0-52-generic")
_OS_RELEASE_UBUNTU_2204: Final = 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n'


def _os_for(cpu: Cpu, role: str, rng: random.Random) -> osinfo.OsIdentity:
    """An operating system a ward would run on this hardware, named as the agent names it."""
    ubuntu_share = 0.3 if role == "vc-endpoint" else 0.05
    if rng.random() < ubuntu_share:
        release = osinfo_linux.parse_os_release(_OS_RELEASE_UBUNTU_2204)
        return osinfo.OsIdentity(
            name=release["NAME"], version=release["VERSION_ID"], build=rng.choice(_UBUNTU_KERNELS)
        )
    choices: list[tuple[tuple[int, int, int], float]]
    if cpu.year <= 2013:
        choices = [(_WINDOWS_7, 0.45), (_WINDOWS_10, 0.55)]
    elif cpu.year <= 2016:
        choices = [(_WINDOWS_7, 0.15), (_WINDOWS_10, 0.85)]
    elif cpu.year <= 2020:  # Windows 11 needs an 8th-generation Intel or a Ryzen 2000
        choices = [(_WINDOWS_10, 0.75), (_WINDOWS_11_23H2, 0.2), (_WINDOWS_11_24H2, 0.05)]
    else:
        choices = [(_WINDOWS_10, 0.35), (_WINDOWS_11_23H2, 0.35), (_WINDOWS_11_24H2, 0.3)]
    kernel = rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
    edition = rng.choices(["Professional", "Core", "Enterprise"], weights=[0.8, 0.12, 0.08])[0]
    # The agent's own naming: Windows 11 still reports a 10.0 kernel; the build decides.
    return osinfo_windows.identity_from(*kernel, edition)


def _memory_mb(cpu: Cpu, rng: random.Random) -> float:
    """Installed memory as the OS reports it (a little under the DIMMs' size)."""
    if cpu.year <= 2013:
        installed = rng.choice([2048, 4096, 4096])
    elif cpu.year <= 2017:
        installed = rng.choice([4096, 4096, 8192])
    elif cpu.year <= 2020:
        installed = rng.choice([8192, 8192, 16384])
    else:
        installed = rng.choice([8192, 16384, 16384])
    return round(installed * rng.uniform(0.955, 0.985), 1)


def _disk_gb(cpu: Cpu, rng: random.Random) -> float:
    """The system disk's size in GiB: hard disks on old machines, SSDs on new ones."""
    if cpu.year <= 2016:
        return rng.choice([232.88, 465.76, 465.76, 931.51])
    return rng.choice([223.57, 238.47, 238.47, 476.94])


# Brands the city buys, with model names by era (desktop, laptop).
_MODELS: Final = {
    "Dell Inc.": (
        ("OptiPlex 3010", "Latitude E6430"),
        ("OptiPlex 3050", "Latitude 3480"),
        ("OptiPlex 3080", "Latitude 3510"),
        ("OptiPlex 7010", "Latitude 3440"),
    ),
    "HP": (
        ("HP Compaq Pro 6300 SFF", "HP ProBook 4540s"),
        ("HP ProDesk 400 G4 SFF", "HP ProBook 440 G4"),
        ("HP ProDesk 400 G7 SFF", "HP ProBook 440 G7"),
        ("HP Pro Tower 280 G9", "HP ProBook 440 G10"),
    ),
    "LENOVO": (
        ("ThinkCentre M72e", "ThinkPad L430"),
        ("ThinkCentre M710s", "ThinkPad E470"),
        ("ThinkCentre M70s", "ThinkPad E14"),
        ("ThinkCentre neo 50s", "ThinkPad E14 Gen 5"),
    ),
}
_HOURS_A_DAY: Final = {True: 24.0, False: 8.5}  # always on, or office hours on working days
_WORKING_DAYS: Final = 250 / 365


@dataclass(frozen=True)
class Hardware:
    """What SMBIOS and the disks of a simulated machine say, and the truth behind them."""

    manufacturer: str
    model: str
    serial: str
    chassis: str
    purchased: date
    """The truth: when the city bought it (what an asset register holds)."""
    bios_date: date
    """Before the purchase, or later when the BIOS was updated."""
    bios_updated: bool
    disk_since: date
    """When the system disk was fitted: the purchase, or a replacement."""
    os_installed: date


def _hardware(cpu: Cpu, device_class: str, now: datetime, rng: random.Random) -> Hardware:
    today = now.date()
    latest = max(date(cpu.year, 1, 1), today - timedelta(days=30))
    purchased = min(date(cpu.year, 1, 1) + timedelta(days=rng.randint(60, 600)), latest)
    bios_date = purchased - timedelta(days=rng.randint(30, 240))
    updated = rng.random() < 0.25 and (today - purchased).days > 400
    if updated:  # a BIOS update moves the date forward: the trap the estimate must avoid
        bios_date = purchased + timedelta(days=rng.randint(365, (today - purchased).days - 1))
    disk_since = purchased
    if rng.random() < 0.2 and (today - purchased).days > 800:
        disk_since = purchased + timedelta(days=rng.randint(400, (today - purchased).days - 1))
    installed = purchased + timedelta(days=rng.randint(0, max(0, (today - purchased).days)))
    brand = rng.choice(sorted(_MODELS))
    era = min(3, max(0, (cpu.year - 2011) // 4))
    laptop = device_class == "laptop"
    return Hardware(
        manufacturer=brand,
        model=_MODELS[brand][era][1 if laptop else 0],
        serial="".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=8)),
        chassis="Notebook" if laptop else "Desktop",
        purchased=purchased,
        bios_date=bios_date,
        bios_updated=updated,
        disk_since=disk_since,
        os_installed=installed,
    )


LINK_KINDS: Final[dict[str, wire.TargetKind]] = {
    "gateway": "gateway",
    "city-hub": "hub",
    "province-mcu": "mcu",
    "internet": "internet",
}
"""The simulated targets of every machine, by name, and their kinds."""


@dataclass(frozen=True)
class LinkProfile:
    """The quality of a site's line, per target kind: base RTT (ms), jitter (ms), loss (%).

    Every machine of a site shares it. The ward's line affects the targets beyond the gateway
    (``hub``, ``mcu``, ``internet``); the gateway, on the office LAN, is always good.
    """

    grade: str  # "good", "degraded" or "bad": what the thresholds should decide
    rtt_ms: dict[str, float]  # target kind -> base round-trip time
    jitter_ms: float
    loss_pct: float


def _site_link(rng: random.Random) -> LinkProfile:
    grade = rng.choices(["good", "degraded", "bad"], weights=[0.7, 0.2, 0.1])[0]
    factor = {"good": 1.0, "degraded": 3.0, "bad": 8.0}[grade]
    return LinkProfile(
        grade=grade,
        rtt_ms={
            "gateway": round(rng.uniform(0.4, 2.0), 2),
            "city-hub": round(rng.uniform(6, 25) * factor, 1),
            "province-mcu": round(rng.uniform(12, 40) * factor, 1),
            "internet": round(rng.uniform(25, 60) * factor, 1),
        },
        jitter_ms=round(rng.uniform(1, 3.5) * factor, 1),
        # Within the band of the grade under the default thresholds (DESIGN.md), whatever the
        # other figures: good < 1 %, degraded 1-5 %, bad > 5 %.
        loss_pct=round(
            {"good": (0.0, 0.6), "degraded": (1.5, 4.5), "bad": (6.0, 15.0)}[grade][0]
            + rng.random() * {"good": 0.6, "degraded": 3.0, "bad": 9.0}[grade],
            2,
        ),
    )


@dataclass(frozen=True)
class Machine:
    """One simulated machine: its identity, hardware, OS, and how it is used."""

    agent: str
    site: str
    role: str
    device_class: str
    hostname: str
    cpu: Cpu
    memory_mb: float
    os: osinfo.OsIdentity
    hardware: Hardware
    always_on: bool
    disk_total_gb: float
    disk_used_pct: float
    boot_time: datetime
    base_load_pct: float
    link: LinkProfile
    phase: float  # 0..1: where in each interval this machine reports


def site_names(count: int) -> list[str]:
    """``count`` site labels: the real wards first, then numbered copies for bigger fleets."""
    return [
        SITES[i % len(SITES)] + (f"-{i // len(SITES) + 1}" if i >= len(SITES) else "")
        for i in range(count)
    ]


def build_fleet(
    agents: int, sites: int, seed: int = 0, now: datetime | None = None
) -> list[Machine]:
    """A deterministic fleet of ``agents`` machines over ``sites`` sites (round robin)."""
    if agents < 1 or sites < 1:
        raise ValueError("a fleet needs at least one agent and one site")
    now = now or wire.now()
    rng = random.Random(seed)
    labels = site_names(sites)
    links = {label: _site_link(rng) for label in labels}
    counts: dict[tuple[str, str], int] = {}
    fleet: list[Machine] = []
    office_cpus = [cpu for cpu in CPUS if not cpu.laptop]
    laptop_cpus = [cpu for cpu in CPUS if cpu.laptop]
    vc_cpus = [cpu for cpu in office_cpus if cpu.year >= 2019]
    for index in range(agents):
        site = labels[index % sites]
        role = "vc-endpoint" if rng.random() < VC_SHARE else "office-pc"
        if role == "vc-endpoint":
            device_class, cpu = "desktop", rng.choice(vc_cpus)
        elif rng.random() < LAPTOP_SHARE:
            device_class = "laptop"
            cpu = rng.choices(laptop_cpus, [_purchase_weight(c) for c in laptop_cpus])[0]
        else:
            device_class = "desktop"
            cpu = rng.choices(office_cpus, [_purchase_weight(c) for c in office_cpus])[0]
        prefix = "vc" if role == "vc-endpoint" else "pc"
        number = counts[(site, prefix)] = counts.get((site, prefix), 0) + 1
        agent = f"sim-{site}-{prefix}{number:02d}"
        os_identity = _os_for(cpu, role, rng)
        windows = os_identity.name.startswith("Windows")
        hostname = f"{site}-{prefix}{number:02d}"
        always_on = role == "vc-endpoint" or rng.random() < ALWAYS_ON_SHARE
        if always_on:
            uptime_s = rng.uniform(1, 60) * 86400  # never switched off
        else:
            local = now + LOCAL_TZ  # switched on this morning, between 06:45 and 08:15
            morning = local.replace(hour=6, minute=45, second=0, microsecond=0)
            if local < morning + timedelta(hours=1.5):
                morning -= timedelta(days=1)
            uptime_s = (local - morning).total_seconds() - rng.uniform(0, 5400)
            uptime_s = max(uptime_s, 120.0)
        age = max(0, now.year - cpu.year)
        fleet.append(
            Machine(
                agent=agent,
                site=site,
                role=role,
                device_class=device_class,
                hostname=hostname.upper() if windows else hostname,
                cpu=cpu,
                memory_mb=_memory_mb(cpu, rng),
                os=os_identity,
                hardware=_hardware(cpu, device_class, now, rng),
                always_on=always_on,
                disk_total_gb=_disk_gb(cpu, rng),
                disk_used_pct=round(rng.uniform(25, 92), 1),
                boot_time=(now - timedelta(seconds=uptime_s)).replace(microsecond=0),
                base_load_pct=round(3 + age * 1.2 + rng.uniform(0, 6), 1),
                link=links[site],
                phase=rng.random(),
            )
        )
    return fleet


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


# --------------------------------------------------------------------------------------------
# One simulated agent: the real Agent, fed by a simulated probe and inventory
