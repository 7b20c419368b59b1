"""The agent's unit tier under both Windows runtimes: CPython 3.13 (the main MSI's) in a Wine
prefix playing Windows 10, CPython 3.8 (the legacy MSI's) in one playing Windows 7, side by side.

For each runtime, ``deploy/windows/build_msi.py`` fetches (pinned, hash-checked, into
``build/windows-inputs/<runtime>``) and stages (``python/``, ``site-packages/``,
``app/``) what the MSI installs, plus pytest and hypothesis from
``tests/support/wine_pytest.toml``. Beside it go the test files below, the support modules they
import, and ``tests/support/wine_conftest.py`` as ``tests/conftest.py`` (the repository's
imports the collector; that one imports every agent module first, lends the test files the
3.11-only names they use while they are collected on 3.8, and loads a hypothesis profile without
database or deadline; the examples are as many as on Linux). Then ``wine python\\python.exe -m
pytest -m unit FILES``, run in the staged tree, must exit 0 with at least ``PASSED_AT_LEAST``
tests passed: a floor, so that a file that no longer collects cannot pass unseen.

The files: those whose ``unit`` tests import only agent code (``wardwatch.agent``, ``.common``,
``.contract``, ``.rules``), tried under both runtimes. Left out, and why:

- test_config, test_os_table: they import the collector themselves;
- test_links: ``tests.support.netlab`` is Linux's (fcntl, resource, network namespaces);
- the other files with unit tests test the collector (test_points, test_lifecycle...), the
  repository (test_layout, test_py38's static checks...) or the Linux packaging (test_units).

Deselected (the Linux SMBIOS reader, which never runs on Windows, tested with Linux's rules):
``test_linux_unreadable_raw_table_falls_back`` (a directory opened as a file is EACCES on Linux,
"not readable (root only)" on Windows) and ``test_linux_with_no_dmi_at_all`` (the note spells
the sysfs path with Windows' separator).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support import msi_build, repo
from tests.support.msi_build import CACHE
from tests.support.wine import Wine

pytestmark = [pytest.mark.wine, pytest.mark.process]

TESTS = repo.ROOT / "tests"
PINS = TESTS / "support" / "wine_pytest.toml"
FILES = (
    "test_age.py",
    "test_age_bounds.py",
    "test_cpuage.py",
    "test_inventory.py",
    "test_netinfo_windows.py",
    "test_netstats.py",
    "test_outbox.py",
    "test_platform_dates.py",
    "test_policy.py",
    "test_probes.py",
    "test_smart.py",
    "test_smbios.py",
    "test_smbios_readers.py",
    "test_throttle.py",
    "test_verdict.py",
    "test_wire.py",
)
"""The test files of the agent's unit tier that run on Windows (the module docstring says why
the others do not)."""
SUPPORT = (
    "__init__.py",
    "cpu_corpus.py",
    "factories.py",
    "smbios_builder.py",
    "smbios_tables.py",
)
"""What of tests/support those files import."""
DESELECTED = (
    "tests/test_smbios_readers.py::test_linux_unreadable_raw_table_falls_back",
    "tests/test_smbios_readers.py::test_linux_with_no_dmi_at_all",
)
PASSED_AT_LEAST = {"main": 428, "legacy": 428}
"""As measured (2 deselected, 16 of other tiers left out by ``-m unit``)."""
CASES = (("main", "win10"), ("legacy", "win7"))
"""Each runtime and the Windows its Wine prefix plays."""


def _stage(build_msi: Any, runtime: Any, tree: Path) -> None:
    """The runtime as its MSI installs it, pytest and hypothesis beside, and the tests."""
    pins = tomllib.loads(PINS.read_text(encoding="utf-8"))["runtime"][runtime.name]["wheels"]
    tools = tuple(build_msi.Pin(p["name"], p["version"], p["sha256"]) for p in pins)
    # One download of the runtime's wheels and the test tools, every file's hash checked.
    embed, wheels = build_msi.fetch(
        dataclasses.replace(runtime, wheels=(*runtime.wheels, *tools)),
        CACHE / runtime.name,
    )
    build_msi.stage(runtime, embed, wheels, tree)
    (tree / "tests" / "support").mkdir(parents=True)
    for name in ("__init__.py", *FILES, *(f"support/{s}" for s in SUPPORT)):
        shutil.copyfile(TESTS / name, tree / "tests" / name)
    shutil.copyfile(TESTS / "support" / "wine_conftest.py", tree / "tests" / "conftest.py")
    # The tiers, as pyproject.toml declares them (--strict-markers); the file also makes the
    # staged tree pytest's rootdir, whatever lies above it.
    markers = tomllib.loads((repo.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "pytest"
    ]["ini_options"]["markers"]
    (tree / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n" + "".join(f"    {m}\n" for m in markers), encoding="utf-8"
    )


def _run_units(build_msi: Any, runtime: Any, windows: str, work: Path) -> str:
    """Stage, boot a prefix, run the unit tier there; pytest's output, checked."""
    tree = work / "tree"
    tree.mkdir(parents=True)
    # Run from the staged tree (the tests' package is there, and nothing may land in the
    # checkout); hypothesis keeps its files in the prefix; pytest's output as UTF-8 whatever
    # Windows' code page (measured: both runtimes honour PYTHONIOENCODING with their ._pth).
    wrap = ("env", "--chdir", str(tree), "HYPOTHESIS_STORAGE_DIRECTORY=C:\\hypothesis")
    with ThreadPoolExecutor(1) as background:
        # The prefix boots while the inputs are fetched and staged (the suite's time).
        booting = background.submit(
            Wine, work / "prefix", windows, wrap=(*wrap, "PYTHONIOENCODING=utf-8")
        )
        _stage(build_msi, runtime, tree)
    wine = booting.result()
    try:
        command = ["wine", "python\\python.exe", "-m", "pytest", "-p", "no:cacheprovider"]
        command += ["--strict-markers", "-q", "-m", "unit", *(f"tests/{f}" for f in FILES)]
        command += [f"--deselect={node}" for node in DESELECTED]
        done = wine.run(*command, timeout=240, settle=False)
    finally:
        wine.kill()
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"[{runtime.name}] pytest under Wine failed:\n{output}"
    passed = re.search(r"(\d+) passed", output)
    floor = PASSED_AT_LEAST[runtime.name]
    assert passed is not None and int(passed[1]) >= floor, (
        f"[{runtime.name}] fewer than {floor} tests passed:\n{output}"
    )
    return output


def test_the_agents_unit_tier_passes_under_both_windows_runtimes(tmp_path: Path) -> None:
    """CPython 3.13 on Windows 10 and 3.8 on Windows 7, side by side (the suite's time)."""
    build_msi = msi_build.script()
    runtimes = {runtime.name: runtime for runtime in build_msi.load_inputs()}
    with ThreadPoolExecutor(len(CASES)) as pool:
        futures = [
            pool.submit(_run_units, build_msi, runtimes[name], windows, tmp_path / name)
            for name, windows in CASES
        ]
        for future in futures:
            future.result()  # re-raises a runtime's failure
