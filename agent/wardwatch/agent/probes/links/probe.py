"""The ``link`` probe: rounds run in a background thread, so a report never waits for one.

Each report carries the latest finished round (none yet in the very first report). A round
whose results were already reported is not reported again: each round is one set of points.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from wardwatch.agent.config import LinksSection, TargetSection
from wardwatch.agent.probes.links.rounds import full_round
from wardwatch.contract.wire import Fact, LinkFacts

log = logging.getLogger("wardwatch.agent.links")


class LinkProbe:
    """Runs a round every ``interval_s`` (the first at once) in a daemon thread, towards the
    configured ``targets`` and the gateway and DNS servers found at that moment (they may
    change with DHCP)."""

    name = "link"

    def __init__(
        self,
        targets: Sequence[TargetSection],
        settings: LinksSection,
        interval_s: float,
        *,
        round_: Callable[[LinksSection, Sequence[TargetSection]], list[LinkFacts]] = full_round,
    ) -> None:
        self._targets = targets
        self._settings = settings
        self._interval_s = interval_s
        self._round = round_
        self._latest: list[LinkFacts] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def collect(self) -> list[Fact]:
        """The latest round not yet reported (starting the rounds at the first call)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="link-rounds", daemon=True)
            self._thread.start()
        with self._lock:
            latest, self._latest = self._latest, []
        return list(latest)

    def stop(self) -> None:
        """Stop after the round in progress."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                results = self._round(self._settings, self._targets)
            except Exception:  # a bug in a round must not end the rounds
                log.exception("link round failed")
                results = []
            with self._lock:
                self._latest = results
            self._stop.wait(max(0.0, started + self._interval_s - time.monotonic()))
