"""What the repository builds and installs: two wheels from a copy of its files.

``wardwatch`` (the top-level pyproject) is the whole project under one import name;
``wardwatch-agent`` (agent/pyproject.toml) is what a ward PC installs: the agent and the rooms
it imports, no collector or dashboards code and no collector dependency. The agent-only wheel is
installed into a fresh virtualenv, as the README says, and its agent reports to a real broker
and collector.
"""

from __future__ import annotations

import subprocess
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.support import repo
from tests.support import wheels as wheels_of
from tests.support.helpers import wait_until
from wardwatch.collector.devstack.services import Mosquitto
from wardwatch.collector.ingest.pipeline import Collector

ROOMS_OF_THE_AGENT = {"agent", "common", "contract", "rules"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both wheels, built from a copy of the checkout's files."""
    base = tmp_path_factory.mktemp("build")
    checkout = wheels_of.copy_checkout(base / "checkout")
    return {name: wheels_of.build(checkout, name, base / name) for name in wheels_of.PROJECTS}


def _files(wheel: Path) -> list[PurePosixPath]:
    with zipfile.ZipFile(wheel) as archive:
        return [PurePosixPath(name) for name in archive.namelist()]


def _packages(files: list[PurePosixPath]) -> set[str]:
    return {".".join(f.parent.parts) for f in files if f.name == "__init__.py"}


@pytest.mark.process
def test_wardwatch_is_the_only_top_level_name(wheels: dict[str, Path]) -> None:
    for wheel in wheels.values():
        files = _files(wheel)
        tops = {f.parts[0] for f in files if not f.parts[0].endswith(".dist-info")}
        assert tops == {"wardwatch"}, (wheel.name, tops)
        # A namespace package (PEP 420): no wardwatch/__init__.py that one wheel would own.
        assert PurePosixPath("wardwatch/__init__.py") not in files


@pytest.mark.process
def test_the_whole_wheel_holds_every_package_of_the_three_folders(
    wheels: dict[str, Path],
) -> None:
    in_source = {name for name, path in repo.modules().items() if path.name == "__init__.py"}
    missing = in_source - _packages(_files(wheels["wardwatch"]))
    assert not missing, f"add these packages to pyproject.toml [tool.setuptools]: {missing}"


@pytest.mark.process
def test_the_agent_wheel_holds_the_agents_rooms_only(wheels: dict[str, Path]) -> None:
    files = _files(wheels["wardwatch-agent"])
    rooms = {f.parts[1] for f in files if f.parts[0] == "wardwatch"}
    assert rooms == ROOMS_OF_THE_AGENT
    # ...and all of them, data files included: what the agent loads at run time.
    whole = set(_files(wheels["wardwatch"]))
    agent_side = {f for f in whole if len(f.parts) > 1 and f.parts[1] in ROOMS_OF_THE_AGENT}
    assert agent_side <= set(files)


@pytest.mark.unit
def test_both_projects_declare_the_same_agent_dependencies() -> None:
    whole = tomllib.loads((repo.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    agent = tomllib.loads((repo.ROOT / "agent" / "pyproject.toml").read_text(encoding="utf-8"))
    assert agent["project"]["dependencies"] == whole["project"]["dependencies"]


@pytest.mark.process
@pytest.mark.services
def test_agent_only_install_reports_and_is_stored(
    tmp_path: Path, wheels: dict[str, Path], mosquitto: Mosquitto, collector: Collector
) -> None:
    bin_dir = wheels_of.venv_with(wheels["wardwatch-agent"], tmp_path / "venv")
    listed = subprocess.run(
        [str(bin_dir / "pip"), "list", "--format=freeze"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.lower()
    assert "paho-mqtt" in listed
    for collector_side in ("influxdb-client", "grafana", "urllib3"):
        assert collector_side not in listed, listed
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nid = "tan-an-pc07"\nsite = "tan-an"\n[mqtt]\nurl = "{mosquitto.url}"\n'
        f'[outbox]\npath = "{tmp_path / "outbox.sqlite3"}"\n'
    )
    agent = str(bin_dir / "wardwatch-agent")
    check = subprocess.run(
        [agent, "--config", str(config), "--check"], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stderr
    once = subprocess.run(
        [agent, "--config", str(config), "--once"], capture_output=True, text=True, timeout=60
    )
    assert once.returncode == 0, once.stderr
    wait_until(lambda: collector.stats.stored == 1, what="the report stored")
