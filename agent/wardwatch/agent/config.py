"""The agent's typed configuration; ``agent.sample.toml`` beside it documents every key."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Dict, List

import msgspec
from msgspec import Meta, Struct

from wardwatch.agent import native
from wardwatch.common import tomlconfig
from wardwatch.common.compat import Annotated
from wardwatch.common.mqtt import BrokerLogin, MqttUrl
from wardwatch.contract import wire
from wardwatch.contract.wire import AgentIdOrEmpty, Label, Port, TargetKind, Text
from wardwatch.rules.link_quality import Thresholds

SAMPLE = Path(__file__).with_name("agent.sample.toml")


class AgentSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[agent]``: who this machine is and how often it reports."""

    id: AgentIdOrEmpty = ""
    site: Label = "unassigned"
    role: Label = "office-pc"
    device_class: Label = "desktop"
    interval_s: Annotated[int, Meta(ge=1, le=86400)] = 60
    deadline_s: Annotated[float, Meta(gt=0, le=3600)] = 15.0
    resend_after_s: Annotated[float, Meta(gt=0, le=86400)] = 30.0


class MqttSection(BrokerLogin, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[mqtt]``: the broker, and the credentials (username defaults to the agent id). TLS by
    default: a ward PC's password and reports cross networks the city does not own."""

    url: MqttUrl = "mqtts://localhost:8883"


class OutboxSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[outbox]``: where unacknowledged messages wait on disk, and how much may wait."""

    path: str = ""
    max_mb: Annotated[float, Meta(gt=0, le=100_000)] = 50.0
    max_age_days: Annotated[float, Meta(gt=0, le=3650)] = 30.0

    def resolved_path(self) -> Path:
        """The configured file, or ``outbox.sqlite3`` in this OS's state directory."""
        return Path(self.path) if self.path else native.OS.state_dir() / "outbox.sqlite3"


class LinksSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[links]``: how each round of link probes runs, and which targets are found alone."""

    count: Annotated[int, Meta(ge=1, le=1000)] = 10
    spread_s: Annotated[float, Meta(ge=0, le=60)] = 2.0
    timeout_s: Annotated[float, Meta(gt=0, le=30)] = 1.0
    deadline_s: Annotated[float, Meta(gt=0, le=300)] = 15.0
    gateway: bool = True
    dns: bool = True
    dns_query: Text = "."

    def __post_init__(self) -> None:
        if self.spread_s + self.timeout_s >= self.deadline_s:
            raise ValueError(
                f"spread_s + timeout_s ({self.spread_s + self.timeout_s:g}) must be below "
                f"deadline_s ({self.deadline_s:g}): a round must fit its deadline"
            )


class TargetSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[[target]]``: one host to probe each round."""

    name: Label
    host: Annotated[str, Meta(min_length=1, max_length=253, pattern=r"^[^\s/]+$")]
    kind: TargetKind = "internet"
    ports: List[Port] = msgspec.field(default_factory=list)
    """vc-endpoint: the ports to check (default 1720, 5060, 5061, 443); dns: the server's port
    (default 53); others: the TCP port of the fallback when ICMP is not allowed (default 443)."""
    url: Text = ""
    """service: the URL to GET (default http://<host>/)."""


class AgentConfig(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole agent configuration."""

    agent: AgentSection = msgspec.field(default_factory=AgentSection)
    mqtt: MqttSection = msgspec.field(default_factory=MqttSection)
    outbox: OutboxSection = msgspec.field(default_factory=OutboxSection)
    links: LinksSection = msgspec.field(default_factory=LinksSection)
    target: List[TargetSection] = msgspec.field(default_factory=list)
    thresholds: Dict[TargetKind, Thresholds] = msgspec.field(default_factory=dict)
    """Per target kind, the quality limits of ``wardwatch-agent probe`` (keep them equal to
    the collector's)."""

    @property
    def agent_id(self) -> str:
        """The configured id, or one derived from this machine's hostname."""
        return self.agent.id or wire.hostname_id(socket.gethostname())

    @property
    def mqtt_username(self) -> str:
        """The MQTT username: the configured one, or the agent id as the broker's ACL expects."""
        return self.mqtt.username or self.agent_id


def load(path: Path | None) -> AgentConfig:
    """Load the agent config from ``path`` and the environment; raise ConfigError if bad."""
    return tomlconfig.load(path, AgentConfig)
