"""The layout the README draws is the layout the code has.

Each room (package) imports only the rooms its row of the README's "Layout" table names, every
module belongs to a room of that table, per-OS code is chosen in one place, modules and
functions stay small, and nothing points outside the repository.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import repo

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
_ROW = re.compile(r"^\| `(wardwatch[\w.]*)` \|(.*)\|(.*)\|\s*$")


def _rooms() -> dict[str, set[str]]:
    """Each room of the README's Layout table and the rooms it may import."""
    readme = (repo.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rooms = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            rooms[match[1]] = set(re.findall(r"`(wardwatch[\w.]*)`", match[3]))
    return rooms


def _room_of(module: str, rooms: dict[str, set[str]]) -> str | None:
    owners = [room for room in rooms if module == room or module.startswith(room + ".")]
    return max(owners, key=len, default=None)


def _imports(path: Path) -> set[str]:
    """Every wardwatch module ``path`` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("wardwatch.")}


@pytest.mark.unit
def test_the_readme_names_the_rooms() -> None:
    rooms = _rooms()
    assert {"wardwatch.contract", "wardwatch.rules", "wardwatch.agent"} <= set(rooms)
    for room, allowed in rooms.items():
        assert allowed <= set(rooms), f"{room} may import a room the table lacks: {allowed}"


@pytest.mark.unit
def test_every_module_is_in_a_room_and_imports_only_what_its_room_may() -> None:
    rooms = _rooms()
    problems = []
    for module, path in sorted(repo.modules().items()):
        room = _room_of(module, rooms)
        if room is None:
            problems.append(f"{module}: in no room of the README's Layout table")
            continue
        for imported in sorted(_imports(path)):
            target = _room_of(imported, rooms)
            if target not in (room, None) and target not in rooms[room]:
                problems.append(f"{module} imports {imported}: {room} may not import {target}")
    assert not problems, "\n".join(problems)


@pytest.mark.unit
def test_per_os_code_is_chosen_in_one_place() -> None:
    # Anywhere else, sys.platform may only refuse a Windows API call on another OS.
    for module, path in repo.modules().items():
        text = path.read_text(encoding="utf-8")
        if module == "wardwatch.agent.native" or "sys.platform" not in text:
            continue
        assert module.endswith("_windows"), f"{module} tests sys.platform: use native.PerOs"
        for line in text.splitlines():
            if "sys.platform" in line and not line.lstrip().startswith(("#", '"', "``")):
                assert line.strip() == 'if sys.platform != "win32":', (module, line)


@pytest.mark.unit
def test_modules_and_functions_stay_small() -> None:
    problems = []
    for module, path in repo.modules().items():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        lines = text.count("\n")
        reason = ast.get_docstring(tree) or ""
        if lines > MAX_MODULE_LINES and "Long because" not in reason:
            problems.append(f"{module}: {lines} lines and no 'Long because' in its docstring")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{module}.{node.name}: {length} lines")
    assert not problems, "\n".join(problems)


SKIPPED_DIRS = {".git", ".venv", ".run", "build", "__pycache__", ".hypothesis"}
"""Not the repository's own files: git's store, the virtualenv, run data, caches."""


def _own_files() -> list[Path]:
    found = []
    for path in repo.ROOT.rglob("*"):
        parts = set(path.relative_to(repo.ROOT).parts)
        if parts & SKIPPED_DIRS or any(p.endswith((".egg-info", "_cache")) for p in parts):
            continue
        if path.is_file():
            found.append(path)
    return found


@pytest.mark.unit
def test_the_repository_stands_alone() -> None:
    # Nothing in it may lean on files outside it, or on this machine's paths.
    # This development machine's paths and the developers' notes beside the checkout, which a
    # clone does not have (spelt in pieces, so that this file does not name them itself).
    beside = ["/" + "work" + "/", "/" + "root" + "/", os.pardir + "/" + "shared"]
    notes = [rf"\b{name}\.md" for name in ("DESIGN", "FACTS", "STYLE")]
    forbidden = re.compile("|".join([*map(re.escape, beside), *notes]))
    hits = []
    for path in _own_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        name = path.relative_to(repo.ROOT)
        hits += [f"{name}: {m.group(0)}" for m in forbidden.finditer(text)]
    assert not hits, "\n".join(hits)


def _loaded(modules: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules under ``prefixes`` a fresh interpreter has loaded after importing
    ``modules`` (a comma-separated list)."""
    code = (
        f"import sys, {modules}\n"
        f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = ast.literal_eval(result.stdout.strip())
    return loaded


@pytest.mark.process
def test_agent_never_loads_the_influxdb_client() -> None:
    # The agent's install stays small: psutil, paho-mqtt and msgspec only.
    agent = "wardwatch.agent.main, wardwatch.agent.runner, wardwatch.agent.probes.host"
    collector_side = ("influxdb_client", "urllib3", "wardwatch.collector", "wardwatch.dashboards")
    assert _loaded(agent, collector_side) == []


@pytest.mark.process
def test_the_collector_and_the_operator_cli_never_load_the_agent() -> None:
    # The simulator drives real agents: only `wardwatch simulate` loads their code.
    daemons = "wardwatch.collector.ingest.main, wardwatch.collector.cli.main"
    assert _loaded(daemons, ("wardwatch.agent", "psutil")) == []
