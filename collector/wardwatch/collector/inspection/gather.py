"""The inspection report from InfluxDB: ``gather`` runs ``queries.Reader``'s statements and
turns their rows into one ``model.Inspection`` (the per-ward sums, the plan, the charts' data
are computed here, from aggregates, never from raw points)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from wardwatch.collector.influx.query import Row
from wardwatch.collector.inspection import linkquality
from wardwatch.collector.inspection.model import (
    LINK_KINDS,
    VERDICTS,
    AgeBucket,
    Inspection,
    Language,
    LinkShare,
    MachineRow,
    PlanRow,
    PlanWard,
    Verdict,
    VerdictCounts,
    WardSummary,
)
from wardwatch.collector.inspection.queries import Reader
from wardwatch.collector.inspection.rollup import HOUR
from wardwatch.common.tomlconfig import ConfigError
from wardwatch.contract.catalogue import VC_ENDPOINT_CLASS
from wardwatch.rules.policy import load_policy

AGE_STEP_YEARS = 2
AGE_LAST_BUCKET = 10
"""Ages in 2-year buckets, 10 years and older in one."""


def policy_text(name_or_path: str) -> str:
    """The lifecycle policy in force as the title block names it: its name and its source."""
    try:
        found = load_policy(name_or_path)
    except (ConfigError, OSError, ValueError):
        return name_or_path
    return f"{found.name} ({found.source})"


class EmptyReport(Exception):
    """Nothing to report: no machine reported in the period (or in the ward)."""


@dataclass(frozen=True)
class Options:
    """What the report is asked for, besides the period the reader holds."""

    city: str
    language: Language
    policy: str
    horizon_months: int
    prices: Mapping[str, int]
    prices_are_examples: bool
    now: datetime


def _by_agent(rows: Iterable[Row]) -> dict[str, Row]:
    return {row.tags.get("agent", ""): row for row in rows}


def _availability(reader: Reader) -> dict[str, tuple[int, float]]:
    """Per machine: (reports received, reports expected) from its first report of the period
    to the period's end, at its interval. The first report is placed in its first hour from
    that hour's reports (the last of them at the hour's end, a report every interval): right
    to one interval, without reading raw points. The rollups are brought up to date first."""
    reader.update_rollups()
    firsts = {
        agent: (row.moment(), row.optional_int("reports") or 0)
        for agent, row in _by_agent(reader.first_hours()).items()
    }
    found: dict[str, tuple[int, float]] = {}
    for agent, row in _by_agent(reader.reports()).items():
        interval = row.optional_float("interval_s") or 0.0
        if agent not in firsts or interval <= 0:
            continue
        hour, early = firsts[agent]
        first = max(hour, hour + HOUR - timedelta(seconds=interval * early))
        span = (reader.scope.end - first).total_seconds()
        found[agent] = (row.optional_int("reports") or 0, span / interval + 1)
    return found


_VERDICT_OF: dict[str, Verdict] = {verdict: verdict for verdict in VERDICTS}


def machine_fields(hw: Row) -> dict[str, Any]:
    """What a list of machines shows of a ``hardware`` point: the machine, its age and the
    years it can have been made in, its days left (``wardwatch lifecycle`` lists them too)."""
    return {
        "manufacturer": hw.text("manufacturer"),
        "model": hw.text("model"),
        "serial": hw.text("serial"),
        "age_years": hw.optional_float("age_years"),
        "since": hw.text("since"),
        "age_source": hw.text("age_source"),
        "age_confidence": hw.text("age_confidence"),
        "made_earliest": hw.optional_int("made_earliest"),
        "made_latest": hw.optional_int("made_latest"),
        "days_left": hw.optional_int("days_left"),
        "end_date": hw.text("end_date"),
    }


def _machine(hw: Row, os_row: Row | None, shares: Mapping[str, tuple[int, float]]) -> MachineRow:
    agent = hw.tags.get("agent", "")
    received, expected = shares.get(agent, (0, 0.0))

    sw = os_row or Row("os", {})
    return MachineRow(
        site=hw.tags.get("site", ""),
        agent=agent,
        role=hw.tags.get("role", ""),
        device_class=hw.tags.get("device_class", ""),
        **machine_fields(hw),
        evidence=hw.text("reason"),
        lifecycle=_VERDICT_OF.get(hw.text("lifecycle"), "unknown"),
        os_name=sw.text("release") or f"{sw.text('name')} {sw.text('version')}".strip(),
        os_support=sw.text("support", "unknown"),
        os_eol_date=sw.text("eol_date"),
        last_seen=hw.moment(),  # a report's machine facts: its last report
        availability_pct=min(100.0, 100 * received / expected) if expected else None,
        rank=max(hw.optional_int("rank") or 0, sw.optional_int("rank") or 0),
        vc=hw.tags.get("role", "").startswith("vc")
        or hw.tags.get("device_class") == VC_ENDPOINT_CLASS,
    )


def _worst_first(m: MachineRow) -> tuple[object, ...]:
    return (-m.rank, m.days_left if m.days_left is not None else 1 << 30, m.site, m.agent)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _plan(machines: list[MachineRow], options: Options) -> list[PlanRow]:
    """Overdue machines, then those due within the horizon by days left; VC flagged."""
    horizon = _add_months(options.now.date(), options.horizon_months)
    chosen = [
        m
        for m in machines
        if m.lifecycle == "overdue"
        or (
            m.lifecycle in ("due", "ok")
            and m.end_date
            and date.fromisoformat(m.end_date) <= horizon
        )
    ]
    chosen.sort(
        key=lambda m: (
            m.lifecycle != "overdue",
            m.days_left if m.days_left is not None else 0,
            m.site,
            m.agent,
        )
    )
    return [
        PlanRow(
            priority=i,
            site=m.site,
            agent=m.agent,
            device_class=m.device_class,
            manufacturer=m.manufacturer,
            model=m.model,
            serial=m.serial,
            lifecycle=m.lifecycle,
            days_left=m.days_left,
            end_date=m.end_date,
            vc=m.vc,
            unit_price_vnd=options.prices.get(m.device_class),
        )
        for i, m in enumerate(chosen, 1)
    ]


def _plan_wards(plan: list[PlanRow]) -> list[PlanWard]:
    wards: dict[str, PlanWard] = {}
    for row in plan:
        ward = wards.setdefault(row.site, PlanWard(site=row.site, machines=0, priced=0, cost_vnd=0))
        ward.machines += 1
        if row.unit_price_vnd is not None:
            ward.priced += 1
            ward.cost_vnd += row.unit_price_vnd
    return sorted(wards.values(), key=lambda w: w.site)


def _ages(machines: list[MachineRow]) -> list[AgeBucket]:
    buckets = [
        AgeBucket(low=low, high=None if low == AGE_LAST_BUCKET else low + AGE_STEP_YEARS, count=0)
        for low in range(0, AGE_LAST_BUCKET + 1, AGE_STEP_YEARS)
    ]
    for m in machines:
        if m.age_years is not None:
            index = min(int(m.age_years // AGE_STEP_YEARS), len(buckets) - 1)
            buckets[index].count += 1
    return buckets


def _summary(
    site: str,
    machines: list[MachineRow],
    shares: Mapping[str, tuple[int, float]],
    links: Mapping[tuple[str, str], LinkShare],
) -> WardSummary:
    """One ward's row (``site`` "": the city's) of the summary."""
    counts = VerdictCounts()
    for m in machines:
        setattr(counts, m.lifecycle, getattr(counts, m.lifecycle) + 1)
    received = sum(shares[m.agent][0] for m in machines if m.agent in shares)
    expected = sum(shares[m.agent][1] for m in machines if m.agent in shares)
    return WardSummary(
        site=site,
        total=not site,
        machines=len(machines),
        hardware=counts,
        os_unsupported=sum(1 for m in machines if m.os_support == "overdue"),
        availability_pct=round(min(100.0, 100 * received / expected), 2) if expected else None,
        links=[links[(site, kind)] for kind in LINK_KINDS if (site, kind) in links],
    )


def gather(reader: Reader, options: Options) -> Inspection:
    """The report of ``reader``'s period and ward; EmptyReport when no machine reported."""
    hardware = reader.machines()
    if not hardware:
        raise EmptyReport("no machine reported a hardware verdict in the period")
    systems = _by_agent(reader.systems())
    shares = _availability(reader)
    machines = sorted(
        (_machine(hw, systems.get(hw.tags.get("agent", "")), shares) for hw in hardware),
        key=_worst_first,
    )
    sites = sorted({m.site for m in machines})
    worst = linkquality.worst_links(reader)
    found = linkquality.rounds(reader)
    link_shares = linkquality.shares(found)
    plan = _plan(machines, options)
    plan_wards = _plan_wards(plan)
    scope = reader.scope
    return Inspection(
        city=options.city,
        site=scope.site,
        start=scope.start,
        end=scope.end,
        days=round((scope.end - scope.start).total_seconds() / 86400),
        language=options.language,
        policy=options.policy,
        made_at=options.now,
        horizon_months=options.horizon_months,
        wards=[
            _summary(s, [m for m in machines if m.site == s], shares, link_shares) for s in sites
        ],
        total=_summary("", machines, shares, link_shares),
        machines=machines,
        plan=plan,
        plan_wards=plan_wards,
        plan_total_vnd=sum(w.cost_vnd for w in plan_wards),
        plan_unpriced=sum(1 for row in plan if row.unit_price_vnd is None),
        prices_are_examples=options.prices_are_examples,
        worst_links=worst,
        heat=linkquality.heat(found, sites, reader.scope),
        ages=_ages(machines),
        queries=reader.queries,
    )
