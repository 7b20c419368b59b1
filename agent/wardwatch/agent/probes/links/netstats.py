"""One probe round's figures, Smokeping-style: min / avg / median / max RTT, jitter and loss.

Pure functions of the round's samples, shared by every probe method (ICMP, TCP connect, DNS,
HTTP) so that a figure means the same whatever measured it.

Jitter is the mean absolute difference of consecutive round-trip times (RFC 3550's
"interarrival jitter" without its 1/16 smoothing, which suits a short round better), taken over
the replies in the order they were sent; a lost packet does not break the chain, the two
replies around it are consecutive.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Optional

from msgspec import Struct


class RoundStats(Struct, frozen=True, kw_only=True):
    """The figures of one round; RTT figures are None when nothing came back."""

    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: Optional[float] = None
    rtt_avg_ms: Optional[float] = None
    rtt_median_ms: Optional[float] = None
    rtt_max_ms: Optional[float] = None
    jitter_ms: Optional[float] = None
    """None with fewer than two replies: one sample has no variation to speak of."""


def summarize(rtts_ms: Sequence[float | None]) -> RoundStats:
    """The figures of a round whose samples, in sending order, are ``rtts_ms`` (None = lost).

    Rounded to the microsecond: finer digits are noise of the clock, not of the line.
    """
    sent = len(rtts_ms)
    got = [rtt for rtt in rtts_ms if rtt is not None]
    if sent == 0:
        return RoundStats(sent=0, received=0, loss_pct=0.0)
    loss = round(100.0 * (sent - len(got)) / sent, 3)
    if not got:
        return RoundStats(sent=sent, received=0, loss_pct=loss)
    # Consecutive pairs: zip with itself shifted by one (itertools.pairwise is 3.10).
    jitter = (
        round(sum(abs(b - a) for a, b in zip(got, got[1:])) / (len(got) - 1), 3)
        if len(got) > 1
        else None
    )
    return RoundStats(
        sent=sent,
        received=len(got),
        loss_pct=loss,
        rtt_min_ms=round(min(got), 3),
        rtt_avg_ms=round(statistics.fmean(got), 3),
        rtt_median_ms=round(statistics.median(got), 3),
        rtt_max_ms=round(max(got), 3),
        jitter_ms=jitter,
    )
