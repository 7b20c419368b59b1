"""The fault tests' harness: the agent and collectors as real processes, the broker and the
database they share, and what the agent committed (``audit`` compares it with InfluxDB;
``tests/test_faults.py`` says what each fault test claims)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import paho.mqtt.client as paho

from tests.support import programs
from tests.support.helpers import RawClient, wait_until
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.process import ManagedProcess
from wardwatch.collector.devstack.services import Influxd, free_port
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient
from wardwatch.common.tomlconfig import toml_str
from wardwatch.contract import wire

T = TypeVar("T")
DECODERS: dict[str, msgspec.json.Decoder[wire.Report] | msgspec.json.Decoder[wire.Inventory]] = {
    "report": msgspec.json.Decoder(wire.Report),
    "inventory": msgspec.json.Decoder(wire.Inventory),
}
"""How a payload stored in an outbox is read back, by the ``kind`` column of its row."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AGENT_ID = "Tân An, PC 07"  # a space, a comma and Vietnamese: in topics, tags and queries
SITE = "Tân An"
INSTALL_HINT = "make venv"

SUBSCRIBED = "subscribed; receiving agents' messages"
"""What the collector logs once the broker confirmed its subscriptions."""

ACK_TOPICS = "wardwatch/v1/+/ack"
REPORT_TOPICS = "wardwatch/v1/+/report"  # not shared: a watcher sees every publish

# Bounds of the waits. Generous, as the whole suite may run on a loaded machine; a passing test
# waits only as long as the condition takes.
START_S = 20.0
DRAIN_S = 30.0


# --- the committed messages -------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Message:
    """A message the agent committed to its outbox: what InfluxDB must end up holding."""

    at_ns: int  # measured_at, in ns: the time of the points it yields
    kind: str  # "report" or "inventory"
    id: str

    def __str__(self) -> str:
        at = (EPOCH + timedelta(microseconds=self.at_ns // 1000)).isoformat()
        return f"{self.kind} {self.id} measured at {at}"


def read_outbox(path: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows ``query`` finds in an agent's outbox file, read while the agent runs."""
    # Read-only, so the test never takes a write lock the agent would wait for.
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def describe(messages: Iterable[Message], limit: int = 20) -> str:
    """The messages one per line, for a failure message."""
    items = sorted(messages)
    lines = [f"  {m}" for m in items[:limit]]
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit} more")
    return "\n".join(lines)


def wait_for(condition: Callable[[], T], timeout_s: float, what: str, why: Callable[[], str]) -> T:
    """``wait_until``, whose failure message also says ``why()`` (the state when it gave up)."""
    try:
        return wait_until(condition, timeout_s, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{why()}") from None


# --- the processes -----------------------------------------------------------------------------


def login_lines(login: Mapping[str, str] | None) -> str:
    """``[mqtt]`` lines for a login on the city's broker (username, password, ca_file)."""
    return "".join(f"{key} = {toml_str(value)}\n" for key, value in (login or {}).items())


class AgentProcess:
    """``python -m wardwatch.agent.main -v`` reporting every second, with its own outbox file."""

    def __init__(
        self,
        workdir: Path,
        mqtt_url: str,
        *,
        resend_after_s: float = 30.0,
        max_mb: float = 50.0,
        agent_id: str = AGENT_ID,
        login: Mapping[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.agent_id = agent_id
        self.outbox_path = workdir / "outbox.sqlite3"
        config = workdir / "agent.toml"
        config.write_text(
            "[agent]\n"
            f"id = {toml_str(agent_id)}\n"
            f"site = {toml_str(SITE)}\n"
            "interval_s = 1\n"
            f"resend_after_s = {resend_after_s}\n"
            "[mqtt]\n"
            f"url = {toml_str(mqtt_url)}\n"
            "keepalive_s = 5\n"
            f"{login_lines(login)}"
            "[outbox]\n"
            f"path = {toml_str(str(self.outbox_path))}\n"
            f"max_mb = {max_mb}\n",
            encoding="utf-8",
        )
        self.process = ManagedProcess(
            "agent",
            [*programs.AGENT, "--config", str(config), "-v", "--log-format", "json"],
            workdir,
            install_hint=INSTALL_HINT,
        )

    def log(self) -> str:
        """Everything the agent logged, over all its runs."""
        try:
            return self.process.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> None:
        """Start the agent; return once its outbox file holds its tables."""
        self.process.start()
        wait_for(
            lambda: self._has_outbox() or not self.process.running,
            START_S,
            "the agent's outbox file",
            self.process.log_tail,
        )
        assert self.process.running, f"the agent exited:\n{self.process.log_tail()}"

    def _has_outbox(self) -> bool:
        if not self.outbox_path.exists():
            return False
        tables = self._read("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {"outbox", "dropped"} <= {str(row[0]) for row in tables}

    def stop(self) -> None:
        """SIGTERM, as at a shutdown; the agent must exit 0."""
        code = self.process.stop()
        assert code == 0, f"the agent exited with {code} on SIGTERM:\n{self.process.log_tail()}"

    def kill(self) -> None:
        """SIGKILL, as a power cut."""
        self.process.kill()

    def events(self, name: str) -> list[dict[str, Any]]:
        """The agent's log records of event ``name``, over all its runs, in order. Only whole
        lines count (the log may be read while a line is being written); the lines the process
        harness writes between runs are not JSON and are skipped."""
        found = []
        for line in self.log().splitlines(keepends=True):
            if not line.endswith("\n"):
                continue
            try:
                record = msgspec.json.decode(line)
            except msgspec.DecodeError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                found.append(record)
        return found

    def committed(self) -> list[Message]:
        """Every message the agent committed to its outbox, in commit order."""
        seen: dict[str, Message] = {}
        for event in self.events("committed"):
            at = time_ns(datetime.fromisoformat(event["measured_at"]))
            seen.setdefault(event["id"], Message(at, event["kind"], event["id"]))
        return list(seen.values())

    def reports(self) -> list[Message]:
        """The committed reports, in commit order."""
        return [m for m in self.committed() if m.kind == "report"]

    def connections(self) -> int:
        """How many times the agent has connected to the broker, over all its runs."""
        return len(self.events("connected"))

    def _read(self, query: str) -> list[tuple[Any, ...]]:
        return read_outbox(self.outbox_path, query)

    def held(self) -> list[Message]:
        """The messages in the outbox file now (not yet acked), oldest first.

        Read from the file itself, so it is exact even after a ``kill -9``.
        """
        messages = []
        for kind, message_id, payload in self._read(
            "SELECT kind, id, payload FROM outbox ORDER BY seq"
        ):
            decoded = DECODERS[kind].decode(payload)
            messages.append(Message(time_ns(decoded.measured_at), str(kind), str(message_id)))
        return messages

    def held_ids(self) -> set[str]:
        """The ids of the messages in the outbox file now."""
        return {str(row[0]) for row in self._read("SELECT id FROM outbox")}

    def depth(self) -> int:
        """``SELECT COUNT(*) FROM outbox``."""
        ((count,),) = self._read("SELECT COUNT(*) FROM outbox")
        return int(count)

    def dropped(self) -> int:
        """The drop count the outbox keeps (table ``dropped``)."""
        rows = self._read("SELECT count FROM dropped")
        return sum(int(row[0]) for row in rows)

    def acked_reports(self) -> int:
        """How many committed reports have left the outbox (acked, when nothing is dropped)."""
        held = self.held_ids()
        return sum(1 for m in self.reports() if m.id not in held)

    def wait_reports(self, count: int, *, after: int = 0, what: str = "") -> None:
        """Wait until ``count`` more reports than ``after`` are committed."""
        wait_for(
            lambda: len(self.reports()) >= after + count,
            START_S,
            what or f"{count} more report(s) committed",
            self.process.log_tail,
        )

    def wait_acked(self, count: int) -> None:
        """Wait until ``count`` reports have been acked (steady state)."""
        wait_for(
            lambda: self.acked_reports() >= count,
            START_S,
            f"{count} reports acked end to end",
            self.process.log_tail,
        )


class CollectorProcess:
    """``python -m wardwatch.collector.ingest.main`` with its own MQTT client id."""

    def __init__(
        self,
        workdir: Path,
        mqtt_url: str,
        influx_url: str,
        database: str,
        *,
        client_id: str = "collector-1",
        max_delay_s: float = 0.2,
        login: Mapping[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / f"{client_id}.toml"
        config.write_text(
            "[mqtt]\n"
            f"url = {toml_str(mqtt_url)}\n"
            f"client_id = {toml_str(client_id)}\n"
            'share_group = "wardwatch"\n'
            "keepalive_s = 5\n"
            f"{login_lines(login)}"
            "[influx]\n"
            f"url = {toml_str(influx_url)}\n"
            f"database = {toml_str(database)}\n"
            "[batch]\n"
            f"max_delay_s = {max_delay_s}\n",
            encoding="utf-8",
        )
        self.process = ManagedProcess(
            client_id,
            [*programs.COLLECTOR, "--config", str(config)],
            workdir,
            install_hint=INSTALL_HINT,
        )

    def subscriptions(self) -> int:
        """How many times the collector's subscriptions were confirmed, over all its runs."""
        try:
            return self.process.log_path.read_text(errors="replace").count(SUBSCRIBED)
        except FileNotFoundError:
            return 0

    def start(self) -> None:
        """Start the collector; return once the broker confirmed its subscriptions."""
        before = self.subscriptions()
        self.process.start()
        wait_for(
            lambda: self.subscriptions() > before or not self.process.running,
            START_S,
            f"{self.process.name} to subscribe",
            self.process.log_tail,
        )
        assert self.process.running, f"{self.process.name} exited:\n{self.process.log_tail()}"

    def stop(self) -> None:
        """SIGTERM; the collector must exit 0."""
        code = self.process.stop()
        assert code == 0, f"{self.process.name} exited with {code}:\n{self.process.log_tail()}"

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.process.kill()


class Watcher:
    """A raw MQTT subscriber that records every message on a topic filter, with its time."""

    def __init__(self, mqtt_url: str, topic_filter: str, client_id: str) -> None:
        self.client = RawClient(mqtt_url, client_id=client_id)
        self.client.subscribe(topic_filter)
        self._seen: list[paho.MQTTMessage] = []

    def seen(self) -> list[paho.MQTTMessage]:
        """Every message received so far; ``timestamp`` is its ``time.monotonic()`` arrival."""
        while not self.client.received.empty():
            self._seen.append(self.client.received.get())
        return list(self._seen)

    def report_ids(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        """How many times each report id was published, between two monotonic times."""
        return Counter(
            str(msgspec.json.decode(m.payload)["id"])
            for m in self.seen()
            if since <= m.timestamp < until
        )

    def close(self) -> None:
        """Disconnect."""
        self.client.close()


class Stack:
    """The processes one test started; all are killed at its end, whatever happened."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._teardown: list[Callable[[], object]] = []

    def agent(
        self,
        mqtt_url: str,
        agent_id: str = AGENT_ID,
        login: Mapping[str, str] | None = None,
        **options: float,
    ) -> AgentProcess:
        """An agent (not started yet) in its own directory."""
        workdir = self.tmp_path / ("agent" if agent_id == AGENT_ID else f"agent-{agent_id}")
        agent = AgentProcess(workdir, mqtt_url, agent_id=agent_id, login=login, **options)
        self._teardown.append(agent.kill)
        return agent

    def collector(
        self,
        mqtt_url: str,
        influx_url: str,
        database: str,
        login: Mapping[str, str] | None = None,
        **options: str | float,
    ) -> CollectorProcess:
        """A collector (not started yet)."""
        collector = CollectorProcess(
            self.tmp_path / "collectors",
            mqtt_url,
            influx_url,
            database,
            login=login,
            **options,  # type: ignore[arg-type]
        )
        self._teardown.append(collector.kill)
        return collector

    def watcher(self, mqtt_url: str, topic_filter: str) -> Watcher:
        """A raw subscriber, connected and subscribed."""
        watcher = Watcher(mqtt_url, topic_filter, f"watcher-{len(self._teardown)}")
        self._teardown.append(watcher.close)
        return watcher

    def influxd(self) -> Influxd:
        """This test's own InfluxDB, started, for a test that stops it."""
        influxd = Influxd(self.tmp_path / "influxd", free_port())
        influxd.start()
        self._teardown.append(influxd.stop)
        return influxd

    def close(self) -> None:
        """Stop everything, the last started first."""
        for step in reversed(self._teardown):
            # Teardown goes on; the test's own failure is what matters.
            with contextlib.suppress(Exception):
                step()


def reader_for(url: str, database: str) -> QueryClient:
    """An InfluxQL client on ``database``."""
    return QueryClient(InfluxSection(url=url, database=database))
