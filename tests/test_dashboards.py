"""The Grafana dashboards as code: regenerated files equal the committed ones, every panel is
well formed and reads only what the collector writes, and every panel query, run against a real
InfluxDB holding a fleet of known truth, returns exactly what it should."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent import wire
from collector.catalogue import CATALOGUE
from collector.config import InfluxSection
from collector.influxql import QueryClient, Row
from collector.lineproto import encode_all
from collector.localstack import Influxd, free_port
from collector.points import to_points
from collector.writer import V1Writer
from dashboards import build
from dashboards import queries as q
from tests.factories import JUDGE, T0, host_facts, identity, link_facts, machine_facts
from tests.test_lifecycle import CASES, _report

BOARDS = {path: build.load(build.GENERATED / path) for path in build.files()}
PANELS = [(str(path), panel) for path, board in BOARDS.items() for panel in build.panels(board)]
QUERIES = [value for value in vars(q).values() if isinstance(value, q.Query)]


def test_generated_files_are_what_the_builders_make() -> None:
    for relative, content in build.files().items():
        committed = (build.GENERATED / relative).read_text(encoding="utf-8")
        assert committed == content, f"{relative} is stale: run `wardwatch dashboards build`"
    on_disk = {p.relative_to(build.GENERATED) for p in build.GENERATED.rglob("*.json")}
    assert on_disk == set(build.files()), "a generated file no builder makes"


def test_four_dashboards_in_two_languages_with_stable_uids() -> None:
    uids = {board["uid"] for board in BOARDS.values()}
    assert uids == {f"ww-{n}-{lang}" for n in build.BUILDERS for lang in ("vi", "en")}
    vi = BOARDS[Path("vi/lifecycle.json")]
    en = BOARDS[Path("en/lifecycle.json")]
    assert (vi["title"], en["title"]) == ("Vòng đời thiết bị", "Hardware and OS lifecycle")
    # The same panels and queries in both languages, only the words differ.
    assert [p["targets"] for p in build.panels(vi)] == [p["targets"] for p in build.panels(en)]


@pytest.mark.parametrize(("board", "panel"), PANELS, ids=[f"{b}:{p['title']}" for b, p in PANELS])
def test_every_panel_has_a_datasource_a_query_and_a_unit(board: str, panel: dict[str, Any]) -> None:
    assert panel["datasource"] == {"type": "influxdb", "uid": build.DATASOURCE_UID}
    assert panel["targets"], "no query"
    for target in panel["targets"]:
        assert target["rawQuery"] is True and target["query"].startswith("SELECT ")
        assert target["query"] in {query.text for query in QUERIES}, "not from dashboards.queries"
    assert panel["fieldConfig"]["defaults"]["unit"]


@pytest.mark.parametrize("query", QUERIES, ids=[query.text[:60] for query in QUERIES])
def test_every_query_reads_only_what_the_collector_writes(query: q.Query) -> None:
    spec = CATALOGUE[query.measurement]
    assert set(query.fields) <= set(spec.fields), set(query.fields) - set(spec.fields)
    aliases = set(re.findall(r'AS "([^"]+)"', query.text))
    names = set(re.findall(r'"([^"]+)"', query.text)) - aliases
    known = {query.measurement, *spec.fields, *spec.tags}
    assert names <= known, f"not in the catalogue's {query.measurement}: {names - known}"


# --------------------------------------------------------------------------------------------
# Every panel query against a real InfluxDB

NOW = T0 + timedelta(minutes=3)
"""Reports were measured at T0, T0 + 1 min and T0 + 2 min."""
DEGRADED = link_facts(
    target="province-mcu", target_kind="mcu", loss_pct=3.0, rtt_avg_ms=420.0, ports=[]
)


def _messages() -> Iterator[wire.AgentMessage]:
    """The lifecycle tests' fleet of known verdicts, twice; one degraded link, one VC endpoint,
    one machine that said offline."""
    for n in range(2):
        for case in CASES:
            yield _report(case, n)
    yield wire.Report(
        **identity(agent="ea-tu-vc1", site="ea-tu", role="vc-endpoint"),
        id="links-1",
        measured_at=T0 + timedelta(minutes=2),
        sent_at=T0,
        interval_s=60,
        agent_version="0.1.0",
        facts=[host_facts(), machine_facts(hostname="EA-TU-VC1"), link_facts(), DEGRADED],
    )
    yield wire.Status(**identity(agent="reg-ok", site="ea-tu"), state="offline", sent_at=T0)


def _substitute(text: str, window: timedelta, *, agent: str = "", now: datetime = NOW) -> str:
    start = (now - window).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        text.replace("$timeFilter", f"time >= '{start}' AND time <= '{end}'")
        .replace("$__interval", "1m")
        .replace("$site", ".*")
        .replace("$role", ".*")
        .replace("$target", ".*")
        .replace("$agent", re.escape(agent))
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryClient]:
    """A real InfluxDB holding the known fleet's points, as the collector writes them."""
    with Influxd(tmp_path_factory.mktemp("influxd"), free_port()) as influx:
        influx.query('CREATE DATABASE "dash"')
        cfg = InfluxSection(url=influx.url, database="dash")
        writer = V1Writer(cfg)
        for message in _messages():
            # Heard at T0 + 2.5 min: the offline status is stamped when the collector heard it.
            writer.write(encode_all(to_points(message, T0 + timedelta(seconds=150), judge=JUDGE)))
        writer.close()
        client = QueryClient(cfg)
        yield client
        client.close()


def _run(
    client: QueryClient,
    query: q.Query,
    window: str = "30d",
    agent: str = "",
    now: datetime = NOW,
) -> list[Row]:
    amount, unit = int(window[:-1]), window[-1]
    span = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    return client.query(_substitute(query.text, span, agent=agent, now=now))


def _judged() -> dict[str, str]:
    """What the collector decided for each machine of the fleet (the truth the panels show)."""
    truth = {}
    for message in _messages():
        if not isinstance(message, wire.Report):
            continue
        for fact in message.facts:
            if isinstance(fact, wire.MachineFacts):
                day = message.measured_at.date()
                truth[message.agent] = JUDGE(message, fact, day).hardware.lifecycle
    return truth


@pytest.mark.parametrize(("board", "panel"), PANELS, ids=[f"{b}:{p['title']}" for b, p in PANELS])
def test_every_panel_query_runs_on_real_data(
    fleet: QueryClient, board: str, panel: dict[str, Any]
) -> None:
    window = panel.get("timeFrom") or "30d"
    for target in panel["targets"]:
        query = next(query for query in QUERIES if query.text == target["query"])
        rows = _run(fleet, query, window, agent="ea-tu-vc1")
        assert rows, f"{panel['title']}: no data for {query.text}"


def test_lifecycle_table_and_count_name_exactly_the_out_of_lifecycle_machines(
    fleet: QueryClient,
) -> None:
    truth = _judged()
    overdue = {agent for agent, verdict in truth.items() if verdict == "overdue"}
    assert overdue and len(overdue) < len(truth)
    rows = _run(fleet, q.MACHINES)
    assert {r.tags["agent"]: r.values["lifecycle"] for r in rows} == truth
    assert {r.tags["agent"] for r in rows if r.values["lifecycle"] == "overdue"} == overdue
    ((count,),) = [[r.values["machines"] for r in _run(fleet, q.HARDWARE_OUT)]]
    assert count == len(overdue)
    per_site = {
        r.tags["site"]: r.values["out_of_lifecycle"] for r in _run(fleet, q.SITE_HARDWARE_OUT)
    }
    sites = {m.agent: m.site for m in _messages()}
    expected: dict[str, int] = {}
    for agent in overdue:
        expected[sites[agent]] = expected.get(sites[agent], 0) + 1
    assert per_site == expected


def test_link_panels_name_exactly_the_degraded_link_and_the_offline_machine(
    fleet: QueryClient,
) -> None:
    now = {(r.tags["agent"], r.tags["target"]): r.values["state"] for r in _run(fleet, q.LINKS_NOW)}
    assert now == {
        ("ea-tu-vc1", "phong-hop-codec"): "good",
        ("ea-tu-vc1", "province-mcu"): "degraded",
    }
    ((bad,),) = [[r.values["links"] for r in _run(fleet, q.BAD_LINKS)]]
    assert bad == 1
    ((offline,),) = [[r.values["machines"] for r in _run(fleet, q.SAID_OFFLINE)]]
    assert offline == 1
    ports = {(r.tags["target"], r.tags["port"]): r.values["open"] for r in _run(fleet, q.PORTS)}
    assert ports[("phong-hop-codec", "1720")] == 1 and ports[("phong-hop-codec", "5060")] == 0
    machine_links = _run(fleet, q.MACHINE_LINKS, agent="ea-tu-vc1")
    assert {r.tags["target"]: r.values["state"] for r in machine_links} == {
        "phong-hop-codec": "good",
        "province-mcu": "degraded",
    }


def test_reporting_panel_counts_only_machines_heard_in_its_window(fleet: QueryClient) -> None:
    # The overview pins this panel to the last 3 minutes: 3 minutes after the last reports,
    # every machine counts; 10 minutes after, none does.
    ((everyone,),) = [[r.values["machines"] for r in _run(fleet, q.REPORTING, "3m")]]
    assert everyone == len(CASES) + 1
    assert _run(fleet, q.REPORTING, "3m", now=T0 + timedelta(minutes=10)) == []


def test_build_command_regenerates_and_reports() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "collector.cli", "dashboards", "build"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"8 dashboard files, 0 changed, in {build.GENERATED}")


def test_provisioning_points_grafana_at_the_generated_dashboards_and_the_datasource() -> None:
    root = build.GENERATED.parent.parent / "deploy" / "grafana" / "provisioning"
    sources = msgspec.yaml.decode((root / "datasources" / "wardwatch.yaml").read_bytes())
    (source,) = sources["datasources"]
    assert (source["uid"], source["type"]) == (build.DATASOURCE_UID, "influxdb")
    assert source["jsonData"]["dbName"] == "wardwatch"  # the collector's default database
    providers = msgspec.yaml.decode((root / "dashboards" / "wardwatch.yaml").read_bytes())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["foldersFromFilesStructure"]
