"""The README's agent-only install: a fresh virtualenv, `pip install` of this repository, and
the agent reporting through it, with no InfluxDB client installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import repo
from tests.support.helpers import wait_until
from wardwatch.collector.devstack.services import Mosquitto
from wardwatch.collector.ingest.pipeline import Collector


def test_agent_only_install_reports_and_is_stored(
    tmp_path: Path, mosquitto: Mosquitto, collector: Collector
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(repo.ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format=freeze"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.lower()
    assert "influxdb-client" not in listed and "paho-mqtt" in listed
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nid = "tan-an-pc07"\nsite = "tan-an"\n[mqtt]\nurl = "{mosquitto.url}"\n'
        f'[outbox]\npath = "{tmp_path / "outbox.sqlite3"}"\n'
    )
    agent = str(venv / "bin" / "wardwatch-agent")
    check = subprocess.run(
        [agent, "--config", str(config), "--check"], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stderr
    once = subprocess.run(
        [agent, "--config", str(config), "--once"], capture_output=True, text=True, timeout=60
    )
    assert once.returncode == 0, once.stderr
    wait_until(lambda: collector.stats.stored == 1, what="the report stored")
