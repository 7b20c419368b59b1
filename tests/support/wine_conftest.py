"""The conftest of the agent's unit tests under Windows' embeddable CPython (3.13 and 3.8).

``tests/test_windows_units.py`` stages this file as ``tests/conftest.py`` in place of the
repository's, which imports the collector and the services it starts. Around collection it

- imports every module of the agent's four rooms first: each must import on this runtime, and
  what is lent below must then not stand in for a name the agent's own code lacks;
- lends the test files (3.11 code) the two names of the standard library they use that CPython
  3.8 lacks, ``datetime.UTC`` and ``tomllib`` (tomli, the same parser), and takes them back once
  the files are collected: the agent keeps to 3.8 by itself (``wardwatch.common.compat``), and
  runs its tests without help.

It also loads a hypothesis profile: no example database (the prefix is thrown away), no deadline
and no "too slow" health check (Wine on a shared CI machine is not a PC's clock).
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Generator

import pytest
from hypothesis import HealthCheck, settings

AGENT_ROOMS = ("wardwatch.agent", "wardwatch.common", "wardwatch.contract", "wardwatch.rules")
"""What the Windows installers ship (deploy/windows/build_msi.py AGENT_PACKAGES)."""

settings.register_profile(
    "wine", database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("wine")


def import_the_agent() -> None:
    """Import every module of the agent's rooms; the first that fails raises."""
    for room in AGENT_ROOMS:
        package = importlib.import_module(room)
        for found in pkgutil.walk_packages(package.__path__, f"{room}."):
            importlib.import_module(found.name)


def lend_newer_names() -> list[str]:
    """Give this interpreter the 3.11 names the test files use, where it lacks them; which."""
    lent = []
    if not hasattr(datetime, "UTC"):
        # (ruff would write datetime.UTC here: the very name 3.8 lacks)
        datetime.UTC = datetime.timezone.utc  # noqa: UP017
        lent.append("datetime.UTC")
    if importlib.util.find_spec("tomllib") is None:
        sys.modules["tomllib"] = importlib.import_module("tomli")
        lent.append("tomllib")
    return lent


def take_back(lent: list[str]) -> None:
    """Undo ``lend_newer_names``: the tests run on the interpreter as it is."""
    if "datetime.UTC" in lent:
        delattr(datetime, "UTC")
    if "tomllib" in lent:
        del sys.modules["tomllib"]


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """The agent imported as it is, then the test files collected with the lent names."""
    import_the_agent()
    lent = lend_newer_names()
    try:
        return (yield)
    finally:
        take_back(lent)
