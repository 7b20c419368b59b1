"""The durable outbox: order, resends, bounds, and kill -9 at any moment."""

from __future__ import annotations

import logging
import random
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.support.factories import T0, host_facts, report
from wardwatch.agent.config import AgentConfig
from wardwatch.agent.outbox import Outbox
from wardwatch.agent.runner import Agent
from wardwatch.common.startup import JsonFormatter
from wardwatch.contract import wire

HOUR = 3600.0


def outbox(path: Path, **limits: float) -> Outbox:
    return Outbox(
        path,
        "tan-an-pc07",
        max_bytes=int(limits.get("max_bytes", 10**9)),
        max_age_s=limits.get("max_age_s", 10**9),
        resend_after_s=limits.get("resend_after_s", 30.0),
    )


def ids(entries: list) -> list[str]:  # type: ignore[type-arg]
    return [entry.id for entry in entries]


@pytest.mark.unit
def test_oldest_first_with_original_measurement_and_fresh_sent_at(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db")
    for n in range(3):
        box.add(report(f"m{n}", at=T0 + timedelta(minutes=n)))
    entries = box.due()
    assert ids(entries) == ["m0", "m1", "m2"]
    sent = wire.decode(entries[0].topic, entries[0].payload)
    assert isinstance(sent, wire.Report)
    assert sent.measured_at == T0
    assert sent.sent_at > T0  # renewed at publish, so a resend is not mistaken for skew
    assert entries[0].topic == wire.topic("tan-an-pc07", "report")


@pytest.mark.unit
def test_resend_only_after_the_timeout_or_a_reconnect(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db", resend_after_s=30)
    box.add(report("a"))
    box.add(report("b"))
    box.mark_sent("a", now=100.0)
    assert ids(box.due(now=110.0)) == ["b"]
    assert ids(box.due(now=130.0)) == ["a", "b"]
    box.mark_sent("a", now=100.0)
    box.mark_all_unsent()
    assert ids(box.due(now=101.0)) == ["a", "b"]


@pytest.mark.unit
def test_ack_deletes_stored_and_refused_and_keeps_the_rest(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db")
    for name in ("a", "b", "c"):
        box.add(report(name))
    ack = wire.Ack(
        agent="tan-an-pc07",
        stored=["a", "unknown"],
        rejected=[wire.Rejection(id="b", reason="invalid: x")],
    )
    assert box.settle(ack) == 2
    assert ids(box.due()) == ["c"]
    assert list(box.rejected) == [wire.Rejection(id="b", reason="invalid: x")]
    assert box.depth() == 1
    assert not box.wait_empty(0.01)
    box.settle(wire.Ack(agent="tan-an-pc07", stored=["c"]))
    assert box.wait_empty(0.01)


@pytest.mark.unit
def test_survives_a_restart_and_keeps_agents_apart(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = outbox(path)
    box.add(report("kept"))
    box.add(report("retained-inventory"), retain=True)
    box.close()
    other = Outbox(path, "ea-tu-pc01", max_bytes=10**9, max_age_s=10**9, resend_after_s=30)
    assert other.depth() == 0
    again = outbox(path)
    entries = again.due()
    assert ids(entries) == ["kept", "retained-inventory"]
    assert [entry.retain for entry in entries] == [False, True]


@pytest.mark.unit
def test_same_message_twice_is_kept_once(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db")
    box.add(report("same"))
    box.add(report("same"))
    assert box.depth() == 1


@pytest.mark.unit
def test_size_bound_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    size = len(wire.encode(report("m00")))
    box = outbox(tmp_path / "o.db", max_bytes=3 * size)
    for n in range(5):
        box.add(report(f"m{n:02d}", at=wire.now()))
    assert ids(box.due()) == ["m02", "m03", "m04"]
    assert box.dropped() == 2
    box.close()
    assert outbox(tmp_path / "o.db").dropped() == 2  # the count is durable too


@pytest.mark.unit
def test_age_bound_drops_what_is_too_old(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db", max_age_s=HOUR)
    box.add(report("old", at=wire.now() - timedelta(hours=2)))
    box.add(report("new", at=wire.now()))
    assert ids(box.due()) == ["new"]
    assert box.dropped() == 1


WRITER = """
import sys
from pathlib import Path
from wardwatch.agent.outbox import Outbox
from tests.support.factories import report
box = Outbox(Path(sys.argv[1]), "tan-an-pc07", max_bytes=10**9, max_age_s=10**9,
             resend_after_s=30)
n = int(sys.argv[2])
while True:
    box.add(report(f"k{n:06d}"))
    # Printed only once add() returned, i.e. once the commit is durable.
    print(n, flush=True)
    n += 1
"""


@pytest.mark.process
def test_kill_9_at_random_moments_loses_no_committed_message(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    committed: set[str] = set()
    rng = random.Random(7)
    next_n = 0
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(next_n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        # Let it commit a random number of messages, then kill it without warning.
        for _ in range(rng.randint(5, 60)):
            committed.add(f"k{int(writer.stdout.readline()):06d}")
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate()
        committed.update(f"k{int(line):06d}" for line in rest.split())
        next_n = 1 + max(int(name[1:]) for name in committed)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {entry.id for entry in _all(outbox(path))}
    assert committed <= stored, f"lost: {sorted(committed - stored)[:10]}"


def _all(box: Outbox) -> list:  # type: ignore[type-arg]
    entries: list = []  # type: ignore[type-arg]
    while batch := box.due(now=0.0):
        entries.extend(batch)
        for entry in batch:
            box.mark_sent(entry.id, now=0.0)
    return entries


@pytest.mark.unit
def test_payloads_decode_as_what_was_added(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db")
    original = report("p1")
    box.add(original)
    (entry,) = box.due()
    sent = wire.decode(entry.topic, entry.payload)
    assert msgspec.structs.replace(sent, sent_at=original.sent_at) == original


class _Probe:
    name = "host"

    def collect(self) -> list[wire.Fact]:
        return [host_facts()]


@pytest.mark.unit
def test_each_report_carries_the_drops_its_own_arrival_caused(tmp_path: Path) -> None:
    # An agent that is never connected: every report stays in its outbox of ~3 reports.
    size = len(wire.encode(report("m00")))
    config = msgspec.convert(
        {
            "agent": {"id": "tan-an-pc07"},
            "mqtt": {"url": "mqtt://127.0.0.1:9"},
            "outbox": {"path": str(tmp_path / "o.db"), "max_mb": 3.5 * size / 1024 / 1024},
        },
        AgentConfig,
    )
    agent = Agent(config, [_Probe()])
    carried = []
    for _ in range(8):
        made = agent.measure()
        agent.queue(made)
        carried.append(made.outbox_dropped)
        assert made.outbox_dropped == agent.outbox.dropped()
    assert carried[-1] > 0
    assert carried == sorted(carried)
    agent.outbox.close()


@pytest.mark.unit
def test_each_commit_is_a_structured_event_in_the_json_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What the fault tests read to learn what an agent committed (--log-format json).
    config = msgspec.convert(
        {"mqtt": {"url": "mqtt://127.0.0.1:9"}, "outbox": {"path": str(tmp_path / "o.db")}},
        AgentConfig,
    )
    agent = Agent(config, [_Probe()])
    with caplog.at_level(logging.DEBUG, logger="wardwatch.agent"):
        made = agent.measure()
        agent.queue(made)
    agent.outbox.close()
    (record,) = [r for r in caplog.records if r.getMessage().startswith("committed")]
    line = msgspec.json.decode(JsonFormatter().format(record))
    assert line["event"] == "committed" and line["level"] == "DEBUG"
    assert (line["kind"], line["id"]) == ("report", made.id)
    assert datetime.fromisoformat(line["measured_at"]) == made.measured_at
