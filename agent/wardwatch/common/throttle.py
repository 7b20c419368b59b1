"""Rate-limited warnings: a flood of one kind of event costs a line a minute, not a disk.

One broken agent refusing 10,000 messages a second, or a broker unreachable for a week, must
not fill the log that an operator reads for everything else. Each kind of event (its key, e.g.
a reason code) is logged at once the first time, then at most once per ``every_s``; the line
says how many of the same kind were left out since the last one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any


class Throttle:
    """Logs through ``logger``, at most once per ``every_s`` per key."""

    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every_s = every_s
        self._clock = clock
        self._last: dict[str, float] = {}  # key -> when its last line was written
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, key: str, message: str, *args: Any, **kwargs: Any) -> bool:
        """Log ``message % args`` unless a line of ``key`` was written less than ``every_s``
        ago (then only count it); True if written."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.every_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
            since = now - last if last is not None else 0.0
        if suppressed:
            message += f" (and {suppressed} more like it in the last {since:.0f} s)"
        self.logger.log(level, message, *args, **kwargs)
        return True

    def warning(self, key: str, message: str, *args: Any, **kwargs: Any) -> bool:
        """``log`` at WARNING."""
        return self.log(logging.WARNING, key, message, *args, **kwargs)
