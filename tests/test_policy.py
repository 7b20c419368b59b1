"""Lifecycle policy files and the OS end-of-support table (every Windows build row of
docs/facts.md)."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pytest

from wardwatch.agent.osinfo_windows import identity_from
from wardwatch.common.tomlconfig import ConfigError
from wardwatch.rules import policy
from wardwatch.rules.policy import OsEol, load_os_table, load_policy, os_eol

pytestmark = pytest.mark.unit

D = dt.date
TABLE = load_os_table()


def test_default_policy_is_tt23_with_five_years_for_pcs() -> None:
    p = load_policy()
    assert p.name == policy.DEFAULT_POLICY == "vn-tt23-2023"
    assert (p.life("desktop").years, p.life("laptop").years) == (5, 5)
    assert p.warning_days == 180


def test_tt141_sets_seven_years_for_office_equipment_five_for_other() -> None:
    p = load_policy("vn-tt141-2025")
    for cls in ("desktop", "laptop", "tablet", "printer", "scanner", "copier"):
        assert p.life(cls).years == 7
    for cls in ("server", "network"):
        assert p.life(cls).years == 5


@pytest.mark.parametrize("name", policy.shipped_policies())
def test_shipped_policy_names_match_files_and_every_figure_has_a_source(name: str) -> None:
    p = load_policy(name)
    assert p.name == name
    raw = tomllib.loads((policy.DATA / f"policy-{name}.toml").read_text(encoding="utf-8"))
    assert set(raw["useful_life"]) == set(p.useful_life)
    for life in p.useful_life.values():
        assert life.source
        assert not life.confirmed  # docs/facts.md: no primary table read; say so
        if life.rate_pct is not None:
            assert life.rate_pct == pytest.approx(100 / life.years, abs=0.01)


def test_shipped_policies_are_both_listed() -> None:
    assert policy.shipped_policies() == ["vn-tt141-2025", "vn-tt23-2023"]


def test_unknown_device_class_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"known classes: .*desktop"):
        load_policy().life("toaster")


CITY = """
name = "bmt-city"
source = "Buon Ma Thuot decision (test)"
warning_days = 90
extended_support = ["debian", "windows"]

[useful_life.desktop]
years = 6
source = "city decision"
"""


@pytest.mark.parametrize("as_path", [True, False])
def test_city_policy_file_overrides_the_default(tmp_path: Path, as_path: bool) -> None:
    path = tmp_path / "city.toml"
    path.write_text(CITY, encoding="utf-8")
    p = load_policy(path if as_path else str(path))
    assert (p.name, p.warning_days, p.life("desktop").years) == ("bmt-city", 90, 6)
    assert p.extended_support == {"debian", "windows"}
    assert load_policy().life("desktop").years == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CITY.replace("years = 6", 'years = "six"'), "key useful_life.desktop.years = 'six'"),
        (CITY.replace("years = 6", "years = 0"), "key useful_life.desktop.years = 0"),
        (CITY.replace("warning_days = 90", "warning_days = -1"), "key warning_days = -1"),
        (CITY.replace('"debian", ', '"debain", '), "key extended_support"),
        (CITY.replace('source = "city decision"', ""), "missing required field `source`"),
        (CITY + "colour = 1\n", "unknown field `colour`"),
        (CITY.replace("[useful_life", "useful_life"), "not valid TOML"),
    ],
)
def test_malformed_policy_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "for every key" in message


def test_unknown_policy_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ConfigError, match="vn-tt141-2025, vn-tt23-2023"):
        load_policy("vn-tt99")


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_policy(tmp_path / "nope.toml")


def test_os_table_is_endoflife_format_and_credits_mit() -> None:
    raw = json.loads(policy.OS_EOL_FILE.read_text(encoding="utf-8"))
    assert "MIT" in " ".join(raw["_comment"])
    for product in ("windows", "ubuntu", "debian"):
        for cycle in raw[product]:
            assert {"cycle", "releaseDate", "eol", "extendedSupport"} <= set(cycle)


# Every row of docs/facts.md's build table, with the edition that selects it and the dates of its
# "End of support" table (or Microsoft's lifecycle where it gives none).
BUILDS = [
    ("7601", "Professional", "Windows 7 SP1", D(2020, 1, 14)),
    ("9200", "Professional", "Windows 8", D(2016, 1, 12)),
    ("9600", "Core", "Windows 8.1", D(2023, 1, 10)),
    ("10240", "EnterpriseS", "Windows 10 Enterprise LTSB 2015", D(2025, 10, 14)),
    ("14393", "EnterpriseS", "Windows 10 Enterprise LTSB 2016", D(2026, 10, 13)),
    ("17763", "EnterpriseS", "Windows 10 Enterprise LTSC 2019", D(2029, 1, 9)),
    ("18363", "Professional", "Windows 10 1909 Home/Pro", D(2021, 5, 11)),
    ("19041", "Professional", "Windows 10 2004 Home/Pro", D(2021, 12, 14)),
    ("19042", "Professional", "Windows 10 20H2 Home/Pro", D(2022, 5, 10)),
    ("19043", "Professional", "Windows 10 21H1 Home/Pro", D(2022, 12, 13)),
    ("19044", "EnterpriseS", "Windows 10 Enterprise LTSC 2021", D(2027, 1, 12)),
    ("19045", "Professional", "Windows 10 22H2 Home/Pro", D(2025, 10, 14)),
    ("22000", "Professional", "Windows 11 21H2 Home/Pro", D(2023, 10, 10)),
    ("22621", "Professional", "Windows 11 22H2 Home/Pro", D(2024, 10, 8)),
    ("22631", "Professional", "Windows 11 23H2 Home/Pro", D(2025, 11, 11)),
    ("26100", "Professional", "Windows 11 24H2 Home/Pro", D(2026, 10, 13)),
    ("26200", "Professional", "Windows 11 25H2 Home/Pro", D(2027, 10, 12)),
]


@pytest.mark.parametrize(("build", "edition", "label", "eol"), BUILDS)
def test_every_windows_build_row_maps(build: str, edition: str, label: str, eol: dt.date) -> None:
    # The agent names Windows 11 "Windows <edition>" with version "10"; the build decides.
    assert os_eol(f"Windows {edition}", "10", build, table=TABLE) == OsEol(eol=eol, label=label)


@pytest.mark.parametrize(
    ("build", "edition", "eol"),
    [
        ("19045", "Enterprise", D(2025, 10, 14)),
        ("19045", "Education", D(2025, 10, 14)),
        ("22621", "Enterprise", D(2025, 10, 14)),
        ("22621", "Education", D(2025, 10, 14)),
        ("22621", "Core", D(2024, 10, 8)),
        ("22621", "ProfessionalEducation", D(2024, 10, 8)),
        ("22631", "Enterprise", D(2026, 11, 10)),
        ("26100", "Enterprise", D(2027, 10, 12)),
        ("26100", "EnterpriseS", D(2029, 10, 9)),
        ("26200", "Enterprise", D(2028, 10, 10)),
        ("26200", "", D(2027, 10, 12)),  # unknown edition: the shorter, Home/Pro date
        ("19044", "IoTEnterpriseS", D(2032, 1, 13)),
        ("19044", "Enterprise", D(2024, 6, 11)),  # plain 21H2, not the LTSC
        ("14393", "Professional", D(2018, 4, 10)),
        ("10.0.22631", "Enterprise", D(2026, 11, 10)),
        ("22631.4317", "Professional", D(2025, 11, 11)),
    ],
)
def test_windows_edition_decides_the_date(build: str, edition: str, eol: dt.date) -> None:
    found = os_eol("Windows", "10", build, edition, table=TABLE)
    assert found is not None
    assert found.eol == eol


@pytest.mark.parametrize(
    ("build", "edition", "extended", "eol", "is_extended"),
    [
        ("19045", "Professional", (), D(2025, 10, 14), False),
        ("19045", "Professional", ("windows",), D(2028, 10, 10), True),
        ("19045", "Enterprise", ("windows",), D(2028, 10, 10), True),
        ("7601", "Professional", ("windows",), D(2023, 1, 10), True),
        ("9600", "Professional", ("windows",), D(2023, 1, 10), False),  # 8.1 had no ESU
        ("19045", "Professional", ("ubuntu", "debian"), D(2025, 10, 14), False),
    ],
)
def test_esu_counts_only_when_paid(
    build: str,
    edition: str,
    extended: tuple[policy.Product, ...],
    eol: dt.date,
    is_extended: bool,
) -> None:
    found = os_eol("Windows", "10", build, edition, table=TABLE, extended=extended)
    assert found is not None
    assert (found.eol, found.extended) == (eol, is_extended)
    assert found.label.endswith("(extended support)") == is_extended


@pytest.mark.parametrize(
    ("name", "version", "extended", "eol"),
    [
        ("Ubuntu", "18.04", (), D(2023, 5, 31)),
        ("Ubuntu", "20.04", (), D(2025, 5, 31)),
        ("Ubuntu", "22.04", (), D(2027, 4, 1)),
        ("Ubuntu", "24.04", (), D(2029, 5, 31)),
        ("Ubuntu", "22.04.4", ("ubuntu",), D(2032, 4, 1)),
        ("Ubuntu", "24.04", ("ubuntu",), D(2036, 5, 1)),
        ("Ubuntu", "18.04", ("ubuntu",), D(2028, 4, 1)),
        ("Ubuntu", "20.04", ("ubuntu",), D(2030, 4, 1)),
        ("Debian GNU/Linux", "11", (), D(2024, 8, 14)),
        ("Debian GNU/Linux", "11", ("debian",), D(2026, 8, 31)),
        ("Debian GNU/Linux", "12", ("debian",), D(2028, 6, 30)),
        ("Debian GNU/Linux", "13", (), D(2028, 8, 9)),
        ("Debian GNU/Linux", "13", ("debian",), D(2030, 6, 30)),
    ],
)
def test_linux_by_version_standard_and_extended(
    name: str, version: str, extended: tuple[policy.Product, ...], eol: dt.date
) -> None:
    found = os_eol(name, version, "6.8.0-52-generic", table=TABLE, extended=extended)
    assert found is not None
    assert found.eol == eol


@pytest.mark.parametrize(
    ("name", "version", "build", "edition"),
    [
        ("Windows", "10", "18363", "ServerStandard"),  # Server 1909: not a client 1909
        ("Windows", "10", "99999", "Professional"),
        ("Windows", "10", "", "Professional"),
        ("Ubuntu", "23.10", "", ""),
        ("Debian GNU/Linux", "10", "", ""),
        ("Fedora Linux", "40", "", ""),
    ],
)
def test_unknown_os_is_none(name: str, version: str, build: str, edition: str) -> None:
    assert os_eol(name, version, build, edition, table=TABLE) is None


def test_bad_os_table_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "os.json"
    path.write_text('{"windows": [{"cycle": "x", "eol": "soon"}]}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"os\.json: .*\$\.windows\[0\]\.eol"):
        load_os_table(path)


@pytest.mark.parametrize(
    "cycle", [c for c in policy.load_os_table().windows if c.latest.startswith("10.0.")]
)
def test_agent_names_each_windows_build_as_the_table_does(cycle: policy.EolCycle) -> None:
    # The agent names Windows 10 and 11 by one build threshold; the table by its rows. They
    # must agree for every build the table knows, or a Windows 11 would be judged as a 10.
    build = policy.windows_build(cycle.latest)
    assert build is not None
    named = identity_from(10, 0, build, "Professional")
    assert named.version == cycle.cycle.split("-")[0]
