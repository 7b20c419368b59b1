"""What went wrong with the agent's outbox, told once in the log and once to the collector."""

from __future__ import annotations

import logging
import threading

from wardwatch.common.throttle import Throttle
from wardwatch.contract import wire

log = logging.getLogger("wardwatch.agent")


class Notices:
    """What went wrong with the outbox since the last report, by kind: counted, the latest
    detail kept for ``take`` (the next report's errors of probe ``outbox``), and logged at once,
    then at most once a minute per kind (event ``outbox_<kind>``)."""

    def __init__(self) -> None:
        self._kinds: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._log = Throttle(log)

    def add(self, kind: str, detail: str, *, level: int = logging.WARNING) -> None:
        """Count one event of ``kind``, described by ``detail``."""
        with self._lock:
            count = self._kinds.get(kind, (0, ""))[0] + 1
            self._kinds[kind] = (count, detail)
        self._log.log(level, kind, "outbox: %s", detail, extra={"event": f"outbox_{kind}"})

    def take(self) -> list[wire.ProbeError]:
        """The events since the last call, one error per kind, and forget them."""
        with self._lock:
            kinds, self._kinds = self._kinds, {}
        return [
            wire.ProbeError(
                probe="outbox",
                error=wire.one_line(detail if count == 1 else f"{detail} ({count} times)"),
            )
            for _, (count, detail) in sorted(kinds.items())
        ]
