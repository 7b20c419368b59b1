"""How a plain collector judges a machine, for the tests of the collector's stages (kept apart
from ``factories``, which the agent's unit tier imports under Windows, without the collector)."""

from __future__ import annotations

from wardwatch.collector.config import LifecycleSection
from wardwatch.collector.judgement.stage import Lifecycle

JUDGE = Lifecycle(LifecycleSection()).judge
"""The default policy, the shipped OS table, no register."""
