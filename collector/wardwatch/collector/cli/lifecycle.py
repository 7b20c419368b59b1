"""``wardwatch lifecycle``: the fleet's lifecycle verdicts, one line per machine, worst first.

Read from InfluxDB with InfluxQL (the latest ``hardware`` and ``os`` point of each machine),
so the list shows what the collector decided, as the dashboards do. A machine that stopped
reporting keeps its last verdict; ``as_of`` says which day that was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from wardwatch.collector.cli.report import Report, as_json
from wardwatch.collector.influx.query import QueryClient, Row, latest
from wardwatch.collector.inspection.gather import machine_fields
from wardwatch.common import table
from wardwatch.common.table import cell
from wardwatch.contract.catalogue import AGENT_TAGS, HARDWARE, OS, Measurement


@dataclass(frozen=True)
class MachineVerdict:
    """One machine's latest verdicts, as the operator sees them."""

    site: str
    agent: str
    role: str
    device_class: str
    as_of: str  # the day of the latest verdict (ISO)
    lifecycle: str
    days_left: int | None
    end_date: str
    age_years: float | None
    since: str
    age_source: str
    age_confidence: str
    made_earliest: int | None  # the years the evidence lets the machine be made in
    made_latest: int | None
    reason: str
    policy: str
    manufacturer: str
    model: str
    serial: str
    hypervisor: str
    cpu_model: str
    asset_line: int | None
    os_support: str
    os_release: str
    os_name: str
    os_eol_date: str
    os_days_left: int | None
    rank: int  # the worse of the two verdicts, worst highest


def _latest(client: QueryClient, measurement: Measurement, site: str) -> list[Row]:
    """Each machine's latest point of ``measurement``: the fields a list of machines shows."""
    return latest(client, measurement.name, measurement.listed, AGENT_TAGS, {"site": site})


def fleet_verdicts(client: QueryClient, site: str = "") -> list[MachineVerdict]:
    """Every machine's latest verdicts (of one site, if given), worst first."""
    systems = {row.tags["agent"]: row for row in _latest(client, OS, site)}
    found: list[MachineVerdict] = []
    for hw in _latest(client, HARDWARE, site):
        sw = systems.get(hw.tags["agent"], Row("os", {}))
        at = hw.moment().date().isoformat()
        found.append(
            MachineVerdict(
                site=hw.tags.get("site", ""),
                agent=hw.tags["agent"],
                role=hw.tags.get("role", ""),
                device_class=hw.tags.get("device_class", ""),
                as_of=at,
                lifecycle=hw.text("lifecycle", "unknown"),
                **machine_fields(hw),
                reason=hw.text("reason"),
                policy=hw.text("policy"),
                hypervisor=hw.text("hypervisor"),
                cpu_model=hw.text("cpu_model"),
                asset_line=hw.optional_int("asset_line"),
                os_support=sw.text("support", "unknown"),
                os_release=sw.text("release"),
                os_name=f"{sw.text('name')} {sw.text('version')}".strip(),
                os_eol_date=sw.text("eol_date"),
                os_days_left=sw.optional_int("days_left"),
                rank=max(hw.optional_int("rank") or 0, sw.optional_int("rank") or 0),
            )
        )
    return sorted(found, key=_worst_first)


def _worst_first(v: MachineVerdict) -> tuple[Any, ...]:
    soonest = min((d for d in (v.days_left, v.os_days_left) if d is not None), default=1 << 30)
    return (-v.rank, soonest, v.site, v.agent)


def _made(v: MachineVerdict) -> str:
    """The years the evidence lets the machine be made in: "2010-2011", "2015-", "-"."""
    if v.made_earliest is None and v.made_latest is None:
        return "-"
    if v.made_earliest == v.made_latest:
        return str(v.made_earliest)
    return f"{v.made_earliest or ''}-{v.made_latest or ''}"


def render_table(verdicts: Sequence[MachineVerdict]) -> str:
    """A plain-text table, one line per machine."""
    header = (
        "SITE",
        "AGENT",
        "HARDWARE",
        "DAYS",
        "AGE",
        "SINCE (EVIDENCE)",
        "MADE",
        "MODEL",
        "SERIAL",
        "OS",
        "SUPPORT",
        "OS DAYS",
        "AS OF",
    )
    rows = [
        (
            v.site,
            v.agent,
            v.lifecycle.upper() if v.lifecycle in ("overdue", "due") else v.lifecycle,
            cell(v.days_left),
            "-" if v.age_years is None else f"{v.age_years:.1f}y",
            f"{v.since} ({v.age_source}, {v.age_confidence})" if v.since else "-",
            _made(v),
            " ".join(p for p in (v.manufacturer, v.model) if p)
            + (f" [{v.hypervisor}]" if v.hypervisor else "")
            or "-",
            v.serial or "-",
            v.os_release or v.os_name or "-",
            v.os_support.upper() if v.os_support in ("overdue", "due") else v.os_support,
            cell(v.os_days_left),
            v.as_of,
        )
        for v in verdicts
    ]
    return table.text(
        header, rows, "(no machine has been judged yet: no agent has sent its machine facts)"
    )


def render_csv(verdicts: Sequence[MachineVerdict]) -> str:
    """Every column, for a spreadsheet (the replacement budget request)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [f.name for f in fields(MachineVerdict)]
    writer.writerow(names)
    for v in verdicts:
        writer.writerow(["" if getattr(v, n) is None else getattr(v, n) for n in names])
    return out.getvalue()


REPORT = Report(
    name="lifecycle",
    help="one line per machine: hardware lifecycle and OS support verdicts, worst first",
    description="List every machine's latest verdicts from InfluxDB, worst first: overdue, due "
    "(within the policy's warning window), unknown, ok; the hardware's age, the evidence it was "
    "taken from, model and serial; the OS release and its end of support. Use --format csv for "
    "a spreadsheet of the machines to replace.",
    fetch=fleet_verdicts,
    formats={"table": render_table, "csv": render_csv, "json": as_json},
)
