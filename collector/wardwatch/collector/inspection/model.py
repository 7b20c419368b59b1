"""What an inspection report holds: every figure the workbook, the web page and the PDF show,
computed once by ``gather`` from InfluxDB, so the three formats cannot disagree. Each figure
names the query it came from (``Query.key``), so an inspector can trace it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Final, Literal

import msgspec
from msgspec import Struct

CITY_ZONE: Final = timezone(timedelta(hours=7), "ICT")
"""Vietnam's time (UTC+7, no daylight saving): every day and time the report shows is the
city's."""
Language = Literal["vi", "en"]
Verdict = Literal["overdue", "due", "ok", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("overdue", "due", "ok", "unknown")
"""Hardware verdicts, worst first: the order of every table and chart."""
LinkKind = Literal["hub", "mcu", "internet"]
LINK_KINDS: tuple[LinkKind, ...] = ("hub", "mcu", "internet")
"""The targets a videoconference needs: the city hub, the province's MCU, the Internet."""


class Query(Struct, frozen=True, kw_only=True):
    """One InfluxQL statement the report ran, and what it gave."""

    key: str
    """Short name the figures refer to ("machines", "availability", "link_rounds"...)."""
    purpose: str
    influxql: str


class VerdictCounts(Struct, kw_only=True):
    """Machines by hardware verdict."""

    overdue: int = 0
    due: int = 0
    ok: int = 0
    unknown: int = 0

    def total(self) -> int:
        """Every machine counted."""
        return self.overdue + self.due + self.ok + self.unknown


class LinkShare(Struct, kw_only=True):
    """One ward's (or the city's) probe rounds towards one kind of target, over the period."""

    kind: LinkKind
    rounds: int
    good_pct: float
    degraded_pct: float
    bad_pct: float
    bad_hours: int
    """Hours of the period in which at least one round was bad."""


class WardSummary(Struct, kw_only=True):
    """One row of the summary: a ward, or the city (``site`` "", ``total`` True)."""

    site: str
    total: bool = False
    machines: int
    """Machines that reported in the period."""
    hardware: VerdictCounts
    os_unsupported: int
    """Machines whose operating system is out of support (overdue)."""
    availability_pct: float | None
    """Reports received over reports expected (each machine's interval), all machines."""
    links: list[LinkShare] = msgspec.field(default_factory=list)
    """One entry per target kind the ward's machines probed (``LINK_KINDS`` order)."""


class MachineRow(Struct, kw_only=True):
    """One machine, as last judged in the period."""

    site: str
    agent: str
    role: str
    device_class: str
    manufacturer: str
    model: str
    serial: str
    age_years: float | None
    since: str
    """Estimated date the machine entered service (ISO), "" when unknown."""
    age_source: str
    age_confidence: str
    made_earliest: int | None
    made_latest: int | None
    evidence: str
    """Why: the age decision's reason."""
    lifecycle: Verdict
    days_left: int | None
    end_date: str
    os_name: str
    os_support: str
    """ok, due, overdue or unknown."""
    os_eol_date: str
    last_seen: datetime
    availability_pct: float | None
    rank: int
    """The worse of the hardware and OS verdicts, worst highest (the sort key)."""
    vc: bool
    """A videoconference machine (role vc-endpoint, or the vc-codec class)."""


class PlanRow(Struct, kw_only=True):
    """One machine to replace, in priority order."""

    priority: int
    site: str
    agent: str
    device_class: str
    manufacturer: str
    model: str
    serial: str
    lifecycle: Verdict
    days_left: int | None
    end_date: str
    vc: bool
    unit_price_vnd: int | None
    """None: no price for the device class (left out of the totals)."""


class PlanWard(Struct, kw_only=True):
    """The plan's subtotal for one ward."""

    site: str
    machines: int
    priced: int
    cost_vnd: int


class WorstLink(Struct, kw_only=True):
    """One link (agent to target) among the worst of the period."""

    site: str
    agent: str
    target: str
    kind: str
    rounds: int
    bad_pct: float
    degraded_pct: float
    loss_pct: float | None
    rtt_avg_ms: float | None
    jitter_ms: float | None


class HeatCell(Struct, kw_only=True):
    """Link quality of one ward on one day: the share of good rounds (None: no round)."""

    site: str
    day: date
    good_pct: float | None
    bad_pct: float | None


class AgeBucket(Struct, kw_only=True):
    """Machines whose estimated age falls in [low, high) years (high None: and older)."""

    low: int
    high: int | None
    count: int


class Inspection(Struct, kw_only=True):
    """The whole report."""

    city: str
    site: str
    """The ward the report is limited to; "" for the whole city."""
    start: datetime
    end: datetime
    days: int
    language: Language
    policy: str
    """The lifecycle policy in force (its name and source)."""
    made_at: datetime
    horizon_months: int
    wards: list[WardSummary]
    total: WardSummary
    machines: list[MachineRow]
    """Worst first."""
    plan: list[PlanRow]
    plan_wards: list[PlanWard]
    plan_total_vnd: int
    plan_unpriced: int
    """Plan rows without a price (their class has none)."""
    prices_are_examples: bool
    worst_links: list[WorstLink]
    heat: list[HeatCell]
    """Every ward x day of the period (None where no round was)."""
    ages: list[AgeBucket]
    queries: list[Query]
