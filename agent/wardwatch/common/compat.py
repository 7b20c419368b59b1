"""What CPython 3.8 lacks, for the code a ward PC runs: the agent and the rooms it imports.

CPython 3.9 and later do not run on Windows 7 or 8.0, and many ward PCs run Windows 7, so
``wardwatch.agent``, ``.common``, ``.contract`` and ``.rules`` keep to Python 3.8; the collector
needs 3.11. The rules they follow (tests/test_py38.py checks them, and runs the agent under a
real CPython 3.8):

- a name the standard library gained after 3.8 is taken from here, where it is chosen by
  version, or written another way (``timezone.utc`` for ``datetime.UTC``, a slice for
  ``itertools.pairwise``);
- a type that Python evaluates at run time is written with ``typing``'s names (``Optional``,
  ``Union``, ``List``, ``Dict``, ``Tuple``, ``Callable``): the fields of a msgspec ``Struct``
  (msgspec evaluates their annotations when it builds a decoder) and a type alias assigned at
  module level. Other annotations are written as in the rest of the repository (``int | None``,
  ``list[str]``): ``from __future__ import annotations`` leaves them unevaluated text.

On 3.11 and later every name here is the standard library's own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

if sys.version_info >= (3, 9):
    from typing import Annotated
else:  # msgspec reads typing_extensions' Annotated; a dependency on 3.8 only (pyproject.toml)
    from typing_extensions import Annotated

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomli is the parser that joined the standard library as tomllib: same API, same errors
    import tomli as tomllib

__all__ = ["Annotated", "sqlite_errorcode", "tomllib", "zip_strict"]

A = TypeVar("A")
B = TypeVar("B")


def zip_strict(first: Sequence[A], second: Sequence[B]) -> Iterator[tuple[A, B]]:
    """``zip(first, second, strict=True)`` (3.10) for two sequences: ValueError when their
    lengths differ."""
    if len(first) != len(second):
        raise ValueError(f"zip_strict: the lengths differ ({len(first)} and {len(second)})")
    return zip(first, second)


_SQLITE_MESSAGES: Final = {
    "database disk image is malformed": 11,  # SQLITE_CORRUPT
    "malformed database schema": 11,  # SQLITE_CORRUPT, met reading the schema
    "file is not a database": 26,  # SQLITE_NOTADB
}


def sqlite_errorcode(error: Exception) -> int | None:
    """A ``sqlite3.Error``'s ``sqlite_errorcode`` (3.11). Before 3.11 only SQLite's message
    tells: the primary code of a damaged file or one that is not a database, else None."""
    if sys.version_info >= (3, 11):
        code = getattr(error, "sqlite_errorcode", None)  # None: an error of Python's module
        return None if code is None else int(code)
    text = str(error)
    return next((n for message, n in _SQLITE_MESSAGES.items() if text.startswith(message)), None)
