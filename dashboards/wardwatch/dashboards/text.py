"""The dashboards' words in Vietnamese (the city staff's default) and English."""

from __future__ import annotations

from typing import Final, Literal

Language = Literal["vi", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("vi", "en")

_TEXT: Final[dict[str, tuple[str, str]]] = {
    # dashboards
    "overview": ("Tổng quan đội máy", "Fleet overview"),
    "lifecycle": ("Vòng đời thiết bị", "Hardware and OS lifecycle"),
    "links": ("Đường truyền và sẵn sàng họp trực tuyến", "Links and videoconference readiness"),
    "machine": ("Máy trạm", "Machine"),
    # variables
    "site": ("Phường/xã", "Ward"),
    "role": ("Vai trò", "Role"),
    "target": ("Đích đo", "Target"),
    "agent": ("Máy", "Machine"),
    # panels
    "reporting": ("Máy đang báo cáo (3 phút)", "Machines reporting (3 min)"),
    "said_offline": ("Máy báo ngoại tuyến", "Machines said offline"),
    "hardware_out": ("Phần cứng hết vòng đời", "Hardware out of lifecycle"),
    "os_out": ("Hệ điều hành hết hỗ trợ", "OS out of support"),
    "bad_links": ("Đường truyền kém hoặc rất kém", "Degraded or bad links"),
    "per_ward": (
        "Theo phường: máy, ngoại tuyến, hết vòng đời, hết hỗ trợ, đường truyền kém nhất",
        "Per ward: machines, offline, out of lifecycle, OS out of support, worst link",
    ),
    "machines": (
        "Máy và vòng đời phần cứng (xấu nhất trước)",
        "Machines and hardware lifecycle, worst first",
    ),
    "systems": ("Hệ điều hành và hạn hỗ trợ", "Operating systems and end of support"),
    "age_by_site": ("Tuổi máy theo phường (năm)", "Machine age per ward (years)"),
    "rtt": ("Độ trễ khứ hồi", "Round-trip time"),
    "jitter": ("Độ rung (jitter)", "Jitter"),
    "loss": ("Mất gói", "Packet loss"),
    "link_state": ("Trạng thái đường truyền", "Link state"),
    "links_now": ("Đường truyền hiện tại (xấu nhất trước)", "Links now, worst first"),
    "ports": ("Cổng thiết bị họp trực tuyến", "Videoconference endpoint ports"),
    "uptime": ("Thời gian hoạt động", "Uptime"),
    "reboots": ("Các lần khởi động", "Boots"),
    "cpu": ("CPU", "CPU"),
    "memory": ("Bộ nhớ", "Memory"),
    "disk": ("Ổ đĩa hệ thống", "System disk"),
    "inventory": ("Cấu hình và vòng đời", "Inventory and lifecycle"),
    "machine_links": ("Đường truyền của máy", "This machine's links"),
    # verdicts
    "ok": ("Trong hạn", "In lifecycle"),
    "due": ("Sắp hết hạn", "Due"),
    "overdue": ("Hết hạn", "Out of lifecycle"),
    "unknown": ("Không rõ", "Unknown"),
    "good": ("Tốt", "Good"),
    "degraded": ("Kém", "Degraded"),
    "bad": ("Rất kém", "Bad"),
}


def text(key: str, language: Language) -> str:
    """The words for ``key`` in ``language``."""
    vi, en = _TEXT[key]
    return vi if language == "vi" else en
