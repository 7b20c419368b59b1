"""The one place for link-quality thresholds: ``good`` / ``degraded`` / ``bad`` from RTT,
jitter and loss. The agent's ``probe`` command and the collector grade with the same function;
each config may override the limits per target kind (``[thresholds.<kind>]``).

Defaults, for a videoconference path (round-trip figures; docs/facts.md has the sources):

- good: RTT <= 300 ms, jitter <= 30 ms, loss < 1 % — ITU-T G.114 (150 ms one way), Cisco's
  interactive-video QoS guidance (<= 30 ms jitter, <= 1 % loss);
- degraded: RTT <= 800 ms, jitter <= 50 ms, loss <= 5 % — Polycom RMX "major" band (1–5 %
  loss), ITU-T Y.1541 classes 0/1 (50 ms jitter);
- bad: beyond any of those — G.114's 400 ms one way, Polycom's "critical" (> 5 % loss).

A round with no reply at all is ``bad`` (100 % loss).
"""

from __future__ import annotations

from typing import Final, Literal, Protocol

from msgspec import Meta, Struct

from wardwatch.common.compat import Annotated

State = Literal["good", "degraded", "bad"]
RANK: Final[dict[State, int]] = {"good": 0, "degraded": 1, "bad": 2}
"""Sort key, worst highest."""

Ms = Annotated[float, Meta(ge=0)]
Pct = Annotated[float, Meta(ge=0, le=100)]


class Thresholds(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[thresholds.<kind>]``: the limits of ``good`` and of ``degraded``."""

    good_rtt_ms: Ms = 300.0
    good_jitter_ms: Ms = 30.0
    good_loss_pct: Pct = 1.0
    """Loss must stay *below* this to be good."""
    degraded_rtt_ms: Ms = 800.0
    degraded_jitter_ms: Ms = 50.0
    degraded_loss_pct: Pct = 5.0
    """Loss up to and including this is degraded; above, bad."""


DEFAULT: Final = Thresholds()


class Figures(Protocol):
    """What grading reads: a round's stats (``netstats.RoundStats``) or a ``wire.LinkFacts``."""

    @property
    def received(self) -> int: ...
    @property
    def rtt_avg_ms(self) -> float | None: ...
    @property
    def jitter_ms(self) -> float | None: ...
    @property
    def loss_pct(self) -> float: ...


def grade(stats: Figures, limits: Thresholds = DEFAULT) -> State:
    """The state of a round under ``limits``."""
    if stats.received == 0 or stats.rtt_avg_ms is None:
        return "bad"
    rtt = stats.rtt_avg_ms
    jitter = stats.jitter_ms or 0.0
    if (
        rtt <= limits.good_rtt_ms
        and jitter <= limits.good_jitter_ms
        and stats.loss_pct < limits.good_loss_pct
    ):
        return "good"
    if (
        rtt <= limits.degraded_rtt_ms
        and jitter <= limits.degraded_jitter_ms
        and stats.loss_pct <= limits.degraded_loss_pct
    ):
        return "degraded"
    return "bad"
