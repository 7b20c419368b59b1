"""Where the repository's own files are, for tests that read them (deploy/, the README...)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
"""The checkout's top level: README.md, pyproject.toml, deploy/, the three source folders."""
DEPLOY: Final = ROOT / "deploy"
SOURCE_ROOTS: Final = ("agent", "collector", "dashboards")
"""The folders whose ``wardwatch/`` holds the namespace's rooms."""


def modules() -> dict[str, Path]:
    """Every module of the three source folders, by its dotted name (a package by its
    ``__init__.py``)."""
    found = {}
    for root in SOURCE_ROOTS:
        for path in (ROOT / root / "wardwatch").rglob("*.py"):
            parts = path.relative_to(ROOT / root).with_suffix("").parts
            found[".".join(parts).removesuffix(".__init__")] = path
    return found
