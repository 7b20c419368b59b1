"""One agent floods with its own login: the other agents' reports are still stored within two
report intervals, none is lost, and the collector's and the broker's memory stay under the
bounds that the broker's mosquitto.conf, deploy/systemd/wardwatch-collector.service and the
collector's ``[inbox]`` state.

The broker runs as ``wardwatch broker init`` writes it (its limits, its logins and roles; the
agents on the collectors' loopback listener, sparing the flood TLS), with real InfluxDB, the
collector and three agents as processes (each agent reports every ``INTERVAL_S`` and resends
after half of it, the ratio of the defaults). The flooder is a process of its own, logged in as
one agent, publishing that agent's largest allowed report (a valid one of 248 KB) as fast as
the broker takes it (QoS 0: at more than a ward line's best rate, ``QOS0_PER_SECOND``). A
watcher login, granted for the test only, reads every ack: a report's delay is its ack's
arrival minus its measurement time (the ack follows the write). Memory is the resident
size, sampled every 0.2 s.

Also here: the inbox's bound on the collector when the door lets everything in and the broker
sends all it may, and the door and the inbox alone (unit). Long because one harness (the broker
as shipped, the processes, the flooder, the ack watcher, the audit) serves all of them.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import queue
import secrets
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import psutil
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.support import programs
from tests.support.broker import CityBroker, read_grant
from tests.support.factories import T0, host_facts, report
from tests.support.helpers import (
    RawClient,
    decode_ack,
    wait_until,
)
from wardwatch.collector.config import InboxSection
from wardwatch.collector.devstack.process import ManagedProcess
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port
from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.collector.ingest.inbox import Door, Inbox
from wardwatch.common.mqtt import BrokerAddress
from wardwatch.common.tomlconfig import toml_str
from wardwatch.contract import wire

MIB = 1024 * 1024
FLOOD_BYTES = 248 * 1024
INTERVAL_S = 5
BROKER_RSS_MAX = 576 * MIB
"""What the broker's sessions may hold (the collector's max_inflight_bytes and max_queued_bytes,
96 MiB), the retained messages and the connections, with a wide margin."""
QOS0_PER_SECOND = 40 * MIB / FLOOD_BYTES / 1.0
"""The QoS 0 flood's rate: 40 MiB/s (about 330 Mbit/s), above any ward's line. The broker has
no bound of its own on QoS 0 towards a connected collector (its memory_limit is left out, see
mosquitto.conf.in): unthrottled on the loopback, measured 82,190 messages in 40 s and 7.7 GB."""
BROKER_AWAY_RSS_MAX = 128 * MIB
"""With the collector away: its session's max_queued_bytes (64 MiB), and the broker itself."""
BROKER_DB_MAX = 72 * MIB
"""mosquitto.db with the collector away: max_queued_bytes, one message over it, the rest."""
COLLECTOR_RSS_MAX = 100 * MIB + int(InboxSection().max_mb * MIB)
"""The collector's unit: [inbox] max_mb (64 MiB) of messages, and 100 MiB for the rest: the
interpreter, a batch's points, the message being decoded."""
AGENT_RSS_MAX = 96 * MIB
"""The agent's unit: MemoryHigh, over three times what it takes."""

COLLECTOR = "wardwatch-collector-1"
FLOODER = "flood-pc"
HONEST = ("honest-1", "honest-2", "honest-3")
WATCHER = "flood-test-watcher"
ACKS = "wardwatch/v1/+/ack"
SUBSCRIBED = "subscribed; receiving agents' messages"
INBOX_FULL = '"event":"inbox_full"'


PASSWORDS: dict[str, str] = {}
"""Every login's password, as the broker fixture made them."""


def secret(user: str) -> str:
    """The password of ``user`` on this test's broker."""
    return PASSWORDS[user]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[CityBroker]:
    """The broker as ``wardwatch broker init`` writes it, the agents enrolled, the collector's
    login, and the watcher's right to every ack."""
    with CityBroker.made(tmp_path) as running:
        PASSWORDS.clear()
        PASSWORDS.update(running.enrol(FLOODER, *HONEST, site="flood-test"))
        PASSWORDS[COLLECTOR] = running.collector_login()["password"]
        PASSWORDS[WATCHER] = secrets.token_urlsafe(12)
        running.grant(WATCHER, PASSWORDS[WATCHER], read_grant(ACKS))
        yield running


def login(url: str, user: str, password: str = "") -> paho.Client:
    """A connected MQTT 5 client of ``user``, its network thread started (it reconnects)."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=user, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(user, password or secret(user))
    client.reconnect_delay_set(1, 1)
    client.max_inflight_messages_set(100)  # paho's default, 20, would slow the flooder
    address = BrokerAddress(url)
    client.connect(address.host, address.port)
    client.loop_start()
    return client


def largest_report(message_id: str = "flood", at: datetime = T0) -> bytes:
    """The flooder's largest allowed report: a valid one, padded with host facts to about
    ``FLOOD_BYTES`` (the broker takes 256 KiB and a little more, the collector 256 KiB)."""
    long = "x" * 500
    fact = host_facts(hostname=long, os_name=long, os_version=long, os_build=long)
    one = len(wire.encode(report(message_id, at=at, agent=FLOODER, facts=[fact])))
    each = len(wire.encode(report(message_id, at=at, agent=FLOODER, facts=[fact] * 2))) - one
    facts = [fact] * (1 + round((FLOOD_BYTES - one) / each))
    return wire.encode(report(message_id, at=at, agent=FLOODER, facts=facts))


def flood(
    url: str,
    password: str,
    qos: int,
    seconds: float,
    sent: multiprocessing.Queue[int],
    per_second: float = 0.0,
) -> None:
    """Publish the largest report as ``FLOODER`` for ``seconds``, as fast as the broker takes
    it (at most 100 waiting) or at most ``per_second``, through every disconnect; put how many
    were published."""
    client = login(url, FLOODER, password)  # a process of its own: PASSWORDS is not here
    payload, topic = largest_report(), wire.topic(FLOODER, "report")
    waiting: deque[paho.MQTTMessageInfo] = deque()
    count = 0
    began = time.monotonic()
    end = began + seconds
    while time.monotonic() < end:
        if per_second:
            time.sleep(max(0.0, began + count / per_second - time.monotonic()))
        info = client.publish(topic, payload, qos=qos) if client.is_connected() else None
        if info is None or info.rc != paho.MQTT_ERR_SUCCESS:
            time.sleep(0.01)  # cut off: paho reconnects
            continue
        waiting.append(info)
        count += 1
        if len(waiting) == 100:
            with contextlib.suppress(RuntimeError, ValueError):  # lost with its connection
                waiting.popleft().wait_for_publish(1)
    sent.put(count)
    client.disconnect()
    client.loop_stop()


def run_flood(url: str, qos: int, seconds: float, per_second: float = 0.0) -> int:
    """``flood`` in a process of its own; return how many it published."""
    context = multiprocessing.get_context("spawn")
    sent: multiprocessing.Queue[int] = context.Queue()
    arguments = (url, secret(FLOODER), qos, seconds, sent, per_second)
    process = context.Process(target=flood, args=arguments, daemon=True)
    process.start()
    try:
        while True:
            with contextlib.suppress(queue.Empty):
                return sent.get(timeout=1)
            assert process.is_alive(), f"the flooder exited with {process.exitcode}"
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()


class Peaks:
    """The largest value each reader returned, read every ``every_s`` until ``stop``."""

    def __init__(self, readers: dict[str, Callable[[], int]], every_s: float = 0.2) -> None:
        self.peak = dict.fromkeys(readers, 0)
        self._readers = readers
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self._every_s):
            for name, read in self._readers.items():
                self.peak[name] = max(self.peak[name], read())

    def stop(self) -> dict[str, int]:
        """Stop reading; the peaks."""
        self._stop.set()
        self._thread.join()
        return self.peak


def rss(pid: int | None) -> Callable[[], int]:
    """A reader of the resident size of process ``pid``, in bytes."""
    process = psutil.Process(pid)

    def read() -> int:
        with contextlib.suppress(psutil.NoSuchProcess):  # stopped: the peak is already known
            return int(process.memory_info().rss)
        return 0

    return read


class Acks:
    """Every report the collector acknowledged as stored, with when the ack arrived."""

    def __init__(self, url: str) -> None:
        self.at: dict[str, float] = {}
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = login(url, WATCHER)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.subscribe(ACKS, qos=1)
        assert subscribed.wait(10), "no SUBACK for the ack watcher"

    def _on_message(self, client: object, userdata: object, message: paho.MQTTMessage) -> None:
        now = time.time()
        with self._lock:
            for message_id in decode_ack(message).stored:
                self.at.setdefault(message_id, now)

    def of(self, ids: set[str]) -> dict[str, float]:
        """When each of ``ids`` was acknowledged, for those that were."""
        with self._lock:
            return {i: self.at[i] for i in ids if i in self.at}

    def wait(self, ids: set[str], timeout_s: float) -> None:
        """Wait until each of ``ids`` was acknowledged."""
        wait_until(lambda: len(self.of(ids)) == len(ids), timeout_s, f"acks of {len(ids)}")


class Agent:
    """A ``wardwatch-agent`` process reporting every ``INTERVAL_S`` as ``name``."""

    def __init__(self, workdir: Path, url: str, name: str) -> None:
        workdir.mkdir(parents=True)
        self.outbox = workdir / "outbox.sqlite3"
        config = workdir / "agent.toml"
        config.write_text(
            f'[agent]\nid = "{name}"\nsite = "flood-test"\ninterval_s = {INTERVAL_S}\n'
            f"resend_after_s = {INTERVAL_S / 2}\n"
            f'[mqtt]\nurl = "{url}"\npassword = "{secret(name)}"\n'
            f"[outbox]\npath = {toml_str(str(self.outbox))}\n"
        )
        argv = [*programs.AGENT, "--config", str(config), "-v", "--log-format", "json"]
        self.name = name
        self.process = ManagedProcess(name, argv, workdir, install_hint="make venv")

    def reports(self) -> dict[str, datetime]:
        """Every report it committed: id → measurement time."""
        found = {}
        for line in self.process.log_path.read_text(errors="replace").splitlines():
            record = json.loads(line) if line.startswith("{") else {}
            if record.get("event") == "committed" and record["kind"] == "report":
                found[record["id"]] = datetime.fromisoformat(record["measured_at"])
        return found

    def held(self) -> set[str]:
        """The ids still in its outbox (read only: it may be running)."""
        db = sqlite3.connect(f"{self.outbox.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return {str(row[0]) for row in db.execute("SELECT id FROM outbox")}
        finally:
            db.close()


def start_collector(
    workdir: Path,
    url: str,
    influx: Influxd,
    database: str,
    extra: str = "",
    *,
    anonymous: bool = False,
) -> ManagedProcess:
    """``wardwatch-collector`` with its login (none on an ``anonymous`` broker) and ``extra``
    TOML, subscribed."""
    config = workdir / "collector.toml"
    login = "" if anonymous else f'username = "{COLLECTOR}"\npassword = "{secret(COLLECTOR)}"\n'
    config.write_text(
        f'[mqtt]\nurl = "{url}"\n{login}'
        f'[influx]\nurl = "{influx.url}"\ndatabase = "{database}"\n[batch]\nmax_delay_s = 0.5\n'
        f"{extra}"
    )
    argv = [*programs.COLLECTOR, "--config", str(config), "--log-format", "json"]
    collector = ManagedProcess("collector", argv, workdir, install_hint="make venv")
    collector.start()
    wait_until(
        lambda: SUBSCRIBED in collector.log_path.read_text(), 20, "the collector to subscribe"
    )
    return collector


def refused(collector: ManagedProcess) -> Counter[str]:
    """The refusals by reason in the summary the collector logged when it stopped."""
    lines = [line for line in collector.log_path.read_text().splitlines() if "stopped: " in line]
    assert lines, f"no summary from the collector:\n{collector.log_tail()}"
    counts = json.loads(lines[-1])["message"].split("rejected: ", 1)[1]
    pairs = [item.split("=") for item in counts.split(", ") if "=" in item]
    return Counter({code: int(n) for code, n in pairs})


def audit(agents: list[Agent], acks: Acks, reader: QueryClient) -> list[str]:
    """After the agents stopped, what went wrong: a report committed, in no outbox and never
    acked (lost); an acked one without its ``host`` point; a point no report explains, or two."""
    problems = []
    for agent in agents:
        committed = agent.reports()
        sent = set(committed) - agent.held()  # the held ones are sent at the next start
        acks.wait(sent, 20)
        acked = acks.of(set(committed))
        rows = reader.query(
            f'SELECT "uptime_s" FROM "host" WHERE "agent" = {quote_string(agent.name)}'
        )
        points = Counter(int(row.values["time"]) for row in rows)
        times = {time_ns(at): i for i, at in committed.items()}
        problems += [f"{agent.name}: {i} lost" for i in sorted(sent - set(acked))]
        problems += [
            f"{agent.name}: {i} acked, not stored"
            for i in acked
            if time_ns(committed[i]) not in points
        ]
        problems += [
            f"{agent.name}: point at {t} x{n}" for t, n in points.items() if n > 1 or t not in times
        ]
    return problems


@dataclass
class Outcome:
    """What one flood did: published, refused by reason, memory peaks, the honest reports."""

    published: int
    refused: Counter[str]
    memory: dict[str, int]
    delays: dict[str, float]  # report measured during the flood → seconds until its ack
    late: list[str]  # measured during the flood and not acked within two report intervals
    problems: list[str]  # what ``audit`` found
    inbox_full: bool  # whether the collector's inbox ever made its network thread wait

    def __str__(self) -> str:
        mib = {name: round(peak / MIB) for name, peak in self.memory.items()}
        worst = max(self.delays.values(), default=0.0)
        return (
            f"flood: {self.published} published; refused {dict(self.refused)}; peak RSS MiB "
            f"{mib}; {len(self.delays)} honest reports during it, worst delay {worst:.1f} s"
        )


def flood_among_agents(
    tmp_path: Path,
    broker: CityBroker,
    influx: Influxd,
    reader: QueryClient,
    qos: int,
    seconds: float,
    per_second: float,
) -> Outcome:
    """Three agents report; once each has a report stored, one agent floods for ``seconds``;
    then the agents stop and what they committed is compared with the acks and InfluxDB."""
    collector = start_collector(tmp_path, broker.url, influx, reader.database)
    acks = Acks(broker.url)
    agents = [Agent(tmp_path / name, broker.url, name) for name in HONEST]
    try:
        for agent in agents:
            agent.process.start()
        wait_until(lambda: all(acks.of(set(a.reports())) for a in agents), 30, "first acks")
        each = [rss(agent.process.pid) for agent in agents]
        readers = {"broker": rss(broker.pid), "collector": rss(collector.pid)}
        peaks = Peaks({**readers, "agent": lambda: max(read() for read in each)})
        began = wire.now()
        published = run_flood(broker.url, qos, seconds, per_second)
        ended = wire.now()
        measured = {i: at for a in agents for i, at in a.reports().items()}
        during = {i for i, at in measured.items() if began <= at <= ended}
        # As long as the last one takes; lateness is judged from the ack times themselves.
        acks.wait(during, 4 * INTERVAL_S)
        memory = peaks.stop()
        for agent in agents:
            agent.process.stop()
        problems = audit(agents, acks, reader)
        assert collector.stop() == 0, collector.log_tail()
        delays = {i: at - measured[i].timestamp() for i, at in acks.of(during).items()}
        late = [i for i in during if delays.get(i, float("inf")) > 2 * INTERVAL_S]
        full = INBOX_FULL in collector.log_path.read_text()
        return Outcome(published, refused(collector), memory, delays, late, problems, full)
    finally:
        for agent in agents:
            agent.process.kill()
        acks.client.loop_stop()
        collector.kill()


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.services
@pytest.mark.parametrize(
    ("qos", "seconds", "per_second"),
    [(0, 12, QOS0_PER_SECOND), (1, 30, 0.0)],
    ids=["qos0-12s-330mbps", "qos1-30s"],
)
def test_one_agent_flooding_delays_no_other_and_memory_stays_bounded(
    tmp_path: Path,
    broker: CityBroker,
    influxd: Influxd,
    reader: QueryClient,
    qos: int,
    seconds: int,
    per_second: float,
) -> None:
    """QoS 1 as fast as the loopback takes it (over the agent's share: acknowledged unread; the
    broker's byte limits hold it), and QoS 0 at 330 Mbit/s, faster than any ward's line
    (refused unread at the collector, which reads faster than that: nothing piles up in the
    broker, which has no heap limit, README "Every agent is untrusted")."""
    outcome = flood_among_agents(tmp_path, broker, influxd, reader, qos, seconds, per_second)
    print(outcome)
    assert not outcome.problems, "\n".join(outcome.problems)
    assert outcome.delays, "no honest report was measured during the flood"
    assert not outcome.late, f"stored later than two intervals: {outcome.late}; {outcome}"
    assert outcome.memory["broker"] <= BROKER_RSS_MAX, outcome
    assert outcome.memory["collector"] <= COLLECTOR_RSS_MAX, outcome
    assert outcome.memory["agent"] <= AGENT_RSS_MAX, outcome
    assert not outcome.inbox_full, "the broker's max_inflight_bytes should stop it first"
    # The flood did reach the collector, and its door refused it before decoding.
    assert outcome.refused["qos0" if qos == 0 else "rate"] > outcome.published / 2, outcome


@pytest.mark.process
@pytest.mark.services
def test_a_flood_while_the_collector_is_away_stays_within_its_queue_bound(
    tmp_path: Path, broker: CityBroker, influxd: Influxd, influx_db: str
) -> None:
    """The collector's session is kept (it subscribed, then stopped); one agent floods at QoS 1
    for 20 s. The broker's memory and its saved state stay within max_queued_bytes."""
    start_collector(tmp_path, broker.url, influxd, influx_db).stop()
    peaks = Peaks({"broker": rss(broker.pid)})
    published = run_flood(broker.url, 1, 20)
    memory = peaks.stop()["broker"]
    broker.stop()  # which saves its state, the collector's queue included
    saved = (broker.layout.state / "mosquitto.db").stat().st_size
    print(f"flood: {published} published; broker {memory / MIB:.0f} MiB; db {saved / MIB:.1f} MiB")
    assert published * FLOOD_BYTES > 10 * BROKER_DB_MAX, "the flood was too small to tell"
    assert memory <= BROKER_AWAY_RSS_MAX
    assert saved <= BROKER_DB_MAX


@pytest.mark.process
@pytest.mark.services
def test_the_inbox_bounds_the_collector_when_the_broker_does_not(
    tmp_path: Path, influxd: Influxd, reader: QueryClient
) -> None:
    """A broker without byte limits sends all it may, and the door lets everything in: 400
    reports of 248 KB (97 MB), half again the collector's ``[inbox] max_mb``. It stops reading
    at its bound (and says so), its memory stays under ``COLLECTOR_RSS_MAX``, and every report
    is stored."""
    extra = "[inbox]\nagent_rate = 100000.0\nagent_burst = 1000000\n"
    reports = [largest_report(f"big{n}", T0 + timedelta(seconds=n)) for n in range(400)]
    query = f'SELECT COUNT("uptime_s") FROM "host" WHERE "agent" = {quote_string(FLOODER)}'
    with Mosquitto(tmp_path / "mqtt", free_port(), extra_conf="max_inflight_messages 0") as broker:
        collector = start_collector(
            tmp_path, broker.url, influxd, reader.database, extra, anonymous=True
        )
        peaks = Peaks({"collector": rss(collector.pid)})
        raw = RawClient(broker.url)
        for payload in reports:
            raw.publish(wire.topic(FLOODER, "report"), payload)
        wait_until(
            lambda: [row.values["count"] for row in reader.query(query)] == [len(reports)],
            120,
            "every report stored",
        )
        memory = peaks.stop()["collector"]
        raw.close()
        assert collector.stop() == 0, collector.log_tail()
    print(f"inbox full: collector {memory / MIB:.0f} MiB")
    assert INBOX_FULL in collector.log_path.read_text()
    assert memory <= COLLECTOR_RSS_MAX


@pytest.mark.unit
def test_the_door_refuses_qos0_and_each_agent_beyond_its_share() -> None:
    clock = [0.0]
    codes: list[str] = []
    door = Door(InboxSection(agent_rate=2.0, agent_burst=3), codes.append, lambda: clock[0])
    mine, other = wire.topic("tan-an-pc07", "report"), wire.topic("ea-tu-pc01", "status")
    assert door.admit(mine, 0, 100) == "qos0"
    assert [door.admit(mine, 1, 100) for _ in range(4)] == ["", "", "", "rate"]
    assert door.admit(other, 1, 100) == ""  # each agent has its own share
    clock[0] = 0.5  # one token back
    assert [door.admit(mine, 1, 100) for _ in range(2)] == ["", "rate"]
    clock[0] = 10.0  # full again: 3 tokens, and a 20 KiB message costs 2
    assert [door.admit(mine, 1, 20 * 1024) for _ in range(2)] == ["", "rate"]
    assert door.admit(mine, 1, 100) == ""
    clock[0] = 20.0  # a message costing more than the whole burst passes on a full bucket
    assert [door.admit(mine, 1, 256 * 1024) for _ in range(2)] == ["", "rate"]
    assert Counter(codes) == {"qos0": 1, "rate": 4}


@pytest.mark.unit
def test_the_door_forgets_the_least_recently_heard_agent_beyond_its_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("wardwatch.collector.ingest.inbox.MAX_BUCKETS", 2)
    door = Door(InboxSection(agent_rate=0.001, agent_burst=1), lambda code: None, lambda: 0.0)
    first, second, third = (wire.topic(agent, "report") for agent in ("a", "b", "c"))
    assert [door.admit(first, 1, 10), door.admit(first, 1, 10)] == ["", "rate"]
    assert [door.admit(second, 1, 10), door.admit(third, 1, 10)] == ["", ""]
    assert door.admit(first, 1, 10) == ""  # forgotten, so as new: its bucket full again
    assert door.admit(third, 1, 10) == "rate"  # remembered


@pytest.mark.unit
def test_the_inbox_waits_for_room_until_released_or_closed() -> None:
    inbox: Inbox[str] = Inbox(InboxSection(max_mb=1.0))
    results: list[bool] = []

    def put_later(item: str, size: int) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.append(inbox.put(item, size)))
        thread.start()
        thread.join(0.2)
        return thread

    assert inbox.put("big", 2 * MIB)  # alone larger than the bound: it passes
    waiting = put_later("next", 10)
    assert waiting.is_alive()
    assert inbox.get(timeout=1) == "big"
    assert waiting.is_alive(), "taken is not done: the room comes back with release"
    inbox.release(2 * MIB)
    waiting.join(5)
    assert results == [True]
    assert inbox.get(timeout=1) == "next"
    with pytest.raises(queue.Empty):
        inbox.get(timeout=0.01)
    assert inbox.put("fills", MIB - 10)
    waiting = put_later("more", 1)
    assert waiting.is_alive()
    inbox.close()
    waiting.join(5)
    assert results == [True, False]
    assert inbox.held_bytes == MIB
