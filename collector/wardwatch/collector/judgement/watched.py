"""A file the collector re-reads when it changes: the asset register, a city's own policy.

Changes are noticed by polling the modification time and size (no inotify: it does not exist
on every OS the collector runs on, nor on network shares), at most every ``check_every_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


class WatchedFile:
    """Says when ``path`` changed since it was last read."""

    def __init__(
        self,
        path: Path,
        *,
        check_every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Watch ``path``; the first ``changed()`` is always true."""
        self.path = path
        self._check_every_s = check_every_s
        self._clock = clock
        self._signature: tuple[int, int] | None = None
        self._checked_at: float | None = None
        self._seen = False

    @property
    def exists(self) -> bool:
        """Whether the file existed at the last check."""
        return self._signature is not None

    def changed(self) -> bool:
        """True at the first call, then when the file appeared, vanished or was modified since
        the previous true answer; checked at most every ``check_every_s``."""
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self._check_every_s:
            return False
        self._checked_at = now
        try:
            stat = self.path.stat()
            signature: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            signature = None
        if self._seen and signature == self._signature:
            return False
        self._signature, self._seen = signature, True
        return True
