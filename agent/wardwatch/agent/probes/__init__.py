"""Probes: small plug-ins behind one interface.

A probe's ``collect()`` returns typed facts (wire structs) or raises; ``run_all`` turns a raise
into a ProbeError that travels in the report, so one failing probe never stops the agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from wardwatch.contract.wire import Fact, ProbeError, one_line


class Probe(Protocol):
    """What every probe offers: a name (for errors) and one round of measurement."""

    name: str

    def collect(self) -> list[Fact]:
        """Measure once; raise on failure."""
        ...


def run_all(probes: Iterable[Probe]) -> tuple[list[Fact], list[ProbeError]]:
    """Run each probe once, gathering its facts, or its failure as a ProbeError."""
    facts: list[Fact] = []
    errors: list[ProbeError] = []
    for probe in probes:
        try:
            facts.extend(probe.collect())
        except Exception as exc:  # a probe's failure is data, never a crash of the agent
            errors.append(
                ProbeError(probe=probe.name, error=one_line(f"{type(exc).__name__}: {exc}"))
            )
    return facts, errors
