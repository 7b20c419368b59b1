"""The asset register: matching, bad rows by line number, re-read on change, missing file."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from wardwatch.collector.judgement.assets import Asset, AssetRegister
from wardwatch.rules.policy import load_policy

pytestmark = pytest.mark.unit

CLASSES = set(load_policy().useful_life)
TODAY = dt.date(2026, 11, 27)

GOOD = """\
serial,hostname,purchase_date,device_class,site,price_vnd,note
 CZC1234ABC ,pc-tanlap-01,2019-05-20,desktop,tan-lap,15000000,ke toan
5CG9876XYZ,PC-TANHOA-02,20/11/2021,Laptop,tan-hoa,,
,pc-eatam-03,2018-01-15,desktop,ea-tam,,no serial label
"""


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def register(path: Path, clock: Clock | None = None) -> AssetRegister:
    return AssetRegister(
        path, CLASSES, check_every_s=30.0, clock=clock or Clock(), today=lambda: TODAY
    )


def found(reg: AssetRegister, serial: str, hostname: str = "") -> Asset:
    asset = reg.lookup(serial, hostname)
    assert asset is not None
    return asset


@pytest.mark.parametrize(
    ("serial", "hostname", "line"),
    [
        ("CZC1234ABC", "", 2),
        ("  czc1234abc ", "someone-else", 2),  # serial wins, case-insensitive and trimmed
        ("5cg9876xyz", "", 3),
        ("", "pc-tanhoa-02", 3),
        ("UNKNOWN", "PC-EATAM-03", 4),  # no serial match: hostname
        ("", " Pc-EaTam-03 ", 4),
        ("UNKNOWN", "nobody", None),
        ("", "", None),
    ],
)
def test_lookup_by_serial_then_hostname(
    tmp_path: Path, serial: str, hostname: str, line: int | None
) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(GOOD, encoding="utf-8")
    found = register(path).lookup(serial, hostname)
    assert (found.line if found else None) == line


def test_row_fields_and_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("\ufeff" + GOOD, encoding="utf-8")  # Excel writes a byte-order mark
    reg = register(path)
    assert reg.problems == []
    first, second, third = reg.assets
    assert (first.serial, first.purchase_date, first.site) == (
        "CZC1234ABC",
        dt.date(2019, 5, 20),
        "tan-lap",
    )
    assert first.extra == {"price_vnd": "15000000", "note": "ke toan"}
    assert (second.purchase_date, second.device_class) == (dt.date(2021, 11, 20), "laptop")
    assert third.extra == {"note": "no serial label"}


BAD = """\
serial,hostname,purchase_date,device_class,site
A1,pc-1,2019-05-20,desktop,s
A2,pc-2,2019-13-40,desktop,s
,,2019-05-20,desktop,s
A3,pc-3,2019-05-20,toaster,s
a1 ,pc-4,2019-05-20,desktop,s
A5,pc-5,2030-01-01,desktop,s

A6,"pc-6
multi",,desktop,s
A7,pc-7,2020-01-01,laptop,s
"""


def test_bad_rows_reported_by_line_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(BAD, encoding="utf-8")
    reg = register(path)
    assert [a.serial for a in reg.assets] == ["A1", "A7"]
    assert found(reg, "A7", "").line == 11
    got = [(p.line, p.message.split(" ")[0]) for p in reg.problems]
    assert got == [
        (3, "purchase_date"),
        (4, "neither"),
        (5, "unknown"),
        (6, "duplicate"),
        (7, "purchase_date"),
        (9, "purchase_date"),
    ]
    assert all(p.message.endswith("row skipped") for p in reg.problems)
    assert "use one of" in reg.problems[2].message and "desktop" in reg.problems[2].message
    assert str(reg.problems[0]).startswith(f"{path}:3: ")


def test_shared_hostname_matches_by_serial_only(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(
        "serial,hostname,purchase_date,device_class,site\n"
        "OLD1,pc-1,2012-01-01,desktop,s\n"
        "NEW1,PC-1,2024-01-01,desktop,s\n",
        encoding="utf-8",
    )
    reg = register(path)
    assert reg.lookup("", "pc-1") is None
    assert found(reg, "new1", "pc-1").line == 3
    assert [(p.line, "also on line 2" in p.message) for p in reg.problems] == [(3, True)]


def test_header_without_required_columns_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("serial,host,date\nA1,pc-1,2019-05-20\n", encoding="utf-8")
    reg = register(path)
    assert reg.assets == []
    assert [p.line for p in reg.problems] == [1]
    assert "hostname, purchase_date, device_class, site" in reg.problems[0].message


def test_missing_file_is_empty_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with caplog.at_level(logging.WARNING, logger="wardwatch.collector.judgement.assets"):
        reg = register(tmp_path / "none.csv", clock)
        for _ in range(3):
            clock.now += 60
            assert reg.lookup("A1", "pc-1") is None
    assert len(caplog.records) == 1
    assert "no asset register" in caplog.records[0].getMessage()


def test_reread_after_change_at_most_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    clock = Clock()
    reg = register(path, clock)  # not there yet
    assert reg.lookup("A1", "") is None
    path.write_text(
        "serial,hostname,purchase_date,device_class,site\nA1,pc-1,2019-05-20,desktop,s\n",
        encoding="utf-8",
    )
    clock.now += 10
    assert reg.lookup("A1", "") is None  # checked less than 30 s ago
    clock.now += 20
    assert found(reg, "A1", "").purchase_date == dt.date(2019, 5, 20)
    assert not reg.refresh()  # unchanged file: not re-read
    # Same size, new content: the modification time tells.
    path.write_text(
        "serial,hostname,purchase_date,device_class,site\nA1,pc-1,2018-05-20,desktop,s\n",
        encoding="utf-8",
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    clock.now += 30
    assert found(reg, "a1", "").purchase_date == dt.date(2018, 5, 20)
    path.unlink()
    clock.now += 30
    assert reg.lookup("A1", "") is None
    assert [p.message for p in reg.problems] == ["no asset register: empty"]
