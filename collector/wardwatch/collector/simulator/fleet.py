"""The simulated fleet: who the machines are, deterministic for a seed.

Sites are Buôn Ma Thuột's wards and communes; roles mostly ``office-pc`` with some
``vc-endpoint``; device classes, CPUs from 2011 to 2024, operating systems (Windows 7 SP1 to
Windows 11 24H2, Ubuntu 22.04) named as the agent's own OS probes name them, boot times and
load, and the quality of each ward's line. What each machine reports is ``readings``. Used by
``wardwatch simulate``, the tests and the benchmarks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from wardwatch.agent import osinfo, osinfo_linux, osinfo_windows
from wardwatch.contract import wire

# The wards and communes of Buôn Ma Thuột before the 2025 reform (docs/facts.md, "Sites").
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
        # Within the band of the grade under the default thresholds (docs/facts.md), whatever the
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
    for index in range(agents):
        site = labels[index % sites]
        role, device_class, cpu = _kind_of_machine(rng)
        prefix = "vc" if role == "vc-endpoint" else "pc"
        number = counts[(site, prefix)] = counts.get((site, prefix), 0) + 1
        os_identity = _os_for(cpu, role, rng)
        hostname = f"{site}-{prefix}{number:02d}"
        always_on = role == "vc-endpoint" or rng.random() < ALWAYS_ON_SHARE
        uptime_s = _uptime_s(always_on, now, rng)
        age = max(0, now.year - cpu.year)
        fleet.append(
            Machine(
                agent=f"sim-{hostname}",
                site=site,
                role=role,
                device_class=device_class,
                hostname=hostname.upper() if os_identity.name.startswith("Windows") else hostname,
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


_OFFICE_CPUS: Final = tuple(cpu for cpu in CPUS if not cpu.laptop)
_LAPTOP_CPUS: Final = tuple(cpu for cpu in CPUS if cpu.laptop)
_VC_CPUS: Final = tuple(cpu for cpu in _OFFICE_CPUS if cpu.year >= 2019)


def _kind_of_machine(rng: random.Random) -> tuple[str, str, Cpu]:
    """A role, a device class and a CPU: VC machines are recent desktops, office PCs mostly
    old desktops, some laptops."""
    if rng.random() < VC_SHARE:
        return "vc-endpoint", "desktop", rng.choice(_VC_CPUS)
    if rng.random() < LAPTOP_SHARE:
        cpu = rng.choices(_LAPTOP_CPUS, [_purchase_weight(c) for c in _LAPTOP_CPUS])[0]
        return "office-pc", "laptop", cpu
    cpu = rng.choices(_OFFICE_CPUS, [_purchase_weight(c) for c in _OFFICE_CPUS])[0]
    return "office-pc", "desktop", cpu


def _uptime_s(always_on: bool, now: datetime, rng: random.Random) -> float:
    """Weeks for a machine nobody switches off; else since it was switched on this morning,
    between 06:45 and 08:15 local time."""
    if always_on:
        return rng.uniform(1, 60) * 86400
    local = now + LOCAL_TZ
    morning = local.replace(hour=6, minute=45, second=0, microsecond=0)
    if local < morning + timedelta(hours=1.5):
        morning -= timedelta(days=1)
    return max((local - morning).total_seconds() - rng.uniform(0, 5400), 120.0)
