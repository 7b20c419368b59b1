"""Admission: what one valid message may write, decided before it becomes points.

The schema says what a message may look like; admission says what one agent may do with it.
Every agent is untrusted (an infected ward PC holds a login), so beyond the schema:

- **time**: a measurement further in the future than the clock tolerance, or older than the
  outbox can keep a message (``[limits] max_age_days``), is refused; the rest is stamped no
  later than its receipt (``ClockCheck.ceiling``);
- **size and cardinality**: links per report, ports per link, distinct link targets and
  distinct (site, role, device class) per agent within a window: each a new InfluxDB series,
  whose number InfluxDB 1.x caps per database (100,000 values per tag by default), beyond
  which it refuses every new machine's points;
- **status order**: a status of an older connection (``Status.session``) than the newest
  known is refused, and an accepted one is stamped after the agent's previous status, so a
  stale last will can never leave a connected agent "offline".

A refusal is a ``WireError`` with a countable code, as the decoder's are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wardwatch.collector.config import LimitsSection
from wardwatch.collector.influx.http_client import InfluxUnreachable
from wardwatch.collector.influx.query import QueryClient, QueryError, quote_string
from wardwatch.collector.ingest.clock import ClockCheck, ClockJudge
from wardwatch.collector.ingest.lru import Lru
from wardwatch.collector.ingest.points import online, status_time
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.collector")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MAX_AGENTS = 100_000
"""Agents whose recent values and last status are remembered; the least recently heard are
forgotten first (agents are bounded by the broker's logins; this bounds memory regardless)."""


@dataclass(frozen=True, slots=True)
class StatusMark:
    """An agent's latest accepted status: its order, and the time of its point."""

    session: int
    offline: bool
    at: datetime

    @property
    def order(self) -> tuple[int, bool]:
        """Sessions grow; within one, ``offline`` follows ``online``."""
        return (self.session, self.offline)


@dataclass(frozen=True, slots=True)
class Admitted:
    """How to stamp an admitted message's points, and the status it implies, if any: a report
    sent on a connection newer than the agent's last stored status proves it online (Mosquitto
    2.0.11 drops an ``online`` published before a restarted broker has the collectors'
    shared subscriptions back; the report, held in the outbox until acked, gets through)."""

    clock: ClockCheck
    implied: tuple[wire.Status, ClockCheck] | None = None
    """The implied ``online``, and how to stamp it."""


Recall = Callable[[str], StatusMark | None]
"""Looks up an agent's latest stored status (in InfluxDB) when this collector has not seen
one since it started; None when there is none or it cannot be read."""


class Recent:
    """Per agent, the distinct values seen within ``window_s``, at most ``limit`` of them."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._seen: Lru[str, dict[str, float]] = Lru(MAX_AGENTS)

    def excess(self, agent: str, values: Iterable[str]) -> int:
        """How many values beyond the limit accepting ``values`` would make; 0 if none, and
        then they are recorded."""
        values = set(values)
        now = self._clock()
        seen = self._seen.get(agent, {})
        if len(seen) >= self.limit:  # forget what left the window before counting
            seen = {value: at for value, at in seen.items() if now - at <= self.window_s}
        fresh = values - seen.keys()
        excess = len(seen) + len(fresh) - self.limit
        if excess <= 0:
            seen.update(dict.fromkeys(values, now))
        self._seen.put(agent, seen)
        return max(0, excess)


class Admission:
    """The collector's admission rules, and the per-agent memory they need."""

    def __init__(self, limits: LimitsSection, clocks: ClockJudge, recall: Recall | None = None):
        self.limits = limits
        self.clocks = clocks
        self.recall = recall
        self.targets = Recent(limits.max_targets_per_agent, limits.window_s)
        self.tag_sets = Recent(limits.max_tag_sets_per_agent, limits.window_s)
        # None: looked up, and none stored; absent: not looked up since this collector started.
        self._statuses: Lru[str, StatusMark | None] = Lru(MAX_AGENTS)

    def check(
        self, message: wire.AgentMessage, received_at: datetime, connected_at: datetime
    ) -> Admitted:
        """Admit ``message`` or raise WireError; say how to stamp its points."""
        clock = self.clocks.check(message.sent_at, received_at, connected_at)
        if isinstance(message, wire.Report | wire.Inventory):
            self._check_time(message.measured_at + clock.correction, received_at)
        links = (
            [fact for fact in message.facts if isinstance(fact, wire.LinkFacts)]
            if isinstance(message, wire.Report)
            else []
        )
        self._check_size(links)
        tag_set = "\x00".join((message.site, message.role, message.device_class))
        if self.tag_sets.excess(message.agent, [tag_set]):
            raise wire.WireError(
                "cardinality",
                f"more than {self.limits.max_tag_sets_per_agent} (site, role, device class) "
                f"from one agent within {self.limits.window_s:g} s ([limits] "
                "max_tag_sets_per_agent)",
            )
        if isinstance(message, wire.Report):
            excess = self.targets.excess(message.agent, [link.target for link in links])
            if excess:
                raise wire.WireError(
                    "cardinality",
                    f"{excess} link target(s) beyond {self.limits.max_targets_per_agent} "
                    f"distinct ones within {self.limits.window_s:g} s ([limits] "
                    "max_targets_per_agent)",
                )
        if isinstance(message, wire.Status):
            return Admitted(self._order_status(message, clock, received_at))
        return self._implied_online(message, clock, received_at)

    def _implied_online(
        self, message: wire.Report | wire.Inventory, clock: ClockCheck, received_at: datetime
    ) -> Admitted:
        previous = self._latest(message.agent) if message.session else None
        if previous is None or (message.session, False) <= previous.order:
            return Admitted(clock)
        implied = online(message, message.sent_at, message.session)
        return Admitted(clock, (implied, self._order_status(implied, clock, received_at)))

    def _check_time(self, measured_at: datetime, received_at: datetime) -> None:
        ahead = (measured_at - received_at).total_seconds()
        if ahead > self.clocks.max_skew_s:
            raise wire.WireError(
                "future",
                f"measured {ahead:.0f} s after it was received, beyond the clock tolerance "
                f"({self.clocks.max_skew_s:g} s, [clock] max_skew_s)",
            )
        age = received_at - measured_at
        if age > timedelta(days=self.limits.max_age_days):
            raise wire.WireError(
                "too old",
                f"measured {age.days} days ago, beyond {self.limits.max_age_days:g} "
                "([limits] max_age_days)",
            )

    def _check_size(self, links: list[wire.LinkFacts]) -> None:
        if len(links) > self.limits.max_links_per_report:
            raise wire.WireError(
                "limits",
                f"{len(links)} links in one report, beyond {self.limits.max_links_per_report} "
                "([limits] max_links_per_report)",
            )
        for link in links:
            if len(link.ports) > self.limits.max_ports_per_link:
                raise wire.WireError(
                    "limits",
                    f"{len(link.ports)} ports on link {link.target!r}, beyond "
                    f"{self.limits.max_ports_per_link} ([limits] max_ports_per_link)",
                )

    def _order_status(
        self, status: wire.Status, clock: ClockCheck, received_at: datetime
    ) -> ClockCheck:
        """Refuse a status older than the agent's latest; stamp an accepted one after it.

        Session 0 is an agent that does not number its connections (before sessions existed):
        its statuses are taken in the order they come, as they always were.
        """
        previous = self._latest(status.agent)
        offline = status.state == "offline"
        if previous is not None:
            if status.session and (status.session, offline) < previous.order:
                raise wire.WireError(
                    "stale",
                    f"{status.state} of connection {status.session}, older than the "
                    f"{'offline' if previous.offline else 'online'} of connection "
                    f"{previous.session} already stored",
                )
            clock = clock.after(previous.at)
        at = status_time(status, received_at, clock)
        self._statuses.put(status.agent, StatusMark(status.session, offline, at))
        return clock

    def _latest(self, agent: str) -> StatusMark | None:
        """The agent's latest status: remembered, else read back once (a query per agent and
        collector run, not per message)."""
        if agent in self._statuses:
            return self._statuses[agent]
        mark = self.recall(agent) if self.recall is not None else None
        self._statuses.put(agent, mark)
        return mark


def stored_status(client: QueryClient) -> Recall:
    """A ``Recall`` that reads an agent's latest status point from InfluxDB: after a restart,
    a stale last will still cannot override the ``online`` the previous run stored."""

    def recall(agent: str) -> StatusMark | None:
        try:
            rows = client.query(
                'SELECT "state", "session" FROM "status" '
                f'WHERE "agent" = {quote_string(agent)} ORDER BY time DESC LIMIT 1'
            )
        except (QueryError, InfluxUnreachable) as exc:
            log.warning("cannot read the last status of %s: %s", agent, exc)
            return None
        if not rows:
            return None
        values = rows[0].values
        at = EPOCH + timedelta(microseconds=int(values["time"]) // 1000)
        return StatusMark(int(values.get("session") or 0), values.get("state") == "offline", at)

    return recall
