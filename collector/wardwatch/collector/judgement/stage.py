"""The lifecycle stage: each machine's hardware and OS verdicts, from the facts in its message.

Every report carries the machine's facts, so a verdict needs nothing but the message, the
policy, the OS end-of-support table and the asset register: the collector keeps no state per
machine, and a second collector beside it judges alike. Verdicts are as of the day the message
was measured, so a redelivered message yields the same points.

The policy and the register are re-read when their files change (checked at most every
``[lifecycle] check_every_s``), so an edit changes the verdicts of the next report. A policy
file broken by an edit is refused with an error in the log and the previous one is kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

import msgspec
from msgspec import Struct

from wardwatch.collector.config import LifecycleSection
from wardwatch.collector.judgement.assets import Asset, AssetRegister
from wardwatch.collector.judgement.watched import WatchedFile
from wardwatch.common.tomlconfig import ConfigError
from wardwatch.contract import wire
from wardwatch.rules import age, lifecycle, policy

log = logging.getLogger("wardwatch.collector.lifecycle")

State = Literal["ok", "due", "overdue", "unknown"]

RANK: Final[dict[State, int]] = {"ok": 0, "unknown": 1, "due": 2, "overdue": 3}
"""Sort key, worst highest: an unknown verdict needs a look before an ok one."""


class HardwareJudgement(Struct, frozen=True, kw_only=True):
    """The ``hardware`` point's fields: the verdict, its evidence and the machine.

    None means "not known" and is left out of the point.
    """

    lifecycle: State
    rank: int
    reason: str
    policy: str
    policy_class: str
    useful_life_years: int | None = None
    days_left: int | None = None
    end_date: str | None = None
    since: str | None = None
    age_years: float | None = None
    age_source: str | None = None
    age_confidence: str | None = None
    made_earliest: int | None = None
    made_latest: int | None = None
    manufacturer: str
    model: str
    serial: str
    chassis: str
    bios_version: str
    bios_date: str | None = None
    hypervisor: str
    cpu_model: str
    cpu_launch_year: int | None = None
    cpu_count: int
    memory_mb: float
    disk_hours: int | None = None
    asset_line: int | None = None
    """The asset register's line that matched, if one did."""


class OsJudgement(Struct, frozen=True, kw_only=True):
    """The ``os`` point's fields: the support verdict and the OS it was found for."""

    support: State
    rank: int
    reason: str
    name: str
    version: str
    build: str
    edition: str
    release: str
    installed: str | None = None
    eol_date: str | None = None
    days_left: int | None = None
    extended_support: bool = False


class Judgement(Struct, frozen=True, kw_only=True):
    """Both verdicts of one machine on one day."""

    hardware: HardwareJudgement
    os: OsJudgement


MEMO_SIZE: Final = 20_000
"""Judgements remembered (about one per machine per hour); beyond it the memo starts over."""

Judge = Callable[[wire.Identity, wire.MachineFacts, dt.date], Judgement]
"""What the points stage asks for each machine fact."""


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def judge_hardware(
    identity: wire.Identity,
    machine: wire.MachineFacts,
    on: dt.date,
    rules: policy.Policy,
    asset: Asset | None,
) -> HardwareJudgement:
    """The hardware verdict of ``machine`` on day ``on``.

    The asset register's device class, when a row matched, beats the agent's configured one
    (the register is the city's record); no estimate or a class the policy does not know gives
    ``unknown`` with the reason.
    """
    evidence = age.evidence_of(machine, asset.purchase_date if asset else None)
    device_class = asset.device_class if asset else identity.device_class
    unknown = HardwareJudgement(
        lifecycle="unknown",
        rank=RANK["unknown"],
        reason="no evidence of age: no register row, BIOS date, disk hours or known CPU",
        policy=rules.name,
        policy_class=device_class,
        manufacturer=machine.manufacturer,
        model=machine.model,
        serial=machine.serial,
        chassis=machine.chassis,
        bios_version=machine.bios_version,
        bios_date=_iso(machine.bios_date),
        hypervisor=machine.hypervisor,
        cpu_model=machine.cpu,
        cpu_launch_year=evidence.cpu.year if evidence.cpu else None,
        cpu_count=machine.cpu_count,
        memory_mb=machine.memory_mb,
        disk_hours=evidence.power_on_hours,
        asset_line=asset.line if asset else None,
    )
    try:
        years = rules.life(device_class).years
    except KeyError as exc:
        return msgspec.structs.replace(unknown, reason=str(exc.args[0]))
    # Noon: the estimate counts disk hours back from a moment, the verdict is per day.
    estimate = age.estimate(evidence, dt.datetime.combine(on, dt.time(12), dt.UTC))
    if estimate is None:
        return msgspec.structs.replace(unknown, useful_life_years=years)
    found = lifecycle.hardware_verdict(estimate.since, device_class, rules, on)
    return msgspec.structs.replace(
        unknown,
        lifecycle=found.lifecycle,
        rank=RANK[found.lifecycle],
        reason=estimate.reason,
        useful_life_years=years,
        days_left=found.days_left,
        end_date=found.end_date.isoformat(),
        since=estimate.since.isoformat(),
        age_years=found.age_years,
        age_source=estimate.source,
        age_confidence=estimate.confidence,
        made_earliest=estimate.earliest,
        made_latest=estimate.latest,
    )


def judge_os(
    machine: wire.MachineFacts, on: dt.date, rules: policy.Policy, table: policy.OsTable
) -> OsJudgement:
    """The OS support verdict of ``machine`` on day ``on``."""
    found = policy.os_eol(
        machine.os_name,
        machine.os_version,
        machine.os_build,
        machine.os_edition,
        table=table,
        extended=rules.extended_support,
    )
    shown = " ".join(p for p in (machine.os_name, machine.os_version, machine.os_build) if p)
    unknown = OsJudgement(
        support="unknown",
        rank=RANK["unknown"],
        reason=f"{shown or 'this OS'} is not in the end-of-support table",
        name=machine.os_name,
        version=machine.os_version,
        build=machine.os_build,
        edition=machine.os_edition,
        release="",
        installed=_iso(machine.os_installed),
    )
    if found is None:
        return unknown
    support = lifecycle.os_verdict(found.eol, rules.warning_days, on)
    return msgspec.structs.replace(
        unknown,
        support=support.support,
        rank=RANK[support.support],
        reason=f"{found.label}: support ends {found.eol.isoformat()}",
        release=found.label,
        eol_date=found.eol.isoformat(),
        days_left=support.days_left,
        extended_support=found.extended,
    )


class Lifecycle:
    """The stage itself: the current policy, OS table and register, and ``judge``."""

    def __init__(
        self,
        section: LifecycleSection,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load everything the section names; ConfigError naming the key and the file if the
        policy or the OS table is bad (a bad register row is only logged)."""
        self.section = section
        self._clock = clock
        policy_name = section.policy
        self._policy_file: WatchedFile | None = None
        if policy.is_path(policy_name):
            path = Path(policy_name).expanduser()
            policy_name = str(path)
            self._policy_file = WatchedFile(path, check_every_s=section.check_every_s, clock=clock)
            self._policy_file.changed()  # loaded now: the first change is this load
        self.policy = _load_policy(policy_name, "policy")
        self._memo: dict[tuple[object, ...], Judgement] = {}
        table_path = Path(section.os_table).expanduser() if section.os_table else policy.OS_EOL_FILE
        try:
            self.os_table = policy.load_os_table(table_path)
        except ConfigError as exc:
            raise ConfigError(f"[lifecycle] os_table: {exc}") from None
        self.register: AssetRegister | None = None
        if section.asset_register:
            self.register = AssetRegister(
                Path(section.asset_register).expanduser(),
                self.policy.useful_life,
                check_every_s=section.check_every_s,
                clock=clock,
            )

    def refresh(self) -> None:
        """Re-read the policy file if it changed; keep the old one if the new one is bad."""
        if self._policy_file is None or not self._policy_file.changed():
            return
        try:
            fresh = _load_policy(str(self._policy_file.path), "policy")
        except ConfigError as exc:
            log.error("lifecycle policy not reloaded, still using %s: %s", self.policy.name, exc)
            return
        log.info("lifecycle policy reloaded: %s", fresh.name)
        self.policy = fresh
        self._memo.clear()
        if self.register is not None:  # the classes a register row may name come from it
            self.register = AssetRegister(
                self.register.path,
                fresh.useful_life,
                check_every_s=self.section.check_every_s,
                clock=self._clock,
            )

    def judge(self, identity: wire.Identity, machine: wire.MachineFacts, on: dt.date) -> Judgement:
        """Both verdicts of one machine on day ``on``, under the current policy and register."""
        self.refresh()
        asset = self.register.lookup(machine.serial, machine.hostname) if self.register else None
        # A machine reports the same facts all hour (its disk hours change hourly): judge each
        # distinct input once. The key holds everything a verdict depends on but the policy,
        # whose change empties the memo.
        row = None if asset is None else (asset.line, asset.purchase_date, asset.device_class)
        key = (identity.device_class, on, msgspec.json.encode(machine), row)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            found = self._memo[key] = Judgement(
                hardware=judge_hardware(identity, machine, on, self.policy, asset),
                os=judge_os(machine, on, self.policy, self.os_table),
            )
        return found


def _load_policy(name_or_path: str, key: str) -> policy.Policy:
    try:
        return policy.load_policy(name_or_path)
    except ConfigError as exc:
        raise ConfigError(f"[lifecycle] {key}: {exc}") from None
