"""Hourly rollups of the rounds and reports the inspection report reads, kept in InfluxDB.

A city's month of one-minute reports is half a billion raw points; InfluxDB 1.6 on two cores
aggregates them in minutes, not under the minute the report must take. So the report reads
hourly sums instead, which ``refresh`` computes from the raw points with ``SELECT ... INTO``:

- ``link_1h``, per link (ward, agent, target, kind) and hour: rounds, the sum of their ranks,
  the bad ones, and the sums and counts of loss, RTT and jitter (means are kept as sums so the
  period's means weigh each hour by its rounds);
- ``link_site_1h``, per ward, kind and hour: rounds, ranks, bad (from ``link_1h``);
- ``agent_1h``, per machine and hour: reports and the sum of their intervals.

Only the videoconference kinds (hub, mcu, internet) are rolled up. An hour is recomputed whole
from the raw points, so a refresh is idempotent: a report that arrives late (an agent's outbox
after days offline) only needs its hour refreshed again, and two collectors refreshing the same
hour write the same points. The collector refreshes the hours its writes touched
(``Refresher``); ``wardwatch rollup`` computes a past period once (after an upgrade)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient, QueryError
from wardwatch.collector.inspection.model import LINK_KINDS

log = logging.getLogger("wardwatch.rollup")

HOUR = timedelta(hours=1)
AT_START_HOURS = 24
ROLLED = ("link", "agent")
"""The measurements whose points make an hour's rollups stale."""
_ROLLED_LINES = tuple(f"{name}," for name in ROLLED)
_NS_PER_HOUR = 3_600_000_000_000
_VC_KINDS = '"kind" =~ /^(' + "|".join(LINK_KINDS) + ")$/"
_LINK = '"site", "agent", "target", "kind"'


def hour_of(moment: datetime) -> datetime:
    """The hour ``moment`` falls in (UTC)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def statements(start: datetime, end: datetime) -> list[str]:
    """The ``SELECT ... INTO`` statements that recompute the rollups of [start, end), whole
    hours; the site rollup last, as it sums the link rollup."""
    span = f"time >= {time_ns(start)} AND time < {time_ns(end)}"
    return [
        'SELECT count("rank") AS "rounds", sum("rank") AS "ranks", '
        'sum("loss_pct") AS "loss_sum", count("loss_pct") AS "loss_n", '
        'sum("rtt_avg_ms") AS "rtt_sum", count("rtt_avg_ms") AS "rtt_n", '
        'sum("jitter_ms") AS "jitter_sum", count("jitter_ms") AS "jitter_n" '
        f'INTO "link_1h" FROM "link" WHERE {span} AND {_VC_KINDS} GROUP BY time(1h), {_LINK}',
        f'SELECT count("rank") AS "bad" INTO "link_1h" FROM "link" '
        f'WHERE {span} AND {_VC_KINDS} AND "rank" = 2 GROUP BY time(1h), {_LINK}',
        'SELECT sum("rounds") AS "rounds", sum("ranks") AS "ranks", sum("bad") AS "bad" '
        f'INTO "link_site_1h" FROM "link_1h" WHERE {span} GROUP BY time(1h), "site", "kind"',
        'SELECT count("interval_s") AS "reports", sum("interval_s") AS "interval_sum" '
        f'INTO "agent_1h" FROM "agent" WHERE {span} GROUP BY time(1h), "agent", "site"',
    ]


def refresh(client: QueryClient, hours: Iterable[datetime]) -> int:
    """Recompute the rollups of ``hours`` (runs of consecutive hours in one statement each);
    the number of hours refreshed."""
    ordered = sorted({hour_of(h) for h in hours})
    runs: list[tuple[datetime, datetime]] = []
    for hour in ordered:
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + HOUR)
        else:
            runs.append((hour, hour + HOUR))
    for start, end in runs:
        for statement in statements(start, end):
            client.execute(statement)
    return len(ordered)


def refresh_period(
    client: QueryClient, start: datetime, end: datetime, progress: Callable[[str], None]
) -> int:
    """Recompute every hour of [start, end) a day at a time, saying each day to ``progress``;
    the number of hours."""
    hour, last = hour_of(start), hour_of(end) + HOUR
    done = 0
    while hour < last:
        until = min(hour + timedelta(days=1), last)
        progress(f"rollups of {hour:%Y-%m-%d %H:00} to {until:%Y-%m-%d %H:00} UTC")
        done += refresh(client, (hour + HOUR * i for i in range((until - hour) // HOUR)))
        hour = until
    return done


def touched_hours(lines: Iterable[str]) -> set[datetime]:
    """The hours of the rolled-up measurements' points among line-protocol ``lines`` (their
    timestamp is the line's last field, in nanoseconds)."""
    # On the ingest path, for every batch: hours as integers, a datetime only per distinct one.
    hours = {
        int(line.rsplit(" ", 1)[1]) // _NS_PER_HOUR
        for line in lines
        if line.startswith(_ROLLED_LINES)
    }
    return {datetime.fromtimestamp(hour * 3600, UTC) for hour in hours}


class Refresher:
    """The hours the collector's writes touched, refreshed every ``every_s`` in a thread of
    its own, so that ingest never waits on a rollup. A refresh that fails (InfluxDB away) keeps
    its hours for the next round."""

    def __init__(self, client: QueryClient, every_s: float, stop: threading.Event) -> None:
        self.client = client
        self.every_s = every_s
        self.stop = stop
        self._hours: set[datetime] = set()
        self._lock = threading.Lock()
        self.refreshed = 0

    def touched(self, lines: Iterable[str]) -> None:
        """Note the hours of written ``lines``."""
        hours = touched_hours(lines)
        if hours:
            with self._lock:
                self._hours |= hours

    def once(self) -> None:
        """Refresh the hours noted so far."""
        with self._lock:
            hours, self._hours = self._hours, set()
        if not hours:
            return
        try:
            self.refreshed += refresh(self.client, hours)
        except QueryError as exc:
            log.warning("rollups of %d hour(s) not refreshed, retried later: %s", len(hours), exc)
            with self._lock:
                self._hours |= hours

    def run(self) -> None:
        """Refresh until stopped. The last ``AT_START_HOURS`` hours are refreshed first: a
        collector stopped between a write and its refresh left them stale (and it redoes what
        it did not ack: the broker redelivers it, and it is noted again)."""
        latest = hour_of(datetime.now(UTC))
        with self._lock:
            self._hours |= {latest - HOUR * i for i in range(AT_START_HOURS)}
        self.once()
        while not self.stop.wait(self.every_s):
            self.once()
