"""The inspection report's charts as inline SVG: pure functions of the report's figures, standard
library only, so the web page and its PDF carry them with no script and no image file. Every
text is escaped, every chart has a ``<title>`` and ``role="img"``, and the sizes live in the
viewBox only, so a chart scales to the width of the page it is on.

The report's number and day formats live here too: the charts need them, and the page (which
imports the charts) uses the same ones, so a figure reads the same in a table and in a chart."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from wardwatch.collector.inspection.model import (
    VERDICTS,
    AgeBucket,
    HeatCell,
    Language,
    Verdict,
    VerdictCounts,
)
from wardwatch.collector.inspection.words import words

WIDTH = 800
"""Every chart's width in viewBox units; the page scales it to its own width."""
FONT = "'DejaVu Sans', 'Noto Sans', 'Segoe UI', Arial, sans-serif"
"""DejaVu Sans first: Debian's fonts-dejavu-core draws every Vietnamese diacritic."""
COLOURS: dict[Verdict, str] = {
    "overdue": "#c62828",
    "due": "#ef8f00",
    "ok": "#2e7d32",
    "unknown": "#9e9e9e",
}
HEAT_STOPS = ((0.0, (215, 48, 39)), (50.0, (254, 224, 139)), (100.0, (26, 152, 80)))
"""Good-rounds share to colour: red, yellow, green (ColorBrewer RdYlGn's ends and middle)."""
NO_ROUNDS_ID = "ww-heat-none"
LABEL_SIZE = 12
CHAR_EM = 0.62
"""DejaVu Sans' mean advance per character, in em: enough to size a label column."""


def number(value: float | None, language: Language, decimals: int = 0) -> str:
    """``value`` grouped by thousands with ``decimals`` digits: 15.000.000 and 99,5 in
    Vietnamese, 15,000,000 and 99.5 in English; "–" when there is no figure."""
    if value is None:
        return "–"
    # Adding 0.0 turns a rounded -0.0 into 0.0, so a tiny negative share never reads "-0,0".
    text = f"{round(value, decimals) + 0.0:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "vi" else text


def day(value: date, language: Language) -> str:
    """A calendar day as its readers write it: 22/11/2026 in Vietnamese, 2026-11-22 in English."""
    return f"{value:%d/%m/%Y}" if language == "vi" else f"{value:%Y-%m-%d}"


def stacked_bars(rows: Sequence[tuple[str, VerdictCounts]], language: Language) -> str:
    """Machines by hardware verdict, one horizontal bar per ward (``rows``: ward name and its
    counts), worst verdict first; the ward names sit left of the bars, whole, however long."""
    say = words(language)
    left = _label_column([name for name, _ in rows])
    top, bar, gap = 40, 20, 8
    scale = (WIDTH - 50 - left) / max([counts.total() for _, counts in rows] + [1])
    body = [_legend([(COLOURS[v], say(v)) for v in VERDICTS], y=8)]
    for i, (name, counts) in enumerate(rows):
        y = top + i * (bar + gap)
        body.append(_label(left - 8, y + bar / 2 + 4, name, left - 12))
        x = float(left)
        for verdict in VERDICTS:
            count = getattr(counts, verdict)
            if count == 0:
                continue
            width = count * scale
            tip = f"{name}: {say(verdict)} {number(count, language)}"
            body.append(
                f'<rect class="seg seg-{verdict}" x="{x:.1f}" y="{y}" width="{width:.1f}" '
                f'height="{bar}" fill="{COLOURS[verdict]}"><title>{escape(tip)}</title></rect>'
            )
            if width >= 22:  # the count inside the segment, where it fits
                body.append(_text(x + width / 2, y + 14, number(count, language), "middle", "#fff"))
            x += width
        body.append(_text(x + 6, y + 14, number(counts.total(), language)))
    if not rows:
        body.append(_text(WIDTH / 2, top + 14, say("none"), "middle"))
    height = top + max(len(rows), 1) * (bar + gap) + 4
    return _svg("verdicts", say("chart_verdicts"), height, body)


def heat_map(cells: Sequence[HeatCell], language: Language) -> str:
    """Share of good link rounds per ward (rows) and day (columns, dd/mm), red to green; a
    ward-day without any round is hatched grey, so "no data" never passes for "bad"."""
    say = words(language)
    sites = list(dict.fromkeys(cell.site for cell in cells))
    days = sorted({cell.day for cell in cells})
    found = {(cell.site, cell.day): cell for cell in cells}
    left = _label_column(sites)
    top, row = 76, 24
    column = (WIDTH - 10 - left) / max(len(days), 1)
    step = max(1, math.ceil(40 / column))  # label every day whose dd/mm has room
    body = [_hatch_pattern(), *_heat_legend(say)]
    for i, when in enumerate(days):
        if i % step == 0:
            x = left + (i + 0.5) * column
            body.append(_text(x, top - 6, f"{when:%d/%m}", "middle", size=11))
    for r, site in enumerate(sites):
        y = top + r * row
        body.append(_label(left - 8, y + row / 2 + 4, site, left - 12))
        for i, when in enumerate(days):
            cell = found.get((site, when))
            body.append(_heat_cell(cell, site, when, left + i * column, y, column, row, language))
    if not sites:
        body.append(_text(WIDTH / 2, top + 16, say("none"), "middle"))
    height = top + max(len(sites), 1) * row + 6
    return _svg("heat", say("chart_heat"), height, body)


def histogram(buckets: Sequence[AgeBucket], language: Language) -> str:
    """Machines per age bucket ([low, high) years; the last one open), as vertical bars with
    their counts on top, a count axis on the left and the ages below."""
    say = words(language)
    left, top, plot, bottom = 56, 16, 220, 56
    peak = max([bucket.count for bucket in buckets] + [1])
    tick = _nice_step(peak)
    ceiling = math.ceil(peak / tick) * tick
    base = top + plot
    body = [_y_axis(left, top, plot, tick, ceiling, say("count"), language)]
    slot = (WIDTH - 10 - left) / max(len(buckets), 1)
    for i, bucket in enumerate(buckets):
        centre = left + (i + 0.5) * slot
        span = f"{bucket.low}–{bucket.high}" if bucket.high is not None else f"{bucket.low}+"
        body.append(_text(centre, base + 18, span, "middle"))
        if bucket.count == 0:
            continue
        height = bucket.count * plot / ceiling
        ages = f"{span} {say('years')}" if bucket.high else f"{span} {say('and_older')}"
        tip = f"{ages}: {number(bucket.count, language)}"
        body.append(
            f'<rect class="bar" x="{centre - slot * 0.35:.1f}" y="{base - height:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{height:.1f}" fill="#3f6fb5">'
            f"<title>{escape(tip)}</title></rect>"
        )
        body.append(_text(centre, base - height - 5, number(bucket.count, language), "middle"))
    body.append(_text(left + (WIDTH - left) / 2, base + 42, say("age_years"), "middle"))
    return _svg("ages", say("chart_ages"), top + plot + bottom, body)


def _svg(name: str, title: str, height: float, body: list[str]) -> str:
    """The chart's frame: its title (for screen readers and as a tooltip) and its viewBox."""
    ident = f"ww-{name}-title"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{name}" role="img" '
        f'aria-labelledby="{ident}" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'font-family="{FONT}" font-size="{LABEL_SIZE}" fill="#111">'
        f'<title id="{ident}">{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(
    x: float, y: float, text: str, anchor: str = "start", fill: str = "", size: int = 0
) -> str:
    extra = (f' fill="{fill}"' if fill else "") + (f' font-size="{size}"' if size else "")
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _width(text: str, size: int = LABEL_SIZE) -> float:
    return len(text) * size * CHAR_EM


def _label_column(names: Sequence[str]) -> int:
    """Room for the longest name, within limits: a long ward name still leaves the bars
    half of the chart."""
    longest = max([_width(name) for name in names] + [60.0])
    return round(min(longest + 20, WIDTH * 0.42))


def _label(x: float, y: float, name: str, room: float) -> str:
    """A ward's name, right-aligned to ``x``; cut with "…" only past ``room`` (its whole text
    stays in the <title>, a tooltip on screen)."""
    shown = name
    while len(shown) > 1 and _width(shown) > room:
        shown = shown[:-2] + "…"
    text = _text(x, y, shown, "end")
    return (
        text if shown == name else text.replace("</text>", f"<title>{escape(name)}</title></text>")
    )


def _legend(items: list[tuple[str, str]], y: float) -> str:
    """Swatches and their words in one line, left to right."""
    parts, x = [], 0.0
    for fill, label in items:
        parts.append(
            f'<rect class="key" x="{x:.1f}" y="{y}" width="14" height="14" fill="{fill}"/>'
        )
        parts.append(_text(x + 20, y + 12, label))
        x += 20 + _width(label) + 24
    return "".join(parts)


def _hatch_pattern() -> str:
    """Grey diagonal hatching: "no rounds", distinct from any share of good ones."""
    return (
        f'<defs><pattern id="{NO_ROUNDS_ID}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e6e6e6"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8a8a8a" stroke-width="2"/></pattern>'
        '<linearGradient id="ww-heat-scale">'
        + "".join(
            f'<stop offset="{pct:.0f}%" stop-color="{_rgb(colour)}"/>' for pct, colour in HEAT_STOPS
        )
        + "</linearGradient></defs>"
    )


def _heat_legend(say: Callable[[str], str]) -> list[str]:
    """The colour scale from 0 to 100 % good rounds, and the "no rounds" swatch."""
    parts = [
        _text(0, 14, say("good_pct")),
        '<rect class="key" x="8" y="22" width="200" height="12" fill="url(#ww-heat-scale)"/>',
    ]
    parts += [_text(8 + 2 * pct, 48, f"{pct:.0f}", "middle", size=11) for pct, _ in HEAT_STOPS]
    parts.append(
        f'<rect class="key" x="250" y="20" width="16" height="16" fill="url(#{NO_ROUNDS_ID})" '
        'stroke="#8a8a8a"/>'
    )
    parts.append(_text(272, 33, say("no_rounds")))
    return parts


def _heat_cell(
    cell: HeatCell | None,
    site: str,
    when: date,
    x: float,
    y: float,
    width: float,
    height: float,
    language: Language,
) -> str:
    """One ward-day: coloured by its good share, or hatched when it had no round."""
    say = words(language)
    good = cell.good_pct if cell else None
    place = f"{site}, {day(when, language)}"
    if good is None:
        kind, fill, tip, shown = "cell none", f"url(#{NO_ROUNDS_ID})", say("no_rounds"), ""
    else:
        bad = number(cell.bad_pct if cell else None, language, 1)
        kind, fill, shown = "cell", _rgb(_heat_colour(good)), number(good, language)
        tip = f"{say('good_pct')} {number(good, language, 1)} · {say('bad_pct')} {bad}"
    rect = (
        f'<rect class="{kind}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{height:.1f}" fill="{fill}" stroke="#fff">'
        f"<title>{escape(place)}: {escape(tip)}</title></rect>"
    )
    if shown and width >= 30:  # the share itself, where the cell has room for it
        rect += _text(x + width / 2, y + height / 2 + 4, shown, "middle", size=11)
    return rect


def _heat_colour(pct: float) -> tuple[int, int, int]:
    """Linear between the two stops around ``pct`` (clamped to 0..100)."""
    pct = min(max(pct, 0.0), 100.0)
    for (low, a), (high, b) in itertools.pairwise(HEAT_STOPS):
        if pct <= high:
            t = (pct - low) / (high - low)
            return (
                round(a[0] + (b[0] - a[0]) * t),
                round(a[1] + (b[1] - a[1]) * t),
                round(a[2] + (b[2] - a[2]) * t),
            )
    return HEAT_STOPS[-1][1]


def _rgb(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _nice_step(peak: int) -> int:
    """An axis step of 1, 2 or 5 times a power of ten giving about four ticks up to ``peak``."""
    raw = max(peak / 4, 1)
    power = int(10 ** math.floor(math.log10(raw)))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _y_axis(
    left: float, top: float, plot: float, tick: int, ceiling: int, title: str, language: Language
) -> str:
    """Grid lines with their counts, the axis line, and the axis' title turned upright."""
    parts = []
    for value in range(0, ceiling + 1, tick):
        y = top + plot - value * plot / ceiling
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(_text(left - 6, y + 4, number(value, language), "end"))
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot}" stroke="#555"/>'
        f'<text transform="translate(14 {top + plot / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(title)}</text>'
    )
    return "".join(parts)
