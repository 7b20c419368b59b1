"""The simulator's config file: only the broker, in the agent's own ``[mqtt]`` section."""

from __future__ import annotations

from pathlib import Path

import msgspec
from msgspec import Struct

from wardwatch.agent.config import MqttSection
from wardwatch.common import tomlconfig


class SimulateConfig(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The simulator's config file: only the broker (``[mqtt]``, the agent's own section).

    ``username`` and ``password`` are accepted and ignored: each simulated agent logs in as
    itself (username = agent id, no password), as the broker's per-agent ACL expects.
    """

    mqtt: MqttSection = msgspec.field(default_factory=MqttSection)


def load_config(path: Path | None) -> SimulateConfig:
    """Load the simulator config from ``path`` and the environment; raise ConfigError if bad."""
    return tomlconfig.load(path, SimulateConfig)
