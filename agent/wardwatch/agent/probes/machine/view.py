"""What ``wardwatch-agent inventory`` prints: the machine's facts and the age estimate the rules
make of them (``wardwatch.rules.age``; the collector makes the same, plus the asset register)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from wardwatch.agent.probes.machine.probe import Reading
from wardwatch.rules import age, age_clues


def view(reading: Reading, now: datetime) -> dict[str, Any]:
    """What ``inventory --json`` prints: the facts, plus ``cpu_launch_year``, ``os``,
    ``virtual``, ``age`` ({since, years, source, confidence, reason, earliest, latest}),
    ``evidence`` (each piece, what it says and its verdict) and ``missing``."""
    facts = reading.facts
    evidence = age.evidence_of(facts)
    estimate = age.estimate(evidence, now)
    shown: dict[str, Any] = msgspec.to_builtins(facts)
    shown.pop("kind", None)
    shown.update(
        cpu_launch_year=evidence.cpu.year if evidence.cpu else None,
        os=" ".join(part for part in (facts.os_name, facts.os_version) if part),
        virtual=bool(facts.hypervisor),
        age=msgspec.to_builtins(estimate),
        evidence=msgspec.to_builtins(age_clues.clues(evidence, estimate, now) if estimate else []),
        missing=reading.missing,
    )
    return shown


def to_json(shown: dict[str, Any]) -> bytes:
    """The view as indented JSON."""
    return msgspec.json.format(msgspec.json.encode(shown), indent=2)


def render(shown: dict[str, Any]) -> str:
    """The view as a readable summary, one fact a line."""
    estimate = shown["age"]
    launched = f" (launched {shown['cpu_launch_year']})" if shown["cpu_launch_year"] else ""
    lines = [
        f"manufacturer  {shown['manufacturer'] or '-'}",
        f"model         {shown['model'] or '-'}",
        f"serial        {shown['serial'] or '-'}",
        f"chassis       {shown['chassis'] or '-'}",
        f"board         {shown['board'] or '-'}",
        f"bios          {shown['bios_vendor'] or '-'} {shown['bios_version']} "
        f"({shown['bios_date'] or 'no date'})",
        f"cpu           {shown['cpu'] or '-'}{launched}",
        f"memory        {shown['memory_mb']:g} MiB",
        f"os            {shown['os'] or '-'}"
        + (f" (installed {shown['os_installed']})" if shown["os_installed"] else ""),
        f"virtual       {shown['hypervisor'] or 'no'}",
    ]
    lines += [
        f"disk          {d['device']} {d['model']}: {d['power_on_hours']} h powered on"
        for d in shown["disks"]
    ]
    if estimate is None:
        lines.append("age           unknown: no evidence")
    else:
        lines.append(
            f"age           {estimate['years']:.1f} years, since {estimate['since']} "
            f"({estimate['source']}, {estimate['confidence']} confidence)"
        )
        lines.append(f"              {estimate['reason']}")
        if estimate["earliest"] or estimate["latest"]:
            span = f"{estimate['earliest'] or '?'} to {estimate['latest'] or 'now'}"
            lines.append(f"made          {span}, by the evidence below")
    lines += [f"evidence      {clue['says']}: {clue['verdict']}" for clue in shown["evidence"]]
    lines += [f"missing       {item}" for item in shown["missing"]]
    return "\n".join(lines)
