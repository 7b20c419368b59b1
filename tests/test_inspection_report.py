"""``wardwatch report`` on a fleet of known truth (``tests.support.inspection_fleet``) in a real
InfluxDB: the figures ``gather`` reads are exactly the fleet's, the command writes each format,
and what stops it (a ward that does not exist, an empty period, InfluxDB out of reach) is one
line on stderr and exit code 2."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.support import programs
from tests.support.inspection_fleet import DAYS, DUC_HOA, P7, TAN_AN, write_fleet
from wardwatch.collector.devstack.services import Influxd, free_port
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.inspection import gather
from wardwatch.collector.inspection.model import Inspection
from wardwatch.collector.inspection.queries import Reader, Scope

pytestmark = [pytest.mark.services, pytest.mark.process]


@dataclass(frozen=True)
class Written:
    """The fleet's database and the moment its reports end."""

    influxd: Influxd
    database: str
    now: datetime


@pytest.fixture(scope="module")
def fleet(influxd: Influxd) -> Iterator[Written]:
    """The fleet written once for the module (read-only for its tests)."""
    database = f"report_{uuid.uuid4().hex[:8]}"
    influxd.query(f'CREATE DATABASE "{database}"')
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    write_fleet(influxd, database, now)
    yield Written(influxd, database, now)
    influxd.query(f'DROP DATABASE "{database}"')


def _gather(fleet: Written, site: str = "", **options: object) -> Inspection:
    client = QueryClient(fleet.influxd.section(fleet.database))
    try:
        reader = Reader(client, Scope(fleet.now - timedelta(days=DAYS), fleet.now, site), print)
        values: dict[str, object] = dict(
            city="UBND Thành phố Tân An", language="vi", policy="vn-tt23-2023",
            horizon_months=12, prices={"desktop": 15_000_000}, prices_are_examples=True,
            now=fleet.now,
        )  # fmt: skip
        values.update(options)
        return gather.gather(reader, gather.Options(**values))  # type: ignore[arg-type]
    finally:
        client.close()


def test_the_summary_is_the_fleets_truth(fleet: Written) -> None:
    report = _gather(fleet)
    rows = {w.site: w for w in report.wards}
    assert list(rows) == sorted([TAN_AN, DUC_HOA, P7])
    counts = {
        site: (w.machines, w.hardware.overdue, w.hardware.due, w.hardware.ok, w.hardware.unknown)
        for site, w in rows.items()
    }
    assert counts == {TAN_AN: (3, 1, 1, 1, 0), DUC_HOA: (2, 1, 0, 0, 1), P7: (2, 1, 0, 1, 0)}
    assert {site: w.os_unsupported for site, w in rows.items()} == {TAN_AN: 1, DUC_HOA: 1, P7: 1}
    # p7-half reported for the first half of the period only: (336 + 168) / (336 + 336).
    assert {site: w.availability_pct for site, w in rows.items()} == {
        TAN_AN: 100.0,
        DUC_HOA: 100.0,
        P7: 75.0,
    }
    total = report.total
    assert total.total and (total.machines, total.os_unsupported) == (7, 3)
    assert (total.hardware.overdue, total.hardware.due, total.hardware.ok) == (3, 1, 2)
    assert total.hardware.unknown == 1 and total.availability_pct == 92.86


def test_link_quality_is_the_fleets_truth(fleet: Written) -> None:
    report = _gather(fleet)
    shares = {(w.site, s.kind): s for w in [*report.wards, report.total] for s in w.links}
    mcu = shares[(DUC_HOA, "mcu")]
    # dh-vc's every round to the MCU is bad (20 % loss), dh-bare's good: half, in every clock
    # hour the reports touch (from the first, 30 min into the period, to the last, at its end,
    # on the hour: 7 x 24 + 1).
    assert (mcu.rounds, mcu.good_pct, mcu.bad_pct, mcu.bad_hours) == (672, 50.0, 50.0, 169)
    hub = shares[(P7, "hub")]
    assert (hub.rounds, hub.degraded_pct, hub.bad_hours) == (504, 66.67, 0)
    assert shares[("", "mcu")].bad_hours == 169 and shares[("", "internet")].bad_pct == 0.0
    worst = report.worst_links[0]
    assert (worst.site, worst.agent, worst.kind, worst.bad_pct, worst.loss_pct) == (
        DUC_HOA, "dh-vc", "mcu", 100.0, 20.0,
    )  # fmt: skip
    # Every ward on every city day of the period (8 calendar days hold 7 x 24 hours).
    assert len(report.heat) == 3 * 8
    # A ward's day counts all three kinds: one bad kind of one machine of two is a sixth.
    assert {c.bad_pct for c in report.heat if c.site == DUC_HOA and c.good_pct} == {16.67}
    assert {c.good_pct for c in report.heat if c.site == TAN_AN} == {100.0}


def test_machines_and_plan_are_the_fleets_truth(fleet: Written) -> None:
    report = _gather(fleet)
    verdicts = {m.agent: m.lifecycle for m in report.machines}
    assert verdicts == {
        "ta-old": "overdue", "dh-vc": "overdue", "p7-old": "overdue", "ta-due": "due",
        "dh-bare": "unknown", "ta-new": "ok", "p7-half": "ok",
    }  # fmt: skip
    assert [m.rank for m in report.machines] == sorted(
        (m.rank for m in report.machines), reverse=True
    )
    half = next(m for m in report.machines if m.agent == "p7-half")
    assert half.availability_pct == 50.0
    assert timedelta(days=3.4) < fleet.now - half.last_seen < timedelta(days=3.6)
    assert [(p.priority, p.agent, p.vc) for p in report.plan][-1] == (4, "ta-due", False)
    assert {p.agent for p in report.plan} == {"ta-old", "dh-vc", "p7-old", "ta-due"}
    assert [p.lifecycle for p in report.plan] == ["overdue"] * 3 + ["due"]
    assert next(p for p in report.plan if p.agent == "dh-vc").vc
    assert (report.plan_total_vnd, report.plan_unpriced) == (60_000_000, 0)
    assert sum(w.cost_vnd for w in report.plan_wards) == 60_000_000
    # Without a price for desktops: counted, out of the total, said.
    unpriced = _gather(fleet, prices={"laptop": 18_000_000})
    assert (unpriced.plan_total_vnd, unpriced.plan_unpriced, len(unpriced.plan)) == (0, 4, 4)
    # A horizon of 0 months keeps the overdue machines only.
    assert len(_gather(fleet, horizon_months=0).plan) == 3
    assert [b.count for b in report.ages] == [2, 0, 1, 0, 0, 3]
    assert {q.key for q in report.queries} >= {
        "machines",
        "os",
        "reports",
        "links",
        "days",
        "bad_hours",
    }


def test_one_ward(fleet: Written) -> None:
    report = _gather(fleet, site=P7)
    assert [w.site for w in report.wards] == [P7]
    assert {m.agent for m in report.machines} == {"p7-old", "p7-half"}
    assert report.total.machines == 2 and {c.site for c in report.heat} == {P7}


# --- the command ------------------------------------------------------------------------------


def _config(tmp_path: Path, url: str, database: str) -> Path:
    path = tmp_path / "collector.toml"
    path.write_text(
        f'[influx]\nurl = "{url}"\ndatabase = "{database}"\n\n'
        '[report]\ncity = "UBND Thành phố Tân An"\n',
        encoding="utf-8",
    )
    return path


def _report(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*programs.WARDWATCH, "report", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bad_site_empty_period_and_dead_influxdb_are_one_line_and_exit_2(
    fleet: Written, tmp_path: Path
) -> None:
    config = _config(tmp_path, fleet.influxd.url, fleet.database)
    out = tmp_path / "r.html"
    bad_site = _report(config, "--site", "Phường 99", "--output", str(out))
    assert bad_site.returncode == 2, bad_site.stderr
    last = bad_site.stderr.strip().splitlines()[-1]
    assert "'Phường 99'" in last and TAN_AN in last and "Traceback" not in bad_site.stderr
    empty_db = f"empty_{uuid.uuid4().hex[:8]}"
    fleet.influxd.query(f'CREATE DATABASE "{empty_db}"')
    try:
        empty = _report(_config(tmp_path, fleet.influxd.url, empty_db), "--output", str(out))
    finally:
        fleet.influxd.query(f'DROP DATABASE "{empty_db}"')
    assert empty.returncode == 2 and "nothing to report" in empty.stderr.splitlines()[-1]
    dead = _report(_config(tmp_path, f"http://127.0.0.1:{free_port()}", "x"), "--output", str(out))
    assert dead.returncode == 2 and "cannot read InfluxDB" in dead.stderr.splitlines()[-1]
    nowhere = _report(config, "--output", str(tmp_path / "no" / "r.xlsx"))
    assert nowhere.returncode == 2 and "no directory" in nowhere.stderr
    unknown = _report(config, "--output", str(tmp_path / "r.docx"))
    assert unknown.returncode == 2 and "--format" in unknown.stderr
    assert not out.exists() and not (tmp_path / "r.docx").exists()


def _row_starting(ws: Any, text: str) -> list[Any]:
    for row in ws.iter_rows(values_only=True):
        if row and row[0] == text:
            return list(row)
    raise AssertionError(f"no row starts with {text!r}")


def test_each_format_carries_the_fleets_figures(fleet: Written, tmp_path: Path) -> None:
    """The command, as an inspector runs it: progress on stderr, then each file; the figures
    read back from each are the fleet's (8 days: every report of the fleet's 7 is in)."""
    config = _config(tmp_path, fleet.influxd.url, fleet.database)
    for kind in ("xlsx", "html", "pdf"):
        out = tmp_path / f"report.{kind}"
        done = _report(config, "--days", "8", "--output", str(out))
        assert done.returncode == 0, done.stderr
        assert "[1] each machine's latest hardware verdict" in done.stderr
        assert f"wrote {out} (7 machines, 3 wards, 4 to replace)" in done.stderr
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    summary = book["Tổng hợp"]
    assert _row_starting(summary, "Toàn thành phố")[1:7] == [7, 3, 1, 2, 1, 3]
    assert _row_starting(summary, DUC_HOA)[1:7] == [2, 1, 0, 0, 1, 1]
    plan = book["Kế hoạch thay thế"]
    cells = [c for row in plan.iter_rows(values_only=True) for c in row if c is not None]
    assert 60_000_000 in cells and any("ví dụ" in str(c) for c in cells)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "UBND Thành phố Tân An" in page and "60.000.000" in page and DUC_HOA in page
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert DUC_HOA in text and "60.000.000" in text and "dh-vc" in text
    english = _report(config, "--days", "8", "--lang", "en", "--output", str(tmp_path / "e.html"))
    assert english.returncode == 0 and "60,000,000" in (tmp_path / "e.html").read_text()
