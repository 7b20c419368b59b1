"""The inspection report's web page, its SVG charts and its PDF, on a report of known content
(``tests.support.inspection_sample``): the sections and their order, the figures in each
language's format, escaping, the charts' structure, and what headless Chromium and poppler make
of the page: the same cells, a screenshot with content, a PDF whose text holds the figures."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest

from tests.support.inspection_sample import WARDS, sample
from wardwatch.collector.inspection import svg
from wardwatch.collector.inspection.html import render
from wardwatch.collector.inspection.model import (
    VERDICTS,
    Inspection,
    Language,
    Query,
    VerdictCounts,
)
from wardwatch.collector.inspection.pdf import PdfError, find_browser, print_pdf
from wardwatch.collector.inspection.words import words

INSTALL = "apt-get install -y chromium poppler-utils fonts-dejavu-core"
SVG = "{http://www.w3.org/2000/svg}"
SECTIONS = ("summary", "machines", "plan", "links", "charts", "queries")
HOSTILE = "<script>alert('x')</script>&amp;"

Rows = list[tuple[str, list[str]]]
"""A table's body rows: each row's class and its cells' text."""


class _Tables(HTMLParser):
    """Each table's body rows, by the table's class; header rows apart."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, Rows] = {}
        self.head: dict[str, Rows] = {}
        self._table, self._part = "", self.body
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """A table, a part of it, a row or a cell begins."""
        found = dict(attrs)
        if tag == "table":
            self._table = found.get("class") or ""
        elif tag in ("thead", "tbody"):
            self._part = self.head if tag == "thead" else self.body
        elif tag == "tr":
            self._part.setdefault(self._table, []).append((found.get("class") or "", []))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        """A cell ends: its text, spaces collapsed, joins its row."""
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join(" ".join(self._cell).split())
            self._part[self._table][-1][1].append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        """Text inside a cell (markup in it, such as a badge, adds its own)."""
        if self._cell is not None:
            self._cell.append(data)


def _tables(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def _column(rows: Rows, index: int) -> list[str]:
    return [cells[index] for _, cells in rows]


def _svgs(page: str) -> list[ET.Element]:
    parts = page.split("<svg ")[1:]
    return [ET.fromstring("<svg " + part.split("</svg>")[0] + "</svg>") for part in parts]


def _rects(chart: ET.Element, prefix: str) -> list[ET.Element]:
    return [r for r in chart.iter(SVG + "rect") if r.get("class", "").split()[:1] == [prefix]]


# --------------------------------------------------------------------------------------------
# The page


@pytest.mark.unit
@pytest.mark.parametrize("language", ["vi", "en"])
def test_sections_come_in_order_each_naming_its_queries(language: Language) -> None:
    report = sample(language)
    page, say = render(report), words(report.language)
    starts = [page.index(f'<section id="{name}"') for name in SECTIONS]
    assert starts == sorted(starts)
    assert page.index("<header>") < starts[0]
    for name in SECTIONS:
        assert f"<h2>{escape(say(name))}" in page
    # The sample ran "machines" and "days": each heading names only its own.
    assert f"{say('source')}: machines, days</span></h2>" in page  # summary
    links = page[starts[3] : starts[4]]
    assert f"{say('source')}: days</span>" in links and "machines" not in links
    assert 'class="source"' not in page[starts[5] :]  # the queries section is the source


@pytest.mark.unit
def test_the_page_is_one_self_contained_printable_file() -> None:
    page = render(sample("vi"))
    assert page.startswith('<!DOCTYPE html>\n<html lang="vi">')
    assert '<meta charset="utf-8">' in page and 'lang="en"' in render(sample("en"))
    outside = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for fetched in ("http://", "https://", "<script", "<link", "src=", "url(http", "@import"):
        assert fetched not in outside, fetched
    for rule in (
        "@page { size: A4; margin: 12mm }",
        "thead { display: table-header-group }",
        "tr { break-inside: avoid }",
        "tr.total td { font-weight: bold",
        '"DejaVu Sans"',
        "section.machines { page: wide }",
    ):
        assert rule in page, rule


@pytest.mark.unit
def test_the_summary_has_a_row_per_ward_and_the_city_total_last() -> None:
    rows = _tables(render(sample("vi"))).body["summary"]
    assert _column(rows, 0) == [*WARDS, "Toàn thành phố"]
    assert [name for name, _ in rows] == ["", "", "", "total"]
    per_kind = ["80,0", "11,7", "8,3", "180"]
    assert rows[-1][1] == ["Toàn thành phố", "6", "2", "1", "2", "1", "2", "90,5", *per_kind * 3]
    assert rows[1][1][:8] == ["Xã Đức Hòa Thượng", "1", "1", "0", "0", "0", "1", "99,5"]
    one = render(msgspec.structs.replace(sample("vi"), site="Phường 7"))
    assert "<dt>Phạm vi</dt><dd>Phường 7</dd>" in one  # the scope: one ward, its own total
    assert _tables(one).body["summary"][-1][1][0] == "Tổng cộng"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "vi",
            ["15.000.000", "30.000.000", "99,5", "74,8", "90,5", "-3.980", "13,9", "01/01/2012"],
        ),
        (
            "en",
            ["15,000,000", "30,000,000", "99.5", "74.8", "90.5", "-3,980", "13.9", "2012-01-01"],
        ),
    ],
)
def test_numbers_and_dates_follow_the_language(language: Language, expected: list[str]) -> None:
    page = render(sample(language))
    tables = _tables(page)
    price, total, availability, p7, city, days_left, age, since = expected
    assert _column(tables.body["plan"], 11) == [price, price, "–"]
    assert tables.body["plan-wards"][-1][1][-1] == total
    assert _column(tables.body["summary"], 7) == [availability, availability, p7, city]
    first = tables.body["machines"][0][1]
    assert (first[6], first[7], first[12]) == (age, since, days_left)
    if language == "vi":
        assert "22/11/2026 – 29/11/2026, 7 ngày" in page and "29/11/2026 15:00" in page
    else:
        assert "2026-11-22 – 2026-11-29, 7 days" in page and "2026-11-29 15:00" in page


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "decimals", "vi", "en"),
    [
        (15_000_000, 0, "15.000.000", "15,000,000"),
        (99.5, 1, "99,5", "99.5"),
        (1234.56, 1, "1.234,6", "1,234.6"),
        (-3980, 0, "-3.980", "-3,980"),
        (-0.04, 1, "0,0", "0.0"),  # no "-0,0"
        (None, 1, "–", "–"),
    ],
)
def test_number_format(value: float | None, decimals: int, vi: str, en: str) -> None:
    assert svg.number(value, "vi", decimals) == vi
    assert svg.number(value, "en", decimals) == en


@pytest.mark.unit
def test_the_examples_warning_shows_only_when_prices_are_examples() -> None:
    report = sample("vi")
    warning = escape(words("vi")("examples"))
    assert report.prices_are_examples and warning in render(report)
    quoted = render(msgspec.structs.replace(report, prices_are_examples=False))
    assert warning not in quoted and 'class="warning"' not in quoted
    assert "30.000.000" in quoted  # the plan itself stays


@pytest.mark.unit
def test_the_plan_in_priority_order_with_subtotals_and_the_unpriced_count() -> None:
    page = render(sample("vi"))
    tables = _tables(page)
    plan = tables.body["plan"]
    assert _column(plan, 0) == ["1", "2", "3"]
    assert _column(plan, 2) == ["dh-vc01", "ta-pc01", "p7-pc02"]
    assert _column(plan, 10) == ["HNTH", "", ""] and plan[0][0] == "vc"
    assert tables.body["plan-wards"] == [
        ("", ["Xã Đức Hòa Thượng", "1", "1", "15.000.000"]),
        ("", ["Phường Tân An", "1", "1", "15.000.000"]),
        ("", ["Phường 7", "1", "0", "0"]),
        ("total", ["Tổng cộng", "3", "2", "30.000.000"]),
    ]
    assert "Máy quá hạn hoặc hết hạn trong 12 tháng: 3" in page
    assert "1 máy chưa có đơn giá, không tính vào tổng." in page


@pytest.mark.unit
def test_machines_worst_first_with_videoconference_machines_marked() -> None:
    report = sample("en")
    rows = _tables(render(report)).body["machines"]
    assert _column(rows, 1) == [m.agent + (" VC" if m.vc else "") for m in report.machines]
    assert [name for name, _ in rows] == ["vc" if m.vc else "" for m in report.machines]
    unknown = rows[3][1]
    assert (unknown[6], unknown[7], unknown[8], unknown[11]) == ("–", "–", "–", "Unknown")
    assert (rows[0][1][8], rows[0][1][10], rows[0][1][11]) == ("2012–2013", "medium", "Overdue")
    assert rows[0][1][14] == "Out of support 2020-01-14"  # OS support, its end date below


def _hostile(report: Inspection) -> Inspection:
    """``report`` with markup in every kind of text it shows."""
    replace = msgspec.structs.replace
    return replace(
        report,
        city=HOSTILE,
        site=HOSTILE,
        policy=HOSTILE,
        wards=[replace(w, site=HOSTILE) for w in report.wards],
        machines=[
            replace(m, site=HOSTILE, agent=HOSTILE, evidence=HOSTILE) for m in report.machines
        ],
        plan=[replace(p, site=HOSTILE, serial=HOSTILE) for p in report.plan],
        plan_wards=[replace(w, site=HOSTILE) for w in report.plan_wards],
        worst_links=[replace(link, target=HOSTILE, kind=HOSTILE) for link in report.worst_links],
        heat=[replace(cell, site=HOSTILE + cell.site) for cell in report.heat],
        queries=[Query(key=HOSTILE, purpose=HOSTILE, influxql="</code>" + HOSTILE)],
    )


@pytest.mark.unit
def test_hostile_text_comes_out_as_text() -> None:
    page = render(_hostile(sample("vi")))
    assert "<script" not in page.lower()
    assert escape(HOSTILE) in page and "&amp;amp;" in page
    for chart in _svgs(page):  # still well-formed XML, names and all
        assert HOSTILE in "".join(chart.itertext()) or chart.get("class") == "chart chart-ages"


# --------------------------------------------------------------------------------------------
# The charts


@pytest.mark.unit
def test_every_chart_is_scalable_titled_xml() -> None:
    report = sample("vi")
    charts = _svgs(render(report))
    assert len(charts) == 3
    for chart in charts:
        assert chart.tag == SVG + "svg" and chart.get("role") == "img"
        assert chart.get("width") is None and chart.get("height") is None
        assert [float(n) for n in (chart.get("viewBox") or "").split()][:2] == [0, 0]
        title = chart.find(SVG + "title")
        assert title is not None and title.text
        assert chart.get("aria-labelledby") == title.get("id")


@pytest.mark.unit
def test_stacked_bars_have_a_segment_per_verdict_count_and_whole_ward_names() -> None:
    report = sample("vi")
    chart = ET.fromstring(svg.stacked_bars([(w.site, w.hardware) for w in report.wards], "vi"))
    segments = _rects(chart, "seg")
    expected = [v for w in report.wards for v in VERDICTS if getattr(w.hardware, v)]
    assert [s.get("class") for s in segments] == [f"seg seg-{v}" for v in expected]
    assert len(_rects(chart, "key")) == 4
    texts = list(chart.itertext())
    assert set(WARDS) <= set(texts) and {"Quá hạn sử dụng", "Chưa xác định"} <= set(texts)
    long = "Phường Nguyễn Thái Bình Thượng Đức Hòa 12"  # 40 characters: still whole
    cut = "X" * 120  # past the label column: cut, whole in the tooltip
    rows = [(long, VerdictCounts(ok=1)), (cut, VerdictCounts(due=2))]
    texts = list(ET.fromstring(svg.stacked_bars(rows, "en")).itertext())
    assert long in texts and cut in texts and any(t.endswith("…") for t in texts)


@pytest.mark.unit
def test_the_heat_map_has_a_cell_per_ward_day_and_marks_days_without_rounds() -> None:
    report = sample("vi")
    chart = ET.fromstring(svg.heat_map(report.heat, "vi"))
    cells = _rects(chart, "cell")
    assert len(cells) == len(WARDS) * report.days == len(report.heat)
    empty = [c for c in cells if c.get("class") == "cell none"]
    assert len(empty) == 1 and empty[0].get("fill") == f"url(#{svg.NO_ROUNDS_ID})"
    assert "".join(empty[0].itertext()).startswith("Phường 7, 25/11/2026: Không có lượt đo")
    assert all((c.get("fill") or "").startswith("#") for c in cells if c not in empty)
    labels = set(chart.itertext())
    assert {f"{d:%d/%m}" for d in {c.day for c in report.heat}} <= labels
    assert "Không có lượt đo" in labels  # in the legend too


@pytest.mark.unit
def test_the_histogram_has_a_bar_per_non_empty_bucket() -> None:
    ages = sample("en").ages
    chart = ET.fromstring(svg.histogram(ages, "en"))
    bars = _rects(chart, "bar")
    assert len(bars) == len([b for b in ages if b.count])
    heights = [float(b.get("height") or 0) for b in bars]
    assert heights[2] == pytest.approx(3 * heights[0], abs=0.2)  # 3 machines against 1
    assert {"0–2", "2–4", "4–6", "6–8", "8–10", "10+"} <= set(chart.itertext())


# --------------------------------------------------------------------------------------------
# In Chromium, and as PDF


def _browser() -> str:
    try:
        return find_browser()
    except PdfError:
        pytest.fail(f"Chromium is missing: {INSTALL}", pytrace=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: {INSTALL}", pytrace=False)
    return found


def _chromium(page: Path, *flags: str) -> subprocess.CompletedProcess[bytes]:
    profile = page.parent / "profile"
    command = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    command += [f"--user-data-dir={profile}", *flags, page.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


def _png(data: bytes) -> tuple[int, int, int]:
    """Width and height from the PNG header, and the size of its compressed pixels (checking
    they decompress to exactly the rows the header promises)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) in ((8, 2), (8, 6))  # RGB or RGBA, 8 bits
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    pixels = b"".join(chunks)
    assert len(zlib.decompress(pixels)) == height * (1 + width * (3 if colour == 2 else 4))
    return width, height, len(pixels)


def _blank(width: int, height: int) -> int:
    """The compressed size of an all-white RGB image of that size: a page without content."""
    return len(zlib.compress((b"\x00" + b"\xff" * 3 * width) * height, 9))


@pytest.mark.process
def test_chromium_reads_the_same_cells(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    written = render(sample("vi"))
    page.write_text(written, encoding="utf-8")
    dom = _chromium(page, "--dump-dom").stdout.decode("utf-8")
    ours, chromiums = _tables(written), _tables(dom)
    assert chromiums.body == ours.body and chromiums.head == ours.head
    assert "Xã Đức Hòa Thượng" in _column(chromiums.body["summary"], 0)
    assert chromiums.body["plan-wards"][-1][1][-1] == "30.000.000"
    assert len(_svgs(dom)) == 3


@pytest.mark.process
def test_a_screenshot_of_the_page_shows_content(tmp_path: Path) -> None:
    page, shot = tmp_path / "report.html", tmp_path / "shot.png"
    page.write_text(render(sample("vi")), encoding="utf-8")
    _chromium(page, f"--screenshot={shot}", "--window-size=1240,1754")
    width, height, compressed = _png(shot.read_bytes())
    assert (width, height) == (1240, 1754)
    assert compressed > 10 * _blank(width, height)  # text and tables, not a blank page


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, float]]:
    """The sample report (Vietnamese) printed once, and how long printing took."""
    _browser()
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    out.write_bytes(b"an older report")  # replaced whole
    started = time.monotonic()
    print_pdf(render(sample("vi")), out)
    yield out, time.monotonic() - started


@pytest.mark.process
def test_the_pdf_holds_the_pages_and_the_text(printed: tuple[Path, float]) -> None:
    out, seconds = printed
    assert sorted(os.listdir(out.parent)) == ["report.pdf"]  # no temporary file left
    info = subprocess.run(
        [_tool("pdfinfo"), "-f", "1", "-l", "99", str(out)], capture_output=True, text=True
    ).stdout
    pages = int(info.split("Pages:")[1].split()[0])
    assert 2 <= pages <= 10, info
    # "Page    1 size:  841.92 x 594.96 pts (A4)": the wide tables first, on landscape pages.
    sizes = re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+)", info)
    widths = [float(width) > float(height) for width, height in sizes]
    assert widths[:2] == [True, True] and widths[-1] is False and len(widths) == pages
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    say = words("vi")
    for expected in [*WARDS, "30.000.000", "15.000.000", *(say(name) for name in SECTIONS)]:
        assert expected in text, expected
    for machine in sample("vi").machines:  # the wide table is not cut off at the right
        assert machine.serial in text
    assert seconds < 60


@pytest.mark.process
def test_the_first_pdf_page_renders(printed: tuple[Path, float], tmp_path: Path) -> None:
    out, _ = printed
    command = [_tool("pdftoppm"), "-r", "50", "-png", "-f", "1", "-l", "1", str(out)]
    subprocess.run([*command, str(tmp_path / "page")], check=True, timeout=60)
    (image,) = tmp_path.glob("page*.png")
    width, height, compressed = _png(image.read_bytes())
    assert width == 585 and abs(height - 413) <= 1  # A4 landscape at 50 dpi
    assert compressed > 3 * _blank(width, height)


# --------------------------------------------------------------------------------------------
# print_pdf's failures


@pytest.mark.unit
def test_without_a_browser_print_pdf_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # where find_browser looks: nothing there
    with pytest.raises(PdfError, match="apt-get install -y chromium"):
        print_pdf("<p>x</p>", tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.process
@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo starting >&2; echo 'FATAL: no display' >&2; exit 3", r"exit 3\): FATAL: no display"),
        ("echo 'page loaded' >&2; exit 0", "wrote no PDF: page loaded"),
        ("exec sleep 30", "within 0.5 s"),
    ],
    ids=["fails", "writes-nothing", "hangs"],
)
def test_a_failing_browser_gives_a_clear_error_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    out = tmp_path / "out" / "report.pdf"
    out.parent.mkdir()
    started = time.monotonic()
    with pytest.raises(PdfError, match=message):
        print_pdf("<p>x</p>", out, timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert os.listdir(out.parent) == []
