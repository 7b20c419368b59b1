"""When each simulated agent reports next: one heap for the whole fleet.

Each machine has a ``phase`` (0..1) that spreads the fleet's reports over the interval, as real
agents started at different moments are. Missed slots are skipped, as ``Agent.run_forever``
skips them after a suspend, instead of reporting in a burst.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class Schedule:
    """Report times by member index; ``interval_s`` may change while running (0: at once)."""

    def __init__(self, interval_s: float) -> None:
        if interval_s < 0:
            raise ValueError("interval_s must be >= 0")
        self._interval_s = interval_s
        self._respread = False
        self._heap: list[tuple[float, int]] = []  # (next report, member index)

    @property
    def interval_s(self) -> float:
        """Seconds between two reports of one member."""
        return self._interval_s

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("interval_s must be >= 0")
        self._interval_s = value
        self._respread = True

    def add(self, index: int, phase: float, now: float) -> None:
        """Schedule member ``index``'s first report within one interval from ``now``."""
        heapq.heappush(self._heap, (now + phase * self._interval_s, index))

    def respread(self, phases: Iterable[tuple[int, float]], now: float) -> None:
        """After ``interval_s`` changed: every member reports within one new interval."""
        if not self._respread:
            return
        self._respread = False
        self._heap = [(now + phase * self._interval_s, index) for index, phase in phases]
        heapq.heapify(self._heap)

    def next_at(self) -> float | None:
        """When the next report is due; None with no member."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> tuple[float, int] | None:
        """The earliest (time, member index) due at ``now``, taken off the schedule; None
        when no report is due. Put it back with ``reschedule`` or ``later``."""
        if not self._heap or self._heap[0][0] > now:
            return None
        return heapq.heappop(self._heap)

    def reschedule(self, index: int, due: float, now: float) -> None:
        """Member ``index`` reported for its slot ``due``: its next slot, one interval on,
        skipping the slots already missed."""
        interval = self._interval_s
        heapq.heappush(self._heap, (max(due + interval, now + interval / 2), index))

    def later(self, index: int, now: float, delay_s: float) -> None:
        """Member ``index`` could not report yet: try again ``delay_s`` from ``now``."""
        heapq.heappush(self._heap, (now + delay_s, index))
