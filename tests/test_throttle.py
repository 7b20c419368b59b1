"""Rate-limited warnings (wardwatch.common.throttle): a flood costs a line a minute."""

from __future__ import annotations

import logging

import pytest

from wardwatch.common.throttle import Throttle

pytestmark = pytest.mark.unit


def test_one_line_per_key_per_interval_with_the_count_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = Throttle(logging.getLogger("test.throttle"), every_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "test.throttle"):
        written = [throttle.warning("invalid", "refused %d", n) for n in range(1000)]
        assert throttle.warning("malformed", "another reason")  # each key has its own budget
        now[0] = 61.0
        assert throttle.warning("invalid", "refused %d", 1000)
    assert written.count(True) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "refused 0",
        "another reason",
        "refused 1000 (and 999 more like it in the last 61 s)",
    ]
