"""Dated evidence in the SMBIOS table itself (``wardwatch.rules.hardware_dates``): product lines
on a corpus of names as SMBIOS type 1 writes them, memory types, SMBIOS versions and sockets.

Each corpus year is the model's launch year from public specifications (HP QuickSpecs, Dell
owner's manuals, Lenovo PSREF, Fujitsu, Acer and ASUS data sheets, Wikipedia's model lists),
never from published DMI reports. The machine-type codes beside Lenovo's versions are examples
of the form ("10AAS0Y500"): only the version names the family.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.model_corpus import ACER, ASUS, CORPUS, DELL, FUJITSU, HP, HPQ, LENOVO
from tests.support.smbios_tables import DELL_OPTIPLEX_3010, THINKPAD_T480
from wardwatch.agent.probes.machine import smbios, smbios_codes
from wardwatch.rules import hardware_dates as hd

pytestmark = pytest.mark.unit

THIS_YEAR = dt.date.today().year


# Names a vendor used for two lines years apart: the range spans both (Dell's owner's manuals).
REUSED: list[tuple[str, str, tuple[int, ...]]] = [
    (DELL, "Latitude 3540", (2014, 2023)),
    (DELL, "Latitude 3440", (2014, 2023)),
    (DELL, "Latitude 3450", (2015, 2024)),
    (DELL, "Latitude 3330", (2013, 2022)),
    (DELL, "Latitude 7350", (2015, 2024)),
    (DELL, "Vostro 3400", (2010, 2020)),
]


def _id(case: tuple[str, str, str, int]) -> str:
    return f"{case[1]} {case[2]}".strip()


def test_the_corpus_is_broad() -> None:
    per_vendor = Counter(hd.vendor_of(manufacturer) for manufacturer, _, _, _ in CORPUS)
    assert len(CORPUS) >= 150
    assert None not in per_vendor
    assert all(per_vendor[vendor] >= 6 for vendor in hd.VENDORS), per_vendor
    assert min(year for *_, year in CORPUS) <= 2006 and max(year for *_, year in CORPUS) >= 2025


@pytest.mark.parametrize("case", CORPUS, ids=_id)
def test_a_machine_is_within_its_product_line_years(case: tuple[str, str, str, int]) -> None:
    manufacturer, product, version, year = case
    found = hd.product_line(manufacturer, product, version)
    assert found is not None
    assert found.earliest <= year <= found.latest, found
    # A name that tells its generation tells it within a few years.
    assert found.latest - found.earliest <= 3, found
    assert found.reason.startswith("product line ") and "source: " in found.reason


@pytest.mark.parametrize(("manufacturer", "product", "years"), REUSED)
def test_a_reused_name_spans_both_lines(
    manufacturer: str, product: str, years: tuple[int, ...]
) -> None:
    found = hd.product_line(manufacturer, product)
    assert found is not None
    assert all(found.earliest <= year <= found.latest for year in years), found


def test_an_old_optiplex_is_never_taken_for_its_2023_namesake() -> None:
    old = hd.product_line(DELL, "OptiPlex 7010")
    new = hd.product_line(DELL, "OptiPlex Small Form Factor 7010")
    assert old is not None and new is not None
    assert old.latest <= 2013 and new.earliest >= 2023


@pytest.mark.parametrize("case", CORPUS[::3], ids=_id)
def test_case_spacing_and_marks_do_not_change_the_answer(case: tuple[str, str, str, int]) -> None:
    manufacturer, product, version, _ = case
    expected = hd.product_line(manufacturer, product, version)
    variants = [
        (manufacturer.upper(), product.upper(), version.upper()),
        (manufacturer.lower(), product.lower(), version.lower()),
        (f"  {manufacturer}\t", product.replace(" ", "  ") + " ", f"\t{version} "),
        (manufacturer, product.replace(" ", "\t").swapcase(), version.swapcase()),
    ]
    for variant in variants:
        assert hd.product_line(*variant) == expected, variant


def test_the_spellings_of_a_maker_are_one_vendor() -> None:
    spellings = {
        "hp": ["HP", "Hewlett-Packard", "HP Inc.", "Hewlett Packard"],
        "dell": ["Dell Inc.", "Dell Computer Corporation", "DELL"],
        "lenovo": ["LENOVO", "Lenovo", "IBM"],
        "acer": ["Acer", "Acer Inc."],
        "asus": ["ASUSTeK COMPUTER INC.", "ASUSTeK Computer Inc", "ASUS"],
        "fujitsu": ["FUJITSU", "FUJITSU SIEMENS", "FUJITSU CLIENT COMPUTING LIMITED"],
    }
    for vendor, names in spellings.items():
        assert {hd.vendor_of(name) for name in names} == {vendor}
    for other in ["", "To Be Filled By O.E.M.", "QEMU", "innotek GmbH", "Gigabyte", "HPE-ish"]:
        assert hd.vendor_of(other) is None, other


@pytest.mark.parametrize(
    ("manufacturer", "product", "version"),
    [
        ("", "OptiPlex 7010", ""),  # no maker: the table is by vendor
        ("To Be Filled By O.E.M.", "To Be Filled By O.E.M.", ""),
        (DELL, "", ""),
        (LENOVO, "20L5S00000", ""),  # the family is in the version, here missing
        (HP, "HP Pavilion Desktop 590-p0xxx", ""),  # a consumer line
        (HP, "HP EliteBook 840 G99", ""),  # a generation no row knows
        (LENOVO, "21XX", "ThinkPad T14 Gen 99"),  # a generation in the future
        ("QEMU", "Standard PC (i440FX + PIIX, 1996)", "pc-i440fx-8.2"),
    ],
)
def test_what_the_table_does_not_know_says_nothing(
    manufacturer: str, product: str, version: str
) -> None:
    assert hd.product_line(manufacturer, product, version) is None


def test_the_table_is_broad_and_sorted_by_vendor() -> None:
    rows = hd.line_rows()
    entries = Counter(
        {
            vendor: sum(len(row.by) if row.by else 1 for row in found)
            for vendor, found in rows.items()
        }
    )
    assert set(rows) == set(hd.VENDORS) and all(rows.values())
    assert sum(entries.values()) >= 250, entries
    assert min(entries["hp"], entries["dell"], entries["lenovo"]) >= 50, entries


def test_the_table_is_read_once_on_first_use_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = importlib.util.spec_from_file_location("hardware_dates_fresh", hd.__file__)
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "hardware_dates_fresh", fresh)
    spec.loader.exec_module(fresh)
    assert fresh._table.cache_info().currsize == 0  # importing read nothing
    fresh.product_line(DELL, "OptiPlex 7010")
    fresh.product_line(HP, "HP ProDesk 600 G3 SFF")
    assert fresh._table.cache_info().misses == 1


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("name = 'x'\nmatch = 'x'", "exactly one of"),
        ("name = 'x'\nmatch = 'x'\nyears = [2010, 2009]", "out of order"),
        ("name = 'x'\nmatch = 'x(?P<g>1)'\nby = { '1' = [2010, 2011] }", "(?P<key>"),
        ("name = 'x'\nmatch = 'x'\nyears = [1980, 1981]", "out of order or of range"),
    ],
)
def test_a_broken_row_is_refused(
    row: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "product-lines.toml"
    broken.write_text(f"[[group]]\nvendor = 'hp'\nsource = 's'\n[[group.row]]\n{row}\n")
    monkeypatch.setattr(hd, "PRODUCT_LINES_FILE", broken)
    hd._table.cache_clear()
    try:
        with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace("?", r"\?")):
            hd.product_line(HP, "x")
    finally:
        hd._table.cache_clear()


@pytest.mark.parametrize(
    ("name", "earliest", "latest"),
    [
        ("SDRAM", 1996, 2003),
        ("RDRAM", 1999, 2003),
        ("DDR", 2000, 2006),
        ("DDR2", 2004, 2010),
        ("DDR2 FB-DIMM", 2006, 2009),
        ("DDR3", 2007, 2018),
        ("LPDDR2", 2011, 2016),
        ("LPDDR3", 2013, 2020),
        ("DDR4", 2014, None),
        ("LPDDR4", 2016, None),
        ("LPDDR4X", 2016, None),
        ("DDR5", 2021, None),
        ("LPDDR5", 2021, None),
        ("ddr3 ", 2007, 2018),
        ("DDR3L", 2007, 2018),
    ],
)
def test_a_memory_type_gives_the_years_pcs_shipped_with_it(
    name: str, earliest: int, latest: int | None
) -> None:
    found = hd.memory_type(name)
    assert found is not None
    assert (found.earliest, found.latest) == (earliest, THIS_YEAR if latest is None else latest)


def test_every_memory_type_the_parser_names_is_read() -> None:
    named = {name: hd.memory_type(name) for name in smbios_codes.MEMORY_TYPES.values()}
    assert {name for name, found in named.items() if found} >= {
        "DDR",
        "DDR2",
        "DDR3",
        "DDR4",
        "DDR5",
        "LPDDR3",
        "LPDDR4",
        "LPDDR5",
    }
    for name in ["Unknown", "Other", "DRAM", "Flash", "HBM2", ""]:
        assert hd.memory_type(name) is None, name


@pytest.mark.parametrize(
    ("major", "minor", "year"),
    [
        (2, 3, 1998),
        (2, 4, 2004),
        (2, 5, 2006),
        (2, 6, 2008),
        (2, 7, 2010),
        (2, 8, 2013),
        (3, 0, 2015),
        (3, 1, 2016),
        (3, 2, 2018),
        (3, 3, 2019),
        (3, 4, 2020),
        (3, 5, 2021),
        (3, 6, 2022),
        (3, 7, 2023),
        (3, 8, 2024),
        (3, 9, 2025),
        (2, 31, 1998),  # firmware that writes 2.3.1 as 2.31: read as 2.3 (dmidecode, Linux)
        (2, 33, 1998),
        (2, 51, 2008),  # 2.51 for 2.6
        (3, 10, 2025),  # newer than the table: at least its newest
    ],
)
def test_an_smbios_version_is_a_lower_bound(major: int, minor: int, year: int) -> None:
    found = hd.smbios_version(major, minor)
    assert found is not None
    assert (found.earliest, found.latest) == (year, THIS_YEAR)


@pytest.mark.parametrize(("major", "minor"), [(0, 0), (1, 0), (2, 9), (4, 0), (255, 255)])
def test_a_version_that_does_not_exist_says_nothing(major: int, minor: int) -> None:
    assert hd.smbios_version(major, minor) is None


@pytest.mark.parametrize("name", ["Mini PC", "Convertible", "Detachable", "Stick PC"])
def test_a_chassis_type_of_smbios_3_is_not_older_than_2015(name: str) -> None:
    found = hd.chassis_type(name)
    assert found is not None and (found.earliest, found.latest) == (2015, THIS_YEAR)
    assert name in found.reason


@pytest.mark.parametrize("name", ["Desktop", "Notebook", "All In One", "Tower", "", "mini pc"])
def test_an_older_chassis_type_says_nothing(name: str) -> None:
    assert hd.chassis_type(name) is None


def test_the_parsed_tables_evidence_agrees_with_the_launch_years() -> None:
    """What the parser gives feeds these functions: the product and its line (type 1's Version,
    else its Family, else the SKU, where Lenovo's carries the family too), the SMBIOS version,
    the memory types; each range holds the model's launch year."""
    for table, version, launch in [(DELL_OPTIPLEX_3010, "2.7", 2012), (THINKPAD_T480, "3.0", 2018)]:
        parsed = smbios.parse_table(table, version)
        line = parsed.product_version or parsed.family or parsed.sku
        major, minor = (int(part) for part in parsed.version.split("."))
        found = [
            hd.product_line(parsed.manufacturer, parsed.product, line),
            hd.smbios_version(major, minor),
            *(hd.memory_type(device.type) for device in parsed.memory),
        ]
        assert all(f is not None and f.earliest <= launch <= f.latest for f in found), found
        # The Dell's BIOS was updated in 2018: the product line says the machine is of 2012-13.
        if parsed.bios_date and parsed.product.startswith("OptiPlex"):
            assert found[0] is not None and found[0].latest < parsed.bios_date.year


@pytest.mark.parametrize("family", ["103C_53307F HP ProDesk", "103C_53307F G=D L=BUS B=HP S=PRO"])
def test_hp_family_strings_beside_the_name_change_nothing(family: str) -> None:
    for product in ["HP ProDesk 600 G3 SFF", "HP Compaq Pro 6300 SFF", "HP EliteBook 840 G5"]:
        assert hd.product_line(HP, product, family) == hd.product_line(HP, product), product


def _sane(found: hd.DateRange | None) -> None:
    if found is not None:
        assert hd.OLDEST_YEAR <= found.earliest <= found.latest <= THIS_YEAR + 1, found
        assert found.reason


@given(st.text(), st.text(), st.text())
def test_any_text_is_read_without_raising(manufacturer: str, product: str, version: str) -> None:
    _sane(hd.product_line(manufacturer, product, version))
    _sane(hd.memory_type(product))
    _sane(hd.chassis_type(version))


NAMES = st.from_regex(
    r"(?:hp (?:prodesk|elitedesk|probook|elitebook|eliteone|pro tower|elite mini|2[4-9]\d) |"
    r"optiplex (?:tower )?|latitude e?|precision m?|vostro |thinkcentre m|thinkpad [telxp]|"
    r"ideapad 3 \d\di[a-z]{2}|veriton m|esprimo [dep]|lifebook [eu]|d500m|b1400c)"
    r"\d{0,5} ?(?:g ?\d{1,2}[ai]?|gen \d{1,2}|\d{1,2}(?:st|nd|th))?",
    fullmatch=True,
)


@given(
    st.sampled_from([HP, HPQ, DELL, LENOVO, ACER, ASUS, FUJITSU]),
    NAMES,
    st.sampled_from(["", "ThinkCentre M9", "ThinkPad X1 Carbon Gen ", "IdeaPad 5 14ALC"]),
    st.integers(0, 99),
)
def test_names_near_the_rules_give_sane_ranges(
    manufacturer: str, product: str, version: str, number: int
) -> None:
    _sane(hd.product_line(manufacturer, product, f"{version}{number}"))


@given(st.integers(-(2**31), 2**31), st.integers(-(2**31), 2**31))
def test_any_version_numbers_are_read_without_raising(major: int, minor: int) -> None:
    _sane(hd.smbios_version(major, minor))
