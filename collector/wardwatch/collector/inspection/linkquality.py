"""Videoconference link quality for the inspection report, from ``queries.Reader``'s reads of
the hourly rollups: the worst links, each ward's (and the city's) share of good, degraded and
bad rounds per target kind with the hours that had a bad one, and the heat map's days."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

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


def _tally(row: Row) -> Tally:
    return Tally(
        row.optional_int("rounds") or 0,
        row.optional_int("ranks") or 0,
        row.optional_int("bad") or 0,
    )


def _key(row: Row, *tags: str) -> tuple[str, ...]:
    return tuple(row.tags.get(tag, "") for tag in tags)


def worst_links(reader: Reader) -> list[WorstLink]:
    """The links with the most bad, then degraded rounds, then loss."""
    links = []
    for row in reader.per_link():
        site, agent, target, kind = _key(row, "site", "agent", "target", "kind")
        t = _tally(row)
        links.append(
            WorstLink(
                site=site, agent=agent, target=target, kind=kind, rounds=t.rounds,
                bad_pct=t.pct(t.bad), degraded_pct=t.pct(t.degraded),
                loss_pct=row.optional_float("loss_pct"),
                rtt_avg_ms=row.optional_float("rtt_avg_ms"),
                jitter_ms=row.optional_float("jitter_ms"),
            )
        )  # fmt: skip
    links.sort(key=lambda w: (-w.bad_pct, -w.degraded_pct, -(w.loss_pct or 0), w.site, w.agent))
    return links[:WORST_LINKS]


Cell = tuple[str, str, date]
"""Ward, kind, city day."""


@dataclass(frozen=True)
class Rounds:
    """The period's rounds per ward, kind and city day, and the hours with a bad round."""

    days: dict[Cell, Tally]
    bad_hours: dict[tuple[str, str], set[datetime]]
    """Per ward and kind."""


def rounds(reader: Reader) -> Rounds:
    """The reader's daily sums and the hours with a bad round."""
    bad_hours: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    for row in reader.bad_hours():
        bad_hours[(row.tags.get("site", ""), row.tags.get("kind", ""))].add(row.moment())
    days: dict[Cell, Tally] = {}
    for row in reader.daily():
        site, kind = _key(row, "site", "kind")
        # The bucket starts at the city's midnight: its UTC time is the day before, 17:00.
        days[(site, kind, row.moment().astimezone(CITY_ZONE).date())] = _tally(row)
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
