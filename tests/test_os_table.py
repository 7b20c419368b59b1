"""The OS end-of-support table is complete for Windows, and Windows Server is told from clients.

Every Windows 10 and 11 feature update, each edition family, every LTSB/LTSC and every Windows
Server release from 2008 R2 resolves to its Microsoft lifecycle date, named as the agent names
the machine (``osinfo_windows.identity_from``), so the key the agent sends is the one matched.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import date as D

import pytest

from tests.support.factories import machine_facts
from wardwatch.agent.osinfo_windows import SERVER_RELEASES, identity_from, is_server
from wardwatch.collector.judgement.stage import judge_os
from wardwatch.rules import lifecycle, policy
from wardwatch.rules.policy import OsEol, load_os_table, load_policy, os_eol

pytestmark = pytest.mark.unit

TABLE = load_os_table()
TODAY = D(2026, 11, 29)

# (build, Windows 10/11 version, Home/Pro end, Enterprise/Education end): Microsoft's lifecycle
# pages for Windows 10 and 11 Home and Pro, Enterprise and Education.
FEATURE_UPDATES = [
    (10240, "10 1507", D(2017, 5, 9), D(2017, 5, 9)),
    (10586, "10 1511", D(2017, 10, 10), D(2017, 10, 10)),
    (14393, "10 1607", D(2018, 4, 10), D(2019, 4, 9)),
    (15063, "10 1703", D(2018, 10, 9), D(2019, 10, 8)),
    (16299, "10 1709", D(2019, 4, 9), D(2020, 10, 13)),
    (17134, "10 1803", D(2019, 11, 12), D(2021, 5, 11)),
    (17763, "10 1809", D(2020, 11, 10), D(2021, 5, 11)),
    (18362, "10 1903", D(2020, 12, 8), D(2020, 12, 8)),
    (18363, "10 1909", D(2021, 5, 11), D(2022, 5, 10)),
    (19041, "10 2004", D(2021, 12, 14), D(2021, 12, 14)),
    (19042, "10 20H2", D(2022, 5, 10), D(2023, 5, 9)),
    (19043, "10 21H1", D(2022, 12, 13), D(2022, 12, 13)),
    (19044, "10 21H2", D(2023, 6, 13), D(2024, 6, 11)),
    (19045, "10 22H2", D(2025, 10, 14), D(2025, 10, 14)),
    (22000, "11 21H2", D(2023, 10, 10), D(2024, 10, 8)),
    (22621, "11 22H2", D(2024, 10, 8), D(2025, 10, 14)),
    (22631, "11 23H2", D(2025, 11, 11), D(2026, 11, 10)),
    (26100, "11 24H2", D(2026, 10, 13), D(2027, 10, 12)),
    (26200, "11 25H2", D(2027, 10, 12), D(2028, 10, 10)),
]

# (build, edition ID, release, end): the long-term servicing releases.
LONG_TERM = [
    (10240, "EnterpriseS", "10 Enterprise LTSB 2015", D(2025, 10, 14)),
    (14393, "EnterpriseS", "10 Enterprise LTSB 2016", D(2026, 10, 13)),
    (14393, "IoTEnterpriseS", "10 Enterprise LTSB 2016", D(2026, 10, 13)),  # same dates
    (17763, "EnterpriseS", "10 Enterprise LTSC 2019", D(2029, 1, 9)),
    (17763, "IoTEnterpriseS", "10 Enterprise LTSC 2019", D(2029, 1, 9)),  # same dates
    (19044, "EnterpriseS", "10 Enterprise LTSC 2021", D(2027, 1, 12)),
    (19044, "IoTEnterpriseS", "10 IoT Enterprise LTSC 2021", D(2032, 1, 13)),
    (26100, "EnterpriseS", "11 Enterprise LTSC 2024", D(2029, 10, 9)),
    (26100, "IoTEnterpriseS", "11 IoT Enterprise LTSC 2024", D(2034, 10, 10)),
]

# (kernel, build, release, end): Windows Server's lifecycle pages.
SERVERS = [
    ((6, 1), 7601, "2008 R2 SP1", D(2020, 1, 14)),
    ((6, 2), 9200, "2012", D(2023, 10, 10)),
    ((6, 3), 9600, "2012 R2", D(2023, 10, 10)),
    ((10, 0), 14393, "2016", D(2027, 1, 12)),
    ((10, 0), 17763, "2019", D(2029, 1, 9)),
    ((10, 0), 20348, "2022", D(2031, 10, 14)),
    ((10, 0), 26100, "2025", D(2034, 11, 14)),
]


def _as_agent_names(build: int, edition: str, *, server: bool = False) -> OsEol | None:
    kernel = (10, 0) if build >= 10240 else {7601: (6, 1), 9200: (6, 2), 9600: (6, 3)}[build]
    named = identity_from(*kernel, build, edition, server=server)
    return os_eol(named.name, named.version, named.build, named.edition, table=TABLE)


@pytest.mark.parametrize(("build", "release", "home_pro", "enterprise"), FEATURE_UPDATES)
@pytest.mark.parametrize(
    ("edition", "family"),
    [
        ("Core", "w"),
        ("Professional", "w"),
        ("ProfessionalEducation", "w"),
        ("ProfessionalWorkstation", "w"),
        ("Enterprise", "e"),
        ("Education", "e"),
        ("IoTEnterprise", "e"),
        ("ServerRdsh", "e"),  # Enterprise multi-session: a client despite its edition ID
    ],
)
def test_every_feature_update_resolves_per_edition_family(
    build: int, release: str, home_pro: dt.date, enterprise: dt.date, edition: str, family: str
) -> None:
    found = _as_agent_names(build, edition)
    kind = "Home/Pro" if family == "w" else "Enterprise/Education"
    assert found == OsEol(
        eol=home_pro if family == "w" else enterprise, label=f"Windows {release} {kind}"
    )


@pytest.mark.parametrize(("build", "edition", "release", "eol"), LONG_TERM)
def test_every_long_term_release_resolves(build: int, edition: str, release: str, eol: D) -> None:
    assert _as_agent_names(build, edition) == OsEol(eol=eol, label=f"Windows {release}")


@pytest.mark.parametrize(
    ("build", "release", "eol"),
    [(7601, "7 SP1", D(2020, 1, 14)), (9200, "8", D(2016, 1, 12)), (9600, "8.1", D(2023, 1, 10))],
)
def test_windows_7_8_and_8_1(build: int, release: str, eol: D) -> None:
    assert _as_agent_names(build, "Professional") == OsEol(eol=eol, label=f"Windows {release}")


def test_windows_10_1903_is_out_of_support_since_2020_12_08() -> None:
    # The machine fact exactly as the agent sends it for a Windows 10 1903 Pro.
    named = identity_from(10, 0, 18362, "Professional")
    machine = machine_facts(
        os_name=named.name,
        os_version=named.version,
        os_build=named.build,
        os_edition="Professional",
    )
    judged = judge_os(machine, TODAY, load_policy(), TABLE)
    assert (judged.support, judged.eol_date) == ("overdue", "2020-12-08")
    assert judged.release == "Windows 10 1903 Home/Pro"
    assert judged.days_left == (D(2020, 12, 8) - TODAY).days


@pytest.mark.parametrize(("kernel", "build", "release", "eol"), SERVERS)
def test_server_resolves_to_the_server_release_not_the_client(
    kernel: tuple[int, int], build: int, release: str, eol: D
) -> None:
    named = identity_from(*kernel, build, "ServerStandard", server=True)
    assert named.version == f"Server {SERVER_RELEASES[build]}"
    found = os_eol(named.name, named.version, named.build, named.edition, table=TABLE)
    assert found == OsEol(eol=eol, label=f"Windows Server {release}")
    # The same build on a client keeps the client's date (20348 is Server 2022's alone).
    client = _as_agent_names(build, "Professional")
    assert (client is None) == (build == 20348)
    assert client is None or "Server" not in client.label


@pytest.mark.parametrize(
    ("name", "version", "edition"),
    [
        ("Windows ServerDatacenter", "10", "ServerDatacenter"),  # an agent before Server naming
        ("Windows", "Server 2019", ""),  # edition unreadable: the version says Server
        ("Windows ServerStandardEval", "Server 2019", "ServerStandardEval"),
    ],
)
def test_server_is_recognised_by_edition_name_or_version(
    name: str, version: str, edition: str
) -> None:
    found = os_eol(name, version, "17763", edition, table=TABLE)
    assert found == OsEol(eol=D(2029, 1, 9), label="Windows Server 2019")


def test_a_server_build_the_table_lacks_is_unknown_not_a_client() -> None:
    # Server 1909 (semi-annual channel) shares 18363 with Windows 10 1909.
    assert (
        os_eol("Windows ServerStandard", "Server", "18363", "ServerStandard", table=TABLE) is None
    )


@pytest.mark.parametrize(
    ("extended", "eol", "is_extended"),
    [
        ((), D(2023, 10, 10), False),
        (("windows",), D(2023, 10, 10), False),  # client ESU does not cover a server
        (("windows-server",), D(2026, 10, 13), True),
    ],
)
def test_server_esu_counts_only_when_listed(
    extended: tuple[policy.Product, ...], eol: D, is_extended: bool
) -> None:
    found = os_eol(
        "Windows", "Server 2012 R2", "9600", "ServerStandard", table=TABLE, extended=extended
    )
    assert found is not None
    assert (found.eol, found.extended) == (eol, is_extended)


@pytest.mark.parametrize(
    ("values", "product_type", "server"),
    [
        # Recorded HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion values.
        ({"InstallationType": "Client", "EditionID": "Professional"}, 1, False),
        ({"InstallationType": "Server", "EditionID": "ServerStandard"}, 3, True),
        ({"InstallationType": "Server Core", "EditionID": "ServerDatacenter"}, 3, True),
        ({"InstallationType": "Server Core", "EditionID": "ServerStandard"}, 2, True),  # a DC
        ({"InstallationType": "Nano Server"}, None, True),
        # Enterprise multi-session calls itself ServerRdsh, and a server product type.
        ({"InstallationType": "Client", "EditionID": "ServerRdsh"}, 3, False),
        ({"EditionID": "ServerRdsh"}, 3, False),
        # Windows 11 still writes "Windows 10 Pro" as ProductName: not a server either way.
        ({"ProductName": "Windows 10 Pro", "EditionID": "Professional"}, None, False),
        ({"ProductName": "Windows Server 2008 R2 Standard"}, None, True),
        ({"EditionID": "ServerStandard"}, None, True),
        ({}, 3, True),
        ({}, 1, False),
        ({}, None, False),
        ({"InstallationType": 7, "EditionID": b"Server"}, 1, False),  # not strings: ignored
    ],
)
def test_server_told_from_client_by_the_registry(
    values: dict[str, object], product_type: int | None, server: bool
) -> None:
    assert is_server(values, product_type) is server


def test_every_windows_row_cites_its_lifecycle_page() -> None:
    for cycle in (*TABLE.windows, *TABLE.windows_server):
        assert cycle.link is not None
        assert cycle.link.startswith("https://learn.microsoft.com/lifecycle/products/"), cycle


def test_rows_are_unambiguous_and_dated_in_order() -> None:
    raw = json.loads(policy.OS_EOL_FILE.read_text(encoding="utf-8"))
    for product in ("windows", "windows-server"):
        cycles = [row["cycle"] for row in raw[product]]
        assert len(cycles) == len(set(cycles)), product
    for cycle in (*TABLE.windows, *TABLE.windows_server):
        assert cycle.release_date is not None and cycle.release_date < cycle.eol, cycle.cycle
        ext = cycle.extended_support
        assert not isinstance(ext, dt.date) or ext > cycle.eol, cycle.cycle


def test_agent_server_names_agree_with_the_table() -> None:
    table = {policy.windows_build(c.latest): c.release_label for c in TABLE.windows_server}
    for build, release in SERVER_RELEASES.items():
        if build in table:  # 7600 (2008 R2 without SP1) is out of the table
            assert table[build].startswith(release)
    assert set(table) <= set(SERVER_RELEASES)


def test_verdict_today_for_windows_10_1903_and_server_2016() -> None:
    win10 = _as_agent_names(18362, "Enterprise")
    server = os_eol("Windows ServerStandard", "Server 2016", "14393", "ServerStandard", table=TABLE)
    assert win10 is not None and server is not None
    assert lifecycle.os_verdict(win10.eol, 180, TODAY).support == "overdue"
    assert lifecycle.os_verdict(server.eol, 180, TODAY).support == "due"  # 2027-01-12
