"""InfluxDB with ``auth-enabled = true``: the collector writes as its own user, the operator's
commands and Grafana read as a read-only one, and a wrong login says so in one line.

One stack for the whole module (Mosquitto, an InfluxDB with auth, the collector as a process,
one agent's report), set up with the very statements README.md documents.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec
import pytest

from tests.support import programs, repo
from tests.support.factories import report
from tests.support.helpers import RawClient, wait_until
from wardwatch.collector.cli.options import EXIT_FAILED
from wardwatch.collector.config import SAMPLE
from wardwatch.collector.devstack.influx_users import (
    ADMIN_USER,
    COLLECTOR_USER,
    READER_USER,
    Login,
    create_admin,
    wardwatch_users,
)
from wardwatch.collector.devstack.process import ManagedProcess, ServiceError
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.influx.writer import V1Writer, WriteError
from wardwatch.collector.ingest.admission import stored_status
from wardwatch.common.tomlconfig import toml_str
from wardwatch.contract import wire

DATABASE: Final = "wardwatch"
AGENT: Final = "tan-an-pc07"
# A quote, a backslash and a space: the documented quoting must hold for any password.
COLLECTOR: Final = Login(COLLECTOR_USER, f"c0ll'ect\\or {secrets.token_urlsafe(8)}")
READER: Final = Login(READER_USER, secrets.token_urlsafe(12))
WRONG: Final = f"wrong-{secrets.token_urlsafe(12)}"
SUBSCRIBED: Final = "subscribed; receiving agents' messages"
LOGIN_FIX: Final = "check [influx] username and password (v2: token)"


@dataclass
class Stack:
    """The services the module shares, and where its files go."""

    workdir: Path
    mosquitto: Mosquitto
    influxd: Influxd

    def config(self, name: str, user: str, password: str, extra: str = "") -> Path:
        """A collector config whose ``[influx]`` logs in as ``user``; ``extra`` TOML after."""
        path = self.workdir / f"{name}.toml"
        path.write_text(
            f"[mqtt]\nurl = {toml_str(self.mosquitto.url)}\n{extra}"
            f"[influx]\nurl = {toml_str(self.influxd.url)}\ndatabase = {toml_str(DATABASE)}\n"
            f"username = {toml_str(user)}\npassword = {toml_str(password)}\n"
            "[batch]\nmax_delay_s = 0.2\n",
            encoding="utf-8",
        )
        return path


def start_collector(stack: Stack, name: str, password: str, extra: str) -> ManagedProcess:
    """``wardwatch-collector`` as COLLECTOR_USER, its password from the environment only."""
    config = stack.config(name, COLLECTOR.user, "", extra)
    env = {**os.environ, "WARDWATCH_INFLUX_PASSWORD": password}
    argv = [*programs.COLLECTOR, "--config", str(config)]
    process = ManagedProcess(name, argv, stack.workdir, install_hint="make venv", env=env)
    process.start()
    try:
        wait_until(lambda: SUBSCRIBED in process.log_path.read_text(), 20, f"{name} to subscribe")
    except AssertionError:
        process.stop()
        raise
    return process


def run_agent_once(stack: Stack) -> subprocess.CompletedProcess[str]:
    """One ``wardwatch-agent --once``: a report, acknowledged only once it is stored."""
    config = stack.workdir / "agent.toml"
    config.write_text(
        f'[agent]\nid = "{AGENT}"\nsite = "tan-an"\n'
        f"[mqtt]\nurl = {toml_str(stack.mosquitto.url)}\n"
        f"[outbox]\npath = {toml_str(str(stack.workdir / 'outbox.sqlite3'))}\n",
        encoding="utf-8",
    )
    argv = [*programs.AGENT, "--config", str(config), "--once", "--deadline", "20"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Mosquitto, and InfluxDB with auth and the users README.md documents."""
    workdir = tmp_path_factory.mktemp("influx-auth")
    with ExitStack() as started:
        try:
            mosquitto = started.enter_context(Mosquitto(workdir / "mosquitto", free_port()))
            influxd = started.enter_context(Influxd(workdir / "influxd", free_port(), auth=True))
        except ServiceError as err:
            pytest.fail(str(err), pytrace=False)
        for statement in wardwatch_users(DATABASE, COLLECTOR, READER):
            influxd.query(statement)
        yield Stack(workdir, mosquitto, influxd)


@pytest.fixture(scope="module")
def auth_collector(stack: Stack) -> Iterator[ManagedProcess]:
    """The collector process, logged in as COLLECTOR."""
    collector = start_collector(stack, "collector", COLLECTOR.password, "")
    yield collector
    collector.stop()


@pytest.fixture(scope="module")
def agent_run(stack: Stack, auth_collector: ManagedProcess) -> subprocess.CompletedProcess[str]:
    """The agent's one report, through the collector."""
    return run_agent_once(stack)


def wardwatch(*args: str) -> subprocess.CompletedProcess[str]:
    """``wardwatch <args>``, its output captured."""
    return subprocess.run([*programs.WARDWATCH, *args], capture_output=True, text=True, timeout=60)


def problems(log: str) -> list[str]:
    """The log's warnings, errors and tracebacks."""
    return [line for line in log.splitlines() if re.search(r" (WARNING|ERROR) |Traceback", line)]


@pytest.mark.process
@pytest.mark.services
def test_the_collector_stores_an_agents_report_as_its_own_user(
    stack: Stack, auth_collector: ManagedProcess, agent_run: subprocess.CompletedProcess[str]
) -> None:
    assert agent_run.returncode == 0, agent_run.stderr
    assert f"stored: report of {AGENT} acknowledged" in agent_run.stdout
    rows = stack.influxd.query('SELECT count("uptime_s") FROM "host"', database=DATABASE)
    assert rows[0].values["count"] == 1
    # Neither the database check at start nor the read of the agent's last status was refused:
    # the collector's privileges are enough, and it never tried CREATE DATABASE.
    log = auth_collector.log_path.read_text()
    assert problems(log) == []
    assert COLLECTOR.password not in log


@pytest.mark.process
@pytest.mark.services
def test_the_operators_commands_read_as_the_read_only_user(
    stack: Stack, agent_run: subprocess.CompletedProcess[str]
) -> None:
    assert agent_run.returncode == 0, agent_run.stderr
    config = str(stack.config("reader", READER.user, READER.password))
    status = wardwatch("status", "--config", config)
    assert status.returncode == 0, status.stderr
    header, *rows = status.stdout.splitlines()
    assert header.split()[:2] == ["SITE", "AGENT"]
    assert ["tan-an", AGENT] in [row.split()[:2] for row in rows]
    lifecycle = wardwatch("lifecycle", "--config", config, "--format", "json")
    assert lifecycle.returncode == 0, lifecycle.stderr
    assert AGENT in [machine["agent"] for machine in json.loads(lifecycle.stdout)]
    links = wardwatch("links", "--config", config, "--json")
    assert links.returncode == 0, links.stderr
    assert isinstance(json.loads(links.stdout), list)


@pytest.mark.process
@pytest.mark.services
def test_grafanas_read_only_user_reads_by_post_and_cannot_write(
    stack: Stack, agent_run: subprocess.CompletedProcess[str]
) -> None:
    reader = stack.influxd.section(DATABASE, READER)
    # Grafana's data source uses httpMode POST for its queries.
    client = QueryClient(reader)
    try:
        assert client.execute('SELECT count("uptime_s") FROM "host"')[0].values["count"] >= 1
    finally:
        client.close()
    writer = V1Writer(reader)
    try:
        with pytest.raises(WriteError) as refused:
            writer.write([f"host,agent={AGENT} uptime_s=1 1"])
    finally:
        writer.close()
    # Not the line's fault: retried until the operator grants WRITE, never dead-lettered.
    assert not refused.value.permanent
    assert "not authorized to write" in str(refused.value)
    assert "grant the user ALL (or at least WRITE) on the database" in str(refused.value)


@pytest.mark.process
@pytest.mark.services
def test_write_alone_is_not_enough_for_the_collector(
    stack: Stack, agent_run: subprocess.CompletedProcess[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Why the collector's user gets ALL: with WRITE only, it stores, but cannot read back an
    # agent's last status after a restart, which keeps a stale last will from marking it offline.
    write_only = Login("write_only", secrets.token_urlsafe(12))
    stack.influxd.create_user(write_only, "WRITE", DATABASE)
    section = stack.influxd.section(DATABASE, write_only)
    writer = V1Writer(section)
    writer.write([f"host,agent=write-only uptime_s=1 {time.time_ns()}"])
    writer.close()
    client = QueryClient(section)
    assert stored_status(client)(AGENT) is None
    client.close()
    assert f"requires READ on {DATABASE}" in caplog.text
    caplog.clear()
    allowed = QueryClient(stack.influxd.section(DATABASE, COLLECTOR))
    stored_status(allowed)(AGENT)
    allowed.close()
    assert caplog.text == ""  # read without a refusal


@pytest.mark.process
@pytest.mark.services
def test_create_database_checks_first_and_names_the_key_when_refused(stack: Stack) -> None:
    there = V1Writer(stack.influxd.section(DATABASE, COLLECTOR))
    there.ensure_database()  # listed by SHOW DATABASES: no CREATE, so nothing to refuse
    there.close()
    missing = V1Writer(stack.influxd.section("elsewhere", COLLECTOR))
    with pytest.raises(WriteError) as refused:
        missing.ensure_database()
    missing.close()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("[influx] create_database = true, but InfluxDB refused CREATE")
    assert "requires admin privilege" in message
    assert message.endswith(
        "create the database as an InfluxDB admin, or set [influx] create_database = false"
    )
    assert not [r for r in stack.influxd.query("SHOW DATABASES") if r.text("name") == "elsewhere"]


@pytest.mark.process
@pytest.mark.services
def test_a_wrong_password_gives_the_cli_one_line_and_exit_1(stack: Stack) -> None:
    config = str(stack.config("wrong", READER.user, WRONG))
    done = wardwatch("status", "--config", config)
    assert done.returncode == EXIT_FAILED
    assert done.stdout == ""
    assert done.stderr == (
        f"wardwatch status: InfluxDB answered 401: 'authorization failed': {LOGIN_FIX}\n"
    )
    assert WRONG not in done.stderr


@pytest.mark.process
@pytest.mark.services
def test_a_collector_with_a_wrong_password_says_so_and_acks_nothing(stack: Stack) -> None:
    # Its own session and share group: the report it gets is its own, no other collector's.
    extra = 'client_id = "wrong-login"\nshare_group = "wrong-login"\n'
    collector = start_collector(stack, "wrong-collector", WRONG, extra)
    try:
        raw = RawClient(stack.mosquitto.url, client_id="auth-test-raw")
        raw.publish(
            wire.topic("ea-tu-pc01", "report"), wire.encode(report("w1", agent="ea-tu-pc01"))
        )
        raw.close()
        wait_until(
            lambda: "write failed" in collector.log_path.read_text(), 20, "the refused write"
        )
        assert collector.running, "the collector must wait for a login that works, not exit"
    finally:
        assert collector.stop() == 0
    log = collector.log_path.read_text()
    assert WRONG not in log
    assert "Traceback" not in log
    (at_start,) = [line for line in problems(log) if "cannot create the database" in line]
    assert at_start.endswith("answered 401: 'authorization failed': " + LOGIN_FIX)
    refusals = [line for line in problems(log) if "write failed" in line]
    assert refusals and all(" ERROR " in line for line in refusals)
    assert refusals[0].endswith(LOGIN_FIX)
    assert "InfluxDB answered 401" in refusals[0]
    # Nothing was dead-lettered or acknowledged: the report waits for a working login.
    assert "refused a point" not in log
    assert "stored=0" in log.split("stopped: ", 1)[1]


@pytest.mark.unit
def test_the_docs_show_the_statements_the_tests_run() -> None:
    documented = [
        create_admin(Login(ADMIN_USER, "<admin password>")),
        *wardwatch_users(
            DATABASE,
            Login(COLLECTOR_USER, "<collector password>"),
            Login(READER_USER, "<reader password>"),
        ),
    ]
    readme = (repo.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### InfluxDB users\n", 1)[1].split("\n## ", 1)[0]
    assert [s for s in documented if s not in section] == []
    sample = SAMPLE.read_text(encoding="utf-8")
    assert [s for s in documented[1:] if f"#   {s}\n" not in sample] == []
    assert "WARDWATCH_INFLUX_PASSWORD" in sample and "WARDWATCH_INFLUX_PASSWORD" in section


@pytest.mark.unit
def test_grafana_logs_in_as_the_read_only_user_from_its_environment() -> None:
    path = repo.DEPLOY / "grafana/provisioning/datasources/wardwatch.yaml"
    (source,) = msgspec.yaml.decode(path.read_bytes())["datasources"]
    assert source["user"] == "${WARDWATCH_INFLUX_READ_USER}"
    assert source["secureJsonData"] == {"password": "${WARDWATCH_INFLUX_READ_PASSWORD}"}
    assert "password" not in source and "password" not in source["jsonData"]
    compose = msgspec.yaml.decode((repo.DEPLOY / "docker-compose.yml").read_bytes())
    environment = compose["services"]["grafana"]["environment"]
    for name in re.findall(r"\$\{(\w+)\}", path.read_text(encoding="utf-8")):
        assert environment[name] in (f"${{{name}:-}}", "http://influxdb:8086"), name
