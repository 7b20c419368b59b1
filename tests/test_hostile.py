"""One broken or hostile ward PC against the real broker, the real collector process and InfluxDB.

Each test is a row of issue 11's table: what one agent's login sent, and that the collector
refuses it with a reason, stays up, and goes on storing every other agent's reports.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import hostile, programs
from tests.support.factories import dead_link, host_facts, identity, link_facts, report
from tests.support.faults import CollectorProcess, Stack
from tests.support.helpers import RawClient, decode_ack
from wardwatch.collector.cli.status import fleet_status
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd, Mosquitto
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.contract import wire

pytestmark = [pytest.mark.process, pytest.mark.services]

ATTACKER = hostile.AGENT
HONEST = identity(agent="ea-tu-pc01", site="ea-tu")
KINDS = wire.AGENT_KINDS
_ids = itertools.count()


class Bench:
    """The attacker's and an honest agent's connections, the collector process, a reader."""

    def __init__(self, mosquitto: Mosquitto, influxd: Influxd, database: str, tmp: Path) -> None:
        self.stack = Stack(tmp)
        self.collector: CollectorProcess = self.stack.collector(
            mosquitto.url, influxd.url, database
        )
        self.collector.start()
        self.attacker = RawClient(mosquitto.url, "attacker")
        self.attacker.subscribe(wire.topic(ATTACKER, "ack"))
        self.honest = RawClient(mosquitto.url, "honest")
        self.honest.subscribe(wire.topic(HONEST["agent"], "ack"))
        self.reader = QueryClient(InfluxSection(url=influxd.url, database=database))

    def send(self, payload: bytes, kind: wire.Kind = "report", agent: str = ATTACKER) -> None:
        """Publish as the attacker (the broker's ACL lets it write its own topics only)."""
        self.attacker.publish(wire.topic(agent, kind), payload)

    def honest_report_lands(self) -> None:
        """Another agent's report is stored and acked, now."""
        message_id = f"ok{next(_ids)}"
        now = wire.now()
        message = msgspec.structs.replace(report(message_id, at=now, **HONEST), sent_at=now)
        self.honest.publish(wire.topic(HONEST["agent"], "report"), wire.encode(message))
        ack = decode_ack(self.honest.messages(1)[0])
        assert ack.stored == [message_id], ack
        assert self.collector.process.running

    def outcomes(self, ids: list[str]) -> dict[str, str]:
        """What became of the attacker's messages ``ids``: "stored", or the refusal's reason
        code; the collector acks a batch's messages of one agent together."""
        seen: dict[str, str] = {}
        while not set(ids) <= seen.keys():
            ack = decode_ack(self.attacker.messages(1)[0])
            seen.update(dict.fromkeys(ack.stored, "stored"))
            seen.update({r.id: r.reason for r in ack.rejected})
        return seen

    def count(self, influxql: str) -> int:
        rows = self.reader.query(influxql)
        return int(rows[0].values["count"]) if rows else 0

    def stopped_summary(self) -> str:
        """Stop the collector (exit 0) and return its last statistics line."""
        self.collector.stop()
        summaries: list[str] = re.findall(r"stopped: (.*)", self.collector.process.log_tail(5))
        return summaries[-1]

    def stopped_refusals(self) -> dict[str, int]:
        """Stop the collector and return its count of refused messages by reason."""
        refused = self.stopped_summary().split("rejected:")[1]
        return {code.strip(): int(n) for code, n in re.findall(r"([\w ]+)=(\d+)", refused)}

    def close(self) -> None:
        self.attacker.close()
        self.honest.close()
        self.reader.close()
        self.stack.close()


@pytest.fixture
def bench(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path
) -> Iterator[Bench]:
    running = Bench(mosquitto, influxd, influx_db, tmp_path)
    yield running
    running.close()


def at(moment: datetime, name: str, **overrides: Any) -> bytes:
    """The attacker's report measured at ``moment``, sent now."""
    return wire.encode(
        msgspec.structs.replace(report(name, at=moment, **overrides), sent_at=wire.now())
    )


# --- the collector never dies on input -----------------------------------------------------


def test_hostile_payloads_are_refused_acked_once_and_never_stop_the_collector(
    bench: Bench,
) -> None:
    for payload in hostile.CORPUS.values():
        for kind in KINDS:
            bench.send(payload, kind)
    bench.honest_report_lands()
    first = bench.stopped_summary()
    refused = len(KINDS) * len(hostile.CORPUS)
    assert re.search(rf"received={refused + 1} stored=1 ", first), first
    # Acked, so not delivered again: the next run of the collector receives nothing of them.
    bench.collector.start()
    bench.honest_report_lands()
    assert "received=1 stored=1 " in bench.stopped_summary()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.one_of(
        st.sampled_from(list(hostile.CORPUS.values())),
        st.binary(max_size=2000),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=40),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner),
            max_leaves=20,
        ).map(lambda value: msgspec.json.encode({"agent": ATTACKER, "payload": value})),
    ),
    kind=st.sampled_from(["report", "inventory", "status"]),
)
def test_fuzzed_payloads_through_the_broker_leave_the_others_landing(
    bench: Bench, payload: bytes, kind: wire.Kind
) -> None:
    bench.send(payload, kind)
    bench.honest_report_lands()


# --- time bounds -----------------------------------------------------------------------------


def test_measurements_from_1900_1970_or_2200_are_refused_with_their_reason(bench: Bench) -> None:
    for name, year in (("y1900", 1900), ("y1970", 1970), ("y2200", 2200)):
        bench.send(at(datetime(year, 1, 1, tzinfo=UTC), name))
    reasons = bench.outcomes(["y1900", "y1970", "y2200"])
    assert {i: r.split(":")[0] for i, r in reasons.items()} == {
        "y1900": "too old",
        "y1970": "too old",
        "y2200": "future",
    }
    bench.honest_report_lands()
    assert (
        bench.count(
            f'SELECT count("uptime_s") FROM "host" WHERE "agent" = {quote_string(ATTACKER)}'
        )
        == 0
    )
    for measurement in ("host", "agent", "status"):
        assert bench.count(f'SELECT count(*) FROM "{measurement}" WHERE time > now()') == 0


# --- no cross-agent writes -------------------------------------------------------------------


def test_an_endpoint_named_after_another_agent_cannot_touch_it(bench: Bench) -> None:
    bench.honest_report_lands()
    victim = HONEST["agent"]
    dead = dead_link(target=victim)
    bench.send(at(wire.now(), "spoof", facts=[host_facts(), dead]))
    assert bench.outcomes(["spoof"]) == {"spoof": "stored"}
    fleet = {status.agent: status for status in fleet_status(bench.reader)}
    assert (fleet[victim].online, fleet[victim].why) == (True, "reporting")
    endpoint = fleet[f"{ATTACKER}/{victim}"]
    assert (endpoint.online, endpoint.why, endpoint.role) == (False, "no answer", "vc-endpoint")


# --- cardinality and text ---------------------------------------------------------------------


def targets(first: int, count: int) -> list[wire.Fact]:
    return [host_facts(), *(link_facts(target=f"t{n}") for n in range(first, first + count))]


def test_one_agent_cannot_exhaust_the_databases_series(bench: Bench) -> None:
    # Within the per-report bound, but a new set of 64 targets each time: 256 distinct a day.
    for n in range(10):
        bench.send(at(wire.now(), f"new{n}", facts=targets(n * 64, 64)))
    outcomes = bench.outcomes([f"new{n}" for n in range(10)])
    assert sorted(i for i, outcome in outcomes.items() if outcome == "stored") == [
        f"new{n}" for n in range(4)
    ]
    assert {outcomes[f"new{n}"].split(":")[0] for n in range(4, 10)} == {"cardinality"}
    # The measured attack: 55 reports naming 1,900 targets each (1 MB each here). Past the
    # agent's share at the door they are refused unread, the rest as oversized.
    for n in range(55):
        bench.send(at(wire.now(), f"big{n}", facts=targets(n * 1900, 1900)))
    bench.honest_report_lands()  # a new machine is still stored
    assert len(bench.reader.query('SHOW TAG VALUES FROM "link" WITH KEY = "target"')) == 256
    # Two agents, and the attacker's targets as endpoints it probes (the factory's links are
    # videoconference endpoints): bounded by the same limit.
    assert len(fleet_status(bench.reader)) == 2 + 256
    refused = bench.stopped_refusals()
    assert refused.get("oversized", 0) + refused.get("rate", 0) == 55, refused
    assert refused["cardinality"] == 6


def test_a_ward_name_with_a_bidi_override_is_refused_by_collector_and_agent(
    bench: Bench, tmp_path: Path
) -> None:
    spoofed = "Tân An\u202e5 gnaW"
    bench.send(at(wire.now(), "bidi", site=spoofed))
    reason = bench.outcomes(["bidi"])["bidi"]
    assert reason.startswith("invalid:") and "bidirectional" in reason
    assert bench.count('SELECT count("uptime_s") FROM "host"') == 0
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nsite = "{spoofed}"\n', encoding="utf-8")
    run = subprocess.run(
        [*programs.AGENT, "--config", str(config), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "key agent.site" in run.stderr and "bidirectional" in run.stderr


def test_a_flood_of_refusals_costs_a_log_line_per_reason(bench: Bench) -> None:
    for n in range(3000):
        bench.send(b"{}" if n % 2 else b"not json")
    bench.honest_report_lands()
    refused = bench.stopped_refusals()
    assert sum(refused.values()) == 3000, refused  # past its rate some are not read at all
    log = bench.collector.process.log_path.read_text(encoding="utf-8").splitlines()
    assert len([line for line in log if "refused" in line]) <= len(refused), log
    assert len(log) < 20
