"""The fleet's lifecycle verdicts, one line per machine, worst first: ``wardwatch lifecycle``.

Read from InfluxDB with InfluxQL (the latest ``hardware`` and ``os`` point of each machine),
so the list shows what the collector decided, as the dashboards do. A machine that stopped
reporting keeps its last verdict; ``as_of`` says which day that was.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from agent.table import columns
from collector.catalogue import AGENT_TAGS
from collector.influxql import QueryClient, Row, quote_ident, quote_string

HARDWARE_FIELDS = (
    "lifecycle",
    "rank",
    "days_left",
    "end_date",
    "age_years",
    "since",
    "age_source",
    "age_confidence",
    "reason",
    "policy",
    "policy_class",
    "manufacturer",
    "model",
    "serial",
    "hypervisor",
    "cpu_model",
    "asset_line",
)
OS_FIELDS = ("support", "rank", "release", "name", "version", "build", "eol_date", "days_left")


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


def _latest(client: QueryClient, measurement: str, names: tuple[str, ...], site: str) -> list[Row]:
    where = f" WHERE {quote_ident('site')} = {quote_string(site)}" if site else ""
    columns = ", ".join(quote_ident(name) for name in names)
    group = ", ".join(quote_ident(tag) for tag in AGENT_TAGS)
    return client.query(
        f"SELECT {columns} FROM {quote_ident(measurement)}{where} "
        f"GROUP BY {group} ORDER BY time DESC LIMIT 1"
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def fleet_verdicts(client: QueryClient, site: str = "") -> list[MachineVerdict]:
    """Every machine's latest verdicts (of one site, if given), worst first."""
    systems = {row.tags["agent"]: row.values for row in _latest(client, "os", OS_FIELDS, site)}
    found: list[MachineVerdict] = []
    for row in _latest(client, "hardware", HARDWARE_FIELDS, site):
        hw = row.values
        sw = systems.get(row.tags["agent"], {})
        at = datetime.fromtimestamp(int(hw["time"]) / 1e9, UTC).date().isoformat()
        found.append(
            MachineVerdict(
                site=row.tags.get("site", ""),
                agent=row.tags["agent"],
                role=row.tags.get("role", ""),
                device_class=row.tags.get("device_class", ""),
                as_of=at,
                lifecycle=str(hw.get("lifecycle") or "unknown"),
                days_left=_int(hw.get("days_left")),
                end_date=str(hw.get("end_date") or ""),
                age_years=hw.get("age_years"),
                since=str(hw.get("since") or ""),
                age_source=str(hw.get("age_source") or ""),
                age_confidence=str(hw.get("age_confidence") or ""),
                reason=str(hw.get("reason") or ""),
                policy=str(hw.get("policy") or ""),
                manufacturer=str(hw.get("manufacturer") or ""),
                model=str(hw.get("model") or ""),
                serial=str(hw.get("serial") or ""),
                hypervisor=str(hw.get("hypervisor") or ""),
                cpu_model=str(hw.get("cpu_model") or ""),
                asset_line=_int(hw.get("asset_line")),
                os_support=str(sw.get("support") or "unknown"),
                os_release=str(sw.get("release") or ""),
                os_name=" ".join(str(sw.get(k) or "") for k in ("name", "version")).strip(),
                os_eol_date=str(sw.get("eol_date") or ""),
                os_days_left=_int(sw.get("days_left")),
                rank=max(int(hw.get("rank") or 0), int(sw.get("rank") or 0)),
            )
        )
    return sorted(found, key=_worst_first)


def _worst_first(v: MachineVerdict) -> tuple[Any, ...]:
    soonest = min((d for d in (v.days_left, v.os_days_left) if d is not None), default=1 << 30)
    return (-v.rank, soonest, v.site, v.agent)


def _days(days: int | None) -> str:
    return "-" if days is None else str(days)


def render_table(verdicts: list[MachineVerdict]) -> str:
    """A plain-text table, one line per machine."""
    header = (
        "SITE",
        "AGENT",
        "HARDWARE",
        "DAYS",
        "AGE",
        "SINCE (EVIDENCE)",
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
            _days(v.days_left),
            "-" if v.age_years is None else f"{v.age_years:.1f}y",
            f"{v.since} ({v.age_source}, {v.age_confidence})" if v.since else "-",
            " ".join(p for p in (v.manufacturer, v.model) if p)
            + (f" [{v.hypervisor}]" if v.hypervisor else "")
            or "-",
            v.serial or "-",
            v.os_release or v.os_name or "-",
            v.os_support.upper() if v.os_support in ("overdue", "due") else v.os_support,
            _days(v.os_days_left),
            v.as_of,
        )
        for v in verdicts
    ]
    lines = columns(header, rows)
    if not rows:
        lines.append("(no machine has been judged yet: no agent has sent its machine facts)")
    return "\n".join(lines)


def render_csv(verdicts: list[MachineVerdict]) -> str:
    """Every column, for a spreadsheet (the replacement budget request)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [f.name for f in fields(MachineVerdict)]
    writer.writerow(names)
    for v in verdicts:
        writer.writerow(["" if getattr(v, n) is None else getattr(v, n) for n in names])
    return out.getvalue()


def render_json(verdicts: list[MachineVerdict]) -> str:
    """Every column, as a JSON list."""
    return json.dumps([asdict(v) for v in verdicts], ensure_ascii=False, indent=2)
