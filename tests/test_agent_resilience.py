"""One broken or hostile ward PC must not stop the city's monitoring: the agent's side.

One test per fault issue 11 measured (sections 7 and 6), each with the real agent against a
real Mosquitto, and a real collector and InfluxDB where storage is the question; each counts
exactly. The agent runs as a process (``wardwatch-agent -v --log-format json``, one report a
second, tests/support/faults.py) unless the test needs thousands of its steps in a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support import programs
from tests.support.factories import host_facts, report
from tests.support.faults import (
    AGENT_ID,
    REPORT_TOPICS,
    SITE,
    START_S,
    AgentProcess,
    Stack,
    wait_for,
)
from tests.support.helpers import collector_config, running_collector
from wardwatch.agent.config import AgentConfig
from wardwatch.agent.outbox import DISK_FACTOR, DISK_OVERHEAD, Outbox
from wardwatch.agent.runner import Agent
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.common.tomlconfig import toml_str
from wardwatch.contract import wire

MB = 1024 * 1024


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Starts processes for one test and kills them all afterwards."""
    processes = Stack(tmp_path)
    yield processes
    processes.close()


def outbox_errors(watcher_reports: list[paho.MQTTMessage]) -> list[str]:
    """The ``outbox`` errors the published reports carried, each report counted once."""
    reports = {r["id"]: r for r in (msgspec.json.decode(m.payload) for m in watcher_reports)}
    return [
        error["error"]
        for report in reports.values()
        for error in report.get("errors", [])
        if error["probe"] == "outbox"
    ]


def agent_field(reader: QueryClient, function: str, field: str) -> Any:
    """``function(field)`` over the agent's ``agent`` points in InfluxDB, or None."""
    rows = reader.query(
        f'SELECT {function}("{field}") FROM "agent" WHERE "agent" = {quote_string(AGENT_ID)}'
    )
    return rows[0].values[function] if rows else None


def uncaught(agent: AgentProcess) -> list[str]:
    """The tracebacks of exceptions nothing caught, in the agent's stderr (its log)."""
    return [
        line
        for line in agent.log().splitlines()
        if line.startswith(("Traceback", "Exception in thread"))
    ]


# --- an oversized message ----------------------------------------------------------------------


def big_report(size: int) -> wire.Report:
    """A valid report of ``agent.toml``'s agent, of at least ``size`` bytes: host facts of long
    text, as a broken probe might make."""
    fact = host_facts(hostname="h" * 500, os_name="o" * 500, os_version="v" * 500)
    count = size // len(msgspec.json.encode(fact)) + 1
    now = wire.now()
    return wire.Report(
        agent=AGENT_ID,
        site=SITE,
        role="office-pc",
        device_class="desktop",
        id="oversized-report",
        measured_at=now,
        sent_at=now,
        interval_s=1,
        agent_version="0.1.0",
        facts=[fact] * count,
    )


_BIG_PUBLISH = re.compile(r"PUBLISH from (?P<client>.*) \(d\d.*\.\.\. \((?P<size>\d+) bytes\)\)$")


def big_publishes(broker: Mosquitto, client: str, at_least: int) -> int:
    """How many PUBLISH packets of ``at_least`` bytes ``client`` sent to the broker, as its log
    says: received, dropped as too large, or cut off by a disconnect for an oversize packet."""
    count = 0
    for line in broker.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _BIG_PUBLISH.search(line)
        if match and match["client"] == client and int(match["size"]) >= at_least:
            count += 1
        count += f"Client {client} disconnected due to oversize packet" in line
    return count


def broker_connections(broker: Mosquitto, client: str) -> int:
    """How many times ``client`` connected to the broker, as its log says."""
    log = broker.log_path.read_text(encoding="utf-8", errors="replace")
    return len(re.findall(rf"New client connected from \S+ as {re.escape(client)} \(", log))


@pytest.mark.process
@pytest.mark.services
@pytest.mark.parametrize(
    ("broker_limit", "size", "publishes", "reason"),
    [
        # The measured case: the broker answers with a PUBACK paho could not read.
        ("message_size_limit 262144", 300_000, 0, "bytes, over the collector's 262,144"),
        # Below the agent's own ceiling, so it is published once and refused by that PUBACK.
        ("message_size_limit 100000", 150_000, 1, "the broker refused it: Packet too large"),
        # A broker that announces its limit in CONNACK: the agent learns it, never publishes.
        ("max_packet_size 100000", 150_000, 0, "packet, over the broker's 100,000"),
    ],
)
def test_an_oversized_report_is_dropped_counted_and_reported_not_resent(
    tmp_path: Path,
    influxd: Influxd,
    influx_db: str,
    reader: QueryClient,
    stack: Stack,
    broker_limit: str,
    size: int,
    publishes: int,
    reason: str,
) -> None:
    """A report too large for the broker (or the collector) waits in the agent's outbox.

    Proves: it reaches the broker exactly ``publishes`` times, the agent connects exactly once,
    the report is dropped from the outbox and counted (outbox_dropped = 1 in InfluxDB), the
    next report carries the reason as an ``outbox`` error, one log line says it, and the
    reports after it are stored as usual.
    """
    extra = f"{broker_limit}\nlog_type all"  # every PUBLISH in the broker's log, to count
    with Mosquitto(tmp_path / "mosquitto", free_port(), extra_conf=extra) as broker:
        agent = stack.agent(broker.url)
        big = big_report(size)
        held = Outbox(agent.outbox_path, AGENT_ID, max_bytes=MB, max_age_s=3600, resend_after_s=1)
        assert held.add(big) >= size
        held.close()
        watcher = stack.watcher(broker.url, REPORT_TOPICS)
        config = collector_config(broker.url, influxd.url, influx_db)
        with running_collector(config):
            agent.start()
            wait_for(
                lambda: agent_field(reader, "max", "outbox_dropped") == 1,
                START_S,
                "a report saying outbox_dropped = 1 stored",
                agent.process.log_tail,
            )
            agent.wait_acked(3)
        agent.stop()
    assert big_publishes(broker, AGENT_ID, at_least=size) == publishes
    assert broker_connections(broker, AGENT_ID) == 1
    assert agent.connections() == 1
    assert agent.dropped() == 1 and big.id not in agent.held_ids()
    kind = "refused" if publishes else "oversized"
    (logged,) = agent.events(f"outbox_{kind}")
    assert reason in logged["message"]
    (carried,) = outbox_errors(watcher.seen())
    assert carried == logged["message"].removeprefix("outbox: ")
    assert agent_field(reader, "max", "probe_errors") == 1
    assert not uncaught(agent)


# --- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own (the tests run as root), unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last page with one file; return it."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096):
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(descriptor, b"\0" * chunk)
    finally:
        os.close(descriptor)
    return filler


def stored_times(reader: QueryClient, since_ns: int, until_ns: int) -> set[int]:
    """The measurement times (ns) of the agent's ``host`` points in a time range."""
    rows = reader.query(
        f'SELECT "uptime_s" FROM "host" WHERE "agent" = {quote_string(AGENT_ID)} '
        f"AND time >= {since_ns} AND time < {until_ns}"
    )
    return {int(row.values["time"]) for row in rows}


def published_times(reports: list[paho.MQTTMessage], since_ns: int, until_ns: int) -> set[int]:
    """The measurement times (ns) of the reports a watcher saw, in a time range."""
    decoded = (msgspec.json.decode(m.payload, type=wire.Report) for m in reports)
    times = {time_ns(report.measured_at) for report in decoded}
    return {t for t in times if since_ns <= t < until_ns}


def now_ns() -> int:
    """The wall clock, as InfluxDB times."""
    return time_ns(wire.now())


@pytest.mark.process
@pytest.mark.services
def test_a_full_disk_keeps_the_agent_reporting_without_a_traceback(
    small_disk: Path,
    mosquitto: Mosquitto,
    collector: object,
    reader: QueryClient,
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk holding the outbox fills up under a running agent, which is then restarted on
    the full disk; then space is freed.

    Proves: the agent never dies nor prints a traceback; while the disk is full, every report
    it publishes (without the outbox: it cannot be committed) is stored, and they say why in an
    ``outbox`` error; one log line per run says it, however many commits failed; once space is
    back, reports are committed and acked again.
    """
    monkeypatch.setenv("WARDWATCH_OUTBOX_PATH", str(small_disk / "outbox.sqlite3"))
    # Resends every 2 s: what was acked while the disk was full (its deletion refused) goes
    # out again soon after, and is then deleted.
    agent = stack.agent(mosquitto.url, resend_after_s=2)
    agent.outbox_path = small_disk / "outbox.sqlite3"  # where the environment put it
    watcher = stack.watcher(mosquitto.url, REPORT_TOPICS)
    agent.start()
    agent.wait_acked(2)

    full_at = now_ns()
    filler = fill(small_disk)
    wait_for(
        lambda: len(published_times(watcher.seen(), full_at, now_ns())) >= 3,
        START_S,
        "3 reports published on the full disk",
        agent.process.log_tail,
    )
    assert len(agent.events("outbox_unwritable")) == 1
    agent.stop()
    agent.start()  # on the full disk
    restarted_at = now_ns()
    wait_for(
        lambda: len(published_times(watcher.seen(), restarted_at, now_ns())) >= 2,
        START_S,
        "2 reports published after a restart on the full disk",
        agent.process.log_tail,
    )
    freed_at = now_ns()
    filler.unlink()
    committed = len(agent.committed())
    agent.wait_reports(2, after=committed, what="2 reports committed once space is back")
    agent.wait_acked(len(agent.reports()))
    agent.stop()

    while_full = published_times(watcher.seen(), full_at, freed_at)
    assert len(while_full) >= 5
    assert stored_times(reader, full_at, freed_at) == while_full
    assert len(agent.events("outbox_unwritable")) == 2  # one per run
    errors = outbox_errors(watcher.seen())
    assert errors and all("database or disk is full" in error for error in errors)
    assert any("published without the outbox" in error for error in errors)
    assert not uncaught(agent)


# --- a corrupt outbox --------------------------------------------------------------------------


def damage(path: Path, how: str) -> bytes:
    """Make ``path`` an outbox SQLite cannot read; return its bytes."""
    if how == "not a database":
        path.write_bytes(b"this is not an outbox\n" * 512)
    else:  # a real outbox whose pages, past its header, were overwritten
        box = Outbox(path, AGENT_ID, max_bytes=MB, max_age_s=3600, resend_after_s=1)
        for n in range(200):
            box.add(report(f"old-{n}", at=wire.now(), agent=AGENT_ID, site=SITE))
        box.close()
        data = bytearray(path.read_bytes())
        data[4096 * 2 : -4096] = bytes(range(256)) * ((len(data) - 4096 * 3) // 256)
        path.write_bytes(bytes(data))
    return path.read_bytes()


@pytest.mark.process
@pytest.mark.services
@pytest.mark.parametrize("how", ["not a database", "damaged pages"])
def test_a_corrupt_outbox_is_moved_aside_and_a_fresh_one_started(
    mosquitto: Mosquitto, collector: object, reader: QueryClient, stack: Stack, how: str
) -> None:
    """The agent starts on an outbox file SQLite cannot read (under ``Restart=always`` it used
    to exit 2 at every start, advising a writable path).

    Proves: the file is moved aside unchanged, as ``<name>.corrupt-<UTC time>``;
    the agent runs on a fresh outbox and its reports are stored; the first report says what
    happened (an ``outbox`` error) and one log line at ERROR does; a restart finds nothing wrong.
    """
    agent = stack.agent(mosquitto.url)
    broken = damage(agent.outbox_path, how)
    watcher = stack.watcher(mosquitto.url, REPORT_TOPICS)
    agent.process.start()  # not agent.start(): its check of the file would fail on this one
    wait_for(
        agent.committed,  # to the fresh file, so the harness can read it
        START_S,
        "a message committed to a fresh outbox",
        agent.process.log_tail,
    )
    moved = list(agent.outbox_path.parent.glob("outbox.sqlite3.corrupt-*"))
    agent.wait_acked(2)
    agent.stop()
    agent.start()
    agent.wait_acked(3)
    agent.stop()

    assert set(agent.outbox_path.parent.glob("outbox.sqlite3.corrupt-*")) == set(moved)
    (aside,) = moved
    assert re.fullmatch(r"outbox\.sqlite3\.corrupt-\d{8}T\d{6}Z", aside.name)
    assert aside.read_bytes() == broken
    (logged,) = agent.events("outbox_corrupt")
    assert logged["level"] == "ERROR" and aside.name in logged["message"]
    (carried,) = outbox_errors(watcher.seen())
    assert carried == logged["message"].removeprefix("outbox: ")
    assert agent_field(reader, "max", "probe_errors") == 1
    assert agent.connections() == 2 and not uncaught(agent)


# --- an invalid port ---------------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.parametrize("port", ["99999", "0", "65536"])
def test_an_invalid_port_is_refused_by_check_and_at_start(tmp_path: Path, port: str) -> None:
    """``mqtt://host:99999`` used to pass ``--check`` and kill the run with a ValueError.

    Proves: ``--check`` and the daemon both exit 2, naming the file, the key and the value,
    without a traceback.
    """
    config = tmp_path / "agent.toml"
    url = f"mqtt://127.0.0.1:{port}"
    config.write_text(f"[mqtt]\nurl = {toml_str(url)}\n[outbox]\npath = 'o.sqlite3'\n")
    for extra in (["--check"], []):
        result = subprocess.run(
            [*programs.AGENT, "--config", str(config), *extra],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert result.returncode == 2, result.stderr
        assert f"{config}: key mqtt.url = {url!r}: " in result.stderr
        assert "Traceback" not in result.stderr


# --- an unreachable broker ---------------------------------------------------------------------


def sessions(agent: AgentProcess) -> int:
    """The agent's connection attempts so far, as its outbox file counts them."""
    rows = agent._read("SELECT number FROM session")  # the harness's read-only reader
    return int(rows[0][0]) if rows else 0


@pytest.mark.process
@pytest.mark.services
def test_a_lost_broker_is_logged_at_once_with_the_reason_then_at_a_bounded_rate(
    mosquitto: Mosquitto, stack: Stack
) -> None:
    """The broker of a running agent goes away (it used to log nothing for minutes).

    Proves: at once, one line says the connection was lost and one names the reason the
    retries fail; while the agent retries (3 attempts, counted in its outbox file) nothing
    more is written: each kind of failure is logged again a minute later at the earliest
    (``FAILURE_LOG_EVERY_S``), counting the attempts in between.
    """
    agent = stack.agent(mosquitto.url)
    agent.start()
    wait_for(lambda: agent.connections() == 1, START_S, "a connection", agent.process.log_tail)
    first = sessions(agent)
    mosquitto.stop()
    lost, unreachable = wait_for(
        lambda: agent.events("broker_failure") if len(agent.events("broker_failure")) == 2 else [],
        START_S,
        "two lines: the broker lost, and why it cannot be reached",
        agent.process.log_tail,
    )
    # At once: at the loss, and at the first retry (the second comes 2 s after it).
    assert sessions(agent) <= first + 2
    wait_for(
        lambda: sessions(agent) >= first + 3,
        START_S,
        "3 connection attempts",
        agent.process.log_tail,
    )
    agent.stop()

    assert agent.events("broker_failure") == [lost, unreachable]
    assert {line["level"] for line in (lost, unreachable)} == {"WARNING"}
    assert (lost["failure"], unreachable["failure"]) == ("lost", "unreachable")
    assert lost["message"].startswith(f"lost broker {mosquitto.url}: ")
    assert unreachable["message"] == (
        f"cannot reach broker {mosquitto.url} (Connection refused); retrying"
    )


# --- the outbox's size on disk -----------------------------------------------------------------


class _SizesProbe:
    """Host facts of varying size (a report of 0.6 to 2.6 KiB), as reports vary in the field."""

    name = "host"

    def __init__(self) -> None:
        self._random = random.Random(11)

    def collect(self) -> list[wire.Fact]:
        """One host fact, its texts 4 to 2,000 characters long in all."""
        texts = [self._random.randint(1, 500) for _ in range(4)]
        names = ("hostname", "os_name", "os_version", "os_build")
        return [host_facts(**{name: "x" * n for name, n in zip(names, texts, strict=True)})]


def on_disk(path: Path) -> int:
    """The bytes the outbox file, its WAL and its shared-memory index take."""
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*"))


@pytest.mark.services
@pytest.mark.parametrize(("max_mb", "reports"), [(0.1, 600), (1.0, 1500)])
def test_the_outbox_on_disk_stays_within_its_stated_factor_of_max_mb(
    tmp_path: Path, mosquitto: Mosquitto, max_mb: float, reports: int
) -> None:
    """An agent reports while its broker is away, far beyond its outbox's bound (its WAL alone
    used to reach 4.4 MB for ``max_mb = 0.1``, 41 times the bound).

    The agent's own steps, in this process (a report a second would take an hour). Proves:
    at every moment the file, its WAL and its index take at most ``DISK_FACTOR * max_mb +
    DISK_OVERHEAD``; the payloads held stay within ``max_mb``; every report committed is either
    held or counted as dropped.
    """
    mosquitto.stop()  # away for the whole test
    path = tmp_path / "outbox.sqlite3"
    config = msgspec.convert(
        {
            "agent": {"id": AGENT_ID, "site": SITE},
            "mqtt": {"url": mosquitto.url},
            "outbox": {"path": str(path), "max_mb": max_mb},
        },
        AgentConfig,
    )
    agent = Agent(config, [_SizesProbe()])
    agent.conn.start()  # retrying in the background, as a running agent does
    largest = 0
    for _ in range(reports):
        assert agent.step()
        largest = max(largest, on_disk(path))
    agent.conn.stop()
    depth, dropped = agent.outbox.depth(), agent.outbox.dropped()
    agent.outbox.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        ((held,),) = db.execute("SELECT SUM(length(payload)) FROM outbox").fetchall()

    assert largest <= DISK_FACTOR * max_mb * MB + DISK_OVERHEAD
    assert held <= max_mb * MB
    assert dropped > 0 and depth + dropped == reports


# --- broker restarts and stale last wills ------------------------------------------------------


class SessionWatcher:
    """Every status and report the broker delivers for the agent, in order, across broker
    restarts: a persistent session (kept in the broker's persistence), reconnecting by itself."""

    def __init__(self, broker: Mosquitto) -> None:
        self.statuses: list[wire.Status] = []
        self.reports: list[wire.Report] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id="session-watcher",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, _r: Any, _p: Any) -> None:
        if not flags.session_present:
            for kind in ("status", "report"):
                client.subscribe(wire.topic(AGENT_ID, kind), qos=1)

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        decoded = wire.decode(message.topic, bytes(message.payload))
        if isinstance(decoded, wire.Status):
            self.statuses.append(decoded)
        elif isinstance(decoded, wire.Report):
            self.reports.append(decoded)

    def saw(self, state: str, session: int) -> bool:
        """Whether a status ``state`` of ``session`` and a report sent on it arrived."""
        return any(s.state == state and s.session == session for s in self.statuses) and any(
            r.session == session for r in self.reports
        )

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def decisive(statuses: list[wire.Status]) -> wire.Status:
    """The status that stands, by wire.Status's rule: the newest session's, offline after
    online within a session."""
    return max(statuses, key=lambda status: (status.session, status.state == "offline"))


RESTARTS = 7


def connection(agent: AgentProcess, watcher: SessionWatcher, count: int) -> int:
    """Wait for the agent's ``count``-th connection, its "online" and a report sent on it;
    return its session."""
    wait_for(
        lambda: agent.connections() == count,
        START_S,
        f"connection {count}",
        agent.process.log_tail,
    )
    session = int(agent.events("connected")[-1]["session"])
    wait_for(
        lambda: watcher.saw("online", session),
        START_S,
        f"the online of session {session} and a report sent on it",
        agent.process.log_tail,
    )
    return session


@pytest.mark.process
@pytest.mark.services
def test_each_connection_has_its_session_in_its_will_online_offline_and_reports(
    mosquitto: Mosquitto, stack: Stack
) -> None:
    """The broker restarts 7 times under a running agent (7 restarts used to leave 8 of 14
    agents "offline" while they reported: a will armed once, for every connection, said
    "offline" after a later connection's "online").

    A watcher with a persistent session sees every status and report the broker delivers, in
    order. Proves: the agent connected 8 times, each time with a greater session number (kept
    in its outbox file, so across restarts too); each connection's "online", and the reports
    sent on it, carry its number; every "offline" is the will or the goodbye of a connection
    and carries that connection's number, after its "online"; so by wire.Status's rule the
    state that stands is the last connection's "online" while the agent runs, whatever order
    the wills come in, and its "offline" after the stop.
    """
    agent = stack.agent(mosquitto.url)
    agent.start()
    watcher = SessionWatcher(mosquitto)
    try:
        session = connection(agent, watcher, 1)
        for restart in range(RESTARTS):
            mosquitto.restart()
            session = connection(agent, watcher, restart + 2)
        standing = decisive(watcher.statuses)
        agent.stop()
        wait_for(
            lambda: watcher.saw("offline", session),
            START_S,
            "the goodbye",
            agent.process.log_tail,
        )
    finally:
        watcher.close()

    connected = [event["session"] for event in agent.events("connected")]
    assert len(connected) == RESTARTS + 1 and connected == sorted(set(connected))
    assert {s.session for s in watcher.statuses if s.state == "online"} == set(connected)
    assert {s.session for s in watcher.statuses if s.state == "offline"} == set(connected)
    assert {r.session for r in watcher.reports} == set(connected)
    for status in watcher.statuses:
        online = next(s.state for s in watcher.statuses if s.session == status.session)
        assert online == "online", f"session {status.session} said offline before online"
    assert (standing.state, standing.session) == ("online", connected[-1])
    assert (decisive(watcher.statuses).state, decisive(watcher.statuses).session) == (
        "offline",
        connected[-1],
    )
