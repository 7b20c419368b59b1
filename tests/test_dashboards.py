"""The Grafana dashboards as code: regenerated files equal the committed ones, every panel is
well formed and reads only what the collector writes, and every panel query, run against a real
InfluxDB holding a fleet of known truth, returns exactly what it should."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support import programs, repo
from tests.support.factories import T0, host_facts, identity, link_facts, machine_facts
from tests.support.judge import JUDGE
from tests.support.known_fleet import CASES, case_report
from wardwatch.collector.cli import main as cli
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd, free_port
from wardwatch.collector.influx.lineproto import encode_all
from wardwatch.collector.influx.query import QueryClient, Row
from wardwatch.collector.influx.writer import V1Writer
from wardwatch.collector.ingest.points import to_points
from wardwatch.collector.simulator.fleet import LINK_KINDS, build_fleet
from wardwatch.collector.simulator.readings import sample_reports
from wardwatch.contract import wire
from wardwatch.contract.catalogue import CATALOGUE
from wardwatch.dashboards import alerts, build
from wardwatch.dashboards import queries as q

BOARDS = {path: build.load(build.GENERATED / path) for path in build.files()}
PANELS = [(str(path), panel) for path, board in BOARDS.items() for panel in build.panels(board)]
QUERIES = [value for value in vars(q).values() if isinstance(value, q.Query)]


@pytest.mark.unit
def test_generated_files_are_what_the_builders_make() -> None:
    for relative, content in build.files().items():
        committed = (build.GENERATED / relative).read_text(encoding="utf-8")
        assert committed == content, f"{relative} is stale: run `wardwatch dashboards build`"
    on_disk = {p.relative_to(build.GENERATED) for p in build.GENERATED.rglob("*.json")}
    assert on_disk == set(build.files()), "a generated file no builder makes"


@pytest.mark.unit
def test_four_dashboards_in_two_languages_with_stable_uids() -> None:
    uids = {board["uid"] for board in BOARDS.values()}
    assert uids == {f"ww-{n}-{lang}" for n in build.BUILDERS for lang in ("vi", "en")}
    vi = BOARDS[Path("vi/lifecycle.json")]
    en = BOARDS[Path("en/lifecycle.json")]
    assert (vi["title"], en["title"]) == ("Vòng đời thiết bị", "Hardware and OS lifecycle")
    # The same panels and queries in both languages, only the words differ.
    assert [p["targets"] for p in build.panels(vi)] == [p["targets"] for p in build.panels(en)]


@pytest.mark.unit
@pytest.mark.parametrize(("board", "panel"), PANELS, ids=[f"{b}:{p['title']}" for b, p in PANELS])
def test_every_panel_has_a_datasource_a_query_and_a_unit(board: str, panel: dict[str, Any]) -> None:
    assert panel["datasource"] == {"type": "influxdb", "uid": build.DATASOURCE_UID}
    assert panel["targets"], "no query"
    for target in panel["targets"]:
        assert target["rawQuery"] is True and target["query"].startswith("SELECT ")
        assert target["query"] in {query.text for query in QUERIES}, "not from dashboards.queries"
    assert panel["fieldConfig"]["defaults"]["unit"]


@pytest.mark.unit
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


SIMULATED_FLEET = build_fleet(42, 7, seed=3, now=T0)
SIMULATED = sample_reports(SIMULATED_FLEET, 84, seed=3, end=T0 + timedelta(minutes=6))
"""The simulator's machines, two reports each just before T0 + 6 min: their wards' lines are
good, degraded or bad, their ages and OSes the simulator's mix."""


def _simulated_links(*grades: str) -> set[tuple[str, str]]:
    """(agent, target) of the simulated links whose ward's line has one of ``grades``."""
    return {
        (m.agent, target)
        for m in SIMULATED_FLEET
        for target in LINK_KINDS
        if target != "gateway" and m.link.grade in grades
    }


def _messages() -> Iterator[wire.AgentMessage]:
    """The lifecycle tests' fleet of known verdicts, twice; one degraded link, one VC endpoint,
    the simulator's fleet, one machine that said offline, one still reporting at 6.5 min."""
    for n in range(2):
        for case in CASES:
            yield case_report(case, n)
    yield wire.Report(
        **identity(agent="ea-tu-vc1", site="ea-tu", role="vc-endpoint"),
        id="links-1",
        measured_at=T0 + timedelta(minutes=2),
        sent_at=T0,
        interval_s=60,
        agent_version="0.1.0",
        facts=[host_facts(), machine_facts(hostname="EA-TU-VC1"), link_facts(), DEGRADED],
    )
    yield from SIMULATED
    yield wire.Status(**identity(agent="reg-ok", site="ea-tu"), state="offline", sent_at=T0)
    for minute in range(1, 7):  # the one machine still reporting at T0 + 6.5 min
        yield wire.Report(
            **identity(agent="live-pc", site="hoa-phu"),
            id=f"live-{minute}",
            measured_at=T0 + timedelta(minutes=minute),
            sent_at=T0,
            interval_s=60,
            agent_version="0.1.0",
            facts=[host_facts()],
        )


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
    truth: dict[str, str] = {}
    for message in _messages():
        if not isinstance(message, wire.Report):
            continue
        for fact in message.facts:
            if isinstance(fact, wire.MachineFacts):
                day = message.measured_at.date()
                truth[message.agent] = JUDGE(message, fact, day).hardware.lifecycle
    return truth


@pytest.mark.process
@pytest.mark.services
@pytest.mark.parametrize(("board", "panel"), PANELS, ids=[f"{b}:{p['title']}" for b, p in PANELS])
def test_every_panel_query_runs_on_real_data(
    fleet: QueryClient, board: str, panel: dict[str, Any]
) -> None:
    window = panel.get("timeFrom") or "30d"
    for target in panel["targets"]:
        query = next(query for query in QUERIES if query.text == target["query"])
        rows = _run(fleet, query, window, agent="ea-tu-vc1")
        assert rows, f"{panel['title']}: no data for {query.text}"


@pytest.mark.process
@pytest.mark.services
def test_lifecycle_table_and_count_name_exactly_the_out_of_lifecycle_machines(
    fleet: QueryClient,
) -> None:
    truth = _judged()
    overdue = {agent for agent, verdict in truth.items() if verdict == "overdue"}
    assert overdue and len(overdue) < len(truth)
    at = T0 + timedelta(minutes=6, seconds=30)  # when the simulated fleet has reported too
    rows = _run(fleet, q.MACHINES, now=at)
    assert {r.tags["agent"]: r.values["lifecycle"] for r in rows} == truth
    assert {r.tags["agent"] for r in rows if r.values["lifecycle"] == "overdue"} == overdue
    ((count,),) = [[r.values["machines"] for r in _run(fleet, q.HARDWARE_OUT, now=at)]]
    assert count == len(overdue)
    per_site = {
        r.tags["site"]: r.values["out_of_lifecycle"]
        for r in _run(fleet, q.SITE_HARDWARE_OUT, now=at)
    }
    sites = {m.agent: m.site for m in _messages()}
    expected: dict[str, int] = {}
    for agent in overdue:
        expected[sites[agent]] = expected.get(sites[agent], 0) + 1
    assert per_site == expected


@pytest.mark.process
@pytest.mark.services
def test_link_panels_name_exactly_the_degraded_link_and_the_offline_machine(
    fleet: QueryClient,
) -> None:
    # At T0 + 6.5 min, when the simulated fleet has reported too.
    at = T0 + timedelta(minutes=6, seconds=30)
    rows = _run(fleet, q.LINKS_NOW, now=at)
    degraded = {(r.tags["agent"], r.tags["target"]) for r in rows if r.values["state"] != "good"}
    expected = {("ea-tu-vc1", "province-mcu"), *_simulated_links("degraded", "bad")}
    assert degraded == expected and _simulated_links("degraded") and _simulated_links("bad")
    ((bad,),) = [[r.values["links"] for r in _run(fleet, q.BAD_LINKS, now=at)]]
    assert bad == len(expected)
    ((offline,),) = [[r.values["machines"] for r in _run(fleet, q.SAID_OFFLINE)]]
    assert offline == 1
    ports = {(r.tags["target"], r.tags["port"]): r.values["open"] for r in _run(fleet, q.PORTS)}
    assert ports[("phong-hop-codec", "1720")] == 1 and ports[("phong-hop-codec", "5060")] == 0
    machine_links = _run(fleet, q.MACHINE_LINKS, agent="ea-tu-vc1")
    assert {r.tags["target"]: r.values["state"] for r in machine_links} == {
        "phong-hop-codec": "good",
        "province-mcu": "degraded",
    }


@pytest.mark.process
@pytest.mark.services
def test_reporting_panel_counts_only_machines_heard_in_its_window(fleet: QueryClient) -> None:
    # The overview pins this panel to the last 3 minutes: 3 minutes after the last reports,
    # every machine counts; 10 minutes after, none does.
    ((everyone,),) = [[r.values["machines"] for r in _run(fleet, q.REPORTING, "3m")]]
    assert everyone == len(CASES) + 2  # the lifecycle fleet, the VC machine, the live PC
    assert _run(fleet, q.REPORTING, "3m", now=T0 + timedelta(minutes=10)) == []


@pytest.mark.process
def test_build_command_regenerates_and_reports() -> None:
    done = subprocess.run(
        [*programs.WARDWATCH, "dashboards", "build"],
        cwd=repo.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(": 0 changed"), done.stdout


@pytest.mark.unit
def test_build_outside_a_checkout_says_where_to_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["dashboards", "build", "--repo", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path} is not a checkout of wardwatch" in error
    assert "--repo DIR" in error
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.unit
def test_provisioning_points_grafana_at_the_generated_dashboards_and_the_datasource() -> None:
    root = repo.DEPLOY / "grafana" / "provisioning"
    sources = msgspec.yaml.decode((root / "datasources" / "wardwatch.yaml").read_bytes())
    (source,) = sources["datasources"]
    assert (source["uid"], source["type"]) == (build.DATASOURCE_UID, "influxdb")
    assert source["jsonData"]["dbName"] == "wardwatch"  # the collector's default database
    providers = msgspec.yaml.decode((root / "dashboards" / "wardwatch.yaml").read_bytes())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["foldersFromFilesStructure"]


# --------------------------------------------------------------------------------------------
# Alert rules


@pytest.mark.unit
def test_alerting_file_is_what_the_builder_makes_and_well_formed() -> None:
    committed = repo.ROOT / alerts.IN_REPO
    assert committed.read_text(encoding="utf-8") == alerts.render(), (
        "stale: run `wardwatch dashboards build`"
    )
    document = alerts.document(committed)
    assert document["apiVersion"] == 1
    (group,) = document["groups"]
    uids = [rule["uid"] for rule in group["rules"]]
    assert len(uids) == len(set(uids)) == len(alerts.RULES)
    for rule in group["rules"]:
        query, reduce, threshold = rule["data"]
        assert query["datasourceUid"] == build.DATASOURCE_UID
        assert query["model"]["query"] in {q.text for q in QUERIES}
        assert (reduce["model"]["type"], threshold["model"]["type"]) == ("reduce", "threshold")
        assert rule["condition"] == "C" and rule["labels"]["severity"]
    (policy,) = document["policies"]
    assert "site" in policy["group_by"]
    daily = [r for r in policy["routes"] if ["severity", "=", "info"] in r["object_matchers"]]
    assert daily and daily[0]["repeat_interval"] == "24h"
    (contacts,) = document["contactPoints"]
    kinds = {r["type"] for r in contacts["receivers"]}
    assert kinds == {"email", "webhook", "telegram"}
    # Secrets are placeholders for Grafana's environment, never values.
    for receiver in contacts["receivers"]:
        assert all(v.startswith("$__env{") for v in receiver["settings"].values())


def _firing(client: QueryClient, rule: alerts.Rule, now: datetime) -> set[tuple[str, ...]]:
    """Grafana's evaluation of the rule at ``now``, condition only (not the pending period):
    the query over its range, each series reduced to its last value, then the threshold."""
    start = now - timedelta(seconds=rule.range_s)
    text = rule.query.text.replace(
        "$timeFilter",
        f"time >= '{start:%Y-%m-%dT%H:%M:%SZ}' AND time <= '{now:%Y-%m-%dT%H:%M:%SZ}'",
    )
    last: dict[tuple[tuple[str, str], ...], float] = {}
    for row in client.query(text):
        labels = tuple(sorted(row.tags.items()))
        (value,) = [v for k, v in row.values.items() if k != "time"]
        last[labels] = float(value)  # rows come in time order: the last one stays

    def fires(value: float) -> bool:
        return value < rule.threshold if rule.op == "lt" else value > rule.threshold

    return {
        tuple(v for k, v in labels if k in ("agent", "target"))
        for labels, value in last.items()
        if fires(value)
    }


RULE = {rule.uid: rule for rule in alerts.RULES}


@pytest.mark.process
@pytest.mark.services
def test_every_alert_rule_fires_for_exactly_the_expected_machines_and_links(
    fleet: QueryClient,
) -> None:
    at = T0 + timedelta(minutes=6, seconds=30)
    truth = _judged()
    everyone = {m.agent for m in _messages()}
    assert _firing(fleet, RULE["ww-said-offline"], at) == {("reg-ok",)}
    reporting = {"live-pc", *(m.agent for m in SIMULATED_FLEET)}
    assert _firing(fleet, RULE["ww-silent"], at) == {(a,) for a in everyone - reporting}
    assert _firing(fleet, RULE["ww-link-degraded"], at) == {
        ("ea-tu-vc1", "province-mcu"),
        *_simulated_links("degraded", "bad"),
    }
    assert _firing(fleet, RULE["ww-link-bad"], at) == _simulated_links("bad")
    assert _firing(fleet, RULE["ww-hardware-out"], at) == {
        (agent,) for agent, verdict in truth.items() if verdict == "overdue"
    }
    os_overdue = {
        (r.tags["agent"],)
        for r in _run(fleet, q.SYSTEMS, now=at)
        if r.values["support"] == "overdue"
    }
    assert os_overdue and _firing(fleet, RULE["ww-os-out"], at) == os_overdue
    assert _firing(fleet, RULE["ww-clock-skew"], at) == set()
    assert _firing(fleet, RULE["ww-outbox-dropping"], at) == set()


@pytest.mark.unit
def test_compose_file_mounts_what_exists_and_grafana_finds_what_is_generated() -> None:
    deploy = repo.DEPLOY
    compose = msgspec.yaml.decode((deploy / "docker-compose.yml").read_bytes())
    # Files an operator creates first, as the file's header says.
    made_by_operator = {"collector.toml"}
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = (deploy / source).resolve()
                assert path.exists() or path.name in made_by_operator, (name, source)
    grafana = compose["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"])
    provider = msgspec.yaml.decode(
        (deploy / "grafana/provisioning/dashboards/wardwatch.yaml").read_bytes()
    )["providers"][0]
    assert mounts["../dashboards/wardwatch/dashboards/generated"] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (build.GENERATED / home.removeprefix(provider["options"]["path"] + "/")).is_file()
    assert "WARDWATCH_INFLUX_URL" in grafana["environment"]  # the data source's ${...}
    assert mounts["./grafana/provisioning/alerting"] == "/etc/grafana/provisioning/alerting"
    assert repo.ROOT / alerts.IN_REPO.parent == deploy / "grafana/provisioning/alerting"
