"""Hardware and OS verdicts: boundaries of the warning window and of the end-of-life day."""

from __future__ import annotations

import datetime as dt

import pytest

from wardwatch.rules.lifecycle import (
    HardwareVerdict,
    OsVerdict,
    add_years,
    hardware_verdict,
    os_verdict,
)
from wardwatch.rules.policy import load_policy

pytestmark = pytest.mark.unit

D = dt.date
TT23 = load_policy("vn-tt23-2023")
TT141 = load_policy("vn-tt141-2025")
BOUGHT = D(2020, 3, 1)  # 5 years under TT23: overdue from 2025-03-01
END = D(2025, 3, 1)


@pytest.mark.parametrize(
    ("today", "lifecycle", "days_left"),
    [
        (END + dt.timedelta(days=1), "overdue", -1),
        (END, "overdue", 0),  # the end day is the first day out of lifecycle
        (END - dt.timedelta(days=1), "due", 1),
        (END - dt.timedelta(days=180), "due", 180),  # first day of the warning window
        (END - dt.timedelta(days=181), "ok", 181),  # one day before the warning window
        (BOUGHT, "ok", (END - BOUGHT).days),
    ],
)
def test_hardware_boundaries(today: dt.date, lifecycle: str, days_left: int) -> None:
    verdict = hardware_verdict(BOUGHT, "desktop", TT23, today)
    assert (verdict.lifecycle, verdict.days_left) == (lifecycle, days_left)
    assert verdict.end_date == END
    assert verdict.policy == "vn-tt23-2023"


def test_policy_changes_the_verdict() -> None:
    today = D(2026, 11, 27)
    assert hardware_verdict(BOUGHT, "laptop", TT23, today).lifecycle == "overdue"
    assert hardware_verdict(BOUGHT, "laptop", TT141, today) == HardwareVerdict(
        lifecycle="due",
        days_left=94,
        age_years=6.74,
        end_date=D(2027, 3, 1),
        policy="vn-tt141-2025",
    )


@pytest.mark.parametrize(
    ("since", "today", "age"),
    [
        (D(2020, 1, 1), D(2020, 1, 1), 0.0),
        (D(2020, 1, 1), D(2025, 1, 1), 5.0),
        (D(2016, 6, 15), D(2026, 6, 15), 10.0),
        (D(2027, 1, 1), D(2026, 1, 1), 0.0),  # a date in the future never gives a negative age
    ],
)
def test_age_years(since: dt.date, today: dt.date, age: float) -> None:
    assert hardware_verdict(since, "desktop", TT23, today).age_years == age


@pytest.mark.parametrize(
    ("start", "years", "end"),
    [(D(2020, 2, 29), 5, D(2025, 2, 28)), (D(2020, 2, 29), 4, D(2024, 2, 29))],
)
def test_add_years_leap_day(start: dt.date, years: int, end: dt.date) -> None:
    assert add_years(start, years) == end


def test_unknown_device_class_raises() -> None:
    with pytest.raises(KeyError, match="toaster"):
        hardware_verdict(BOUGHT, "toaster", TT23, D(2026, 1, 1))


WIN10 = D(2025, 10, 14)


@pytest.mark.parametrize(
    ("today", "warning", "expected"),
    [
        (WIN10 + dt.timedelta(days=1), 180, OsVerdict(support="overdue", days_left=-1)),
        (WIN10, 180, OsVerdict(support="overdue", days_left=0)),
        (WIN10 - dt.timedelta(days=1), 180, OsVerdict(support="due", days_left=1)),
        (WIN10 - dt.timedelta(days=180), 180, OsVerdict(support="due", days_left=180)),
        (WIN10 - dt.timedelta(days=181), 180, OsVerdict(support="ok", days_left=181)),
        (WIN10 - dt.timedelta(days=1), 0, OsVerdict(support="ok", days_left=1)),
    ],
)
def test_os_boundaries(today: dt.date, warning: int, expected: OsVerdict) -> None:
    assert os_verdict(WIN10, warning, today) == expected
