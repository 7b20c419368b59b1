"""wardwatch's wheels, built as pip builds them from a copy of the checkout's own files, and a
virtualenv holding one: what a machine that installs wardwatch gets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import repo

PROJECTS = {"wardwatch": ".", "wardwatch-agent": "agent"}
"""Each distribution and the folder, from the top level, whose pyproject.toml builds it."""


def copy_checkout(destination: Path) -> Path:
    """The files git tracks or would track (not ignored), copied to ``destination``: a build
    there needs nothing but what a clone holds and leaves nothing in the checkout."""
    listed = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    names = subprocess.run(
        listed, cwd=repo.ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, names.split("\0")):
        source = repo.ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def build(checkout: Path, distribution: str, out: Path) -> Path:
    """Build ``distribution`` from a copied ``checkout`` into ``out``; the wheel's path."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), "."],
        cwd=checkout / PROJECTS[distribution],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building {distribution} failed:\n{result.stderr}")
    (wheel,) = out.glob("*.whl")
    return wheel


def venv_with(wheel: Path, venv: Path) -> Path:
    """A fresh virtualenv at ``venv`` with ``wheel`` and its dependencies; its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip install {wheel.name} failed:\n{pip.stderr}")
    return venv / "bin"
