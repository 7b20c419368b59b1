"""The inspection report as an Excel workbook: one sheet per section, in the report's language.

Each sheet opens with the same title block and names the queries its figures rest on (the Queries
sheet holds their InfluxQL). Numbers and dates are real Excel values, so an inspector can sort,
filter and sum them, in the formats of ``FORMATS``. Totals are values, not formulas: openpyxl and
many viewers compute no formula, and a figure must read the same everywhere. Text from the fleet
(ward names, evidence) is always typed text: ``=cmd|' /C calc'!A0`` never becomes a formula."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import DEFAULT_FONT, Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from wardwatch.collector.inspection import model
from wardwatch.collector.inspection.model import CITY_ZONE, LINK_KINDS, VERDICTS, Inspection
from wardwatch.collector.inspection.queries import SOURCES
from wardwatch.collector.inspection.words import words

Value = str | int | float | date | datetime | None
Row = Sequence[Value]
Words = Callable[[str], str]


class Formats(NamedTuple):
    """One language's number formats (by column kind) and the patterns of dates shown in text."""

    number: Mapping[str, str]
    day: str
    moment: str


FORMATS: Final[Mapping[model.Language, Formats]] = {
    # 42A is the Vietnamese locale (LCID 0x042A): Excel shows dates and figures the Vietnamese way.
    "vi": Formats({"count": "[$-42A]#,##0", "money": '[$-42A]#,##0 "₫"', "decimal": "[$-42A]0.0",
                   "date": "[$-42A]dd/mm/yyyy", "datetime": "[$-42A]dd/mm/yyyy hh:mm"},
                  "%d/%m/%Y", "%d/%m/%Y %H:%M"),
    "en": Formats({"count": "#,##0", "money": "#,##0", "decimal": "0.0", "date": "yyyy-mm-dd",
                   "datetime": "yyyy-mm-dd hh:mm"}, "%Y-%m-%d", "%Y-%m-%d %H:%M"),
}  # fmt: skip
"""The only place the workbook's formats are defined."""

VERDICT_COLOURS: Final = {"overdue": "C00000", "due": "ED7D31", "ok": "70AD47", "unknown": "A6A6A6"}
TERMS: Final = frozenset({*VERDICTS, *LINK_KINDS, "high", "medium", "low"})  # the words translate
SHARES: Final = "good_pct:decimal degraded_pct:decimal bad_pct:decimal bad_hours:count"
WIDTH_MIN, WIDTH_MAX = 8, 60
CHART_ROWS = 17  # rows a chart 7.5 cm high covers: the next table starts below it
FORMULA_LEADS = ("=", "+", "-", "@")

BOLD, ITALIC = Font(bold=True), Font(italic=True)
HEADER_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGN: Final = Alignment(wrap_text=True, vertical="center")
ALIGN: Final = {kind: Alignment(wrap_text=kind == "wrap", vertical="top") for kind in ("", "wrap")}
HEAT_SCALE: Final = dict(start_type="num", start_value=0, start_color="F8696B", mid_type="num",
                         mid_value=50, mid_color="FFEB84", end_type="num", end_value=100,
                         end_color="63BE7B")  # fmt: skip
"""The heat map's colours: red at 0 % good rounds, yellow at 50 %, green at 100 %."""
STRIPES: Final = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)


class Column(NamedTuple):
    """A table column: its header (a date on the heat map), its kind (text, wrap, a number)."""

    header: Value
    kind: str = "text"


def write(report: Inspection, out: Path) -> None:
    """Write the workbook to ``out`` atomically: a reader sees the old file or the whole new one."""
    book = workbook(report)
    fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            book.save(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp's 0600 would hide a report that holds no secret
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def workbook(report: Inspection) -> Any:
    """The report as an ``openpyxl.Workbook``, with nothing written to disk."""
    _check_plan(report)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = words(report.language)("title")
    wb.properties.creator = "wardwatch"
    wb.properties.created = report.made_at.astimezone(UTC).replace(tzinfo=None)
    for fill in (_summary, _machines, _plan, _links, _charts, _queries):
        fill(report, wb)
    return wb


def _check_plan(report: Inspection) -> None:
    """Refuse a plan whose totals are not the sums of its rows: an inspector adds them up."""
    prices = [row.unit_price_vnd for row in report.plan if row.unit_price_vnd is not None]
    wards = report.plan_wards
    found = (sum(prices), sum(p.cost_vnd for p in wards), sum(p.machines for p in wards))
    said = (report.plan_total_vnd, report.plan_total_vnd, len(report.plan))
    if found != said or len(report.plan) - len(prices) != report.plan_unpriced:
        raise ValueError(f"plan totals disagree: rows' cost, wards' cost, wards' machines {found}, "
                         f"the report's {said}; {report.plan_unpriced} said unpriced")  # fmt: skip


class _Sheet:
    """One worksheet, written top to bottom: ``row`` is its next free row. It opens with the title
    block (and the queries its figures rest on, when ``SOURCES`` names them)."""

    def __init__(self, report: Inspection, wb: Any, key: str) -> None:
        w = self.w = words(report.language)
        fmt = self.fmt = FORMATS[report.language]
        # Excel's rules for a sheet name: 31 characters at most, none of []:*?/\
        name = "".join(" " if char in "[]:*?/\\" else char for char in w(key))[:31].strip()
        self.ws = wb.create_sheet(name)
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToHeight = 0  # as many pages down as needed, one page across
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        start, end = _local(report.start), _local(report.end)
        self.row = 1
        self.line(w("title"), Font(bold=True, size=14))
        for line in (
            f"{w('city')}: {report.city}",
            f"{w('scope')}: {report.site or w('all_wards')}",
            f"{w('period')}: {start:{fmt.day}}–{end:{fmt.day}} ({report.days} {w('days')})",
            f"{w('policy')}: {report.policy}",
            f"{w('made_at')}: {_local(report.made_at):{fmt.moment}}",
        ):
            self.line(line, ITALIC)
        section = key.removeprefix("sheet_")
        if section in SOURCES:
            held = [query.key for query in report.queries if query.key in SOURCES[section]]
            self.line(f"{w('source')}: {', '.join(held) or w('none')}", ITALIC)
        self.row += 1

    def put(self, row: int, col: int, value: Value, number_format: str | None = None) -> Any:
        """Write one cell. Text stays text: openpyxl makes "=..." a formula, "#N/A" an error."""
        cell = self.ws.cell(row=row, column=col)
        if isinstance(value, str):
            text = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters break the file
            cell.value = text
            cell.data_type = "s"
            # Excel would evaluate such a text once a user edits the cell: the quote keeps it.
            cell.quotePrefix = text.startswith(FORMULA_LEADS)
        else:
            cell.value = value
            if number_format is not None and value is not None:
                cell.number_format = number_format
        return cell

    def line(self, text: str, font: Any = BOLD) -> None:
        """A line of text (a heading when bold) in column A."""
        self.put(self.row, 1, text).font = font
        self.row += 1

    def columns(self, spec: str, prefix: str = "") -> list[Column]:
        """Columns from "key:kind key..." (kind "text" when left out), headers from the words."""
        pairs = (token.partition(":") for token in spec.split())
        return [Column(prefix + self.w(key), kind or "text") for key, _, kind in pairs]

    def table(self, cols: list[Column], rows: Sequence[Row], name: str = "", *totals: Row) -> int:
        """Header, ``rows``, then the bold ``totals`` (outside the filter, so a sort leaves them
        last); an Excel table, with its own auto-filter, when ``name``d. Every table of the
        workbook is written here. Returns the header's row; leaves a blank row below."""
        top, number = self.row, self.fmt.number
        body = list(rows) or [[self.w("none"), *[None] * (len(cols) - 1)]]
        for col, column in enumerate(cols, 1):
            cell = self.put(top, col, column.header, number["date"])
            cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, HEADER_ALIGN
        for row, values in enumerate([*body, *totals], top + 1):
            for col, (column, value) in enumerate(zip(cols, values, strict=True), 1):
                cell = self.put(row, col, value, number.get(column.kind))
                cell.alignment = ALIGN["wrap" if column.kind == "wrap" else ""]
                cell.font = BOLD if row > top + len(body) else DEFAULT_FONT
        if name:
            ref = f"A{top}:{get_column_letter(len(cols))}{top + len(body)}"
            self.ws.add_table(Table(displayName=name, ref=ref, tableStyleInfo=STRIPES))
        for col, column in enumerate(cols, 1):
            self.widen(col, column.header, [values[col - 1] for values in [*body, *totals]])
        self.row = top + len(body) + len(totals) + 2
        return top

    def widen(self, col: int, header: Value, values: Sequence[Value]) -> None:
        """Fit a column to its widest value (the header wraps, on two lines or at its longest
        word), within bounds; a column shared by several tables keeps the widest."""
        head = max([len(str(header)) // 2, *map(len, str(header).split())])  # a date: 10
        width = max([head, *(len(_shown(value)) for value in values)]) + 2
        dimensions = self.ws.column_dimensions
        letter = get_column_letter(col)
        known = dimensions[letter].width if letter in dimensions else 0
        dimensions[letter].width = max(known, min(max(WIDTH_MIN, width), WIDTH_MAX))


def _shown(value: Value) -> str:
    """About what Excel shows for a value, to size its column."""
    if isinstance(value, date):
        return "dd/mm/yyyy hh:mm" if isinstance(value, datetime) else "dd/mm/yyyy"
    if isinstance(value, float | int):
        return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return max((value or "").splitlines(), key=len, default="")


def _local(moment: datetime) -> datetime:
    """A naive time in the city, as Excel wants it (it has no zones); a naive input is UTC."""
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(CITY_ZONE).replace(tzinfo=None)


def _day(text: str) -> date | str | None:
    """An ISO date as a date; "" as an empty cell; anything else kept as the text it is."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return text


def _term(w: Words, value: str, prefix: str = "") -> str:
    """A verdict (``prefix`` "os_": an OS's support), link kind or confidence in the report's
    language; other text as it is."""
    return w(prefix + value) if value in TERMS else value


def _summary_row(w: Words, ward: model.WardSummary) -> list[Value]:
    row: list[Value] = [w("city_total") if ward.total else ward.site, ward.machines]
    row += [getattr(ward.hardware, verdict) for verdict in VERDICTS]
    row += [ward.os_unsupported, ward.availability_pct]
    shares = {s.kind: [s.good_pct, s.degraded_pct, s.bad_pct, s.bad_hours] for s in ward.links}
    return [*row, *(value for kind in LINK_KINDS for value in shares.get(kind, [None] * 4))]


def _summary(report: Inspection, wb: Any) -> None:
    sheet = _Sheet(report, wb, "sheet_summary")
    w = sheet.w
    cols = sheet.columns("site machines_seen:count overdue:count due:count ok:count unknown:count")
    cols += sheet.columns("os_unsupported:count availability:decimal")
    cols += [col for kind in LINK_KINDS for col in sheet.columns(SHARES, f"{w(kind)}: ")]
    sheet.line(w("summary"))
    rows = [_summary_row(w, ward) for ward in report.wards]
    top = sheet.table(cols, rows, "Summary", _summary_row(w, report.total))
    sheet.ws.freeze_panes = f"B{top + 1}"  # the ward stays in sight across the link columns


def _machine_row(w: Words, m: model.MachineRow) -> list[Value]:
    made = "–".join(str(year) for year in sorted({m.made_earliest or 0, m.made_latest or 0} - {0}))
    return [
        *(m.site, m.agent, m.role, m.device_class, m.manufacturer, m.model, m.serial),
        *(m.age_years, _day(m.since), made, m.evidence, _term(w, m.age_confidence)),
        *(_term(w, m.lifecycle), m.days_left, _day(m.end_date), m.os_name),
        *(_term(w, m.os_support, "os_"), _day(m.os_eol_date), _local(m.last_seen)),
        m.availability_pct,
        w("vc_yes") if m.vc else "",
    ]


def _machines(report: Inspection, wb: Any) -> None:
    sheet = _Sheet(report, wb, "sheet_machines")
    cols = sheet.columns("site agent role device_class manufacturer model serial age_years:decimal")
    cols += sheet.columns("since:date made evidence:wrap confidence lifecycle days_left:count")
    cols += sheet.columns("end_date:date os os_support os_eol_date:date last_seen:datetime")
    cols += sheet.columns("availability:decimal vc")
    sheet.line(sheet.w("machines"))
    top = sheet.table(cols, [_machine_row(sheet.w, m) for m in report.machines], "Machines")
    sheet.ws.freeze_panes = f"C{top + 1}"  # the ward and the machine stay in sight


def _plan(report: Inspection, wb: Any) -> None:
    sheet = _Sheet(report, wb, "sheet_plan")
    w = sheet.w
    sheet.line(f"{w('horizon')} {report.horizon_months} {w('months')}", Font())
    if report.prices_are_examples:
        sheet.line(w("examples"), Font(bold=True, color="C00000"))
    sheet.row += 1
    sheet.line(w("plan"))
    cols = sheet.columns("priority:count site agent device_class manufacturer model serial")
    cols += sheet.columns("lifecycle days_left:count end_date:date vc unit_price:money cost:money")
    rows: list[Row] = [
        [*(r.priority, r.site, r.agent, r.device_class, r.manufacturer, r.model, r.serial),
         *(_term(w, r.lifecycle), r.days_left, _day(r.end_date), w("vc_yes") if r.vc else ""),
         *(r.unit_price_vnd, r.unit_price_vnd)]  # one machine a row: its cost is its unit price
        for r in report.plan
    ]  # fmt: skip
    sheet.ws.freeze_panes = f"A{sheet.table(cols, rows, 'Plan') + 1}"
    sheet.line(w("subtotal"))
    cols = sheet.columns("site count:count priced:count cost:money")
    rows = [[p.site, p.machines, p.priced, p.cost_vnd] for p in report.plan_wards]
    total: Row = [w("total"), len(report.plan), sum(p.priced for p in report.plan_wards)]
    sheet.table(cols, rows, "PlanWards", [*total, report.plan_total_vnd])
    if report.plan_unpriced > 0:  # right below the total it qualifies
        sheet.put(sheet.row - 1, 1, f"{report.plan_unpriced} {w('unpriced')}").font = ITALIC


def _shares(w: Words, ward: model.WardSummary) -> list[Row]:
    site = w("city_total") if ward.total else ward.site
    return [
        [site, _term(w, s.kind), s.rounds, s.good_pct, s.degraded_pct, s.bad_pct, s.bad_hours]
        for s in ward.links
    ]


def _links(report: Inspection, wb: Any) -> None:
    sheet = _Sheet(report, wb, "sheet_links")
    w = sheet.w
    sheet.line(w("links"))
    cols = sheet.columns(f"site kind rounds:count {SHARES}")
    rows = [line for ward in report.wards for line in _shares(w, ward)]
    top = sheet.table(cols, rows, "LinkShares", *_shares(w, report.total))
    sheet.ws.freeze_panes = f"A{top + 1}"
    sheet.line(w("worst_links"))
    cols = sheet.columns("site agent target kind rounds:count bad_pct:decimal degraded_pct:decimal")
    cols += sheet.columns("loss_pct:decimal rtt_avg_ms:decimal jitter_ms:decimal")
    rows = [
        [*(x.site, x.agent, x.target, _term(w, x.kind), x.rounds, x.bad_pct, x.degraded_pct),
         *(x.loss_pct, x.rtt_avg_ms, x.jitter_ms)]
        for x in report.worst_links
    ]  # fmt: skip
    sheet.table(cols, rows, "WorstLinks")


def _charted(sheet: _Sheet, title: str, cols: list[Column], rows: list[Row], name: str) -> Any:
    """A chart's source table (categories in column A, one series a column) under its heading,
    and a column chart of it beside the table; None when there is nothing to chart."""
    sheet.line(title)
    top = sheet.table(cols, rows, name)
    if not rows:
        return None
    chart = BarChart()
    chart.type, chart.title, chart.y_axis.title = "col", title, sheet.w("count")
    # openpyxl 3.1 leaves the axes' "delete" unset, which Excel reads as hidden axes.
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.width, chart.height = 18, 7.5
    chart.legend = chart.legend if len(cols) > 2 else None  # one series: the axis title names it
    last = top + len(rows)
    data = Reference(sheet.ws, min_col=2, max_col=len(cols), min_row=top, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet.ws, min_col=1, min_row=top + 1, max_row=last))
    sheet.ws.add_chart(chart, f"{get_column_letter(len(cols) + 2)}{top}")
    sheet.row = max(sheet.row, top + CHART_ROWS)
    return chart


def _heat(report: Inspection, sheet: _Sheet) -> None:
    """The heat map: wards down, days across, the share of good rounds coloured red to green."""
    sheet.line(sheet.w("chart_heat"))
    sites = list(dict.fromkeys(cell.site for cell in report.heat))
    days = sorted({cell.day for cell in report.heat})
    good = {(cell.site, cell.day): cell.good_pct for cell in report.heat}
    cols = [Column(sheet.w("site")), *(Column(day, "decimal") for day in days)]
    top = sheet.table(cols, [[site, *(good.get((site, day)) for day in days)] for site in sites])
    if sites and days:
        cells = f"B{top + 1}:{get_column_letter(len(days) + 1)}{top + len(sites)}"
        sheet.ws.conditional_formatting.add(cells, ColorScaleRule(**HEAT_SCALE))


def _charts(report: Inspection, wb: Any) -> None:
    sheet = _Sheet(report, wb, "sheet_charts")
    w = sheet.w
    # Several tables, one below the other: only the title block stays in sight.
    sheet.ws.freeze_panes = f"A{sheet.row}"
    cols = sheet.columns("site overdue:count due:count ok:count unknown:count")
    rows: list[Row] = [[v.site, *(getattr(v.hardware, k) for k in VERDICTS)] for v in report.wards]
    chart = _charted(sheet, w("chart_verdicts"), cols, rows, "Verdicts")
    if chart is not None:
        chart.grouping, chart.overlap = "stacked", 100
        for series, verdict in zip(chart.series, VERDICTS, strict=True):
            series.graphicalProperties.solidFill = VERDICT_COLOURS[verdict]
    years, older = w("years"), w("and_older")
    rows = [
        [f"{b.low}–{b.high} {years}" if b.high is not None else f"{b.low} {years} {older}", b.count]
        for b in report.ages
    ]
    cols = sheet.columns("age_years count:count")
    _charted(sheet, w("chart_ages"), cols, rows, "Ages")
    _heat(report, sheet)


def _queries(report: Inspection, wb: Any) -> None:
    sheet = _Sheet(report, wb, "sheet_queries")
    sheet.line(sheet.w("queries"))
    cols = sheet.columns("query_key query_purpose:wrap query:wrap")
    rows = [[query.key, query.purpose, query.influxql] for query in report.queries]
    sheet.ws.freeze_panes = f"A{sheet.table(cols, rows, 'Queries') + 1}"
