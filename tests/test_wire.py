"""The wire contract: round trips, every refusal with its reason code, the committed schema."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.factories import T0, identity, report
from wardwatch.contract import schema, wire

pytestmark = pytest.mark.unit

labels = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=64).filter(
    lambda s: not s.endswith("\\")
)
agent_ids = labels.filter(lambda s: not set(s) & set("/+#"))


def test_committed_schema_is_current() -> None:
    assert schema.FILE.read_text(encoding="utf-8") == schema.text(), (
        f"{schema.FILE} is stale: run `make schema` and commit it"
    )


def test_schema_describes_every_message() -> None:
    definitions = schema.json_schema()["$defs"]
    assert isinstance(definitions, dict)
    names = set(definitions)
    assert {"Report", "Inventory", "Status", "Ack", "HostFacts"} <= names


@given(
    agent=agent_ids,
    site=labels,
    hostname=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=100),
)
def test_report_round_trips(agent: str, site: str, hostname: str) -> None:
    message = report(agent=agent, site=site)
    message = msgspec.structs.replace(
        message, facts=[msgspec.structs.replace(message.facts[0], hostname=hostname)]
    )
    assert wire.decode(wire.topic(agent, "report"), wire.encode(message)) == message


def test_status_and_ack_round_trip() -> None:
    status = wire.Status(**identity(), state="offline", sent_at=T0)
    assert wire.decode(wire.topic("tan-an-pc07", "status"), wire.encode(status)) == status
    ack = wire.Ack(agent="tan-an-pc07", stored=["a"], rejected=[wire.Rejection(id="b", reason="x")])
    assert wire.decode(wire.topic("tan-an-pc07", "ack"), wire.encode(ack)) == ack


def _code(topic: str, payload: bytes, max_bytes: int = wire.MAX_PAYLOAD_BYTES) -> str:
    with pytest.raises(wire.WireError) as caught:
        wire.decode(topic, payload, max_bytes=max_bytes)
    return caught.value.code


REPORT = report()
GOOD = wire.encode(REPORT)
TOPIC = wire.topic("tan-an-pc07", "report")


@pytest.mark.parametrize(
    ("topic", "payload", "code"),
    [
        (TOPIC, b"\x00\xffnot json", "malformed"),
        (TOPIC, b'{"v": 1, "type": "report"', "malformed"),
        (TOPIC, b"[1, 2, 3]", "invalid"),
        (TOPIC, GOOD.replace(b'"interval_s":60', b'"interval_s":"60"'), "invalid"),
        (TOPIC, GOOD.replace(b'"v":1', b'"v":7'), "version"),
        (TOPIC, GOOD.replace(b'"hostname":"TAN-AN-PC07"', b'"hostname":"a\\nb"'), "invalid"),
        (wire.topic("someone-else", "report"), GOOD, "spoofed"),
        ("wardwatch/v1/tan-an-pc07/weather", GOOD, "topic"),
        ("other/v1/tan-an-pc07/report", GOOD, "topic"),
        (wire.topic("tan-an-pc07", "status"), GOOD, "invalid"),
    ],
)
def test_refusals_have_a_reason_code(topic: str, payload: bytes, code: str) -> None:
    assert _code(topic, payload) == code


def test_oversized_is_refused_before_parsing() -> None:
    assert _code(TOPIC, GOOD, max_bytes=len(GOOD) - 1) == "oversized"
    assert wire.decode(TOPIC, GOOD, max_bytes=len(GOOD)) == REPORT


@pytest.mark.parametrize("bad", ["a\nb", "tab\there", "ends-in\\", ""])
def test_labels_refuse_what_influxdb_cannot_store(bad: str) -> None:
    payload = wire.encode(report(site="x")).replace(
        b'"site":"x"', msgspec.json.encode({"site": bad})[1:-1]
    )
    with pytest.raises(wire.WireError) as caught:
        wire.decode(TOPIC, payload)
    assert caught.value.code == "invalid"
    assert "$.site" in caught.value.detail
    assert "regex" not in caught.value.detail  # explained in words, not as a pattern


def test_one_line_makes_any_text_valid() -> None:
    assert wire.one_line("a\nb\r\x00c", limit=4) == "a b "


def test_subscription_filters() -> None:
    assert wire.subscription("report") == "wardwatch/v1/+/report"
    assert wire.subscription("report", "g") == "$share/g/wardwatch/v1/+/report"
    assert wire.parse_topic(wire.topic("Tân An, pc 7", "inventory")) == (
        "Tân An, pc 7",
        "inventory",
    )
