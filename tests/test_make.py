"""The developer commands the README documents, run as a developer runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import repo
from wardwatch.contract import schema

pytestmark = pytest.mark.process


def test_make_test_fast_runs_the_unit_tier() -> None:
    done = subprocess.run(
        ["make", "test-fast", "PYTEST_ARGS=-p no:cacheprovider tests/test_layout.py"],
        cwd=repo.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "-m unit" in done.stdout and " passed" in done.stdout


def test_the_schema_command_prints_the_committed_schema() -> None:
    # What `make schema` writes into agent/wardwatch/contract/wire.schema.json.
    done = subprocess.run(
        [sys.executable, "-m", "wardwatch.contract.schema"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == schema.FILE.read_text(encoding="utf-8")
