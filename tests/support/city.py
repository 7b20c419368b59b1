"""A city as shipped, for the identity and enrolment tests: the broker ``wardwatch broker init``
wrote, two agents enrolled on it, the real collector on its own login, and a reader."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

from tests.support.broker import CityBroker, Client
from tests.support.factories import report
from tests.support.faults import AgentProcess, CollectorProcess, Stack
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.services import Influxd
from wardwatch.collector.influx.query import QueryClient, quote_string
from wardwatch.contract import wire

AGENT, OTHER = "tan-an-pc07", "ea-tu-pc01"
REPORTS = 100


class City:
    """The broker as written, two enrolled agents, the collector on its own login, a reader."""

    def __init__(self, tmp: Path, influxd: Influxd, database: str) -> None:
        self.stack = Stack(tmp)
        self.influx_url, self.database = influxd.url, database
        self.broker = CityBroker.made(tmp)
        self.broker.start()
        self.passwords = self.broker.enrol(AGENT, OTHER)
        login = self.broker.collector_login()
        self.collector: CollectorProcess = self.stack.collector(
            login["url"],
            influxd.url,
            database,
            login={"username": login["username"], "password": login["password"]},
            client_id=login["client_id"],
        )
        self.collector.start()
        self.reader = QueryClient(InfluxSection(url=influxd.url, database=database))

    def login(self, agent: str) -> dict[str, str]:
        """The agent's ``[mqtt]`` keys, as ``wardwatch agents add`` writes them."""
        return {
            "username": agent,
            "password": self.passwords[agent],
            "ca_file": str(self.broker.layout.ca),
        }

    def agent(self, agent: str = AGENT) -> AgentProcess:
        """A real agent process on the agents' TLS listener (not started)."""
        return self.stack.agent(self.broker.agent_url, agent, login=self.login(agent))

    def client(self, agent: str, client_id: str | None = None) -> Client:
        """A raw login with ``agent``'s password (and, to try a theft, another client id)."""
        return Client(self.broker, agent, self.passwords[agent], client_id=client_id)

    def stored(self, agent: str) -> int:
        """How many reports of ``agent`` are in InfluxDB."""
        rows = self.reader.query(
            f'SELECT count("interval_s") FROM "agent" WHERE "agent" = {quote_string(agent)}'
        )
        return int(rows[0].values["count"]) if rows else 0

    def send_reports(self, sender: Client, agent: str) -> None:
        """``REPORTS`` distinct valid reports of ``agent``, each measured now."""
        for number in range(REPORTS):
            now = wire.now()
            message = msgspec.structs.replace(
                report(f"r{number:04d}", at=now, agent=agent), sent_at=now
            )
            sender.publish(wire.topic(agent, "report"), wire.encode(message))

    def close(self) -> None:
        self.reader.close()
        self.stack.close()
        self.broker.stop()


@contextlib.contextmanager
def city_of(tmp_path: Path, influxd: Influxd, influx_db: str) -> Iterator[City]:
    """A started ``City``, closed at exit (a test module's fixture wraps it)."""
    running = City(tmp_path, influxd, influx_db)
    try:
        yield running
    finally:
        running.close()
