"""The inspection report as one self-contained web page (``wardwatch report --format html``):
inline CSS, inline SVG charts, no script and nothing fetched, so the file can be mailed, opened
offline, and printed to PDF as is (``pdf``). Its print CSS makes that PDF: A4, table headers
repeated on each page, rows never split, the two wide tables (summary, machines) on landscape
pages.

Every value from the data is escaped: a machine can name itself ``<script>``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from html import escape

from wardwatch.collector.inspection import svg
from wardwatch.collector.inspection.model import (
    CITY_ZONE,
    LINK_KINDS,
    VERDICTS,
    Inspection,
    Language,
    MachineRow,
    PlanRow,
    WardSummary,
    WorstLink,
)
from wardwatch.collector.inspection.queries import SOURCES
from wardwatch.collector.inspection.svg import day, number
from wardwatch.collector.inspection.words import words

Say = Callable[[str], str]

CSS = """
@page { size: A4; margin: 12mm }
@page wide { size: A4 landscape; margin: 10mm }
:root { font-family: "DejaVu Sans", "Noto Sans", "Segoe UI", Arial, sans-serif; color: #111 }
body { margin: 0 auto; max-width: 1500px; padding: 16px; font-size: 10pt; line-height: 1.3 }
h1 { font-size: 17pt; margin: 0 0 8px }
h2 { font-size: 13pt; margin: 18px 0 6px; break-after: avoid }
h3 { font-size: 11pt; margin: 12px 0 4px; break-after: avoid }
.source { font-size: 7.5pt; font-weight: normal; color: #555; margin-left: 10px }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 }
dl.meta dt { font-weight: bold } dl.meta dd { margin: 0 }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px }
th, td { border: 1px solid #b8b8b8; padding: 2px 4px; text-align: left; vertical-align: top }
th { background: #e9eef4; font-weight: bold }
thead { display: table-header-group }
tr { break-inside: avoid }
td.n { text-align: right; white-space: nowrap }
td.code, code { font-family: "DejaVu Sans Mono", monospace }
td.code, td.name, td.date { white-space: nowrap }
tr.total td { font-weight: bold; background: #f1f1f1 }
tr.vc td { background: #eef5ff }
td.v-overdue { color: #b71c1c; font-weight: bold } td.v-due { color: #a85d00 }
td.v-ok { color: #1b5e20 } td.v-unknown { color: #616161 }
small { display: block; color: #555; white-space: nowrap }
.badge { border: 1px solid #1f5fbf; color: #1f5fbf; border-radius: 3px; padding: 0 3px;
  font-size: 85%; white-space: nowrap }
.warning { border: 1px solid #d9a400; background: #fff4cc; padding: 6px 8px; margin: 6px 0 }
table.summary, table.machines { font-size: 7.5pt }
table.summary th { text-align: center }
td.evidence { min-width: 12em }
td.v { min-width: 5.5em }
td.site { min-width: 9em }
table.summary td.site { min-width: 11em }
code { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 8pt }
figure { margin: 8px 0 18px; break-inside: avoid }
figure svg { display: block; width: 100%; height: auto }
@media screen { figure svg { max-width: 60rem } }
figcaption { font-style: italic; margin-top: 4px }
/* The summary's 20 columns and the machines' 17 stay legible only on a landscape page. */
header, section.summary, section.machines { page: wide }
section.machines, section.plan, section.charts, section.queries { break-before: page }
@media print { body { max-width: none; padding: 0; font-size: 9pt } }
"""


def render(report: Inspection) -> str:
    """The whole report as one HTML5 page in the report's language."""
    say = words(report.language)
    body = [
        _title_block(report),
        _section(report, "summary", _summary(report)),
        _section(report, "machines", _machines(report)),
        _section(report, "plan", _plan(report)),
        _section(report, "links", _links(report)),
        _section(report, "charts", _charts(report)),
        _section(report, "queries", _queries(report)),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(report.language)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(say('title'))} – {escape(report.city)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n{''.join(body)}</body>\n</html>\n"
    )


# --------------------------------------------------------------------------------------------
# Sections


def _title_block(report: Inspection) -> str:
    """Title, city, scope, period, policy and when the report was made."""
    say, lang = words(report.language), report.language
    start, end = _local(report.start).date(), _local(report.end).date()
    period = f"{day(start, lang)} – {day(end, lang)}, {number(report.days, lang)} {say('days')}"
    facts = [
        ("city", report.city),
        ("scope", report.site or say("all_wards")),
        ("period", period),
        ("policy", report.policy),
        ("made_at", _moment(report.made_at, lang)),
    ]
    items = "".join(f"<dt>{escape(say(k))}</dt><dd>{escape(v)}</dd>\n" for k, v in facts)
    return (
        f'<header>\n<h1>{escape(say("title"))}</h1>\n<dl class="meta">\n{items}</dl>\n</header>\n'
    )


def _section(report: Inspection, name: str, body: str) -> str:
    """A main section: its heading, with the query keys its figures rest on."""
    say = words(report.language)
    wanted = SOURCES.get(name, ())
    keys = list(dict.fromkeys(q.key for q in report.queries if q.key in wanted))
    note = f"{say('source')}: {', '.join(keys)}"
    source = f' <span class="source">{escape(note)}</span>' if keys else ""
    return (
        f'<section id="{name}" class="{name}">\n<h2>{escape(say(name))}{source}</h2>\n'
        f"{body}</section>\n"
    )


def _summary(report: Inspection) -> str:
    """One row per ward, then the total (bold); per link kind, four columns."""
    say = words(report.language)
    fixed = ("site", "machines_seen", *VERDICTS, "os_unsupported", "availability")
    per_kind = ("good_pct", "degraded_pct", "bad_pct", "bad_hours")
    head = (
        "<tr>"
        + "".join(f'<th rowspan="2">{escape(say(key))}</th>' for key in fixed)
        + "".join(f'<th colspan="4">{escape(say(kind))}</th>' for kind in LINK_KINDS)
        + "</tr>\n"
        + _head([say(key) for _ in LINK_KINDS for key in per_kind])
    )
    total = say("total") if report.site else say("city_total")
    rows = [_summary_row(ward, ward.site, report.language) for ward in report.wards]
    rows.append(_summary_row(report.total, total, report.language))
    return _table("summary", head, rows, len(fixed) + 4 * len(LINK_KINDS), say)


def _summary_row(ward: WardSummary, name: str, lang: Language) -> str:
    counts = [ward.machines, *(getattr(ward.hardware, v) for v in VERDICTS), ward.os_unsupported]
    cells = [
        _td(name, "site"),
        *(_num(n, lang) for n in counts),
        _num(ward.availability_pct, lang, 1),
    ]
    shares = {share.kind: share for share in ward.links}
    for kind in LINK_KINDS:
        share = shares.get(kind)
        figures = (
            (share.good_pct, share.degraded_pct, share.bad_pct) if share else (None, None, None)
        )
        cells += [_num(pct, lang, 1) for pct in figures]
        cells.append(_num(share.bad_hours if share else None, lang))
    return _tr(cells, "total" if ward.total else "")


def _machines(report: Inspection) -> str:
    """Every machine, worst first as the report holds them; VC machines marked."""
    say = words(report.language)
    keys = (
        *("site", "agent", "role", "manufacturer", "model", "serial", "age_years", "since"),
        *("made", "evidence", "confidence", "lifecycle", "days_left", "os", "os_support"),
        *("last_seen", "availability"),
    )
    rows = [_machine_row(m, report.language, say) for m in report.machines]
    legend = f'<p><span class="badge">{escape(say("vc_yes"))}</span> {escape(say("vc"))}</p>\n'
    return _table("machines", _head([say(k) for k in keys]), rows, len(keys), say) + legend


def _machine_row(m: MachineRow, lang: Language, say: Say) -> str:
    confidence = say(m.age_confidence) if m.age_confidence in ("high", "medium", "low") else None
    cells = [
        _td(m.site, "site"),
        f'<td class="name">{escape(m.agent)}{_vc_badge(m.vc, say)}</td>',
        *(_td(text) for text in (m.role, m.manufacturer, m.model)),
        _td(m.serial, "code"),
        _num(m.age_years, lang, 1),
        _td(_iso_day(m.since, lang), "date"),
        _td(_years(m.made_earliest, m.made_latest)),
        _td(m.evidence, "evidence"),
        _td(confidence or m.age_confidence),
        _verdict(m.lifecycle, say),
        _num(m.days_left, lang),
        _td(m.os_name),
        _verdict(m.os_support, say, _iso_day(m.os_eol_date, lang) if m.os_eol_date else "", "os_"),
        _td(_moment(m.last_seen, lang), "date"),
        _num(m.availability_pct, lang, 1),
    ]
    return _tr(cells, "vc" if m.vc else "")


def _plan(report: Inspection) -> str:
    """What to replace first: the horizon, the rows, the subtotals per ward and the total."""
    say, lang = words(report.language), report.language
    parts = []
    if report.prices_are_examples:
        parts.append(f'<p class="warning">{escape(say("examples"))}</p>\n')
    horizon = f"{say('horizon')} {number(report.horizon_months, lang)} {say('months')}"
    parts.append(f'<p class="horizon">{escape(horizon)}: {number(len(report.plan), lang)}</p>\n')
    keys = (
        *("priority", "site", "agent", "device_class", "manufacturer", "model", "serial"),
        *("lifecycle", "days_left", "end_date", "vc_yes", "unit_price"),
    )
    rows = [_plan_row(row, lang, say) for row in report.plan]
    parts.append(_table("plan", _head([say(k) for k in keys]), rows, len(keys), say))
    parts.append(f"<h3>{escape(say('subtotal'))}</h3>\n")
    sums = [
        _tr(
            [
                _td(w.site, "site"),
                _num(w.machines, lang),
                _num(w.priced, lang),
                _num(w.cost_vnd, lang),
            ]
        )
        for w in report.plan_wards
    ]
    totals = (sum(w.machines for w in report.plan_wards), sum(w.priced for w in report.plan_wards))
    sums.append(
        _tr(
            [_td(say("total")), *(_num(n, lang) for n in (*totals, report.plan_total_vnd))],
            "total",
        )
    )
    head = _head([say(k) for k in ("site", "count", "priced", "cost")])
    parts.append(_table("plan-wards", head, sums, 4, say))
    if report.plan_unpriced:
        unpriced = f"{number(report.plan_unpriced, lang)} {say('unpriced')}."
        parts.append(f'<p class="unpriced">{escape(unpriced)}</p>\n')
    return "".join(parts)


def _plan_row(row: PlanRow, lang: Language, say: Say) -> str:
    cells = [
        _num(row.priority, lang),
        _td(row.site, "site"),
        _td(row.agent, "name"),
        _td(row.device_class),
        *(_td(text) for text in (row.manufacturer, row.model)),
        _td(row.serial, "code"),
        _verdict(row.lifecycle, say),
        _num(row.days_left, lang),
        _td(_iso_day(row.end_date, lang), "date"),
        _td(say("vc_yes") if row.vc else ""),
        _num(row.unit_price_vnd, lang),
    ]
    return _tr(cells, "vc" if row.vc else "")


def _links(report: Inspection) -> str:
    """The worst links of the period, worst first."""
    say = words(report.language)
    keys = (
        *("site", "agent", "target", "kind", "rounds", "bad_pct", "degraded_pct"),
        *("loss_pct", "rtt_avg_ms", "jitter_ms"),
    )
    rows = [_link_row(link, report.language, say) for link in report.worst_links]
    table = _table("links", _head([say(k) for k in keys]), rows, len(keys), say)
    return f"<h3>{escape(say('worst_links'))}</h3>\n{table}"


def _link_row(link: WorstLink, lang: Language, say: Say) -> str:
    kind = say(link.kind) if link.kind in LINK_KINDS else link.kind
    figures = (link.bad_pct, link.degraded_pct, link.loss_pct, link.rtt_avg_ms, link.jitter_ms)
    cells = [_td(link.site, "site"), _td(link.agent, "name"), _td(link.target, "name"), _td(kind)]
    cells += [_num(link.rounds, lang), *(_num(value, lang, 1) for value in figures)]
    return _tr(cells)


def _charts(report: Inspection) -> str:
    """The three charts, each with its caption."""
    say, lang = words(report.language), report.language
    charts = (
        (svg.stacked_bars([(w.site, w.hardware) for w in report.wards], lang), "chart_verdicts"),
        (svg.heat_map(report.heat, lang), "chart_heat"),
        (svg.histogram(report.ages, lang), "chart_ages"),
    )
    return "".join(
        f"<figure>\n{chart}\n<figcaption>{escape(say(key))}</figcaption>\n</figure>\n"
        for chart, key in charts
    )


def _queries(report: Inspection) -> str:
    """Each statement the report ran: its key (the one the section headings name), its
    purpose, and its InfluxQL, to be run again by anyone checking a figure."""
    say = words(report.language)
    rows = [
        _tr([_td(q.key, "code"), _td(q.purpose), f"<td><code>{escape(q.influxql)}</code></td>"])
        for q in report.queries
    ]
    head = _head([say(k) for k in ("query_key", "query_purpose", "query")])
    return _table("queries", head, rows, 3, say)


# --------------------------------------------------------------------------------------------
# Cells and formats


def _table(name: str, head: str, rows: Sequence[str], columns: int, say: Say) -> str:
    """A table; with no row, one saying so across its columns."""
    if not rows:
        rows = [f'<tr><td colspan="{columns}">{escape(say("none"))}</td></tr>']
    body = "\n".join(rows)
    return f'<table class="{name}">\n<thead>\n{head}</thead>\n<tbody>\n{body}\n</tbody>\n</table>\n'


def _head(labels: Iterable[str]) -> str:
    return "<tr>" + "".join(f"<th>{escape(label)}</th>" for label in labels) + "</tr>\n"


def _tr(cells: Iterable[str], name: str = "") -> str:
    attribute = f' class="{name}"' if name else ""
    return f"<tr{attribute}>{''.join(cells)}</tr>"


def _td(text: str, name: str = "") -> str:
    attribute = f' class="{name}"' if name else ""
    return f"<td{attribute}>{escape(text)}</td>"


def _num(value: float | None, lang: Language, decimals: int = 0) -> str:
    return _td(number(value, lang, decimals), "n")


def _verdict(value: str, say: Say, note: str = "", prefix: str = "") -> str:
    """A verdict in the report's words (``prefix`` "os_": an OS's support), coloured; ``note``
    (a date) below it."""
    known = value in VERDICTS
    below = f"<small>{escape(note)}</small>" if note else ""
    name = f"v v-{value}" if known else "v"
    return f'<td class="{name}">{escape(say(prefix + value) if known else value)}{below}</td>'


def _vc_badge(vc: bool, say: Say) -> str:
    return f' <span class="badge">{escape(say("vc_yes"))}</span>' if vc else ""


def _years(earliest: int | None, latest: int | None) -> str:
    """The years a machine was made in: 2012–2013, 2012 when one, "–" when unknown (years
    are not numbers to group: never 2.012)."""
    known = [str(year) for year in dict.fromkeys((earliest, latest)) if year is not None]
    return "–".join(known) or "–"


def _iso_day(text: str, lang: Language) -> str:
    """An ISO date of the data in the report's format; "–" when empty, as is when not a date."""
    if not text:
        return "–"
    try:
        return day(date.fromisoformat(text[:10]), lang)
    except ValueError:
        return text


def _local(moment: datetime) -> datetime:
    """``moment`` in the city's time (a naive one is taken as already so)."""
    return moment.astimezone(CITY_ZONE) if moment.tzinfo else moment


def _moment(moment: datetime, lang: Language) -> str:
    """A date and time to the minute, city time: 29/11/2026 15:00 or 2026-11-29 15:00."""
    local = _local(moment)
    return f"{day(local.date(), lang)} {local:%H:%M}"
