"""The InfluxQL behind every figure of the inspection report. The machines' verdicts are each
series' latest point; the reports, rounds and links are read from the hourly rollups
(``rollup``), never from the raw points (a city's month is half a billion of them). Each
statement is kept with its key and purpose, so the report can show where each figure comes
from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import (
    QueryClient,
    QueryError,
    Row,
    quote_ident,
    quote_string,
)
from wardwatch.collector.inspection import rollup
from wardwatch.collector.inspection.model import Query
from wardwatch.contract.catalogue import AGENT_TAGS, HARDWARE, OS

CITY_DAY_OFFSET = "-7h"
"""The city's days (UTC+7) as InfluxQL's GROUP BY time(1d) offset: they start at 17:00 UTC."""
_MACHINE_KEYS = ("machines", "os", "first_hour", "reports")
SOURCES: dict[str, tuple[str, ...]] = {
    "summary": (*_MACHINE_KEYS, "days", "bad_hours"),
    "machines": _MACHINE_KEYS,
    "plan": ("machines", "os"),
    "links": ("links", "days", "bad_hours"),
    "charts": ("machines", "days", "bad_hours"),
}
"""The keys of the statements each section of the report rests on (``Reader.run``'s keys):
the workbook and the web page name them under each section's title."""
OS_FIELDS = ("support", "rank", "name", "version", "release", "eol_date")
LINK_TAGS_BY_LINK = ("site", "agent", "target", "kind")


@dataclass(frozen=True)
class Scope:
    """What the report reads: a period, and one ward or all ("")."""

    start: datetime
    end: datetime
    site: str = ""

    def where(self, *more: str) -> str:
        """The WHERE clause: the period, the ward, and ``more`` conditions."""
        conditions = [f"time >= {time_ns(self.start)}", f"time <= {time_ns(self.end)}"]
        if self.site:
            conditions.append(f'"site" = {quote_string(self.site)}')
        return "WHERE " + " AND ".join([*conditions, *more])


def _fields(names: tuple[str, ...]) -> str:
    return ", ".join(quote_ident(name) for name in names)


_ANY_BAD = '"bad" > 0'


class Reader:
    """Runs the report's statements, keeping each as a ``Query`` and telling ``progress``."""

    def __init__(self, client: QueryClient, scope: Scope, progress: Callable[[str], None]):
        self.client = client
        self.scope = scope
        self.progress = progress
        self.queries: list[Query] = []

    def run(self, key: str, purpose: str, influxql: str) -> list[Row]:
        """One statement's rows; the statement is recorded under ``key``."""
        self.progress(purpose)
        self.queries.append(Query(key=key, purpose=purpose, influxql=influxql))
        return self.client.query(influxql)

    def sites(self) -> list[str]:
        """Every ward that ever sent a hardware verdict (to name the known ones on a typo)."""
        rows = self.client.query('SHOW TAG VALUES FROM "hardware" WITH KEY = "site"')
        return sorted(str(row.values.get("value", "")) for row in rows)

    def machines(self) -> list[Row]:
        """Each machine's latest hardware verdict in the period (its time: last seen)."""
        s = self.scope
        return self.run(
            "machines",
            "each machine's latest hardware verdict in the period",
            f"SELECT {_fields(HARDWARE.listed)} FROM {quote_ident(HARDWARE.name)} {s.where()} "
            f"GROUP BY {_fields(AGENT_TAGS)} ORDER BY time DESC LIMIT 1",
        )

    def systems(self) -> list[Row]:
        """Each machine's latest OS support verdict in the period."""
        return self.run(
            "os",
            "each machine's latest operating system verdict in the period",
            f"SELECT {_fields(OS_FIELDS)} FROM {quote_ident(OS.name)} {self.scope.where()} "
            'GROUP BY "agent" ORDER BY time DESC LIMIT 1',
        )

    def update_rollups(self) -> None:
        """Bring the period's rollups up to date. The first hour of the period that holds
        reports is counted in the raw points and in the rollup: if they differ, the
        database's rollups are missing or started after its points (written before this
        version, or without a collector) and the period is rolled up from that hour, once. The
        last two hours always are (the collector refreshes them every minute; the report wants
        them to the minute). A refresh refused (a reader without write rights) leaves the
        rollups as they are, and says so."""
        site = f' AND "site" = {quote_string(self.scope.site)}' if self.scope.site else ""
        # A selector without GROUP BY reads each series' first block, not its points.
        earliest = self.client.query(
            f'SELECT first("interval_s") FROM "agent" {self.scope.where()}'
        )
        spans = [(rollup.hour_of(self.scope.end) - rollup.HOUR, self.scope.end)]
        if earliest:
            first = rollup.hour_of(earliest[0].moment())
            span = f"time >= {time_ns(first)} AND time < {time_ns(first + rollup.HOUR)}{site}"
            raw = self.client.query(f'SELECT count("interval_s") FROM "agent" WHERE {span}')
            rolled = self.client.query(f'SELECT sum("reports") FROM "agent_1h" WHERE {span}')
            if (raw[0].values.get("count") if raw else None) != (
                rolled[0].values.get("sum") if rolled else None
            ):
                spans = [(first, self.scope.end)]
        try:
            for start, end in spans:
                rollup.refresh_period(self.client, start, end, self.progress)
        except QueryError as exc:
            self.progress(f"rollups not refreshed ({exc}): the figures are as last rolled up")

    def first_hours(self) -> list[Row]:
        """Each machine's first hour with reports in the period, and its reports then."""
        return self.run(
            "first_hour",
            "each machine's first hour with reports in the period",
            f'SELECT first("reports") AS "reports" FROM "agent_1h" {self.scope.where()} '
            'GROUP BY "agent"',
        )

    def reports(self) -> list[Row]:
        """Per machine: reports received in the period and their mean interval."""
        return self.run(
            "reports",
            "reports each machine sent in the period, and its reporting interval",
            'SELECT sum("reports") AS "reports", sum("interval_sum") / sum("reports") AS '
            f'"interval_s" FROM "agent_1h" {self.scope.where()} GROUP BY "agent"',
        )

    def daily(self) -> list[Row]:
        """Per city day, ward and kind: rounds, the sum of their ranks (good 0, degraded 1,
        bad 2) and the bad ones. Days start at 00:00 in the city (UTC+7, no daylight saving):
        17:00 UTC."""
        return self.run(
            "days",
            "rounds per city day, ward and target kind, the sum of their ranks, the bad ones",
            'SELECT sum("rounds") AS "rounds", sum("ranks") AS "ranks", sum("bad") AS "bad" '
            f'FROM "link_site_1h" {self.scope.where()} '
            f'GROUP BY time(1d, {CITY_DAY_OFFSET}), "site", "kind" fill(none)',
        )

    def bad_hours(self) -> list[Row]:
        """The hours with a bad round, per ward and kind (each a row with its time)."""
        return self.run(
            "bad_hours",
            "the hours with a bad round, per ward and target kind",
            f'SELECT "bad" FROM "link_site_1h" {self.scope.where(_ANY_BAD)} '
            'GROUP BY "site", "kind"',
        )

    def per_link(self) -> list[Row]:
        """Per link (ward, agent, target, kind): rounds, the sum of their ranks, the bad ones,
        and the mean loss, RTT and jitter (each hour weighed by its rounds)."""
        return self.run(
            "links",
            "rounds per link, the sum of their ranks, the bad ones, mean loss, RTT and jitter",
            'SELECT sum("rounds") AS "rounds", sum("ranks") AS "ranks", sum("bad") AS "bad", '
            'sum("loss_sum") / sum("loss_n") AS "loss_pct", '
            'sum("rtt_sum") / sum("rtt_n") AS "rtt_avg_ms", '
            'sum("jitter_sum") / sum("jitter_n") AS "jitter_ms" '
            f'FROM "link_1h" {self.scope.where()} GROUP BY {_fields(LINK_TAGS_BY_LINK)}',
        )
