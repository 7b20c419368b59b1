"""Lifecycle verdicts for hardware and operating systems: pure functions of dates and policy.

The end date is the first day out of lifecycle: a machine bought on 2020-03-01 with a 5-year
useful life is ``overdue`` from 2025-03-01, and an OS whose end of support is 2025-10-14 is
``overdue`` on that day. Within ``warning_days`` before it the verdict is ``due``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from msgspec import Struct

from wardwatch.rules.policy import Policy

Lifecycle = Literal["ok", "due", "overdue"]

DAYS_PER_YEAR = 365.25


class HardwareVerdict(Struct, frozen=True, kw_only=True):
    """A machine's hardware lifecycle under a policy."""

    lifecycle: Lifecycle
    days_left: int
    """Days until the end of useful life; zero or negative once overdue."""
    age_years: float
    end_date: dt.date
    policy: str


class OsVerdict(Struct, frozen=True, kw_only=True):
    """An operating system's support state."""

    support: Lifecycle
    days_left: int
    """Days until the end of support; zero or negative once overdue."""


def classify(days_left: int, warning_days: int) -> Lifecycle:
    """``overdue`` from the end day on, ``due`` within ``warning_days`` before it, else ``ok``."""
    if days_left <= 0:
        return "overdue"
    if days_left <= warning_days:
        return "due"
    return "ok"


def add_years(start: dt.date, years: int) -> dt.date:
    """``start`` plus whole calendar years; 29 February becomes 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def hardware_verdict(
    since: dt.date, device_class: str, policy: Policy, today: dt.date
) -> HardwareVerdict:
    """The hardware verdict of a machine in service since ``since``; KeyError on unknown class."""
    end = add_years(since, policy.life(device_class).years)
    days_left = (end - today).days
    return HardwareVerdict(
        lifecycle=classify(days_left, policy.warning_days),
        days_left=days_left,
        age_years=round(max(0, (today - since).days) / DAYS_PER_YEAR, 2),
        end_date=end,
        policy=policy.name,
    )


def os_verdict(eol_date: dt.date, warning_days: int, today: dt.date) -> OsVerdict:
    """The support verdict of an OS whose end of support is ``eol_date``."""
    days_left = (eol_date - today).days
    return OsVerdict(support=classify(days_left, warning_days), days_left=days_left)
