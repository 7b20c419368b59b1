"""CPU launch years: every row of the rule table, on model strings as the OSes print them."""

from __future__ import annotations

import pytest

from wardwatch.rules import cpu_launch
from wardwatch.rules.cpu_launch import CpuLaunch

pytestmark = pytest.mark.unit

# (model string as Windows' registry or Linux's /proc/cpuinfo prints it, family, year, year_to)
CASES: list[tuple[str, str, int, int]] = [
    ("Intel(R) Core(TM) i7 CPU         920  @ 2.67GHz", "Intel Core i7-9xx", 2008, 2010),
    ("Intel(R) Core(TM) i7-920 CPU @ 2.67GHz", "Intel Core i7-9xx", 2008, 2010),
    ("Intel(R) Core(TM) i3 CPU       530  @ 2.93GHz", "Intel Core 1st gen", 2009, 2010),
    ("Intel(R) Core(TM) i3-530 CPU @ 2.93GHz", "Intel Core 1st gen", 2009, 2010),
    ("Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz", "Intel Core 1st gen", 2009, 2010),
    ("Intel(R) Core(TM) i7 CPU       Q 720  @ 1.60GHz", "Intel Core 1st gen", 2009, 2010),
    ("Intel(R) Core(TM) i5-650 CPU @ 3.20GHz", "Intel Core 1st gen", 2009, 2010),
    ("Intel(R) Core(TM) i7-870 CPU @ 2.93GHz", "Intel Core 1st gen", 2009, 2010),
    ("Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz", "Intel Core 2nd gen", 2011, 2011),
    ("Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz", "Intel Core 2nd gen", 2011, 2011),
    ("Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz", "Intel Core 3rd gen", 2012, 2012),
    ("Intel(R) Core(TM) i5-3470S CPU @ 2.90GHz", "Intel Core 3rd gen", 2012, 2012),
    ("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", "Intel Core 4th gen", 2013, 2014),
    ("Intel(R) Core(TM) i7-4770K CPU @ 3.50GHz", "Intel Core 4th gen", 2013, 2014),
    ("Intel(R) Core(TM) i5-5200U CPU @ 2.20GHz", "Intel Core 5th gen", 2015, 2015),
    ("Intel(R) Core(TM) i5-6500 CPU @ 3.20GHz", "Intel Core 6th gen", 2015, 2015),
    ("Intel(R) Core(TM) i7-6700HQ CPU @ 2.60GHz", "Intel Core 6th gen", 2015, 2015),
    ("Intel(R) Core(TM) i5-7400 CPU @ 3.00GHz", "Intel Core 7th gen", 2016, 2017),
    ("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", "Intel Core 8th gen", 2017, 2018),
    ("Intel(R) Core(TM) i3-8100 CPU @ 3.60GHz", "Intel Core 8th gen", 2017, 2018),
    ("Intel(R) Core(TM) i5-9400 CPU @ 2.90GHz", "Intel Core 9th gen", 2018, 2019),
    ("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", "Intel Core 9th gen", 2018, 2019),
    ("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", "Intel Core 10th gen", 2019, 2020),
    ("Intel(R) Core(TM) i5-1035G1 CPU @ 1.00GHz", "Intel Core 10th gen", 2019, 2020),
    ("Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz", "Intel Core 10th gen", 2019, 2020),
    ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", "Intel Core 11th gen", 2020, 2021),
    ("11th Gen Intel(R) Core(TM) i5-11400 @ 2.60GHz", "Intel Core 11th gen", 2020, 2021),
    ("12th Gen Intel(R) Core(TM) i5-12400", "Intel Core 12th gen", 2021, 2022),
    ("12th Gen Intel(R) Core(TM) i7-1255U", "Intel Core 12th gen", 2021, 2022),
    ("13th Gen Intel(R) Core(TM) i5-13400", "Intel Core 13th gen", 2022, 2023),
    ("13th Gen Intel(R) Core(TM) i5-1335U", "Intel Core 13th gen", 2022, 2023),
    ("14th Gen Intel(R) Core(TM) i7-14700", "Intel Core 14th gen", 2023, 2024),
    ("Intel(R) Core(TM) Ultra 5 125U", "Intel Core Ultra 1", 2023, 2024),
    ("Intel(R) Core(TM) Ultra 7 155H", "Intel Core Ultra 1", 2023, 2024),
    ("Intel(R) Core(TM) Ultra 7 258V", "Intel Core Ultra 2", 2024, 2025),
    ("Intel(R) Pentium(R) CPU G620 @ 2.60GHz", "Intel Pentium G6xx/G8xx", 2011, 2012),
    ("Intel(R) Pentium(R) CPU G2030 @ 3.00GHz", "Intel Pentium G2xxx", 2012, 2013),
    ("Intel(R) Pentium(R) CPU G3220 @ 3.00GHz", "Intel Pentium G3xxx", 2013, 2015),
    ("Intel(R) Pentium(R) CPU G4400 @ 3.30GHz", "Intel Pentium G4xxx", 2015, 2017),
    ("Intel(R) Pentium(R) Gold G5400 CPU @ 3.70GHz", "Intel Pentium G5xxx", 2018, 2019),
    ("Intel(R) Pentium(R) Gold G6400 CPU @ 4.00GHz", "Intel Pentium G6xxx", 2020, 2020),
    ("Intel(R) Pentium(R) Gold G7400", "Intel Pentium G7xxx", 2022, 2022),
    ("Intel(R) Celeron(R) CPU G530 @ 2.40GHz", "Intel Celeron G4xx/G5xx", 2011, 2012),
    ("Intel(R) Celeron(R) CPU G1610 @ 2.60GHz", "Intel Celeron G1xxx", 2013, 2015),
    ("Intel(R) Celeron(R) CPU G3900 @ 2.80GHz", "Intel Celeron G3xxx", 2015, 2017),
    ("Intel(R) Celeron(R) G4900 CPU @ 3.10GHz", "Intel Celeron G4xxx", 2018, 2019),
    ("Intel(R) Celeron(R) G5900 CPU @ 3.40GHz", "Intel Celeron G5xxx", 2020, 2020),
    ("Intel(R) Celeron(R) G6900", "Intel Celeron G6xxx", 2022, 2022),
    ("Intel(R) Celeron(R) CPU  J1900  @ 1.99GHz", "Intel Celeron J1xxx/N2xxx", 2013, 2014),
    ("Intel(R) Celeron(R) CPU  N2840  @ 2.16GHz", "Intel Celeron J1xxx/N2xxx", 2013, 2014),
    ("Intel(R) Celeron(R) CPU N3050 @ 1.60GHz", "Intel Celeron J3xxx/N3xxx", 2015, 2016),
    ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", "Intel Celeron J4xxx/N4xxx", 2017, 2021),
    ("Intel(R) Celeron(R) J4125 CPU @ 2.00GHz", "Intel Celeron J4xxx/N4xxx", 2017, 2021),
    ("Intel(R) Celeron(R) N5105 @ 2.00GHz", "Intel Celeron N5xxx/J6xxx", 2021, 2021),
    ("Intel(R) N100", "Intel N-series", 2023, 2023),
    ("Intel(R) Core(TM) i3-N305", "Intel N-series", 2023, 2023),
    ("AMD Ryzen 5 1600 Six-Core Processor", "AMD Ryzen 1000", 2017, 2017),
    ("AMD Ryzen 5 2400G with Radeon Vega Graphics", "AMD Ryzen 2000", 2017, 2018),
    ("AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", "AMD Ryzen 3000", 2019, 2019),
    ("AMD Ryzen 5 PRO 4650G with Radeon Graphics", "AMD Ryzen 4000", 2020, 2020),
    ("AMD Ryzen 5 5600G with Radeon Graphics", "AMD Ryzen 5000", 2020, 2021),
    ("AMD Ryzen 7 5800H with Radeon Graphics", "AMD Ryzen 5000", 2020, 2021),
    ("AMD Ryzen 7 6800U with Radeon Graphics", "AMD Ryzen 6000", 2022, 2022),
    ("AMD Ryzen 5 7600 6-Core Processor", "AMD Ryzen 7000", 2022, 2023),
    ("AMD Ryzen 5 8600G w/ Radeon 760M Graphics", "AMD Ryzen 8000", 2023, 2024),
    ("AMD Ryzen 9 9950X 16-Core Processor", "AMD Ryzen 9000", 2024, 2025),
    ("AMD Athlon 200GE with Radeon Vega Graphics", "AMD Athlon 2xxGE", 2018, 2018),
    ("AMD Athlon 3000G with Radeon Vega Graphics", "AMD Athlon 3000G/3xxGE", 2019, 2020),
    ("AMD Athlon 300GE with Radeon Vega Graphics", "AMD Athlon 3000G/3xxGE", 2019, 2020),
    # Virtual and unknown CPUs: no guess.
    ("QEMU Virtual CPU version 2.5+", "", 0, 0),
    ("Common KVM processor", "", 0, 0),
    ("Intel Core Processor (Haswell, no TSX)", "", 0, 0),
    ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "", 0, 0),
    ("Intel(R) Core(TM)2 Duo CPU     E7500  @ 2.93GHz", "", 0, 0),
    ("", "", 0, 0),
]


@pytest.mark.parametrize(("model", "family", "year", "year_to"), CASES)
def test_launch(model: str, family: str, year: int, year_to: int) -> None:
    expected = CpuLaunch(family=family, year=year, year_to=year_to) if family else None
    assert cpu_launch.launch(model) == expected


def test_every_rule_row_is_exercised() -> None:
    assert {family for _, family, _, _ in CASES if family} == {r.family for r in cpu_launch.RULES}


def test_rule_rows_are_consistent() -> None:
    families = [r.family for r in cpu_launch.RULES]
    assert len(families) == len(set(families))
    for rule in cpu_launch.RULES:
        assert 2008 <= rule.year <= rule.year_to <= 2030, rule


def test_normalise_drops_trademarks_and_spaces() -> None:
    assert cpu_launch.normalise("Intel(R) Core(TM)  i5-3470 CPU") == "Intel Core i5-3470 CPU"
    assert cpu_launch.normalise("Intel® Core™ i5") == "Intel Core i5"
