"""The InfluxQL behind every figure of the inspection report. Each statement aggregates in
InfluxDB (counts, means, the latest point per series) so the report never pulls raw points: a
city's month is tens of millions of them. Each is kept with its key and purpose, so the report
can show where each figure comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wardwatch.collector.influx.lineproto import time_ns
from wardwatch.collector.influx.query import QueryClient, Row, quote_ident, quote_string
from wardwatch.collector.inspection.model import LINK_KINDS, Query
from wardwatch.contract.catalogue import AGENT_TAGS, HARDWARE, OS

CITY_DAY_OFFSET = "-7h"
"""The city's days (UTC+7) as InfluxQL's GROUP BY time(1d) offset: they start at 17:00 UTC."""
_MACHINE_KEYS = ("machines", "os", "reports", "first_report", "last_report")
SOURCES: dict[str, tuple[str, ...]] = {
    "summary": (*_MACHINE_KEYS, "days", "bad_hours"),
    "machines": _MACHINE_KEYS,
    "plan": ("machines", "os"),
    "links": ("links", "links_not_good", "links_bad", "worst_means", "days", "bad_hours"),
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


_VC_KINDS = '"kind" =~ /^(' + "|".join(LINK_KINDS) + ")$/"


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

    def reports(self) -> tuple[list[Row], list[Row], list[Row]]:
        """Per machine: reports received and the mean interval; the first and the last report
        of the period (their times)."""
        where = self.scope.where()
        counted = self.run(
            "reports",
            "reports each machine sent in the period, and its reporting interval",
            'SELECT count("interval_s") AS "reports", mean("interval_s") AS "interval_s" '
            f'FROM "agent" {where} GROUP BY "agent"',
        )
        first = self.run(
            "first_report",
            "each machine's first report in the period",
            f'SELECT first("interval_s") FROM "agent" {where} GROUP BY "agent"',
        )
        last = self.run(
            "last_report",
            "each machine's last report in the period",
            f'SELECT last("interval_s") FROM "agent" {where} GROUP BY "agent"',
        )
        return counted, first, last

    def _rounds(self, key: str, purpose: str, select: str, group: str, *where: str) -> list[Row]:
        return self.run(
            key, purpose, f'{select} FROM "link" {self.scope.where(_VC_KINDS, *where)} {group}'
        )

    def daily(self) -> list[Row]:
        """Per city day, ward and kind: rounds and the sum of their ranks (good 0, degraded 1,
        bad 2: with the bad rounds, the sum gives the degraded ones). Days start at 00:00 in
        the city (UTC+7, no daylight saving): 17:00 UTC."""
        return self._rounds(
            "days",
            "rounds per city day, ward and target kind, with the sum of their ranks",
            'SELECT count("rank") AS "rounds", sum("rank") AS "ranks"',
            f'GROUP BY time(1d, {CITY_DAY_OFFSET}), "site", "kind" fill(none)',
        )

    def bad_hourly(self) -> list[Row]:
        """Per hour, ward and kind: the bad rounds (hours without one are not returned)."""
        return self._rounds(
            "bad_hours",
            "bad rounds per hour, ward and target kind",
            'SELECT count("rank") AS "bad"',
            'GROUP BY time(1h), "site", "kind" fill(none)',
            '"rank" = 2',
        )

    def per_link(self) -> tuple[list[Row], list[Row], list[Row]]:
        """Per link (ward, agent, target, kind): its rounds, those not good, the bad ones."""
        group = f"GROUP BY {_fields(LINK_TAGS_BY_LINK)}"
        counted = 'SELECT count("rank") AS "rounds"'
        return (
            self._rounds("links", "rounds per link", counted, group),
            self._rounds(
                "links_not_good", "rounds not good per link", counted, group, '"rank" > 0'
            ),
            self._rounds("links_bad", "bad rounds per link", counted, group, '"rank" = 2'),
        )

    def link_means(self, links: list[tuple[str, str]]) -> list[Row]:
        """The mean loss, RTT and jitter of the given links (agent, target) only: averaging
        every link's figures costs several passes over the rounds, these few cost little."""
        if not links:
            return []
        chosen = " OR ".join(
            f'("agent" = {quote_string(agent)} AND "target" = {quote_string(target)})'
            for agent, target in links
        )
        return self._rounds(
            "worst_means",
            "mean loss, round trip and jitter of the worst links",
            'SELECT mean("loss_pct") AS "loss_pct", mean("rtt_avg_ms") AS "rtt_avg_ms", '
            'mean("jitter_ms") AS "jitter_ms"',
            f"GROUP BY {_fields(LINK_TAGS_BY_LINK)}",
            f"({chosen})",
        )
