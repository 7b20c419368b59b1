"""The fault tests' audit: wait until an agent's outbox is drained, then compare what it
committed with what InfluxDB holds, exactly (no report missing, none twice, nothing unexplained)."""

from __future__ import annotations

from collections.abc import Iterable

from tests.support.faults import AGENT_ID, DRAIN_S, AgentProcess, Message, describe, wait_for
from wardwatch.collector.influx.query import QueryClient, quote_ident, quote_string


def drain(agent: AgentProcess, also: Iterable[str] = ()) -> None:
    """Wait until every message committed so far (and ``also``) has left the agent's outbox."""
    target = {m.id for m in agent.committed()} | set(also)
    wait_for(
        lambda: not target & agent.held_ids(),
        DRAIN_S,
        f"the agent's outbox to let go of the {len(target)} messages committed so far",
        lambda: (
            "still unacked:\n"
            + describe(m for m in agent.held() if m.id in target)
            + f"\n--- agent log ---\n{agent.process.log_tail()}"
        ),
    )


def drain_and_stop(agent: AgentProcess, also: Iterable[str] = ()) -> tuple[list[Message], set[str]]:
    """``drain``, then SIGTERM the agent.

    Returns every message the agent committed (over all its runs) and the ids still held in its
    outbox after it stopped: messages committed after the drain, whose ack had not come yet.
    """
    drained = {m.id for m in agent.committed()} | set(also)
    drain(agent, drained)
    agent.stop()
    held = agent.held_ids()
    assert not held & drained, f"acked messages came back to the outbox: {held & drained}"
    return agent.committed(), held


def point_times(reader: QueryClient, measurement: str, field: str) -> list[int]:
    """The time (ns) of every point of the test agent in ``measurement``, with repeats."""
    rows = reader.query(
        f"SELECT {quote_ident(field)} FROM {quote_ident(measurement)} "
        f'WHERE "agent" = {quote_string(AGENT_ID)}'
    )
    return [int(row.values["time"]) for row in rows]


def count_points(reader: QueryClient, measurement: str, field: str) -> int:
    """``SELECT COUNT(field)`` over the test agent's points in ``measurement``."""
    rows = reader.query(
        f"SELECT COUNT({quote_ident(field)}) FROM {quote_ident(measurement)} "
        f'WHERE "agent" = {quote_string(AGENT_ID)}'
    )
    return int(rows[0].values["count"]) if rows else 0


# Each measurement, a field every point of it has, and the message kinds whose points it holds
# (every report carries the machine's facts, so it is judged as an inventory is).
POINTS = (
    ("host", "uptime_s", ("report",)),
    ("agent", "interval_s", ("report",)),
    ("os", "support", ("report", "inventory")),
    ("hardware", "lifecycle", ("report", "inventory")),
)


def audit(reader: QueryClient, committed: list[Message]) -> list[Message]:
    """Compare InfluxDB with what the agent committed; return the committed messages it lacks.

    Fails at once when InfluxDB holds a point no committed message explains, when one message
    yielded several points (COUNT above the number of distinct messages stored), or when the
    measurements of one message disagree (a report in ``host`` but not in ``agent``).
    """
    stored_in: dict[str, set[Message]] = {}
    for measurement, field, kinds in POINTS:
        mine = [m for m in committed if m.kind in kinds]
        by_time = {m.at_ns: m for m in mine}
        times = point_times(reader, measurement, field)
        extra = sorted(set(times) - set(by_time))
        assert not extra, (
            f"{len(extra)} point(s) in {measurement!r} match no committed {' or '.join(kinds)}: "
            f"{extra[:20]} (ns); committed:\n{describe(mine)}"
        )
        count = count_points(reader, measurement, field)
        stored_in[measurement] = {by_time[t] for t in times}
        assert count == len(stored_in[measurement]) == len(times), (
            f"COUNT({field}) in {measurement!r} is {count} for {len(stored_in[measurement])} "
            "distinct committed messages: a duplicate point"
        )
    missing: list[Message] = []
    for message in committed:
        where = [name for name, _, kinds in POINTS if message.kind in kinds]
        present = [name for name in where if message in stored_in[name]]
        assert present in ([], where), (
            f"{message.kind} {message.id} is in {present} but not in all of {where}"
        )
        if not present:
            missing.append(message)
    return missing


def assert_all_stored(reader: QueryClient, committed: list[Message], held: set[str]) -> None:
    """Every committed message is in InfluxDB exactly once, except those still held."""
    reports = [m for m in committed if m.kind == "report"]
    assert len(reports) >= 5, f"too few reports to prove anything: {len(reports)}"
    missing = [m for m in audit(reader, committed) if m.id not in held]
    assert not missing, (
        f"{len(missing)} of {len(committed)} committed messages are missing from InfluxDB:\n"
        f"{describe(missing)}"
    )
