"""No false "offline": a stale last will or a late ``offline`` never overrides a newer
``online`` of the same agent, across repeated restarts of the real broker.

Before, 7 broker restarts left 8 of 14 connected agents "offline" in InfluxDB (and in the
"Machine offline" alert): the broker published an old connection's will after the agent's next
``online``, and the collector stamped it later. Each status now carries its connection number
(``session``); the collector refuses an older one and stamps each status after the last.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.faults import START_S, Stack, reader_for, wait_for
from wardwatch.collector.cli.status import fleet_status
from wardwatch.collector.devstack.services import Influxd, Mosquitto
from wardwatch.collector.influx.query import QueryClient

pytestmark = [pytest.mark.process, pytest.mark.services]

AGENTS = 8
RESTARTS = 7


def test_broker_restarts_leave_no_connected_agent_offline(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    stack = Stack(tmp_path)
    reader = reader_for(influxd.url, influx_db)
    try:
        collector = stack.collector(mosquitto.url, influxd.url, influx_db)
        collector.start()
        agents = [stack.agent(mosquitto.url, agent_id=f"pc{n:02d}") for n in range(AGENTS)]
        for agent in agents:
            agent.start()
        for connections in range(1, RESTARTS + 2):
            wait_for(
                lambda n=connections: all(a.connections() >= n for a in agents),  # type: ignore[misc]
                START_S,
                f"every agent connected {connections} time(s)",
                lambda: "\n".join(f"{a.agent_id}: {a.connections()}" for a in agents),
            )
            if connections <= RESTARTS:
                mosquitto.restart()
        # Each agent reports every second: wait until every one has reported since, so any
        # will the broker had left to publish has been published and judged.
        ids = [a.agent_id for a in agents]
        wait_for(
            lambda: _all_reporting(reader, ids),
            START_S,
            "every agent reporting after the restarts",
            lambda: str(_last_states(reader)),
        )
        assert _last_states(reader) == dict.fromkeys(ids, "online")
        collector.stop()
        summary = collector.process.log_tail(3)
        stale = re.search(r"stale=(\d+)", summary)
        print(f"stale statuses refused over {RESTARTS} restarts: {stale[1] if stale else 0}")
    finally:
        reader.close()
        stack.close()


def _last_states(reader: QueryClient) -> dict[str, str]:
    rows = reader.query('SELECT last("state") AS "state" FROM "status" GROUP BY "agent"')
    return {row.tags["agent"]: row.values["state"] for row in rows}


def _all_reporting(reader: QueryClient, ids: list[str]) -> bool:
    fleet = {s.agent: s for s in fleet_status(reader)}
    return all(agent in fleet and fleet[agent].why == "reporting" for agent in ids)
