"""The durable outbox: order, resends, bounds, and kill -9 at any moment."""

from __future__ import annotations

import logging
import random
import signal
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.support.factories import T0, host_facts, report
from wardwatch.agent.config import AgentConfig
from wardwatch.agent.outbox import Outbox, OutboxError, OutboxWriteError
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
from wardwatch.agent.outbox import Outbox, OutboxError, OutboxWriteError
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


@pytest.mark.unit
def test_drop_deletes_one_message_and_counts_it(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db")
    box.add(report("a"))
    box.add(report("b"))
    assert box.drop("a") is True
    assert box.drop("a") is False  # already gone: not counted twice
    assert (ids(box.due()), box.dropped()) == (["b"], 1)


@pytest.mark.unit
def test_sessions_grow_across_restarts_per_agent(tmp_path: Path) -> None:
    box = outbox(tmp_path / "o.db")
    assert [box.next_session() for _ in range(3)] == [1, 2, 3]
    box.close()
    other = Outbox(
        tmp_path / "o.db", "ea-tu-pc01", max_bytes=10**9, max_age_s=10**9, resend_after_s=30
    )
    assert other.next_session() == 1
    assert outbox(tmp_path / "o.db").next_session() == 4


@pytest.mark.unit
def test_a_refused_write_keeps_nothing_and_the_rest_goes_on(tmp_path: Path) -> None:
    # query_only makes SQLite refuse every write, as a full disk does.
    box = outbox(tmp_path / "o.db")
    box.add(report("kept"))
    box.next_session()
    box._db.execute("PRAGMA query_only=1")
    with pytest.raises(OutboxWriteError, match="attempt to write a readonly database"):
        box.add(report("refused"))
    with pytest.raises(OutboxWriteError):
        box.settle(wire.Ack(agent="tan-an-pc07", stored=["kept"]))
    assert box.write_error.startswith(f"cannot write {tmp_path / 'o.db'}: ")
    assert [box.next_session(), box.next_session()] == [2, 3]  # counted on in memory
    assert box.first_seen(date(2026, 11, 2)) == date(2026, 11, 2)
    assert ids(box.due()) == ["kept"]
    box._db.execute("PRAGMA query_only=0")
    box.add(report("later"))
    assert box.write_error == ""
    assert box.next_session() == 4  # the disk catches up with memory
    box.make_room(0)
    assert ids(box.due()) == ["kept", "later"] and box.dropped() == 0


@pytest.mark.unit
@pytest.mark.parametrize(
    "content", [b"not an outbox\n" * 300, b"SQLite format 3\x00" + b"\xff" * 8000]
)
def test_an_unreadable_file_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "o.db"
    path.write_bytes(content)
    box = outbox(path)
    (aside,) = tmp_path.glob("o.db.corrupt-*")
    assert aside.read_bytes() == content
    assert box.moved_aside.startswith(f"{path} was not a readable database (")
    assert box.moved_aside.endswith(f"moved aside to {aside.name}, started a fresh outbox")
    box.add(report("fresh"))
    assert ids(box.due()) == ["fresh"]


@pytest.mark.unit
def test_a_file_in_no_directory_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutboxError, match="set \\[outbox\\] path to a file in a writable dir"):
        outbox(tmp_path / "a-file" / "o.db")


@pytest.mark.unit
def test_a_payload_goes_out_as_stored_with_sent_at_and_session_renewed(tmp_path: Path) -> None:
    # Even one the agent should not have made: the collector refuses it, with the reason.
    box = outbox(tmp_path / "o.db")
    invalid = report("too-long", facts=[host_facts(hostname="h" * 600)])
    box.add(invalid)
    box.next_session()
    (entry,) = box.due()
    sent = msgspec.json.decode(entry.payload)
    stored = msgspec.json.decode(wire.encode(invalid))
    assert sent.pop("session") == 1 and stored.pop("session") == 0
    assert sent.pop("sent_at") > stored.pop("sent_at")
    assert sent == stored
