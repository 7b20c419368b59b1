"""The inspection report's workbook (``inspection.xlsx``), written from the sample report of known
content and read back with openpyxl: sheets, title blocks, figures, Excel types and formats,
totals, filters, frozen panes, native charts, and text that must never become a formula."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import msgspec
import openpyxl
import pytest
from openpyxl.chart import BarChart

from tests.support.inspection_sample import WARDS, sample
from wardwatch.collector.inspection import xlsx
from wardwatch.collector.inspection.model import Inspection, Language, Query
from wardwatch.collector.inspection.words import words

TAN_AN, DUC_HOA, P7 = WARDS
SHEETS = ("sheet_summary", "sheet_machines", "sheet_plan", "sheet_links", "sheet_charts")
HOSTILE = ("=cmd|' /C calc'!A0", "=1+1", "#N/A", "@SUM(A1)", "+1", "-2")


def _read(report: Inspection, tmp_path: Path) -> Any:
    out = tmp_path / f"report-{report.language}.xlsx"
    xlsx.write(report, out)
    return openpyxl.load_workbook(out)


def _sheet(wb: Any, key: str, language: Language = "vi") -> Any:
    return wb[words(language)(key)]


def _row_of(ws: Any, text: str) -> int:
    """The first row whose column A holds ``text``."""
    rows = [cell.row for cell in ws["A"] if cell.value == text]
    assert rows, f"{text!r} not in column A of {ws.title}"
    return int(rows[0])


def _values(ws: Any, row: int, width: int) -> list[Any]:
    return [ws.cell(row=row, column=col).value for col in range(1, width + 1)]


@pytest.mark.unit
@pytest.mark.parametrize("language", ["vi", "en"])
def test_one_sheet_per_section_in_order_with_the_properties(
    language: Language, tmp_path: Path
) -> None:
    w = words(language)
    wb = _read(sample(language), tmp_path)
    assert wb.sheetnames == [w(key) for key in (*SHEETS, "sheet_queries")]
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in wb.sheetnames)
    assert wb.properties.title == w("title")
    assert wb.properties.creator == "wardwatch"
    assert wb.properties.created == datetime(2026, 11, 29, 8, 0)  # made_at, in UTC


@pytest.mark.unit
def test_every_sheet_opens_with_the_title_block_and_its_sources(tmp_path: Path) -> None:
    wb = _read(sample("vi"), tmp_path)
    block = [
        "Báo cáo hiện trạng thiết bị CNTT",
        "Đơn vị: UBND Thành phố Tân An",
        "Phạm vi: Tất cả phường, xã",
        "Kỳ báo cáo: 22/11/2026–29/11/2026 (7 ngày)",
        "Chính sách khấu hao: vn-tt23-2023 (Circulars 45/2018/TT-BTC and 23/2023/TT-BTC)",
        "Lập lúc: 29/11/2026 15:00",  # 08:00 UTC is 15:00 in the city
    ]
    sources = {
        "sheet_summary": "machines, days", "sheet_machines": "machines",
        "sheet_plan": "machines", "sheet_charts": "machines, days", "sheet_links": "days",
    }  # fmt: skip
    for key, source in sources.items():
        assert [_sheet(wb, key).cell(row, 1).value for row in range(1, 8)] == [
            *block, f"Nguồn: {source}"
        ]  # fmt: skip
    # A report that ran none of a sheet's queries says so.
    (tmp_path / "none").mkdir()
    none = _read(msgspec.structs.replace(sample("vi"), queries=[]), tmp_path / "none")
    assert _sheet(none, "sheet_links")["A7"].value == "Nguồn: Không có"
    queries = _sheet(wb, "sheet_queries")
    assert [queries.cell(row, 1).value for row in range(1, 8)] == [*block, None]
    assert _sheet(wb, "sheet_summary")["A1"].font.b


@pytest.mark.unit
def test_each_sheet_names_the_queries_its_figures_rest_on(tmp_path: Path) -> None:
    keys = ["machines", "os", "first_hour", "reports", "links", "days", "bad_hours"]
    queries = [Query(key=key, purpose=f"the {key}", influxql="SELECT 1") for key in keys]
    wb = _read(msgspec.structs.replace(sample("en"), queries=queries), tmp_path)
    sources = {key: _sheet(wb, key, "en")["A7"].value for key in SHEETS}
    assert sources == {
        "sheet_summary": "Source: machines, os, first_hour, reports, days, bad_hours",
        "sheet_machines": "Source: machines, os, first_hour, reports",
        "sheet_plan": "Source: machines, os",
        "sheet_links": "Source: links, days, bad_hours",
        "sheet_charts": "Source: machines, days, bad_hours",
    }
    ws = _sheet(wb, "sheet_queries", "en")
    header = _row_of(ws, "Key")
    assert [ws.cell(header + i, 1).value for i in range(1, len(keys) + 1)] == keys


@pytest.mark.unit
def test_the_title_block_in_english_and_for_one_ward(tmp_path: Path) -> None:
    report = msgspec.structs.replace(sample("en"), site=P7)
    ws = _sheet(_read(report, tmp_path), "sheet_summary", "en")
    assert [ws.cell(row, 1).value for row in (1, 3, 4, 6)] == [
        "IT equipment inspection report",
        "Scope: Phường 7",
        "Period: 2026-11-22–2026-11-29 (7 days)",
        "Made at: 2026-11-29 15:00",
    ]


@pytest.mark.unit
def test_summary_counts_each_ward_and_the_city_total(tmp_path: Path) -> None:
    report = sample("vi")
    ws = _sheet(_read(report, tmp_path), "sheet_summary")
    header = _row_of(ws, "Phường, xã")
    assert _values(ws, header, 9) == [
        "Phường, xã", "Số máy báo cáo", "Quá hạn sử dụng", "Sắp hết hạn", "Còn hạn",
        "Chưa xác định", "HĐH hết hỗ trợ", "Tỷ lệ hoạt động (%)", "Trung tâm thành phố: Tốt (%)",
    ]  # fmt: skip
    assert ws.cell(header, 20).value == "Internet: Số giờ kém"
    assert all(ws.cell(header, col).font.b for col in range(1, 21))
    assert ws.cell(header, 1).alignment.wrap_text
    assert ws.cell(header, 1).fill.fgColor.rgb.endswith("DDEBF7")
    assert _values(ws, header + 1, 12) == [TAN_AN, 3, 1, 0, 1, 1, 1, 99.5, 100, 0, 0, 0]
    assert _values(ws, header + 2, 12) == [DUC_HOA, 1, 1, 0, 0, 0, 1, 99.5, 50, 25, 25, 180]
    assert _values(ws, header + 3, 8) == [P7, 2, 0, 1, 1, 0, 0, 74.75]
    total = _values(ws, header + 4, 20)
    t = report.total
    assert total[:8] == ["Toàn thành phố", 6, 2, 1, 2, 1, 2, 90.5]
    assert total[8:12] == [80, 11.67, 8.33, 180] == [
        t.links[0].good_pct, t.links[0].degraded_pct, t.links[0].bad_pct, t.links[0].bad_hours
    ]  # fmt: skip
    for col in range(2, 8):  # the wards add up to the city (availability is a ratio)
        assert sum(ws.cell(header + r, col).value for r in (1, 2, 3)) == total[col - 1]
    assert ws.cell(header + 4, 1).font.b and ws.cell(header + 4, 2).font.b
    assert ws.cell(header + 1, 2).number_format == "[$-42A]#,##0"
    assert ws.cell(header + 1, 8).number_format == "[$-42A]0.0"


@pytest.mark.unit
def test_machines_are_listed_worst_first_with_real_excel_types(tmp_path: Path) -> None:
    report = sample("vi")
    ws = _sheet(_read(report, tmp_path), "sheet_machines")
    header = _row_of(ws, "Phường, xã")
    assert _values(ws, header, 21)[7:] == [
        "Tuổi (năm)", "Đưa vào sử dụng", "Năm sản xuất", "Căn cứ", "Độ tin cậy", "Phần cứng",
        "Số ngày còn lại", "Hết hạn ngày", "Hệ điều hành", "Hỗ trợ HĐH", "HĐH hết hỗ trợ ngày",
        "Báo cáo lần cuối", "Tỷ lệ hoạt động (%)", "Máy hội nghị truyền hình",
    ]  # fmt: skip
    agents = [ws.cell(header + i, 2).value for i in range(1, 7)]
    assert agents == [machine.agent for machine in report.machines]
    first = _values(ws, header + 1, 21)
    assert first[:10] == [
        TAN_AN, "ta-pc01", "office-pc", "desktop", "Dell Inc.", "OptiPlex 3010", "SN-ta-pc01",
        13.9, datetime(2012, 1, 1), "2012–2013",
    ]  # fmt: skip
    assert first[10].startswith("BIOS date 2018-05-14")
    assert first[11:] == [
        "trung bình", "Quá hạn sử dụng", -3980, datetime(2017, 1, 1), "Windows 7",
        "Hết hỗ trợ", datetime(2020, 1, 14), datetime(2026, 11, 29, 6, 59), 99.5, None,
    ]  # fmt: skip
    row = header + 1
    assert ws.cell(row, 8).data_type == "n" and ws.cell(row, 14).data_type == "n"
    assert ws.cell(row, 9).is_date and ws.cell(row, 19).is_date
    formats = {col: ws.cell(row, col).number_format for col in (8, 9, 14, 19)}
    assert formats == {
        8: "[$-42A]0.0",
        9: "[$-42A]dd/mm/yyyy",
        14: "[$-42A]#,##0",
        19: "[$-42A]dd/mm/yyyy hh:mm",
    }
    assert ws.cell(row, 11).alignment.wrap_text  # the evidence wraps
    assert ws.cell(header + 2, 21).value == "HNTH"  # the VC machine
    unknown = _values(ws, header + 4, 14)
    assert unknown[7:10] == [None, None, None] and unknown[13] is None
    assert 8 <= ws.column_dimensions["A"].width <= 60
    assert ws.column_dimensions["K"].width == 60  # the evidence: bounded, and wrapped


@pytest.mark.unit
def test_english_formats(tmp_path: Path) -> None:
    ws = _sheet(_read(sample("en"), tmp_path), "sheet_machines", "en")
    row = _row_of(ws, "Ward") + 1
    assert ws.cell(row, 13).value == "Overdue"
    assert ws.cell(row, 12).value == "medium"
    assert [ws.cell(row, col).number_format for col in (8, 9, 14, 19)] == [
        "0.0", "yyyy-mm-dd", "#,##0", "yyyy-mm-dd hh:mm"
    ]  # fmt: skip


@pytest.mark.unit
def test_the_plan_its_subtotals_and_its_total(tmp_path: Path) -> None:
    ws = _sheet(_read(sample("vi"), tmp_path), "sheet_plan")
    assert ws["A9"].value == "Máy quá hạn hoặc hết hạn trong 12 tháng"
    assert ws["A10"].value == words("vi")("examples")
    header = _row_of(ws, "Ưu tiên")
    assert _values(ws, header, 13)[-2:] == ["Đơn giá (đồng)", "Thành tiền (đồng)"]
    rows = [_values(ws, header + i, 13) for i in (1, 2, 3)]
    assert [row[0] for row in rows] == [1, 2, 3]
    assert [row[2] for row in rows] == ["dh-vc01", "ta-pc01", "p7-pc02"]
    assert [row[10] for row in rows] == ["HNTH", None, None]
    assert [row[11:] for row in rows] == [[15_000_000] * 2, [15_000_000] * 2, [None, None]]
    assert rows[0][9] == datetime(2026, 5, 13)
    assert ws.cell(header + 1, 12).number_format == '[$-42A]#,##0 "₫"'
    wards = _row_of(ws, "Cộng theo phường, xã") + 1
    assert _values(ws, wards, 4) == ["Phường, xã", "Số máy", "Có đơn giá", "Thành tiền (đồng)"]
    subtotals = [_values(ws, wards + i, 4) for i in (1, 2, 3)]
    assert subtotals == [
        [DUC_HOA, 1, 1, 15_000_000], [TAN_AN, 1, 1, 15_000_000], [P7, 1, 0, 0]
    ]  # fmt: skip
    total = _values(ws, wards + 4, 4)
    assert total == ["Tổng cộng", 3, 2, 30_000_000]
    assert total[3] == sum(row[3] for row in subtotals) == sum(row[12] or 0 for row in rows)
    assert ws.cell(wards + 4, 4).data_type == "n" and ws.cell(wards + 4, 1).font.b
    assert ws.cell(wards + 5, 1).value == "1 máy chưa có đơn giá, không tính vào tổng"


@pytest.mark.unit
def test_the_examples_warning_and_the_unpriced_sentence_only_when_true(tmp_path: Path) -> None:
    report = sample("en")
    report = msgspec.structs.replace(
        report,
        prices_are_examples=False,
        plan=report.plan[:2],
        plan_wards=report.plan_wards[:2],
        plan_unpriced=0,
    )
    ws = _sheet(_read(report, tmp_path), "sheet_plan", "en")
    texts = [cell.value for cell in ws["A"] if isinstance(cell.value, str)]
    assert words("en")("examples") not in texts
    assert not [text for text in texts if words("en")("unpriced") in text]
    assert ws["A9"].value == "Machines overdue or due within 12 months"
    total = _values(ws, _row_of(ws, "Total"), 4)
    assert total == ["Total", 2, 2, 30_000_000]


@pytest.mark.unit
def test_a_plan_whose_totals_do_not_add_up_is_refused(tmp_path: Path) -> None:
    report = msgspec.structs.replace(sample("vi"), plan_total_vnd=31_000_000)
    with pytest.raises(ValueError, match="plan totals disagree"):
        xlsx.write(report, tmp_path / "report.xlsx")
    assert list(tmp_path.iterdir()) == []  # and no file, whole or half


@pytest.mark.unit
def test_panes_freeze_below_each_header_and_every_table_filters(tmp_path: Path) -> None:
    wb = _read(sample("vi"), tmp_path)
    tables = {ws.title: dict(ws.tables.items()) for ws in wb}
    names = [words("vi")(key) for key in (*SHEETS, "sheet_queries")]
    assert tables == {
        names[0]: {"Summary": "A10:T13"},  # the city's row below, out of the filter
        names[1]: {"Machines": "A10:U16"},
        names[2]: {"Plan": "A13:M16", "PlanWards": "A19:D22"},
        names[3]: {"LinkShares": "A10:G19", "WorstLinks": "A25:J27"},
        names[4]: {"Verdicts": "A10:E13", "Ages": "A28:B34"},
        names[5]: {"Queries": "A9:C11"},
    }
    for ws in wb:
        for table in ws.tables.values():
            assert table.autoFilter is not None and table.autoFilter.ref == table.ref
    panes = [ws.freeze_panes for ws in wb]
    assert panes == ["B11", "C11", "A14", "A11", "A9", "A10"]


@pytest.mark.unit
def test_link_shares_per_ward_and_kind_then_the_worst_links(tmp_path: Path) -> None:
    ws = _sheet(_read(sample("vi"), tmp_path), "sheet_links")
    header = _row_of(ws, "Phường, xã")
    assert _values(ws, header, 7) == [
        "Phường, xã", "Hướng kết nối", "Số lượt đo", "Tốt (%)", "Suy giảm (%)", "Kém (%)",
        "Số giờ kém",
    ]  # fmt: skip
    assert _values(ws, header + 4, 7) == [DUC_HOA, "Trung tâm thành phố", 1440, 50, 25, 25, 180]
    assert _values(ws, header + 12, 3) == ["Toàn thành phố", "Internet", 1440]
    assert ws.cell(header + 12, 1).font.b
    worst = _row_of(ws, "Đường truyền kém nhất") + 1
    assert _values(ws, worst + 1, 10) == [
        DUC_HOA, "dh-vc01", "mcu-tinh", "MCU tỉnh", 1440, 25, 25, 4.2, 410.5, 38
    ]  # fmt: skip


@pytest.mark.unit
def test_native_charts_rest_on_their_source_tables(tmp_path: Path) -> None:
    ws = _sheet(_read(sample("vi"), tmp_path), "sheet_charts")
    charts = ws._charts
    assert len(charts) == 2 and all(isinstance(chart, BarChart) for chart in charts)
    verdicts, ages = charts
    assert verdicts.grouping == "stacked" and verdicts.overlap == 100
    header = _row_of(ws, "Máy tính theo tình trạng, từng phường, xã") + 1
    assert _values(ws, header + 1, 5) == [TAN_AN, 1, 0, 1, 1]
    assert len(verdicts.series) == 4
    sheet = "'Biểu đồ'"
    for series, column, colour in zip(
        verdicts.series, "BCDE", ("C00000", "ED7D31", "70AD47", "A6A6A6"), strict=True
    ):
        assert series.val.numRef.f == f"{sheet}!${column}${header + 1}:${column}${header + 3}"
        assert series.tx.strRef.f == f"{sheet}!{column}{header}"
        assert series.cat.numRef.f == f"{sheet}!$A${header + 1}:$A${header + 3}"
        assert series.graphicalProperties.solidFill.srgbClr == colour
    title = verdicts.title.tx.rich.paragraphs[0].r[0].t
    assert title == "Máy tính theo tình trạng, từng phường, xã"
    assert len(ages.series) == 1
    ages_header = _row_of(ws, "Tuổi (năm)")
    assert _values(ws, ages_header + 6, 2) == ["10 năm trở lên", 3]
    assert ages.series[0].val.numRef.f == f"{sheet}!$B${ages_header + 1}:$B${ages_header + 6}"
    assert ages.grouping != "stacked"


@pytest.mark.unit
def test_the_heat_map_is_a_colour_scaled_ward_by_day_table(tmp_path: Path) -> None:
    ws = _sheet(_read(sample("vi"), tmp_path), "sheet_charts")
    heading = _row_of(ws, "Tỷ lệ lượt đo tốt theo phường, xã và ngày (%)")
    header = heading + 1
    days = _values(ws, header, 8)[1:]
    assert days == [datetime(2026, 11, d) for d in range(22, 29)]
    assert ws.cell(header, 2).number_format == "[$-42A]dd/mm/yyyy"
    assert [ws.cell(header + i, 1).value for i in (1, 2, 3)] == list(WARDS)
    assert _values(ws, header + 2, 4) == [DUC_HOA, 100, 94, 88]
    assert ws.cell(header + 3, 5).value is None  # Phường 7 had no round on the fourth day
    ranges = {str(rng.sqref): rules for rng, rules in ws.conditional_formatting._cf_rules.items()}
    assert list(ranges) == [f"B{header + 1}:H{header + 3}"]
    (rule,) = ranges[f"B{header + 1}:H{header + 3}"]
    assert rule.type == "colorScale"
    assert [(v.type, v.val) for v in rule.colorScale.cfvo] == [
        ("num", 0),
        ("num", 50),
        ("num", 100),
    ]
    assert [colour.rgb[-6:] for colour in rule.colorScale.color] == ["F8696B", "FFEB84", "63BE7B"]


@pytest.mark.unit
def test_queries_are_listed_with_their_influxql(tmp_path: Path) -> None:
    report = sample("vi")
    ws = _sheet(_read(report, tmp_path), "sheet_queries")
    header = _row_of(ws, "Mã")
    assert _values(ws, header, 3) == ["Mã", "Mục đích", "Truy vấn"]
    for i, query in enumerate(report.queries, 1):
        assert _values(ws, header + i, 3) == [query.key, query.purpose, query.influxql]
    assert ws.cell(header + 1, 3).alignment.wrap_text


@pytest.mark.unit
def test_hostile_text_stays_text(tmp_path: Path) -> None:
    report = sample("vi")
    wards = [
        msgspec.structs.replace(w, site=h) for w, h in zip(report.wards, HOSTILE, strict=False)
    ]
    machines = [
        msgspec.structs.replace(m, site=h, evidence="bell\x07 and nul\x00 dropped")
        for m, h in zip(report.machines, HOSTILE, strict=True)
    ]
    report = msgspec.structs.replace(report, wards=wards, machines=machines, city="=HYPERLINK(1)")
    wb = _read(report, tmp_path)
    summary = _sheet(wb, "sheet_summary")
    header = _row_of(summary, "Phường, xã")
    for i, text in enumerate(HOSTILE[:3], 1):
        cell = summary.cell(header + i, 1)
        assert (cell.value, cell.data_type) == (text, "s")
    assert (summary["A2"].value, summary["A2"].data_type) == ("Đơn vị: =HYPERLINK(1)", "s")
    machines_ws = _sheet(wb, "sheet_machines")
    header = _row_of(machines_ws, "Phường, xã")
    for i, text in enumerate(HOSTILE, 1):
        cell = machines_ws.cell(header + i, 1)
        assert (cell.value, cell.data_type) == (text, "s")
        assert cell.quotePrefix == text.startswith(("=", "+", "-", "@"))
    assert machines_ws.cell(header + 1, 11).value == "bell and nul dropped"
    with zipfile.ZipFile(tmp_path / "report-vi.xlsx") as archive:
        sheets = [archive.read(name) for name in archive.namelist() if "worksheets/sheet" in name]
    assert not [sheet for sheet in sheets if b"<f>" in sheet]  # not one formula anywhere


@pytest.mark.unit
def test_the_file_is_a_whole_zip_with_its_charts(tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    xlsx.write(sample("vi"), out)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
    assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml", "xl/drawings/drawing1.xml"} <= names
    assert [path.name for path in tmp_path.iterdir()] == ["report.xlsx"]  # no temporary left
    assert out.stat().st_mode & 0o777 == 0o644


@pytest.mark.unit
def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.xlsx"
    xlsx.write(sample("vi"), out)
    before = out.read_bytes()

    class Broken:
        """A workbook whose save fails halfway, as on a full disk."""

        def save(self, handle: Any) -> None:
            handle.write(b"PK half a zip")
            raise OSError("disk full")

    monkeypatch.setattr(xlsx, "workbook", lambda report: Broken())
    with pytest.raises(OSError, match="disk full"):
        xlsx.write(sample("en"), out)
    assert out.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["report.xlsx"]


@pytest.mark.unit
def test_an_empty_report_still_makes_a_valid_workbook(tmp_path: Path) -> None:
    report = msgspec.structs.replace(
        sample("vi"), wards=[], machines=[], plan=[], plan_wards=[], plan_total_vnd=0,
        plan_unpriced=0, worst_links=[], heat=[], ages=[], queries=[],
    )  # fmt: skip
    wb = _read(report, tmp_path)
    machines = _sheet(wb, "sheet_machines")
    assert machines.cell(_row_of(machines, "Phường, xã") + 1, 1).value == "Không có"
    assert dict(machines.tables.items()) == {"Machines": "A10:U11"}  # a table needs a row
    charts = _sheet(wb, "sheet_charts")
    assert charts._charts == [] and not charts.conditional_formatting._cf_rules
    assert _sheet(wb, "sheet_summary")["A7"].value == "Nguồn: Không có"


@pytest.mark.unit
def test_workbook_is_pure_and_dates_are_dates() -> None:
    wb = xlsx.workbook(sample("vi"))
    ws = wb[words("vi")("sheet_machines")]
    assert ws["I11"].value == date(2012, 1, 1)  # before a save: the date as given
    assert ws["S11"].value == datetime(2026, 11, 29, 6, 59)
    assert ws["S11"].value.tzinfo is None
