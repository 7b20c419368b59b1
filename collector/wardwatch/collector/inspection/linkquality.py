"""Videoconference link quality for the inspection report, from ``queries.Reader``'s counts:
the worst links, each ward's (and the city's) share of good, degraded and bad rounds per target
kind with the hours that had a bad one, and the heat map's days.

Counted with the statements InfluxDB 1.6 answers fastest (measured on 4.3 million rounds: a
count 0.5-1.4 s, a count of the bad rounds per hour 1.1 s, against 5.6 s for any aggregate per
hour of every round and 6.1 s for the means of every link)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from wardwatch.collector.influx.query import Row
from wardwatch.collector.inspection.model import (
    CITY_ZONE,
    LINK_KINDS,
    HeatCell,
    LinkKind,
    LinkShare,
    WorstLink,
)
from wardwatch.collector.inspection.queries import Reader, Scope

WORST_LINKS = 15
"""How many of the worst links the report lists."""
_KINDS: dict[str, LinkKind] = {kind: kind for kind in LINK_KINDS}


@dataclass
class Tally:
    """Rounds, the sum of their ranks (good 0, degraded 1, bad 2) and the bad ones."""

    rounds: int = 0
    ranks: int = 0
    bad: int = 0

    def add(self, other: Tally) -> None:
        """Count ``other``'s rounds too."""
        self.rounds += other.rounds
        self.ranks += other.ranks
        self.bad += other.bad

    @property
    def degraded(self) -> int:
        """Rank sum less twice the bad ones: the degraded rounds."""
        return self.ranks - 2 * self.bad

    def pct(self, part: int) -> float:
        """``part`` as a share of the rounds, in percent, two decimals."""
        return round(100 * part / self.rounds, 2) if self.rounds else 0.0


def _tally(row: Row, bad: int) -> Tally:
    return Tally(row.optional_int("rounds") or 0, row.optional_int("ranks") or 0, bad)


def _key(row: Row, *tags: str) -> tuple[str, ...]:
    return tuple(row.tags.get(tag, "") for tag in tags)


def _time(row: Row) -> datetime:
    return datetime.fromtimestamp(int(str(row.values["time"])) / 1e9, UTC)


def worst_links(reader: Reader) -> list[WorstLink]:
    """The links with the most bad, then degraded rounds; their mean figures fetched for
    those only."""
    every, not_good, bads = reader.per_link()
    tags = ("site", "agent", "target", "kind")
    faulty = {_key(row, *tags): row.optional_int("rounds") or 0 for row in not_good}
    bad = {_key(row, *tags): row.optional_int("rounds") or 0 for row in bads}
    tallies = {}
    for row in every:
        key = _key(row, *tags)
        b = bad.get(key, 0)
        # ranks: degraded rounds count 1, bad ones 2 (Tally keeps the sum, not the degraded).
        tallies[key] = Tally(row.optional_int("rounds") or 0, faulty.get(key, 0) + b, b)
    chosen = sorted(
        tallies,
        key=lambda k: (-tallies[k].pct(tallies[k].bad), -tallies[k].pct(tallies[k].degraded), k),
    )[:WORST_LINKS]
    means = {_key(row, *tags): row for row in reader.link_means([(k[1], k[2]) for k in chosen])}
    links = []
    for key in chosen:
        t, mean = tallies[key], means.get(key)
        links.append(
            WorstLink(
                site=key[0], agent=key[1], target=key[2], kind=key[3], rounds=t.rounds,
                bad_pct=t.pct(t.bad), degraded_pct=t.pct(t.degraded),
                loss_pct=mean.optional_float("loss_pct") if mean else None,
                rtt_avg_ms=mean.optional_float("rtt_avg_ms") if mean else None,
                jitter_ms=mean.optional_float("jitter_ms") if mean else None,
            )
        )  # fmt: skip
    return links


Cell = tuple[str, str, date]
"""Ward, kind, city day."""


@dataclass(frozen=True)
class Rounds:
    """The period's rounds per ward, kind and city day, and the hours with a bad round."""

    days: dict[Cell, Tally]
    bad_hours: dict[tuple[str, str], set[datetime]]
    """Per ward and kind."""


def rounds(reader: Reader) -> Rounds:
    """The reader's daily counts, with the bad rounds of each hour added to their day."""
    bad_hours: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    bad_days: dict[Cell, int] = defaultdict(int)
    for row in reader.bad_hourly():
        site, kind = _key(row, "site", "kind")
        at = _time(row)
        bad_hours[(site, kind)].add(at)
        bad_days[(site, kind, at.astimezone(CITY_ZONE).date())] += row.optional_int("bad") or 0
    days: dict[Cell, Tally] = {}
    for row in reader.daily():
        site, kind = _key(row, "site", "kind")
        # The bucket starts at the city's midnight: its UTC time is the day before, 17:00.
        day = _time(row).astimezone(CITY_ZONE).date()
        days[(site, kind, day)] = _tally(row, bad_days.get((site, kind, day), 0))
    return Rounds(days, bad_hours)


def shares(found: Rounds) -> dict[tuple[str, str], LinkShare]:
    """Per ward (and the city, ward "") and kind: the shares of the rounds and the hours with
    a bad one (in the city: the hours in which any ward had one)."""
    sums: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for (site, kind, _), tally in found.days.items():
        sums[(site, kind)].add(tally)
        sums[("", kind)].add(tally)
    city_hours: dict[str, set[datetime]] = defaultdict(set)
    for (_, kind), hours in found.bad_hours.items():
        city_hours[kind] |= hours
    return {
        (ward, kind): LinkShare(
            kind=_KINDS[kind],
            rounds=t.rounds,
            good_pct=t.pct(t.rounds - t.degraded - t.bad),
            degraded_pct=t.pct(t.degraded),
            bad_pct=t.pct(t.bad),
            bad_hours=len(found.bad_hours.get((ward, kind), set()) if ward else city_hours[kind]),
        )
        for (ward, kind), t in sums.items()
        if kind in _KINDS
    }


def _days(scope: Scope) -> list[date]:
    first, last = scope.start.astimezone(CITY_ZONE).date(), scope.end.astimezone(CITY_ZONE).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def heat(found: Rounds, sites: Iterable[str], scope: Scope) -> list[HeatCell]:
    """Every ward x city day of the period: the shares of good and of bad rounds (None: no
    round that day)."""
    days: dict[tuple[str, date], Tally] = defaultdict(Tally)
    for (site, _, day), tally in found.days.items():
        days[(site, day)].add(tally)
    cells = []
    for site in sites:
        for day in _days(scope):
            t = days.get((site, day))
            if t is None or not t.rounds:
                cells.append(HeatCell(site=site, day=day, good_pct=None, bad_pct=None))
                continue
            good = t.pct(t.rounds - t.degraded - t.bad)
            cells.append(HeatCell(site=site, day=day, good_pct=good, bad_pct=t.pct(t.bad)))
    return cells
