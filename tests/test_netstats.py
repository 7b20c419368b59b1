"""A probe round's figures: exact on a worked example, consistent on any samples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardwatch.agent.probes.links.netstats import RoundStats, summarize

pytestmark = pytest.mark.unit


def test_worked_example_with_a_loss_in_the_middle() -> None:
    # 10 sent, 2 lost; replies 20, 22, 30, 26, 24, 20, 21, 25 ms in sending order.
    rtts = [20.0, 22.0, None, 30.0, 26.0, 24.0, None, 20.0, 21.0, 25.0]
    got = summarize(rtts)
    # Differences of consecutive replies: 2, 8, 4, 2, 4, 1, 4 -> mean 25 / 7.
    assert got == RoundStats(
        sent=10,
        received=8,
        loss_pct=20.0,
        rtt_min_ms=20.0,
        rtt_avg_ms=23.5,
        rtt_median_ms=23.0,
        rtt_max_ms=30.0,
        jitter_ms=round(25 / 7, 3),
    )


@pytest.mark.parametrize(
    ("rtts", "expected"),
    [
        ([], RoundStats(sent=0, received=0, loss_pct=0.0)),
        ([None, None], RoundStats(sent=2, received=0, loss_pct=100.0)),
        (
            [None, 5.0],
            RoundStats(
                sent=2,
                received=1,
                loss_pct=50.0,
                rtt_min_ms=5.0,
                rtt_avg_ms=5.0,
                rtt_median_ms=5.0,
                rtt_max_ms=5.0,
            ),
        ),
    ],
)
def test_edges(rtts: list[float | None], expected: RoundStats) -> None:
    assert summarize(rtts) == expected


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), st.floats(min_value=0.001, max_value=10_000)), max_size=60))
def test_figures_are_consistent(rtts: list[float | None]) -> None:
    got = summarize(rtts)
    replies = [r for r in rtts if r is not None]
    assert (got.sent, got.received) == (len(rtts), len(replies))
    if rtts:
        assert got.loss_pct == pytest.approx(100 * (len(rtts) - len(replies)) / len(rtts), abs=1e-3)
    if not replies:
        assert got.rtt_min_ms is got.rtt_max_ms is got.jitter_ms is None
        return
    assert got.rtt_min_ms is not None and got.rtt_max_ms is not None
    assert got.rtt_avg_ms is not None and got.rtt_median_ms is not None
    slack = 2e-3  # each figure is rounded to the microsecond on its own
    assert got.rtt_min_ms - slack <= got.rtt_median_ms <= got.rtt_max_ms + slack
    assert got.rtt_min_ms - slack <= got.rtt_avg_ms <= got.rtt_max_ms + slack
    if len(replies) < 2:
        assert got.jitter_ms is None
    else:
        assert got.jitter_ms is not None
        assert 0 <= got.jitter_ms <= got.rtt_max_ms - got.rtt_min_ms + slack
