"""TLS for the agents, and errors that say what failed, against brokers ``wardwatch broker init``
wrote: a good CA connects; an unknown CA, a name the certificate is not for, an expired
certificate, plaintext MQTT on the TLS port and a refused login each get their own words."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import programs
from tests.support.broker import HOSTNAME, CityBroker
from wardwatch.collector.broker import pki
from wardwatch.common.mqtt import BrokerAddress, Connection, handshake_problem

pytestmark = [pytest.mark.process, pytest.mark.services]

AGENT = "tan-an-pc07"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityBroker]:
    with CityBroker.made(tmp_path_factory.mktemp("tls")) as running:
        running.enrol(AGENT)
        yield running


def connection(broker: CityBroker, url: str, password: str, ca_file: str) -> Connection:
    """An agent's connection, started; the caller stops it."""
    conn = Connection(
        url=url,
        client_id=AGENT,
        username=AGENT,
        password=password,
        ca_file=ca_file,
        keepalive_s=30,
        session_expiry_s=0,
    )
    conn.start()
    return conn


def problem(url: str, ca_file: str) -> str:
    """What the agent says stops it reaching ``url``."""
    return handshake_problem(BrokerAddress(url), ca_file)


def test_a_good_ca_connects_and_a_refused_login_says_not_authorized(broker: CityBroker) -> None:
    with broker.admin() as control:
        control.run(
            {"command": "setClientPassword", "username": AGENT, "password": "right-password"}
        )
    good = connection(broker, broker.agent_url, "right-password", str(broker.layout.ca))
    assert good.wait_connected(10), good.last_error
    good.stop()
    wrong = connection(broker, broker.agent_url, "wrong-password", str(broker.layout.ca))
    try:
        assert not wrong.wait_connected(3)
        assert "not authorized" in wrong.last_error
        assert "Protocol error" not in wrong.last_error
    finally:
        wrong.stop()


def test_an_unknown_ca_a_wrong_name_and_plaintext_are_named(
    broker: CityBroker, tmp_path: Path
) -> None:
    stranger = tmp_path / "other-ca.crt"
    stranger.write_bytes(pki.make_ca("someone else").cert_pem)
    assert "unknown CA" in problem(broker.agent_url, str(stranger))
    assert "[mqtt] ca_file" in problem(broker.agent_url, str(stranger))
    by_address = f"mqtts://127.0.0.1:{broker.agent_port}"  # the certificate is for localhost
    assert "not made for '127.0.0.1'" in problem(by_address, str(broker.layout.ca))
    plaintext = f"mqtt://{HOSTNAME}:{broker.agent_port}"
    assert "a TLS port? then use mqtts://" in problem(plaintext, "")
    assert problem(broker.agent_url, str(broker.layout.ca)).startswith("TCP and TLS work")


def test_an_expired_certificate_is_named_by_the_agent(tmp_path: Path) -> None:
    """The city's own certificate (``broker init --cert --key --ca``), expired: the agent's
    ``--once`` says so, and that the machine's clock may be wrong instead."""
    ca = pki.make_ca("city CA")
    expired = pki.make_server(ca, [HOSTNAME], days=-1)
    files = {"cert": expired.cert_pem, "key": expired.key_pem, "ca": ca.cert_pem}
    for name, pem in files.items():
        (tmp_path / f"{name}.pem").write_bytes(pem)
    given = [arg for name in files for arg in (f"--{name}", str(tmp_path / f"{name}.pem"))]
    with CityBroker.made(tmp_path / "city", *given) as broker:
        password = broker.enrol(AGENT)[AGENT]
        assert "has expired" in problem(broker.agent_url, str(broker.layout.ca))
        config = tmp_path / "agent.toml"
        config.write_text(
            f'[agent]\nid = "{AGENT}"\n'
            f'[mqtt]\nurl = "{broker.agent_url}"\npassword = "{password}"\nca_file = "ca.pem"\n'
            f'[outbox]\npath = "{tmp_path / "outbox.sqlite3"}"\n'
        )
        once = subprocess.run(
            [*programs.AGENT, "--config", str(config), "--once", "--deadline", "5"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert once.returncode != 0
    assert "the broker's TLS certificate has expired" in once.stderr
    assert "set this machine's clock if it is wrong" in once.stderr
    assert password not in once.stderr + once.stdout
