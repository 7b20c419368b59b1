"""Clock skew: agents' clocks judged against the collector's, and their timestamps corrected.

Old ward PCs often have a dead clock battery. Every message carries the agent's ``sent_at``,
renewed at each publish; the collector compares it with the moment it received the message.
The difference is the agent's clock error plus the time the message spent on the way. Usually
the way takes milliseconds, but a broker holds messages for a collector that is away (up to its
session expiry), so a large *positive* difference is ambiguous right after the collector
(re)connects. It is trusted only when it cannot be such a wait: the agent's clock is ahead
(negative), the collector has been connected for longer than the threshold, or the difference
exceeds any possible wait. A message replayed from an outbox has a fresh ``sent_at``, so its
old ``measured_at`` is never taken for skew.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

NO_CORRECTION = timedelta(0)


@dataclass(frozen=True, slots=True)
class ClockCheck:
    """What one message says about its agent's clock, and the bounds of its points' times.

    ``ceiling`` is when the message was received: no point is stamped later, so an agent's
    clock a little ahead (within the threshold, uncorrected) never writes a future point.
    ``floor`` is set for a status: just after the agent's previous status, so that the latest
    status point is always the latest status (see ``ingest.admission``).
    """

    skew_s: float  # received_at - sent_at: positive when the agent's clock is behind
    skewed: bool  # beyond the threshold and not explained by a wait at the broker
    ceiling: datetime | None = None
    floor: datetime | None = None

    @property
    def correction(self) -> timedelta:
        """What to add to the agent's timestamps: the skew in whole seconds, when skewed.

        Whole seconds, so that the same message received twice, a few milliseconds apart in
        delay, almost always yields the same corrected timestamp and overwrites itself. Only a
        skew within those milliseconds of a half second can round both ways and leave a second
        point; an estimate measured by the collector cannot be fully deterministic.
        """
        return timedelta(seconds=round(self.skew_s)) if self.skewed else NO_CORRECTION

    def stamp(self, agent_time: datetime) -> datetime:
        """The time of a point for ``agent_time``: corrected, then kept within the bounds."""
        return self.bound(agent_time + self.correction)

    def bound(self, at: datetime) -> datetime:
        """``at`` (a time of the collector's clock) kept within the bounds."""
        if self.ceiling is not None:
            at = min(at, self.ceiling)
        if self.floor is not None:
            at = max(at, self.floor)
        return at

    def after(self, moment: datetime) -> ClockCheck:
        """This check, with points stamped after ``moment``."""
        return replace(self, floor=moment + timedelta(microseconds=1))


UNKNOWN = ClockCheck(0.0, False)
"""For a message with no ``sent_at`` to judge."""


@dataclass(frozen=True)
class ClockJudge:
    """The collector's rule; ``max_skew_s`` is the threshold, ``max_wait_s`` the broker's
    session expiry (the longest a message can wait for a collector)."""

    max_skew_s: float
    max_wait_s: float

    def check(self, sent_at: datetime, received_at: datetime, connected_at: datetime) -> ClockCheck:
        """Judge one message received at ``received_at`` on a session begun at ``connected_at``."""
        skew = (received_at - sent_at).total_seconds()
        if abs(skew) <= self.max_skew_s:
            return ClockCheck(skew, False, ceiling=received_at)
        settled = (received_at - connected_at).total_seconds() > self.max_skew_s
        trusted = skew < 0 or settled or skew > self.max_wait_s
        return ClockCheck(skew, trusted, ceiling=received_at)
