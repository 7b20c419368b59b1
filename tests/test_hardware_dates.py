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

from tests.support.smbios_tables import DELL_OPTIPLEX_3010, THINKPAD_T480
from wardwatch.agent.probes.machine import smbios, smbios_codes
from wardwatch.rules import hardware_dates as hd

pytestmark = pytest.mark.unit

THIS_YEAR = dt.date.today().year
HP, HPQ, DELL, LENOVO = "HP", "Hewlett-Packard", "Dell Inc.", "LENOVO"
ACER, ASUS, FUJITSU = "Acer", "ASUSTeK COMPUTER INC.", "FUJITSU"

# (manufacturer, product name, version, launch year)
CORPUS: list[tuple[str, str, str, int]] = [
    (HPQ, "HP Compaq dc7700p Convertible Minitower", "", 2006),
    (HPQ, "HP Compaq dc5700 Microtower", "", 2007),
    (HPQ, "HP Compaq dc7800p Convertible Minitower", "", 2007),
    (HPQ, "HP Compaq dx7400 Microtower", "", 2007),
    (HPQ, "HP Compaq dc5800 Microtower", "", 2008),
    (HPQ, "HP Compaq dc7900 Small Form Factor", "", 2008),
    (HPQ, "HP Compaq dx2400 Microtower", "", 2008),
    (HPQ, "HP Compaq 6000 Pro MT PC", "", 2009),
    (HPQ, "HP Compaq 8000 Elite SFF PC", "", 2009),
    (HPQ, "HP Compaq 6005 Pro MT PC", "", 2010),
    (HPQ, "HP Compaq 8100 Elite CMT PC", "", 2010),
    (HPQ, "HP Compaq 4000 Pro SFF PC", "", 2010),
    (HPQ, "HP Compaq 6200 Pro MT PC", "", 2011),
    (HPQ, "HP Compaq 8200 Elite SFF PC", "", 2011),
    (HPQ, "HP Pro 3330 MT", "", 2011),
    (HPQ, "HP Compaq Pro 6300 SFF", "", 2012),
    (HPQ, "HP Compaq Elite 8300 SFF", "", 2012),
    (HPQ, "HP Compaq Elite 8300 All-in-One", "", 2012),
    (HPQ, "HP Compaq Pro 4300 SFF PC", "", 2012),
    (HPQ, "HP Pro 3500 Series MT", "", 2012),
    (HPQ, "HP EliteDesk 800 G1 SFF", "", 2013),
    (HPQ, "HP ProDesk 400 G1 MT", "", 2013),
    (HPQ, "HP ProDesk 600 G1 TWR", "", 2013),
    (HPQ, "HP ProOne 600 G1 AiO", "", 2013),
    (HPQ, "HP EliteOne 800 G1 AiO", "", 2013),
    (HPQ, "HP ProDesk 490 G1 MT", "", 2014),
    (HP, "HP ProOne 400 G1 AiO", "", 2014),
    (HP, "HP ProDesk 400 G2 MT", "", 2014),
    (HP, "HP ProDesk 400 G2.5 SFF Business PC", "", 2015),
    (HP, "HP EliteDesk 800 G2 SFF", "", 2015),
    (HP, "HP ProDesk 600 G2 SFF", "", 2015),
    (HP, "HP EliteDesk 705 G2 MT", "", 2015),
    (HP, "HP ProDesk 400 G3 MT", "", 2016),
    (HP, "HP ProOne 400 G2 20-in Touch AiO", "", 2016),
    (HP, "HP ProDesk 600 G3 SFF", "", 2017),
    (HP, "HP EliteDesk 800 G3 DM 65W", "", 2017),
    (HP, "HP EliteOne 800 G3 23.8-in Non-Touch AiO", "", 2017),
    (HP, "HP ProDesk 400 G4 MT", "", 2017),
    (HP, "HP ProDesk 400 G5 SFF", "", 2018),
    (HP, "HP EliteDesk 800 G4 TWR", "", 2018),
    (HP, "HP ProDesk 600 G4 DM", "", 2018),
    (HP, "HP ProOne 440 G4 23.8-in Non-Touch AiO", "", 2018),
    (HP, "HP ProDesk 400 G6 Desktop Mini PC", "", 2019),
    (HP, "HP EliteDesk 800 G5 Desktop Mini", "", 2019),
    (HP, "HP ProDesk 600 G5 SFF", "", 2019),
    (HP, "HP ProDesk 400 G7 Microtower PC", "", 2020),
    (HP, "HP EliteDesk 800 G6 Small Form Factor PC", "", 2020),
    (HP, "HP ProDesk 600 G6 Microtower PC", "", 2020),
    (HP, "HP EliteDesk 800 G8 Desktop Mini PC", "", 2021),
    (HP, "HP Pro Tower 400 G9 PCI Desktop PC", "", 2022),
    (HP, "HP Elite Mini 800 G9 Desktop PC", "", 2022),
    (HP, "HP Elite SFF 600 G9 Desktop PC", "", 2022),
    (HP, "HP ProOne 440 23.8 inch G9 All-in-One Desktop PC", "", 2022),
    (HP, "HP EliteDesk 8 Mini G1a Desktop AI PC", "", 2025),
    (HP, "HP 280 G1 MT", "", 2014),
    (HP, "HP 280 G4 MT Business PC", "", 2018),
    (HP, "HP 290 G2 MT Business PC", "", 2018),
    (HPQ, "HP Z400 Workstation", "", 2009),
    (HPQ, "HP Z420 Workstation", "", 2012),
    (HP, "HP Z440 Workstation", "", 2014),
    (HP, "HP Z2 Tower G4 Workstation", "", 2018),
    (HPQ, "HP Compaq nc6400", "", 2006),
    (HPQ, "HP Compaq 6910p", "", 2007),
    (HPQ, "HP Compaq 6730b", "", 2008),
    (HPQ, "HP EliteBook 2530p", "", 2008),
    (HPQ, "HP EliteBook 8440p", "", 2010),
    (HPQ, "HP EliteBook 8460p", "", 2011),
    (HPQ, "HP EliteBook 8470p", "", 2012),
    (HPQ, "HP EliteBook 2570p", "", 2012),
    (HPQ, "HP EliteBook Folio 9470m", "", 2012),
    (HPQ, "HP ProBook 4520s", "", 2010),
    (HPQ, "HP ProBook 4530s", "", 2011),
    (HPQ, "HP ProBook 4540s", "", 2012),
    (HPQ, "HP ProBook 6560b", "", 2011),
    (HPQ, "HP ProBook 6470b", "", 2012),
    (HPQ, "HP ProBook 450 G0", "", 2013),
    (HPQ, "HP ProBook 450 G1", "", 2013),
    (HP, "HP ProBook 640 G1", "", 2014),
    (HP, "HP ProBook 440 G2", "", 2014),
    (HP, "HP ProBook 450 G3", "", 2015),
    (HP, "HP ProBook 640 G2", "", 2016),
    (HP, "HP ProBook 440 G4", "", 2017),
    (HP, "HP ProBook 450 G5", "", 2018),
    (HP, "HP ProBook 650 G4", "", 2018),
    (HP, "HP ProBook 440 G6", "", 2019),
    (HP, "HP ProBook 450 G7", "", 2020),
    (HP, "HP ProBook 440 G8 Notebook PC", "", 2021),
    (HP, "HP ProBook 450 15.6 inch G9 Notebook PC", "", 2022),
    (HP, "HP ProBook 440 14 inch G10 Notebook PC", "", 2023),
    (HPQ, "HP EliteBook 840 G1", "", 2013),
    (HP, "HP EliteBook 840 G2", "", 2015),
    (HP, "HP EliteBook 840 G3", "", 2016),
    (HP, "HP EliteBook Folio 1040 G3", "", 2016),
    (HP, "HP EliteBook x360 1030 G2", "", 2017),
    (HP, "HP EliteBook 840 G5", "", 2018),
    (HP, "HP EliteBook 745 G5", "", 2018),
    (HP, "HP EliteBook 830 G6", "", 2019),
    (HP, "HP Elite Dragonfly", "", 2019),
    (HP, "HP EliteBook 840 G7 Notebook PC", "", 2020),
    (HP, "HP EliteBook 840 G8 Notebook PC", "", 2021),
    (HP, "HP EliteBook 840 14 inch G9 Notebook PC", "", 2022),
    (HP, "HP EliteBook 640 14 inch G10 Notebook PC", "", 2023),
    (HP, "HP EliteBook 8 G1i 14 inch Notebook AI PC", "", 2025),
    (HP, "HP 250 G6 Notebook PC", "", 2017),
    (HP, "HP 240 G7 Notebook PC", "", 2019),
    (HP, "HP 250 G8 Notebook PC", "", 2020),
    (HP, "HP 348 G5", "", 2018),
    (HP, "HP ProBook x360 440 G1", "", 2018),
    (HP, "HP ZBook 15 G3", "", 2016),
    (HP, "HP ZBook Firefly 14 G7 Mobile Workstation", "", 2020),
    (DELL, "OptiPlex GX620", "", 2005),
    (DELL, "OptiPlex 745", "", 2006),
    (DELL, "OptiPlex 755", "", 2007),
    (DELL, "OptiPlex 760", "", 2008),
    (DELL, "OptiPlex 780", "", 2009),
    (DELL, "OptiPlex 380", "", 2010),
    (DELL, "OptiPlex 980", "", 2010),
    (DELL, "OptiPlex 390", "", 2011),
    (DELL, "OptiPlex 790", "", 2011),
    (DELL, "OptiPlex 990", "", 2011),
    (DELL, "OptiPlex 3010", "", 2012),
    (DELL, "OptiPlex 7010", "01", 2012),
    (DELL, "OptiPlex 9010 AIO", "", 2012),
    (DELL, "OptiPlex 9020", "00", 2013),
    (DELL, "OptiPlex 3020", "", 2014),
    (DELL, "OptiPlex 7020", "", 2014),
    (DELL, "OptiPlex 3020M", "", 2014),
    (DELL, "OptiPlex 3030 AIO", "", 2014),
    (DELL, "OptiPlex 7040", "", 2015),
    (DELL, "OptiPlex 3040", "", 2016),
    (DELL, "OptiPlex 5050", "", 2017),
    (DELL, "OptiPlex 7050", "", 2017),
    (DELL, "OptiPlex 3060", "", 2018),
    (DELL, "OptiPlex 7060", "", 2018),
    (DELL, "OptiPlex XE3", "", 2018),
    (DELL, "OptiPlex 3070", "", 2019),
    (DELL, "OptiPlex 7070 Ultra", "", 2019),
    (DELL, "OptiPlex 3080", "", 2020),
    (DELL, "OptiPlex 5080", "", 2020),
    (DELL, "OptiPlex 3280 All-in-One", "", 2020),
    (DELL, "OptiPlex 3090", "", 2021),
    (DELL, "OptiPlex 7090 Tower", "", 2021),
    (DELL, "OptiPlex 7000 Micro", "", 2022),
    (DELL, "OptiPlex 3000 Small Form Factor", "", 2022),
    (DELL, "OptiPlex 5400 All-In-One", "", 2022),
    (DELL, "OptiPlex Micro 7010", "", 2023),
    (DELL, "OptiPlex Tower Plus 7010", "", 2023),
    (DELL, "OptiPlex All-in-One 7410", "", 2023),
    (DELL, "OptiPlex Tower 7020", "", 2024),
    (DELL, "Latitude D620", "", 2006),
    (DELL, "Latitude D630", "", 2007),
    (DELL, "Latitude E6400", "", 2008),
    (DELL, "Latitude E6410", "", 2010),
    (DELL, "Latitude E6420", "", 2011),
    (DELL, "Latitude E5430 non-vPro", "", 2012),
    (DELL, "Latitude E6440", "", 2013),
    (DELL, "Latitude E7450", "", 2015),
    (DELL, "Latitude E5470", "", 2016),
    (DELL, "Latitude 5480", "", 2017),
    (DELL, "Latitude 3490", "", 2018),
    (DELL, "Latitude 7490", "", 2018),
    (DELL, "Latitude 3500", "", 2019),
    (DELL, "Latitude 5400", "", 2019),
    (DELL, "Latitude 3190 2-in-1", "", 2019),
    (DELL, "Latitude 5424 Rugged", "", 2019),
    (DELL, "Latitude 5410", "", 2020),
    (DELL, "Latitude 3520", "", 2021),
    (DELL, "Latitude 5420", "", 2021),
    (DELL, "Latitude 9420", "", 2021),
    (DELL, "Latitude 7430", "", 2022),
    (DELL, "Latitude 5440", "", 2023),
    (DELL, "Latitude 5450", "", 2024),
    (DELL, "Precision WorkStation T3500", "", 2009),
    (DELL, "Precision T1700", "", 2013),
    (DELL, "Precision M4800", "", 2013),
    (DELL, "Precision 7510", "", 2015),
    (DELL, "Precision Tower 3620", "", 2016),
    (DELL, "Precision 5820 Tower", "", 2017),
    (DELL, "Precision 3630 Tower", "", 2018),
    (DELL, "Precision 3541", "", 2019),
    (DELL, "Precision 5570", "", 2022),
    (DELL, "Vostro 260", "", 2011),
    (DELL, "Vostro 3550", "", 2011),
    (DELL, "Vostro 3900", "", 2014),
    (DELL, "Vostro 3568", "", 2016),
    (DELL, "Vostro 3668", "", 2017),
    (DELL, "Vostro 3470", "", 2018),
    (DELL, "Vostro 5490", "", 2019),
    (DELL, "Vostro 3888", "", 2020),
    (DELL, "Vostro 15 3510", "", 2021),
    (DELL, "Dell Pro Tower QCT1250", "", 2025),
    (DELL, "Dell Pro 14 PC14250", "", 2025),
    (LENOVO, "6234A1G", "ThinkCentre M57", 2007),
    (LENOVO, "7360A7G", "ThinkCentre M58p", 2008),
    (LENOVO, "5536W1B", "ThinkCentre M90p", 2010),
    (LENOVO, "7052A9G", "ThinkCentre M91p", 2011),
    (LENOVO, "3227A2G", "ThinkCentre M72e", 2012),
    (LENOVO, "2756A3G", "ThinkCentre M92p", 2012),
    (LENOVO, "10A8S0XL00", "ThinkCentre M93p", 2013),
    (LENOVO, "10AAS0Y500", "ThinkCentre M73", 2014),
    (LENOVO, "10FH002UUS", "ThinkCentre M700", 2015),
    (LENOVO, "10M7S0SR00", "ThinkCentre M710s", 2017),
    (LENOVO, "10MUS00800", "ThinkCentre M910s", 2017),
    (LENOVO, "10T7S0AA00", "ThinkCentre M720q", 2018),
    (LENOVO, "10SUS1XN00", "ThinkCentre M920q", 2018),
    (LENOVO, "10NK001WUS", "ThinkCentre V530s-07ICB", 2018),
    (LENOVO, "11A4002QUS", "ThinkCentre M75s-1", 2019),
    (LENOVO, "11DB0003US", "ThinkCentre M70q", 2020),
    (LENOVO, "11JN000FUS", "ThinkCentre M75q Gen 2", 2020),
    (LENOVO, "11HD0018US", "ThinkCentre V50s-07IMB", 2020),
    (LENOVO, "11MY0011US", "ThinkCentre M70q Gen 2", 2021),
    (LENOVO, "11T3002XUS", "ThinkCentre M70q Gen 3", 2022),
    (LENOVO, "11SX0001US", "ThinkCentre neo 50s Gen 3", 2022),
    (LENOVO, "12E3001HUS", "ThinkCentre M70q Gen 4", 2023),
    (LENOVO, "7459A14", "ThinkPad X200", 2008),
    (LENOVO, "4290W4H", "ThinkPad X220", 2011),
    (LENOVO, "4236NUA", "ThinkPad T420", 2011),
    (LENOVO, "2356BH8", "ThinkPad T430", 2012),
    (LENOVO, "2436CTO", "ThinkPad W530", 2012),
    (LENOVO, "20B7S0GK00", "ThinkPad T440", 2014),
    (LENOVO, "20AL009CUS", "ThinkPad X240", 2014),
    (LENOVO, "20BV001KUS", "ThinkPad T450", 2015),
    (LENOVO, "20DF004GUS", "ThinkPad E450", 2015),
    (LENOVO, "20FMS0P400", "ThinkPad T460", 2016),
    (LENOVO, "20FW000QUS", "ThinkPad L460", 2016),
    (LENOVO, "20ENCTO1WW", "ThinkPad P50", 2016),
    (LENOVO, "20HD000MUS", "ThinkPad T470", 2017),
    (LENOVO, "20HR0021US", "ThinkPad X1 Carbon 5th", 2017),
    (LENOVO, "20L5S00000", "ThinkPad T480", 2018),
    (LENOVO, "20KF001JUS", "ThinkPad X280", 2018),
    (LENOVO, "20LS001AUS", "ThinkPad L480", 2018),
    (LENOVO, "20KS003BUS", "ThinkPad E580", 2018),
    (LENOVO, "20N2000KUS", "ThinkPad T490", 2019),
    (LENOVO, "20R3000DUS", "ThinkPad L13", 2019),
    (LENOVO, "20QF0017US", "ThinkPad X1 Yoga 4th", 2019),
    (LENOVO, "20L5CTO1WW", "LENOVO_MT_20L5_BU_Think_FM_ThinkPad T480", 2018),
    (LENOVO, "20RA001LUS", "ThinkPad E14", 2020),
    (LENOVO, "20S0000AUS", "ThinkPad T14 Gen 1", 2020),
    (LENOVO, "20U1000VUS", "ThinkPad L14 Gen 1", 2020),
    (LENOVO, "20U9005MUS", "ThinkPad X1 Carbon Gen 8", 2020),
    (LENOVO, "20TA0029US", "ThinkPad E14 Gen 2", 2020),
    (LENOVO, "20W0000FUS", "ThinkPad T14 Gen 2i", 2021),
    (LENOVO, "21AH00BCUS", "ThinkPad T14 Gen 3", 2022),
    (LENOVO, "21E3005XUS", "ThinkPad E14 Gen 4", 2022),
    (LENOVO, "80TV", "Lenovo ideapad 310-15IKB", 2017),
    (LENOVO, "81D1", "Lenovo V130-15IKB", 2018),
    (LENOVO, "90HU", "ideacentre 510S-07ICB", 2018),
    (LENOVO, "81WE", "IdeaPad 3 15IIL05", 2020),
    (LENOVO, "82C4", "Lenovo V14-IIL", 2020),
    (LENOVO, "F0EY", "IdeaCentre AIO 3 24IIL5", 2020),
    (LENOVO, "82H8", "IdeaPad 3 15ITL6", 2021),
    (LENOVO, "82KA", "Lenovo V14 G2 ITL", 2021),
    (LENOVO, "20VE", "ThinkBook 15 G2 ITL", 2021),
    (ACER, "Veriton M4630G", "", 2013),
    (ACER, "Veriton X2640G", "", 2016),
    (ACER, "TravelMate P249-M", "", 2016),
    (ACER, "Veriton M4660G", "", 2018),
    (ACER, "Veriton X4680G", "", 2021),
    (ACER, "Veriton M4690G", "", 2022),
    (ASUS, "ASUSPRO P2540UA", "1.0", 2017),
    (ASUS, "P1440FA", "1.0", 2019),
    (ASUS, "D500MA", "1.0", 2020),
    (ASUS, "ExpertBook B1400CEAE_B1400CEA", "1.0", 2021),
    (ASUS, "D500SD", "1.0", 2022),
    (ASUS, "ASUS EXPERTBOOK B1402CBA_B1402CBA", "1.0", 2022),
    ("FUJITSU SIEMENS", "ESPRIMO P5730", "", 2008),
    (FUJITSU, "ESPRIMO E900", "", 2011),
    (FUJITSU, "ESPRIMO P720", "", 2013),
    (FUJITSU, "LIFEBOOK E734", "", 2014),
    (FUJITSU, "ESPRIMO D556", "", 2016),
    (FUJITSU, "LIFEBOOK U747", "", 2017),
    (FUJITSU, "ESPRIMO D538", "", 2018),
    (FUJITSU, "ESPRIMO D7010", "", 2020),
    (FUJITSU, "LIFEBOOK E5410", "", 2020),
    ("FUJITSU CLIENT COMPUTING LIMITED", "ESPRIMO D7011", "", 2021),
]

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
    found = hd.processor_socket(name)
    assert found is not None
    assert (found.earliest, found.latest) == (earliest, THIS_YEAR if latest is None else latest)


@pytest.mark.parametrize("name", ["CPU 1", "U3E1", "SOCKET 0", "CPU0", "Socket 1", "BGA", ""])
def test_a_designation_that_names_no_socket_says_nothing(name: str) -> None:
    assert hd.processor_socket(name) is None


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
    _sane(hd.processor_socket(version))


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
