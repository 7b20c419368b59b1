"""The schedule of a round's requests: ``count`` slots ``gap_s`` apart from the first."""

from __future__ import annotations

import time
from collections.abc import Iterator


def slots(count: int, gap_s: float) -> Iterator[int]:
    """Yield 0 .. count-1, each at its slot; a request that overran its slot makes the next one
    go at once (a slow reply delays the schedule, it never bunches requests)."""
    start = time.monotonic()
    for index in range(count):
        pause = start + index * gap_s - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        yield index
