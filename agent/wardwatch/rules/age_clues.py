"""Each piece of a machine's age evidence, what it says and how the estimate stands with it:
what ``wardwatch-agent inventory`` lists under ``evidence`` (``wardwatch.rules.age`` makes the
estimate)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List, Literal, Optional, Tuple

from msgspec import Struct

from wardwatch.rules.age import AgeEstimate, AgeEvidence, Source, cpu_text

Verdict = Literal["taken", "agrees", "contradicts", "ignored"]


class Clue(Struct, frozen=True, kw_only=True):
    """One piece of evidence, what it says, and how the estimate stands with it."""

    kind: Source
    says: str
    verdict: Verdict


Said = Tuple[Source, str, Optional[int], Optional[int]]
"""A piece of evidence: its source, how to say it, the years it sets as floor and ceiling."""


def clues(evidence: AgeEvidence, estimate: AgeEstimate, now: datetime) -> List[Clue]:
    """Every piece of evidence with its verdict: the one ``taken``, those the estimate
    ``agrees`` with, those it ``contradicts`` (a year outside what they allow) and the BIOS
    date of a virtual machine, ``ignored``; ``inventory --json`` shows them."""
    said: list[Said] = []
    if evidence.purchase_date is not None:
        year = evidence.purchase_date.year
        said.append(("register", f"bought {evidence.purchase_date}", year, year))
    if evidence.bios_date is not None:
        said.append(("bios", f"BIOS dated {evidence.bios_date}", None, evidence.bios_date.year))
    if evidence.cpu is not None:
        said.append(("cpu", cpu_text(evidence.cpu), evidence.cpu.year, None))
    said += [(b.kind, b.text, b.earliest, b.latest) for b in evidence.bounds]
    if evidence.power_on_hours:
        disk = (now - timedelta(hours=evidence.power_on_hours)).year
        said.append(("disk", f"disk powered on {evidence.power_on_hours} h", None, disk))
    if evidence.os_installed is not None:
        installed = evidence.os_installed
        said.append(("os_install", f"OS installed {installed}", None, installed.year))
    if evidence.first_seen is not None:
        seen = evidence.first_seen
        said.append(("first_seen", f"first seen {seen}", None, seen.year))
    return [_clue(item, estimate, evidence.virtual) for item in said]


def _clue(item: Said, estimate: AgeEstimate, virtual: bool) -> Clue:
    kind, says, floor, ceiling = item
    year = estimate.since.year
    verdict: Verdict = "agrees"
    if kind == "bios" and virtual:
        verdict = "ignored"
    elif kind == estimate.source:
        verdict = "taken"
    elif (floor is not None and year < floor) or (ceiling is not None and year > ceiling):
        verdict = "contradicts"
    return Clue(kind=kind, says=says, verdict=verdict)
