"""Fixtures that start the real services (wardwatch.collector.devstack.services), and the tiers.

Nothing here skips: a missing binary fails the test with the command that installs it.

Every test carries a tier marker (pyproject.toml lists them). Collection fails on a test without
one, or on a ``unit`` test that also carries another tier or asks for a service fixture; and a
``unit`` test that starts a child process fails with the tier to give it instead. So
``make test-fast`` (``-m unit``) needs no root, no service and no program of its own.
"""

from __future__ import annotations

import subprocess
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

TIERS = ("unit", "services", "process", "netns", "wine")
SERVICE_FIXTURES = {"mosquitto", "influxd", "influx_db", "victoria", "reader", "collector"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test without a tier, and a unit test that is more than unit."""
    problems = []
    for item in items:
        tiers = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        services = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if not tiers:
            problems.append(f"{item.nodeid}: no tier: mark it with one of {', '.join(TIERS)}")
        elif "unit" in tiers and (len(tiers) > 1 or services):
            problems.append(
                f"{item.nodeid}: a unit test cannot also be {tiers - {'unit'} or services}"
            )
        elif services and "services" not in tiers:
            problems.append(f"{item.nodeid}: uses {', '.join(sorted(services))}: mark it services")
    if problems:
        raise pytest.UsageError("\n".join(problems))


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit test that starts a child process fails, naming the tier it belongs to."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(
            f"{request.node.nodeid} starts a process ({args[1] if len(args) > 1 else kwargs}): "
            "mark it process (or services), not unit"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


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
