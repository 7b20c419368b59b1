"""Where the repository's own files are, for tests that read them (deploy/, the README...)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
"""The checkout's top level: README.md, pyproject.toml, deploy/, the three source folders."""
DEPLOY: Final = ROOT / "deploy"
