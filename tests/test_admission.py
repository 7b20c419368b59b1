"""What one valid message may write (ingest.admission), and that no payload can raise past the
decode stage. In-process: the real broker and collector are in tests/test_hostile.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import hostile
from tests.support.factories import host_facts, identity, inventory, link_facts, report
from tests.support.judge import JUDGE
from wardwatch.collector.config import LimitsSection
from wardwatch.collector.ingest.admission import Admission, Recent, StatusMark
from wardwatch.collector.ingest.clock import ClockJudge
from wardwatch.collector.ingest.pipeline import decode_stage
from wardwatch.collector.ingest.points import to_points
from wardwatch.collector.ingest.subscriber import Incoming
from wardwatch.contract import wire

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CONNECTED = NOW - timedelta(hours=1)


def admission(**limits: Any) -> Admission:
    return Admission(LimitsSection(**limits), ClockJudge(max_skew_s=300, max_wait_s=3600))


def refusal(admit: Admission, message: wire.AgentMessage, received_at: datetime = NOW) -> str:
    """The refusal code, or "" when admitted."""
    try:
        admit.check(message, received_at, CONNECTED)
    except wire.WireError as exc:
        return exc.code
    return ""


def at(moment: datetime, name: str = "r1", **overrides: Any) -> wire.Report:
    """A report measured and sent at ``moment``."""
    return msgspec.structs.replace(report(name, at=moment, **overrides), sent_at=moment)


def measured(moment: datetime, name: str = "r1") -> wire.Report:
    """A report measured at ``moment`` but sent now, as a hostile agent may write it."""
    return msgspec.structs.replace(report(name, at=moment), sent_at=NOW)


# --- time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (datetime(1900, 1, 1, tzinfo=UTC), "too old"),
        (datetime(1970, 1, 1, tzinfo=UTC), "too old"),
        (datetime(2200, 1, 1, tzinfo=UTC), "future"),
        (NOW + timedelta(seconds=301), "future"),
        (NOW - timedelta(days=33), "too old"),
        (NOW - timedelta(days=31), ""),  # an outbox replaying a month without a line
        (NOW + timedelta(seconds=299), ""),  # within the clock tolerance: stored at receipt
    ],
)
def test_measurement_times_beyond_the_bounds_are_refused(moment: datetime, code: str) -> None:
    assert refusal(admission(), measured(moment)) == code


def test_a_dead_clock_battery_is_still_corrected_not_refused() -> None:
    # Measured and sent in 1970 by the agent's clock: the whole clock is off, not the message.
    clock = admission().check(at(datetime(1970, 1, 1, tzinfo=UTC)), NOW, CONNECTED).clock
    assert clock.skewed
    assert abs((clock.stamp(datetime(1970, 1, 1, tzinfo=UTC)) - NOW).total_seconds()) < 1


def test_no_point_is_stamped_after_its_receipt() -> None:
    ahead = NOW + timedelta(seconds=120)  # a clock two minutes fast, below the threshold
    message = msgspec.structs.replace(report("r1", at=ahead), sent_at=ahead)
    clock = admission().check(message, NOW, CONNECTED).clock
    points = to_points(message, NOW, judge=JUDGE, clock=clock)
    assert {point.time_ns for point in points} == {int(NOW.timestamp()) * 10**9}


# --- size and cardinality -----------------------------------------------------------------


def links(*targets: str, ports: int = 0) -> list[wire.Fact]:
    checks = [wire.PortCheck(port=1000 + n, open=True) for n in range(ports)]
    return [host_facts(), *(link_facts(target=t, ports=checks) for t in targets)]


def test_links_and_ports_per_report_are_bounded() -> None:
    admit = admission(max_links_per_report=3, max_ports_per_link=2)
    assert refusal(admit, at(NOW, facts=links("a", "b", "c"))) == ""
    assert refusal(admit, at(NOW, facts=links("a", "b", "c", "d"))) == "limits"
    assert refusal(admit, at(NOW, facts=links("a", ports=3))) == "limits"


def test_distinct_targets_per_agent_are_bounded_and_other_agents_unaffected() -> None:
    admit = admission(max_targets_per_agent=4)
    assert refusal(admit, at(NOW, facts=links("a", "b", "c"))) == ""
    assert refusal(admit, at(NOW, facts=links("a", "b", "c", "d"))) == ""  # the same, plus one
    assert refusal(admit, at(NOW, facts=links("e"))) == "cardinality"
    assert refusal(admit, at(NOW, facts=links("a", "d"))) == ""  # known ones go on
    other = at(NOW, facts=links("e", "f"), **identity(agent="ea-tu-pc01"))
    assert refusal(admit, other) == ""


def test_claimed_sites_per_agent_are_bounded() -> None:
    admit = admission(max_tag_sets_per_agent=2)
    assert refusal(admit, at(NOW, site="tan-an")) == ""
    assert refusal(admit, at(NOW, site="ea-tu")) == ""  # moved to another ward
    assert refusal(admit, at(NOW, site="hoa-phu")) == "cardinality"
    assert refusal(admit, at(NOW, site="tan-an")) == ""


def test_recent_values_leave_the_window() -> None:
    now = [0.0]
    recent = Recent(limit=2, window_s=60, clock=lambda: now[0])
    assert recent.excess("a", ["x", "y"]) == 0
    assert recent.excess("a", ["z"]) == 1
    now[0] = 61.0
    assert recent.excess("a", ["z"]) == 0  # x and y were last seen more than 60 s ago


# --- status order ---------------------------------------------------------------------------


def status(state: str, session: int, sent_at: datetime) -> wire.Status:
    return wire.Status(**identity(), state=state, session=session, sent_at=sent_at)  # type: ignore[arg-type]


def test_a_stale_last_will_cannot_override_a_newer_online() -> None:
    admit = admission()
    t = NOW - timedelta(minutes=5)
    assert refusal(admit, status("online", 7, t), received_at=t) == ""
    # The broker publishes connection 7's will late, after connection 8 said online.
    assert refusal(admit, status("online", 8, t + timedelta(seconds=10)), NOW) == ""
    assert refusal(admit, status("offline", 7, t), NOW + timedelta(seconds=1)) == "stale"
    assert refusal(admit, status("offline", 8, t), NOW + timedelta(seconds=2)) == ""


def test_a_status_is_stamped_after_the_previous_one() -> None:
    admit = admission()
    will = status("offline", 3, NOW - timedelta(hours=1))  # stamped at its receipt, NOW
    admit.check(will, NOW, CONNECTED)
    online = status("online", 4, NOW - timedelta(seconds=30))  # sent before the will arrived
    clock = admit.check(online, NOW + timedelta(seconds=1), CONNECTED).clock
    (point,) = to_points(online, NOW + timedelta(seconds=1), judge=JUDGE, clock=clock)
    assert point.time_ns > int(NOW.timestamp() * 10**9)
    assert dict(point.fields)["session"] == 4


def test_unnumbered_statuses_keep_their_arrival_order() -> None:
    admit = admission()  # agents from before sessions send 0: nothing is stale among them
    for state in ("online", "offline", "online"):
        assert refusal(admit, status(state, 0, NOW), NOW) == ""


def test_after_a_restart_the_stored_status_is_recalled() -> None:
    stored = StatusMark(session=9, offline=False, at=NOW - timedelta(minutes=1))
    admit = Admission(LimitsSection(), ClockJudge(300, 3600), recall=lambda agent: stored)
    assert refusal(admit, status("offline", 8, NOW), NOW) == "stale"
    assert refusal(admit, status("offline", 9, NOW), NOW) == ""


# --- nothing raises past the decode stage ---------------------------------------------------


def incoming(payload: bytes, kind: str = "report") -> Incoming:
    return Incoming(f"wardwatch/v1/tan-an-pc07/{kind}", payload, 1, 1, NOW, 1, CONNECTED)


@pytest.mark.parametrize("payload", hostile.CORPUS.values(), ids=hostile.CORPUS.keys())
@pytest.mark.parametrize("kind", ["report", "inventory", "status"])
def test_hostile_payloads_are_refused_with_a_code(payload: bytes, kind: str) -> None:
    entry, code = decode_stage(incoming(payload, kind), 256 * 1024, admission(), JUDGE)
    assert code in {"malformed", "invalid", "oversized", "version"}
    assert entry.rejection and not entry.lines


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: msgspec.json.encode(v)),
        st.dictionaries(
            st.sampled_from(["type", "agent", "site", "id", "measured_at", "facts", "v"]),
            json_values,
        ).map(lambda v: msgspec.json.encode({**v, "agent": "tan-an-pc07"})),
    ),
    st.sampled_from(["report", "inventory", "status", "ack"]),
)
def test_no_payload_raises_past_the_decode_stage(payload: bytes, kind: str) -> None:
    entry, code = decode_stage(incoming(payload, kind), 256 * 1024, admission(), JUDGE)
    assert bool(code) == bool(entry.rejection)


def test_a_bug_found_by_a_message_refuses_it_as_internal() -> None:
    def broken(*args: object) -> Any:
        raise ZeroDivisionError("a lifecycle rule divided by zero")

    message = msgspec.structs.replace(inventory("inv9", at=NOW), sent_at=NOW)
    entry, code = decode_stage(
        incoming(wire.encode(message), "inventory"), 2**18, admission(), broken
    )
    assert code == "internal"
    assert entry.message_id == "inv9"  # so the agent hears why, and stops resending it
    assert entry.rejection == "internal: ZeroDivisionError: a lifecycle rule divided by zero"


def test_a_report_sent_on_a_newer_connection_proves_the_agent_online() -> None:
    admit = admission()
    admit.check(
        status("offline", 7, NOW - timedelta(minutes=1)), NOW - timedelta(minutes=1), CONNECTED
    )
    # Connection 8's "online" was lost (no collector subscribed yet); its first report says it.
    sent = msgspec.structs.replace(at(NOW, "r8"), session=8)
    admitted = admit.check(sent, NOW, CONNECTED)
    assert admitted.implied is not None
    implied, implied_clock = admitted.implied
    assert (implied.state, implied.session) == ("online", 8)
    (point,) = to_points(implied, NOW, judge=JUDGE, clock=implied_clock)
    assert point.time_ns > int((NOW - timedelta(minutes=1)).timestamp() * 10**9)
    # Once known online, the next reports of that connection imply nothing more; nor do
    # reports of the connection a will closed, nor unnumbered ones.
    assert (
        admit.check(msgspec.structs.replace(at(NOW, "r9"), session=8), NOW, CONNECTED).implied
        is None
    )
    admit.check(status("offline", 8, NOW), NOW, CONNECTED)
    late = msgspec.structs.replace(at(NOW, "r10"), session=8)
    assert admit.check(late, NOW, CONNECTED).implied is None
    assert admit.check(at(NOW, "r11"), NOW, CONNECTED).implied is None


def test_the_stored_status_is_read_once_per_agent_not_per_message() -> None:
    asked: list[str] = []

    def recall(agent: str) -> StatusMark | None:
        asked.append(agent)
        return None  # this agent never had a status stored

    admit = Admission(LimitsSection(), ClockJudge(300, 3600), recall=recall)
    for n in range(50):
        admit.check(msgspec.structs.replace(at(NOW, f"r{n}"), session=3), NOW, CONNECTED)
    assert asked == ["tan-an-pc07"]
