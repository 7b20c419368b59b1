"""Fixtures that start the real services (wardwatch.collector.devstack.services) for the tests.

Nothing here skips: a missing binary fails the test with the command that installs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.helpers import collector_config, running_collector
from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack.process import ServiceError
from wardwatch.collector.devstack.services import (
    Influxd,
    LocalService,
    Mosquitto,
    VictoriaMetrics,
    free_port,
)
from wardwatch.collector.influx.query import QueryClient
from wardwatch.collector.ingest.pipeline import Collector

S = TypeVar("S", bound=LocalService)


def _running(service: S) -> Iterator[S]:
    """Start ``service`` for a fixture, stop it by PID after; fail cleanly if it cannot start."""
    try:
        service.start()
    except ServiceError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh Mosquitto broker for this test, with persistence, on a free port."""
    yield from _running(Mosquitto(tmp_path / "mosquitto", free_port()))


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """One InfluxDB 1.x for the session; tests isolate themselves with ``influx_db``.

    A test that stops or kills InfluxDB must start its own ``Influxd`` instead.
    """
    yield from _running(Influxd(tmp_path_factory.mktemp("influxd"), free_port()))


@pytest.fixture
def influx_db(influxd: Influxd) -> Iterator[str]:
    """The name of a fresh, empty database in the session's InfluxDB, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxd.query(f'CREATE DATABASE "{name}"')
    yield name
    influxd.query(f'DROP DATABASE "{name}"')


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics for the session: a server that accepts InfluxDB's v2 write API."""
    yield from _running(VictoriaMetrics(tmp_path_factory.mktemp("victoria"), free_port()))


@pytest.fixture
def reader(influxd: Influxd, influx_db: str) -> Iterator[QueryClient]:
    """InfluxQL access to the test's database, with the collector's own query client."""
    client = QueryClient(InfluxSection(url=influxd.url, database=influx_db))
    yield client
    client.close()


@pytest.fixture
def collector(mosquitto: Mosquitto, influxd: Influxd, influx_db: str) -> Iterator[Collector]:
    """A collector with default settings, in a thread of the test process, already subscribed."""
    with running_collector(collector_config(mosquitto.url, influxd.url, influx_db)) as running:
        yield running
