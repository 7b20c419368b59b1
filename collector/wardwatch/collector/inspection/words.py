"""The report's words in Vietnamese and English: one table, so the workbook, the web page and
the PDF say the same thing. ``words(language)`` gives a function from key to text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from wardwatch.collector.inspection.model import Language

_WORDS: Final[dict[str, tuple[str, str]]] = {
    # key: (vi, en)
    "title": ("Báo cáo hiện trạng thiết bị CNTT", "IT equipment inspection report"),
    "city": ("Đơn vị", "City"),
    "scope": ("Phạm vi", "Scope"),
    "all_wards": ("Tất cả phường, xã", "All wards and communes"),
    "period": ("Kỳ báo cáo", "Period"),
    "days": ("ngày", "days"),
    "policy": ("Chính sách khấu hao", "Lifecycle policy"),
    "made_at": ("Lập lúc", "Made at"),
    "sheet_summary": ("Tổng hợp", "Summary"),
    "sheet_machines": ("Máy tính", "Machines"),
    "sheet_plan": ("Kế hoạch thay thế", "Replacement plan"),
    "sheet_links": ("Đường truyền", "Links"),
    "sheet_charts": ("Biểu đồ", "Charts"),
    "sheet_queries": ("Truy vấn", "Queries"),
    "summary": ("Tổng hợp theo phường, xã", "Summary by ward"),
    "machines": ("Danh sách máy tính", "Machines"),
    "plan": ("Kế hoạch thay thế", "Replacement plan"),
    "links": ("Chất lượng đường truyền hội nghị truyền hình", "Videoconference link quality"),
    "worst_links": ("Đường truyền kém nhất", "Worst links"),
    "charts": ("Biểu đồ", "Charts"),
    "queries": ("Nguồn số liệu (truy vấn InfluxQL)", "Where each figure comes from (InfluxQL)"),
    "site": ("Phường, xã", "Ward"),
    "city_total": ("Toàn thành phố", "City total"),
    "machines_seen": ("Số máy báo cáo", "Machines reporting"),
    "overdue": ("Quá hạn sử dụng", "Overdue"),
    "due": ("Sắp hết hạn", "Due"),
    "ok": ("Còn hạn", "OK"),
    "unknown": ("Chưa xác định", "Unknown"),
    "os_unsupported": ("HĐH hết hỗ trợ", "OS out of support"),
    "availability": ("Tỷ lệ hoạt động (%)", "Availability (%)"),
    "hub": ("Trung tâm thành phố", "City hub"),
    "mcu": ("MCU tỉnh", "Province MCU"),
    "internet": ("Internet", "Internet"),
    "good": ("Tốt", "Good"),
    "degraded": ("Suy giảm", "Degraded"),
    "bad": ("Kém", "Bad"),
    "good_pct": ("Tốt (%)", "Good (%)"),
    "degraded_pct": ("Suy giảm (%)", "Degraded (%)"),
    "bad_pct": ("Kém (%)", "Bad (%)"),
    "bad_hours": ("Số giờ kém", "Hours bad"),
    "rounds": ("Số lượt đo", "Rounds"),
    "kind": ("Hướng kết nối", "Target kind"),
    "agent": ("Máy", "Machine"),
    "role": ("Vai trò", "Role"),
    "device_class": ("Loại thiết bị", "Device class"),
    "manufacturer": ("Hãng", "Manufacturer"),
    "model": ("Model", "Model"),
    "serial": ("Số sê-ri", "Serial"),
    "age_years": ("Tuổi (năm)", "Age (years)"),
    "since": ("Đưa vào sử dụng", "In service since"),
    "made": ("Năm sản xuất", "Made"),
    "evidence": ("Căn cứ", "Evidence"),
    "confidence": ("Độ tin cậy", "Confidence"),
    "high": ("cao", "high"),
    "medium": ("trung bình", "medium"),
    "low": ("thấp", "low"),
    "lifecycle": ("Phần cứng", "Hardware"),
    "days_left": ("Số ngày còn lại", "Days left"),
    "end_date": ("Hết hạn ngày", "End of useful life"),
    "os": ("Hệ điều hành", "Operating system"),
    "os_support": ("Hỗ trợ HĐH", "OS support"),
    "os_overdue": ("Hết hỗ trợ", "Out of support"),
    "os_due": ("Sắp hết hỗ trợ", "Support ends soon"),
    "os_ok": ("Còn hỗ trợ", "Supported"),
    "os_unknown": ("Chưa xác định", "Unknown"),
    "os_eol_date": ("HĐH hết hỗ trợ ngày", "OS end of support"),
    "last_seen": ("Báo cáo lần cuối", "Last seen"),
    "priority": ("Ưu tiên", "Priority"),
    "vc": ("Máy hội nghị truyền hình", "Videoconference machine"),
    "vc_yes": ("HNTH", "VC"),
    "unit_price": ("Đơn giá (đồng)", "Unit price (VND)"),
    "subtotal": ("Cộng theo phường, xã", "Subtotal by ward"),
    "cost": ("Thành tiền (đồng)", "Cost (VND)"),
    "total": ("Tổng cộng", "Total"),
    "priced": ("Có đơn giá", "Priced"),
    "horizon": ("Máy quá hạn hoặc hết hạn trong", "Machines overdue or due within"),
    "months": ("tháng", "months"),
    "examples": (
        "Đơn giá là số liệu ví dụ: cần thay bằng báo giá của thành phố ([report] unit_price_vnd).",
        "Unit prices are examples: replace them with the city's quotations "
        "([report] unit_price_vnd).",
    ),
    "unpriced": (
        "máy chưa có đơn giá, không tính vào tổng",
        "machine(s) without a price, not in the total",
    ),
    "target": ("Đích", "Target"),
    "loss_pct": ("Mất gói (%)", "Loss (%)"),
    "rtt_avg_ms": ("Trễ TB (ms)", "Mean RTT (ms)"),
    "jitter_ms": ("Jitter (ms)", "Jitter (ms)"),
    "chart_verdicts": (
        "Máy tính theo tình trạng, từng phường, xã",
        "Machines by verdict, per ward",
    ),
    "chart_heat": (
        "Tỷ lệ lượt đo tốt theo phường, xã và ngày (%)",
        "Share of good link rounds per ward and day (%)",
    ),
    "chart_ages": ("Phân bố tuổi máy", "Machine age distribution"),
    "years": ("năm", "years"),
    "and_older": ("trở lên", "and older"),
    "count": ("Số máy", "Machines"),
    "day": ("Ngày", "Day"),
    "no_rounds": ("Không có lượt đo", "No rounds"),
    "query_key": ("Mã", "Key"),
    "query_purpose": ("Mục đích", "Purpose"),
    "query": ("Truy vấn", "Query"),
    "none": ("Không có", "None"),
    "source": ("Nguồn", "Source"),
}


def words(language: Language) -> Callable[[str], str]:
    """The text of each key in ``language``; an unknown key raises KeyError (a typo is a bug)."""
    index = 0 if language == "vi" else 1
    return lambda key: _WORDS[key][index]


def keys() -> frozenset[str]:
    """Every key the table has (the tests check both languages fill each)."""
    return frozenset(_WORDS)
