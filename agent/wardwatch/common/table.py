"""Plain-text tables for the command-line tools: columns padded to their widest cell."""

from __future__ import annotations

from collections.abc import Sequence

from wardwatch.common.compat import zip_strict


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header and each row as one line, cells two spaces apart, trailing spaces cut."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip_strict(row, widths)).rstrip()
        for row in [header, *rows]
    ]


def text(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    """The table as text, or under its header the line ``empty`` when there is no row."""
    lines = columns(header, rows)
    if not rows:
        lines.append(empty)
    return "\n".join(lines)


def cell(value: object, spec: str = "") -> str:
    """A value as a table cell: ``-`` when unknown (None), else formatted by ``spec``."""
    return "-" if value is None else format(value, spec)
