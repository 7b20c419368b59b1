"""A dict bounded in keys, for what the collector remembers per agent (buckets, recent values,
last statuses): agents are bounded by the broker's logins, this bounds memory regardless."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(OrderedDict[K, V]):
    """Keeps at most ``limit`` keys; ``put`` forgets the least recently put first."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> None:
        """Set ``key`` as the most recent, and forget the oldest beyond the limit."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
