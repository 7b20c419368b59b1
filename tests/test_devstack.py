"""The local services really start, answer, run side by side, restart and stop by PID."""

from __future__ import annotations

import queue
import socket
import urllib.request
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
import pytest
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from paho.mqtt.enums import CallbackAPIVersion

from wardwatch.collector.devstack.process import BinaryMissingError, ServiceError
from wardwatch.collector.devstack.services import (
    Influxd,
    LocalService,
    Mosquitto,
    PortInUseError,
    VictoriaMetrics,
    free_port,
    port_is_free,
)

TOPIC = "wardwatch/test/retained"


def _client() -> mqtt.Client:
    return mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)


def _publish_retained(broker: Mosquitto, payload: bytes) -> None:
    """Publish a retained QoS 1 message and wait for the broker's PUBACK."""
    client = _client()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(TOPIC, payload, qos=1, retain=True).wait_for_publish(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()


def _retained(broker: Mosquitto, timeout_s: float = 3.0) -> bytes | None:
    """The retained message on TOPIC, or None if none arrives within ``timeout_s``."""
    received: queue.Queue[bytes] = queue.Queue()
    client = _client()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        c.subscribe(TOPIC, qos=1)

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        received.put(bytes(message.payload))

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        return received.get(timeout=timeout_s)
    except queue.Empty:
        return None
    finally:
        client.disconnect()
        client.loop_stop()


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid)


@pytest.mark.services
def test_mosquitto_answers_and_stops_by_pid(mosquitto: Mosquitto) -> None:
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    _publish_retained(mosquitto, b"hello")
    assert _retained(mosquitto) == b"hello"

    pid = mosquitto.pid
    assert pid is not None
    assert mosquitto.stop() == 0
    assert _gone(pid)
    assert port_is_free(mosquitto.port)


@pytest.mark.process
@pytest.mark.services
def test_two_brokers_run_side_by_side(tmp_path: Path) -> None:
    with (
        Mosquitto(tmp_path / "a", free_port()) as a,
        Mosquitto(tmp_path / "b", free_port()) as b,
    ):
        assert a.running and b.running
        assert a.pid != b.pid
        _publish_retained(a, b"only on a")
        assert _retained(a) == b"only on a"
        assert _retained(b, timeout_s=1.0) is None


@pytest.mark.services
def test_broker_restart_keeps_port_and_persisted_data(mosquitto: Mosquitto) -> None:
    # Under pytest's 0700 tmp dir this fails if mosquitto dropped root for its own user.
    _publish_retained(mosquitto, b"survives")
    port, pid = mosquitto.port, mosquitto.pid
    assert pid is not None

    mosquitto.restart()

    assert _gone(pid)
    assert mosquitto.pid != pid
    assert mosquitto.port == port
    assert mosquitto.url == f"mqtt://127.0.0.1:{port}"
    assert _retained(mosquitto) == b"survives"
    assert "Permission denied" not in mosquitto.log_path.read_text()


@pytest.mark.services
def test_kill_leaves_no_process_and_the_broker_starts_again(mosquitto: Mosquitto) -> None:
    pid = mosquitto.pid
    assert pid is not None
    assert mosquitto.kill() == -9
    assert _gone(pid)
    assert not mosquitto.running

    mosquitto.start()
    _publish_retained(mosquitto, b"back")
    assert _retained(mosquitto) == b"back"


@pytest.mark.services
def test_influxd_stores_and_answers_queries(influxd: Influxd, influx_db: str) -> None:
    influxd.write(influx_db, "uptime,agent_id=pc-1 up_s=42i 1700000000000000000")
    rows = influxd.query("SELECT up_s FROM uptime", database=influx_db)
    assert [row.values for row in rows] == [{"time": 1700000000000000000, "up_s": 42}]


@pytest.mark.process
@pytest.mark.services
def test_second_influxd_beside_the_session_one_restarts_with_its_data(
    influxd: Influxd, tmp_path: Path
) -> None:
    with Influxd(tmp_path / "influxd", free_port()) as second:
        assert second.rpc_port != influxd.rpc_port
        assert influxd.running and second.running
        second.query('CREATE DATABASE "kept"')
        second.write("kept", "m v=1i 1700000000000000000")
        port, rpc_port, pid = second.port, second.rpc_port, second.pid
        assert pid is not None

        second.restart()

        assert _gone(pid)
        assert (second.port, second.rpc_port) == (port, rpc_port)
        rows = second.query("SELECT v FROM m", database="kept")
        assert [row.values for row in rows] == [{"time": 1700000000000000000, "v": 1}]
    assert _gone(second.pid or 0)
    assert influxd.running


@pytest.mark.services
def test_victoria_accepts_influx_v2_writes_and_names_series_measurement_field(
    victoria: VictoriaMetrics,
) -> None:
    with InfluxDBClient(url=victoria.url, token="unused", org="unused") as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket="wardwatch",
            record="vmtest,agent_id=pc-1 up_s=42i,online=true 1700000000000000000",
        )
    series = {s["metric"]["__name__"]: s for s in victoria.export('{__name__=~"vmtest_.*"}')}
    assert set(series) == {"vmtest_up_s", "vmtest_online"}
    assert series["vmtest_up_s"]["metric"]["agent_id"] == "pc-1"
    assert series["vmtest_up_s"]["values"] == [42]
    assert series["vmtest_up_s"]["timestamps"] == [1700000000000]
    assert series["vmtest_online"]["values"] == [1]


@pytest.mark.process
@pytest.mark.services
def test_two_victorias_run_side_by_side(victoria: VictoriaMetrics, tmp_path: Path) -> None:
    with VictoriaMetrics(tmp_path / "vm", free_port()) as second:
        for server in (victoria, second):
            with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
                assert response.status == 200
    assert _gone(second.pid or 0)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("make", "install"),
    [
        (lambda d, b: Mosquitto(d, free_port(), binary=b), "apt-get install -y mosquitto influxdb"),
        (lambda d, b: Influxd(d, free_port(), binary=b), "apt-get install -y mosquitto influxdb"),
        (
            lambda d, b: VictoriaMetrics(d, free_port(), binary=b),
            "apt-get install -y victoria-metrics",
        ),
    ],
    ids=["mosquitto", "influxd", "victoria-metrics"],
)
def test_missing_binary_names_the_install_command(make: Any, install: str, tmp_path: Path) -> None:
    service: LocalService = make(tmp_path / "svc", str(tmp_path / "no-such-binary"))
    with pytest.raises(BinaryMissingError, match=install):
        service.start()


@pytest.mark.process
@pytest.mark.services
def test_start_failure_reports_the_log_tail(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "bad", free_port(), extra_conf="no_such_option 1")
    with pytest.raises(ServiceError, match='Unknown configuration variable "no_such_option"'):
        broker.start()
    assert not broker.running


@pytest.mark.process
@pytest.mark.services
def test_busy_port_is_refused_before_starting(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = Mosquitto(tmp_path / "busy", port)
        with pytest.raises(PortInUseError) as caught:
            broker.start()
    assert caught.value.port == port
    assert broker.pid is None
