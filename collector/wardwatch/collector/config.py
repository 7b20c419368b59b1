"""The collector's typed configuration; ``collector.sample.toml`` beside it documents every key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from wardwatch.common import tomlconfig
from wardwatch.common.mqtt import BrokerLogin
from wardwatch.contract import wire
from wardwatch.rules.link_quality import Thresholds
from wardwatch.rules.policy import DEFAULT_POLICY

SAMPLE = Path(__file__).with_name("collector.sample.toml")

HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^/]+/?$")]
Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class MqttSection(BrokerLogin, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[mqtt]``: the broker, the collector's identity and its persistent session."""

    client_id: Name = "wardwatch-collector-1"
    share_group: Name = "wardwatch"
    session_expiry_s: Annotated[int, Meta(ge=60)] = 3600
    max_payload_bytes: Annotated[int, Meta(ge=1024)] = wire.MAX_PAYLOAD_BYTES


class InfluxSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[influx]``: where points go, through the v1 or the v2 write API."""

    url: HttpUrl = "http://127.0.0.1:8086"
    api: Literal["v1", "v2"] = "v1"
    database: str = "wardwatch"
    username: str = ""
    password: str = ""
    create_database: bool = True
    org: str = ""
    bucket: str = ""
    token: str = ""
    timeout_s: Annotated[float, Meta(gt=0, le=300)] = 10.0

    def __post_init__(self) -> None:
        if self.api == "v1" and not self.database:
            raise ValueError('api = "v1" needs database = "<name>"')
        if self.api == "v2" and not (self.org and self.bucket):
            raise ValueError('api = "v2" needs org = "<org>" and bucket = "<bucket>"')


class BatchSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[batch]``: a batch is written when it holds this many points, or is this old."""

    max_points: Annotated[int, Meta(ge=1, le=1_000_000)] = 5000
    max_delay_s: Annotated[float, Meta(gt=0, le=60)] = 1.0


class ClockSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[clock]``: how far an agent's clock may be off before its timestamps are corrected."""

    max_skew_s: Annotated[float, Meta(gt=0)] = 300.0


class LimitsSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[limits]``: what one agent may send. Beyond them a message is refused with a reason,
    acked (so it is not resent) and counted; one agent can neither flood the database with
    series nor write for another."""

    max_links_per_report: Annotated[int, Meta(ge=1, le=wire.MAX_FACTS)] = 64
    max_ports_per_link: Annotated[int, Meta(ge=1, le=wire.MAX_PORTS)] = 8
    max_targets_per_agent: Annotated[int, Meta(ge=1, le=100_000)] = 256
    """Distinct link targets one agent may name within ``window_s``."""
    max_tag_sets_per_agent: Annotated[int, Meta(ge=1, le=1000)] = 8
    """Distinct (site, role, device class) one agent may claim within ``window_s``."""
    window_s: Annotated[float, Meta(ge=60, le=30 * 86400)] = 86400.0
    max_age_days: Annotated[float, Meta(gt=0, le=3660)] = 32.0
    """A message measured longer ago is refused: the agents' outbox ``max_age_days`` (30 by
    default) plus a margin."""


class InboxSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[inbox]``: how much the collector holds in memory, and each agent's fair share
    (``wardwatch.collector.ingest.inbox``)."""

    max_messages: Annotated[int, Meta(ge=100, le=65_000)] = 20_000
    """Deliveries in flight from the broker (MQTT Receive Maximum). Acks wait for the batch's
    write, so this must hold a whole batch (a report is 2 to 8 points, a batch at most 5,000 by
    default) with room for the next; MQTT caps it below 65,536."""
    max_mb: Annotated[float, Meta(gt=0, le=100_000)] = 64.0
    """Payload bytes received and not yet written (the batch in hand included); beyond, the
    collector stops reading from the broker until a batch is written."""
    agent_rate: Annotated[float, Meta(gt=0, le=100_000)] = 20.0
    """Tokens per second one agent gets, sustained; a message costs one per 16 KiB or part of
    it (a report: one). A message without a token is refused unread."""
    agent_burst: Annotated[int, Meta(ge=1, le=1_000_000)] = 400
    """Tokens one agent may spend at once above its rate (an outbox replaying an outage)."""


class LifecycleSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[lifecycle]``: the policy, the OS end-of-support table and the asset register."""

    policy: Annotated[str, Meta(min_length=1)] = DEFAULT_POLICY
    os_table: str = ""
    asset_register: str = ""
    check_every_s: Annotated[float, Meta(gt=0, le=86400)] = 30.0


Vnd = Annotated[int, Meta(ge=0, le=10_000_000_000)]


EXAMPLE_PRICES_VND: dict[str, int] = {
    "desktop": 15_000_000,
    "laptop": 18_000_000,
    "all-in-one": 20_000_000,
    "tablet": 8_000_000,
    "server": 60_000_000,
    "vc-codec": 90_000_000,
}
"""What the replacement plan prices devices at while ``[report] unit_price_vnd`` is empty:
round examples of 2026 public-procurement prices, marked as examples wherever shown."""


class ReportSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[report]``: what ``wardwatch report`` needs besides InfluxDB: the city's name for its
    title block, and the price of one replacement per device class for its plan (empty: the
    ``EXAMPLE_PRICES_VND``, marked as examples)."""

    city: Annotated[str, Meta(max_length=200)] = ""
    unit_price_vnd: dict[Annotated[str, Meta(min_length=1, max_length=64)], Vnd] = msgspec.field(
        default_factory=dict
    )
    rollup_every_s: Annotated[float, Meta(ge=0, le=3600)] = 60.0
    """How often the collector recomputes the hourly rollups of the hours it wrote (the report
    reads those, not raw points); 0: never (``wardwatch rollup`` then, before each report)."""


class CollectorConfig(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole collector configuration."""

    mqtt: MqttSection = msgspec.field(default_factory=MqttSection)
    influx: InfluxSection = msgspec.field(default_factory=InfluxSection)
    batch: BatchSection = msgspec.field(default_factory=BatchSection)
    clock: ClockSection = msgspec.field(default_factory=ClockSection)
    lifecycle: LifecycleSection = msgspec.field(default_factory=LifecycleSection)
    limits: LimitsSection = msgspec.field(default_factory=LimitsSection)
    inbox: InboxSection = msgspec.field(default_factory=InboxSection)
    report: ReportSection = msgspec.field(default_factory=ReportSection)
    thresholds: dict[wire.TargetKind, Thresholds] = msgspec.field(default_factory=dict)
    """Per target kind, link-quality limits overriding ``wardwatch.rules.link_quality``'s
    defaults."""


def load(path: Path | None) -> CollectorConfig:
    """Load the collector config from ``path`` and the environment; raise ConfigError if bad."""
    return tomlconfig.load(path, CollectorConfig)
