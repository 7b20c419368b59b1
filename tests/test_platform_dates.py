"""The processor's platform as SMBIOS dates it (``wardwatch.rules.platform_dates``): sockets,
processor families and the chipsets in white-box mainboards' names. Years from Intel's and
AMD's launch dates (ARK, AMD's product pages, Wikipedia's chipset and processor lists)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardwatch.agent.probes.machine import smbios_codes
from wardwatch.rules import hardware_dates as hd
from wardwatch.rules import platform_dates as pd

pytestmark = pytest.mark.unit

THIS_YEAR = dt.date.today().year
ASUS, DELL = "ASUSTeK COMPUTER INC.", "Dell Inc."


def _years(found: hd.DateRange | None) -> tuple[int, int] | None:
    return None if found is None else (found.earliest, found.latest)


@pytest.mark.parametrize(
    ("name", "earliest", "latest"),
    [
        ("LGA775", 2004, 2011),
        ("Socket 1156", 2009, 2012),
        ("LGA 1155", 2011, 2014),
        ("LGA1150", 2013, 2016),
        ("FCLGA1151", 2015, 2020),
        ("LGA1200", 2020, 2023),
        ("Socket LGA1700", 2021, None),
        ("LGA2011-3", 2014, 2018),
        ("Socket AM2+", 2007, 2010),
        ("AM3", 2009, 2013),
        ("Socket FM2+", 2014, 2017),
        ("Socket AM4", 2016, None),
    ],
)
def test_a_socket_gives_its_years(name: str, earliest: int, latest: int | None) -> None:
    found = pd.processor_socket(name)
    assert found is not None
    assert (found.earliest, found.latest) == (earliest, THIS_YEAR if latest is None else latest)


@pytest.mark.parametrize("name", ["CPU 1", "U3E1", "SOCKET 0", "CPU0", "Socket 1", "BGA", ""])
def test_a_designation_that_names_no_socket_says_nothing(name: str) -> None:
    assert pd.processor_socket(name) is None


def test_every_socket_code_the_parser_names_is_dated() -> None:
    """Each Processor Upgrade name the parser gives is one this module dates."""
    for name in smbios_codes.PROCESSOR_UPGRADES.values():
        assert pd.processor_socket(name) is not None, name


@pytest.mark.parametrize(
    ("family", "years"),
    [
        ("Core 2 Duo", (2006, 2011)),
        ("Core 2 Quad", (2007, 2011)),
        ("Pentium 4", (2000, 2008)),
        ("Athlon 64 X2", (2005, 2009)),
        ("Phenom II", (2009, 2012)),
        ("Core i5", (2009, THIS_YEAR)),
        ("Zen", (2017, THIS_YEAR)),
    ],
)
def test_a_processor_family_gives_its_years(family: str, years: tuple[int, int]) -> None:
    assert _years(pd.processor_family(family)) == years


@pytest.mark.parametrize("family", ["Celeron", "Athlon", "Xeon", "Sempron", "Unknown", ""])
def test_a_family_of_decades_says_nothing(family: str) -> None:
    assert pd.processor_family(family) is None


def test_every_family_name_the_parser_gives_is_known_here_or_says_nothing() -> None:
    dated = [name for name in smbios_codes.PROCESSOR_FAMILIES.values() if pd.processor_family(name)]
    assert len(dated) >= 50 and "Core 2 Duo" in dated


@pytest.mark.parametrize(
    ("board", "years"),
    [
        ("945GCM-S2L", (2005, 2009)),
        ("G31M-ES2L", (2007, 2011)),
        ("P5G41-M LX", (2008, 2012)),
        ("GA-G41MT-S2PT", (2008, 2012)),
        ("DH61WW", (2011, 2014)),  # Intel's own board: D, then the chipset
        ("H61M-P31 (G3)", (2011, 2014)),
        ("B75MA-E33", (2012, 2014)),
        ("Z77A-G43", (2012, 2014)),  # MSI: the chipset first, "G43" is the model's suffix
        ("H81M-K", (2013, 2016)),
        ("B85M-D3H", (2013, 2016)),
        ("H110M-DS2", (2015, 2018)),
        ("PRIME H310M-E R2.0", (2017, 2020)),
        ("EX-B460M-V5", (2020, 2022)),
        ("PRIME H610M-E D4", (2021, THIS_YEAR)),
        ("970A-G43", (2011, 2016)),
        ("A320M-K", (2017, 2020)),
        ("PRIME B450M-A", (2018, 2022)),
        ("TUF GAMING B550M-PLUS", (2019, THIS_YEAR)),
    ],
)
def test_a_white_box_board_is_dated_by_its_chipset(board: str, years: tuple[int, int]) -> None:
    found = pd.board_chipset(ASUS, board)
    assert _years(found) == years
    assert found is not None and board in found.reason


@pytest.mark.parametrize("board", ["MS-7817", "0Y2K8N", "Z1700", "KH81", "A7", "", "H6", "H6100"])
def test_a_board_name_without_a_chipset_says_nothing(board: str) -> None:
    assert pd.board_chipset("Micro-Star International Co., Ltd.", board) is None


@pytest.mark.parametrize("manufacturer", [DELL, "HP", "Hewlett-Packard", "LENOVO", "FUJITSU"])
def test_a_branded_pcs_board_part_number_is_not_read_as_a_chipset(manufacturer: str) -> None:
    assert pd.board_chipset(manufacturer, "0H61XX") is None


@given(st.text(), st.text())
def test_any_text_is_read_without_raising(manufacturer: str, text: str) -> None:
    for found in (
        pd.processor_socket(text),
        pd.processor_family(text),
        pd.board_chipset(manufacturer, text),
    ):
        if found is not None:
            assert hd.OLDEST_YEAR <= found.earliest <= found.latest <= THIS_YEAR, found
            assert found.reason
