"""The broker's rules and the files of enrolment, in-process: each role's grants, the password
hashes Mosquitto checks, the CSV a ward sends, the config an agent receives, the enrolment
notice on the wire and in InfluxDB."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wardwatch.agent import config as agent_config
from wardwatch.collector.broker import dynsec
from wardwatch.collector.broker.enrol import EnrolError, Enrolled
from wardwatch.collector.broker.enrol import agent_config as written
from wardwatch.collector.broker.setup import BrokerState
from wardwatch.collector.cli.agents import read_csv
from wardwatch.collector.cli.status import AgentStatus, render_table
from wardwatch.collector.influx.lineproto import encode
from wardwatch.collector.ingest.points import enrolment_point
from wardwatch.contract import wire

pytestmark = pytest.mark.unit


def test_an_agent_is_granted_its_own_topics_literally_and_nothing_else() -> None:
    grants = {(acl["acltype"], acl["topic"]) for acl in dynsec.agent_acls("tan-an-pc07")}
    assert grants == {
        ("publishClientSend", "wardwatch/v1/tan-an-pc07/report"),
        ("publishClientSend", "wardwatch/v1/tan-an-pc07/inventory"),
        ("publishClientSend", "wardwatch/v1/tan-an-pc07/status"),
        ("subscribeLiteral", "wardwatch/v1/tan-an-pc07/ack"),
        ("publishClientReceive", "wardwatch/v1/tan-an-pc07/ack"),
    }


def test_only_collectors_may_join_the_shared_group_and_deny_is_the_default() -> None:
    config = dynsec.initial_config("admin-pw", ["c1-pw", "c2-pw"])
    roles = {role["rolename"]: role["acls"] for role in config["roles"]}
    shared = {
        acl["topic"]
        for acls in roles.values()
        for acl in acls
        if acl["acltype"] == "subscribeLiteral" and acl["topic"].startswith("$share/")
    }
    assert shared == {f"$share/wardwatch/wardwatch/v1/+/{k}" for k in wire.COLLECTED_KINDS}
    assert all(acl["topic"] not in shared for acl in roles[dynsec.ADMIN_ROLE]), (
        "the admin must not join the collectors' group"
    )
    assert set(config["defaultACLAccess"].values()) == {False, True}
    assert config["defaultACLAccess"]["subscribe"] is False
    names = [(c["username"], c["clientid"]) for c in config["clients"]]
    assert names == [
        (n, n) for n in ("wardwatch-admin", "wardwatch-collector-1", "wardwatch-collector-2")
    ]


def test_passwords_are_stored_as_mosquitto_checks_them() -> None:
    """PBKDF2-SHA512 over the salt's bytes, 101 rounds, as `mosquitto_ctrl dynsec init` writes."""
    stored = dynsec.hashed("s3cret")
    salt = base64.b64decode(stored["salt"])
    expected = hashlib.pbkdf2_hmac("sha512", b"s3cret", salt, stored["iterations"])
    assert base64.b64decode(stored["password"]) == expected
    assert len(salt) == 12 and stored["iterations"] == 101
    assert dynsec.hashed("s3cret")["salt"] != stored["salt"]


def test_the_config_an_agent_receives_is_one_it_loads(tmp_path: Path) -> None:
    state = BrokerState(
        hostname="broker.example",
        agent_url="mqtts://broker.example:8883",
        admin_url="mqtt://127.0.0.1:1883",
        admin_username="wardwatch-admin",
        admin_password="x",
        ca_file="/etc/wardwatch/broker/ca.crt",
    )
    agent = Enrolled('pc "07" \u00e9', "phường-1", "office-pc", "laptop", disabled=False)
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "agent.toml"
    path.write_text(written(state, agent, 'pa"ss\\word'))
    loaded = agent_config.load(path)
    assert (loaded.agent.id, loaded.agent.site, loaded.agent.device_class) == (
        agent.agent,
        agent.site,
        "laptop",
    )
    assert (loaded.mqtt.url, loaded.mqtt.username, loaded.mqtt.password) == (
        "mqtts://broker.example:8883",
        agent.agent,
        'pa"ss\\word',
    )
    assert loaded.mqtt.ca_file == str(tmp_path / "ca.crt")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("id,site\npc1,\n", ":2: every row needs an id and a site"),
        ("id,site\nwardwatch-admin,w1\n", ":2: id 'wardwatch-admin': ids starting with"),
        ("id,site\npc/1,w1\n", ":2: id 'pc/1': Expected an id without"),
        # Shown escaped: a right-to-left override would reverse the message around it.
        ("id,site,role\npc1,w1,a\u202eb\n", ":2: role 'a\\u202eb': Expected text without"),
    ],
)
def test_a_bad_csv_row_is_named_by_its_line(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "ward.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EnrolError) as caught:
        read_csv(path)
    assert str(caught.value).startswith(f"{path}{error}")


def test_an_enrolment_notice_travels_and_is_stored_at_its_receipt() -> None:
    at = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    notice = wire.Enrolment(id="e1", agent="tan-an-pc07", state="disabled", sent_at=at)
    topic = wire.topic("tan-an-pc07", "enrolment")
    assert wire.decode(topic, wire.encode(notice)) == notice
    with pytest.raises(wire.WireError) as spoof:
        wire.decode(wire.topic("other", "enrolment"), wire.encode(notice))
    assert spoof.value.code == "spoofed"
    received = datetime(2026, 11, 29, 8, 0, 2, tzinfo=UTC)
    line = encode(enrolment_point(notice, received))
    assert (
        line == f'enrolment,agent=tan-an-pc07 state="disabled" {int(received.timestamp())}000000000'
    )


def test_status_shows_a_disabled_agent_as_such() -> None:
    now = 1_800_000_000 * 10**9
    fleet = [
        AgentStatus("tan-an", "pc1", "office-pc", now, False, "disabled", None),
        AgentStatus("tan-an", "pc2", "office-pc", now, False, "silent", None),
    ]
    lines = render_table(fleet, now).splitlines()
    assert "DISABLED" in lines[1] and "OFFLINE (silent)" in lines[2]
