"""The code a ward PC runs keeps to CPython 3.8, the last on Windows 7 and 8.0 (issue 13).

``wardwatch.agent``, ``.common``, ``.contract`` and ``.rules`` (what agent/pyproject.toml builds)
run on 3.8; the collector needs 3.11. ``wardwatch.common.compat`` says how the code keeps to 3.8.

Two kinds of check:

- unit: every module of those rooms parses as Python 3.8; uses no name the standard library
  gained after 3.8, except in a branch chosen by ``sys.version_info`` (or for the type checker
  only); subscripts no builtin or ``collections.abc`` class at run time; and gives msgspec only
  types that 3.8 can evaluate (a ``Struct``'s fields, a type alias at module level). What it
  cannot see (a ``|`` of two dicts, a library's older release) the next kind sees;
- process: a real CPython 3.8 (pyenv's, or ``WARDWATCH_PYTHON38``) with the agent's wheel and
  the releases pip picks for 3.8 (msgspec 0.18, paho-mqtt 2.1...) imports every module, builds
  every Struct's decoder, checks a config, prints a dump's inventory (the same as 3.11 prints),
  runs a probe round, delivers a report to a real broker and collector with ``--once``, and
  runs as the service does until SIGTERM. Without a CPython 3.8 these fail, saying how to get
  one; they never skip.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import msgspec
import pytest

import tests.support.smbios_builder as b
from tests.support import programs, repo
from tests.support import wheels as wheels_of
from tests.support.helpers import wait_until
from tests.support.smbios_tables import DELL_OPTIPLEX_3010
from wardwatch.collector.devstack.services import Mosquitto
from wardwatch.collector.ingest.pipeline import Collector

AGENT_ROOMS: Final = (
    "wardwatch.agent",
    "wardwatch.common",
    "wardwatch.contract",
    "wardwatch.rules",
)
OLDEST: Final = (3, 8)

NEWER_MODULES: Final = {"tomllib": "3.11", "zoneinfo": "3.9", "graphlib": "3.9"}
"""Standard library modules after 3.8, and the version that added each."""
NEWER_NAMES: Final = {
    ("datetime", "UTC"): "3.11",
    ("typing", "Annotated"): "3.9",
    ("typing", "TypeAlias"): "3.10",
    ("typing", "ParamSpec"): "3.10",
    ("typing", "Concatenate"): "3.10",
    ("typing", "TypeGuard"): "3.10",
    ("typing", "is_typeddict"): "3.10",
    ("typing", "Self"): "3.11",
    ("typing", "Never"): "3.11",
    ("typing", "LiteralString"): "3.11",
    ("typing", "Required"): "3.11",
    ("typing", "NotRequired"): "3.11",
    ("typing", "Unpack"): "3.11",
    ("typing", "TypeVarTuple"): "3.11",
    ("typing", "assert_never"): "3.11",
    ("typing", "assert_type"): "3.11",
    ("typing", "reveal_type"): "3.11",
    ("typing", "dataclass_transform"): "3.11",
    ("typing", "override"): "3.12",
    ("typing", "TypeIs"): "3.13",
    ("typing", "ReadOnly"): "3.13",
    ("types", "GenericAlias"): "3.9",
    ("types", "UnionType"): "3.10",
    ("types", "NoneType"): "3.10",
    ("types", "EllipsisType"): "3.10",
    ("itertools", "pairwise"): "3.10",
    ("itertools", "batched"): "3.12",
    ("functools", "cache"): "3.9",
    ("enum", "StrEnum"): "3.11",
    ("enum", "verify"): "3.11",
    ("contextlib", "chdir"): "3.11",
    ("contextlib", "aclosing"): "3.10",
    ("dataclasses", "KW_ONLY"): "3.10",
    ("math", "lcm"): "3.9",
    ("math", "nextafter"): "3.9",
    ("math", "ulp"): "3.9",
    ("math", "cbrt"): "3.11",
    ("math", "exp2"): "3.11",
    ("random", "randbytes"): "3.9",
    ("statistics", "correlation"): "3.10",
    ("statistics", "covariance"): "3.10",
    ("statistics", "linear_regression"): "3.10",
    ("os", "waitstatus_to_exitcode"): "3.9",
    ("os", "pidfd_open"): "3.9",
    ("socket", "send_fds"): "3.9",
    ("socket", "recv_fds"): "3.9",
    ("time", "CLOCK_TAI"): "3.9",
    ("sys", "orig_argv"): "3.10",
    ("sys", "stdlib_module_names"): "3.10",
    ("sys", "exception"): "3.11",
    ("asyncio", "to_thread"): "3.9",
    ("asyncio", "timeout"): "3.11",
    ("asyncio", "TaskGroup"): "3.11",
    ("argparse", "BooleanOptionalAction"): "3.9",
    ("inspect", "get_annotations"): "3.10",
    ("logging", "getLevelNamesMapping"): "3.11",
    ("hashlib", "file_digest"): "3.11",
    ("operator", "call"): "3.11",
    ("http", "HTTPMethod"): "3.11",
    ("sqlite3", "Blob"): "3.11",
}
"""Names the standard library gained after 3.8: (module, name) and the version."""
NEWER_BUILTINS: Final = {
    "aiter": "3.10",
    "anext": "3.10",
    "EncodingWarning": "3.10",
    "ExceptionGroup": "3.11",
    "BaseExceptionGroup": "3.11",
}
NEWER_ATTRIBUTES: Final = {
    "removeprefix": "3.9 (str, bytes)",
    "removesuffix": "3.9 (str, bytes)",
    "is_relative_to": "3.9 (Path)",
    "with_stem": "3.9 (Path)",
    "hardlink_to": "3.10 (Path)",
    "is_junction": "3.12 (Path)",
    "bit_count": "3.10 (int)",
    "add_note": "3.11 (exceptions)",
    "sqlite_errorcode": "3.11 (sqlite3.Error)",
    "sqlite_errorname": "3.11 (sqlite3.Error)",
    "blobopen": "3.11 (sqlite3.Connection)",
}
"""Attributes, on whatever object, that 3.8's standard types lack."""
NEWER_KEYWORDS: Final = {
    ("zip", "strict"): "3.10",
    ("shutdown", "cancel_futures"): "3.9",
    ("dataclass", "slots"): "3.10",
    ("dataclass", "kw_only"): "3.10",
    ("dataclass", "match_args"): "3.10",
    ("field", "kw_only"): "3.10",
    ("ArgumentParser", "exit_on_error"): "3.9",
    ("basicConfig", "encoding"): "3.9",
    ("TemporaryDirectory", "ignore_cleanup_errors"): "3.10",
    ("run", "process_group"): "3.11",
    ("Popen", "process_group"): "3.11",
}
"""Keyword arguments of a call (by the called name) that 3.8 refuses."""
WIDER_IN_NEWER: Final = {"fromisoformat": "3.11 parses more formats than 3.8"}
"""Calls whose newer form accepts what 3.8 refuses; allowed where ``WIDER_ALLOWED`` says why."""
WIDER_ALLOWED: Final = {
    ("wardwatch.agent.outbox", "fromisoformat"): "reads back date.isoformat()'s own text",
}
RUNTIME_GENERICS: Final = frozenset({"list", "dict", "tuple", "set", "frozenset", "type"})
"""Builtins that 3.8 cannot subscript (PEP 585, 3.9): typing's List, Dict... can."""
UNSUBSCRIPTABLE_MODULES: Final = frozenset(
    {"collections", "collections.abc", "_collections_abc", "contextlib", "re", "queue", "os"}
)
"""Modules whose classes 3.8 cannot subscript at run time (``collections.abc.Callable[...]``)."""


def agent_modules() -> dict[str, Path]:
    """Every module of the rooms a ward PC runs, by dotted name."""
    return {
        name: path
        for name, path in repo.modules().items()
        if any(name == room or name.startswith(room + ".") for room in AGENT_ROOMS)
    }


# --- unit: what the source says --------------------------------------------------------------


def _is_version_check(test: ast.expr) -> str:
    """``newer`` for ``sys.version_info >= (...)`` (its body is newer Pythons' only), ``older``
    for ``sys.version_info < (...)`` (its else is), ``typing`` for ``TYPE_CHECKING``, else ""."""
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return "typing"
    if not (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Attribute)
        and test.left.attr == "version_info"
        and len(test.ops) == 1
        and isinstance(test.comparators[0], ast.Tuple)
    ):
        return ""
    version = tuple(ast.literal_eval(test.comparators[0]))
    if isinstance(test.ops[0], ast.GtE) and version > OLDEST:
        return "newer"  # 3.8 never takes the body
    if isinstance(test.ops[0], ast.Lt) and version > OLDEST:
        return "older"  # 3.8 always takes the body, never the else
    return ""


def _checked_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` that 3.8 runs: not a branch that only newer Pythons (or only
    the type checker) take, and not an annotation (``from __future__ import annotations``
    leaves those unevaluated; a Struct's are checked on their own)."""
    yield node
    if isinstance(node, ast.If):
        kind = _is_version_check(node.test)
        yield from _checked_nodes(node.test)
        for child in [] if kind in ("newer", "typing") else node.body:
            yield from _checked_nodes(child)
        for child in [] if kind == "older" else node.orelse:
            yield from _checked_nodes(child)
        return
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns"):
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield from _checked_nodes(child)


def _called_name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _problems_of(module: str, tree: ast.Module) -> Iterator[str]:
    """What in ``tree`` needs a Python newer than 3.8."""
    imported: dict[str, str] = {}  # local name -> the module it is
    from_module: dict[str, str] = {}  # local name -> the module it was taken from
    for node in _checked_nodes(tree):
        where = f"{module}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                # `import a.b` binds a; `import a.b as c` binds c to a.b.
                imported[alias.asname or top] = alias.name if alias.asname else top
                if top in NEWER_MODULES:
                    yield f"{where}: import {alias.name} ({NEWER_MODULES[top]}): use compat"
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top = node.module.split(".")[0]
            if top in NEWER_MODULES:
                yield f"{where}: from {node.module} ({NEWER_MODULES[top]}): use compat"
            for alias in node.names:
                from_module[alias.asname or alias.name] = node.module
                version = NEWER_NAMES.get((node.module, alias.name))
                if version:
                    yield f"{where}: {node.module}.{alias.name} is {version}"
        elif isinstance(node, ast.Attribute):
            owner = _dotted(node.value, imported)
            version = NEWER_NAMES.get((owner, node.attr)) or NEWER_ATTRIBUTES.get(node.attr)
            if version:
                yield f"{where}: .{node.attr} is {version}"
        elif isinstance(node, ast.Name) and node.id in NEWER_BUILTINS:
            yield f"{where}: {node.id} is {NEWER_BUILTINS[node.id]}"
        elif isinstance(node, ast.Call):
            yield from _call_problems(module, where, node)
        elif isinstance(node, ast.Subscript):
            problem = _runtime_subscript(node.value, imported, from_module)
            if problem:
                yield f"{where}: {problem}"


def _call_problems(module: str, where: str, call: ast.Call) -> Iterator[str]:
    called = _called_name(call)
    for keyword in call.keywords:
        version = NEWER_KEYWORDS.get((called, keyword.arg or ""))
        if version:
            yield f"{where}: {called}({keyword.arg}=...) is {version}"
    if called in WIDER_IN_NEWER and (module, called) not in WIDER_ALLOWED:
        yield f"{where}: {called}: {WIDER_IN_NEWER[called]}"
    unions = len(call.args) == 2 and any(isinstance(n, ast.BinOp) for n in ast.walk(call.args[1]))
    if called in ("isinstance", "issubclass") and unions:
        yield f"{where}: {called}(x, A | B) is 3.10: pass a tuple"


def _runtime_subscript(
    value: ast.expr, imported: dict[str, str], from_module: dict[str, str]
) -> str:
    """Why subscripting ``value`` at run time fails on 3.8, or ""."""
    owner, name = "", ""
    if isinstance(value, ast.Name):
        if value.id in RUNTIME_GENERICS and value.id not in from_module:
            return f"{value.id}[...] at run time is 3.9: use typing.{value.id.capitalize()}"
        owner, name = from_module.get(value.id, ""), value.id
    elif isinstance(value, ast.Attribute):
        owner, name = _dotted(value.value, imported), value.attr
    # A class of these modules (not a value such as os.environ, whose [...] is a lookup).
    if owner in UNSUBSCRIPTABLE_MODULES and isinstance(
        getattr(importlib.import_module(owner), name, None), type
    ):
        return f"{owner}.{name}[...] at run time is 3.9: use typing's"
    return ""


def _dotted(node: ast.expr, imported: dict[str, str]) -> str:
    """The module an expression names (``collections.abc`` for ``abc`` after ``import
    collections.abc as abc``, or for ``collections.abc``), or ""."""
    if isinstance(node, ast.Name):
        return imported.get(node.id, "")
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value, imported)
        return f"{owner}.{node.attr}" if owner else ""
    return ""


def _has_annotations(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) or (isinstance(node, ast.arg) and node.annotation):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            return True
    return False


def _postponed(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


@pytest.mark.unit
def test_the_agent_rooms_are_all_here() -> None:
    modules = agent_modules()
    assert set(AGENT_ROOMS) <= set(modules)
    assert "wardwatch.agent.main" in modules and "wardwatch.common.compat" in modules
    assert not any(name.startswith("wardwatch.collector") for name in modules)


@pytest.mark.unit
def test_every_agent_module_parses_as_python_3_8() -> None:
    problems = []
    for module, path in sorted(agent_modules().items()):
        try:
            ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=OLDEST)
        except SyntaxError as exc:
            problems.append(f"{module}:{exc.lineno}: {exc.msg}")
    assert not problems, "\n".join(problems)


@pytest.mark.unit
def test_no_agent_module_uses_what_python_3_8_lacks() -> None:
    problems: list[str] = []
    for module, path in sorted(agent_modules().items()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        problems += _problems_of(module, tree)
        if _has_annotations(tree) and not _postponed(tree):
            problems.append(
                f"{module}: annotations without `from __future__ import annotations` are "
                "evaluated at import, where 3.8 cannot read int | None or list[int]"
            )
    assert not problems, "\n".join(problems)


def _runtime_type_problem(value: object) -> str:
    """Why 3.8 cannot build the type object ``value``, or ""."""
    if isinstance(value, types.UnionType):
        return f"{value} is a 3.10 union: use typing.Union or Optional"
    if isinstance(value, types.GenericAlias):
        return f"{value} is a 3.9 generic: use typing's List, Dict, Tuple..."
    for argument in typing.get_args(value):
        problem = _runtime_type_problem(argument)
        if problem:
            return problem
    return ""


def _annotation_problem(text: str, namespace: dict[str, object]) -> str:
    """Why 3.8 cannot evaluate the annotation ``text`` in ``namespace``, or ""."""
    for node in ast.walk(ast.parse(text, mode="eval")):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return "X | Y is 3.10: use typing.Optional or Union"
        if isinstance(node, ast.Subscript):
            target: object = None
            if isinstance(node.value, ast.Name):
                target = namespace.get(node.value.id, getattr(builtins, node.value.id, None))
            elif isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name):
                target = getattr(namespace.get(node.value.value.id), node.value.attr, None)
            name, owner = getattr(target, "__name__", ""), getattr(target, "__module__", "")
            if target in (list, dict, tuple, set, frozenset, type):
                return f"{name}[...] is 3.9: use typing.{name.capitalize()}"
            if owner in UNSUBSCRIPTABLE_MODULES:
                return f"{owner}.{name}[...] is 3.9: use typing's"
    return ""


BAD_SOURCE: Final = """
import datetime as dt
import itertools
from collections.abc import Callable
from functools import cache
import tomllib

if sys.version_info >= (3, 11):
    from datetime import UTC  # fine: 3.11 only
if TYPE_CHECKING:
    from typing import Self  # fine: the type checker only

def f(a: list[int] | None, b: Callable[[int], int]) -> dict[str, int]:  # fine: postponed
    x = dt.UTC
    y = "text".removeprefix("t")
    z = list(zip(a, a, strict=True))
    w = isinstance(x, int | str)
    pool.shutdown(wait=False, cancel_futures=True)
    return dict[str, int](), itertools.pairwise(a), os.environ["HOME"]

Hook = Callable[[int], None]
"""
"""Each 3.9+ use the checks find (or must let pass), one a line."""


@pytest.mark.unit
def test_the_checks_find_what_they_look_for() -> None:
    found = list(_problems_of("bad", ast.parse(BAD_SOURCE)))
    lines = [int(problem.split(":")[1]) for problem in found]
    assert lines == [5, 6, 14, 15, 16, 17, 18, 19, 19, 21], found
    assert _annotation_problem("int | None", {}) and _annotation_problem("list[int]", {})
    assert not _annotation_problem("Optional[List[int]]", vars(typing))
    assert _runtime_type_problem(list[int] | None)
    spelt_for_3_8 = typing.Optional[typing.List[int]]  # noqa: UP006, UP045  (on purpose)
    assert not _runtime_type_problem(spelt_for_3_8)


@pytest.mark.unit
def test_msgspec_gets_only_types_python_3_8_can_evaluate() -> None:
    """msgspec evaluates a Struct's annotations when it builds a decoder (at import, for the
    wire's), and a module-level alias is a type object built at import: both must be 3.8's."""
    problems = []
    for module_name in sorted(agent_modules()):
        module = importlib.import_module(module_name)
        namespace = vars(module)
        for name, value in namespace.items():
            problem = _runtime_type_problem(value)
            if problem:
                problems.append(f"{module_name}.{name}: {problem}")
            if not (
                isinstance(value, type)
                and issubclass(value, msgspec.Struct)
                and value.__module__ == module_name
            ):
                continue
            # The class's own annotations, as written (strings: the modules postpone them).
            for field, annotation in inspect.get_annotations(value).items():
                problem = (
                    _annotation_problem(annotation, namespace)
                    if isinstance(annotation, str)
                    else _runtime_type_problem(annotation)
                )
                if problem:
                    problems.append(f"{module_name}.{name}.{field}: {problem}")
    assert not problems, "\n".join(problems)


# --- process: a real CPython 3.8 -------------------------------------------------------------

PYTHON38_ENV: Final = "WARDWATCH_PYTHON38"
INSTALL_PYTHON38: Final = (
    "no CPython 3.8 to run the agent under (the last CPython on Windows 7 and 8.0). Install "
    "one: `pyenv install 3.8.18` (this project's machines have it in ~/.pyenv/versions), or "
    f"`uv python install 3.8`, or set {PYTHON38_ENV}=/path/to/python3.8"
)


def _is_python38(candidate: str) -> bool:
    try:
        found = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return False
    return found.stdout.strip() == "True"  # a pyenv shim of an unselected version says no


def find_python38() -> str | None:
    """A CPython 3.8: ``$WARDWATCH_PYTHON38``, pyenv's, or ``python3.8`` on PATH."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates = [
        os.environ.get(PYTHON38_ENV, ""),
        *(str(p) for p in sorted(pyenv.glob("3.8*/bin/python3.8"), reverse=True)),
        shutil.which("python3.8") or "",
    ]
    return next((c for c in candidates if c and _is_python38(c)), None)


@pytest.fixture(scope="module")
def agent38(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CPython 3.8 virtualenv with the agent's wheel, as a Windows 7 PC would hold it (with
    what pip picks for 3.8: msgspec 0.18, paho-mqtt 2.1, tomli, typing_extensions); its bin."""
    python38 = find_python38()
    if python38 is None:
        pytest.fail(INSTALL_PYTHON38, pytrace=False)
    base = tmp_path_factory.mktemp("py38")
    checkout = wheels_of.copy_checkout(base / "checkout")
    wheel = wheels_of.build(checkout, "wardwatch-agent", base / "wheel")
    venv = base / "venv"
    subprocess.run([python38, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", wheel],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, f"pip install {wheel.name} under 3.8 failed:\n{pip.stderr}"
    return venv / "bin"


def run38(
    bin_dir: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``wardwatch-agent ARGS`` of the 3.8 virtualenv."""
    return subprocess.run(
        [str(bin_dir / "wardwatch-agent"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


SWEEP: Final = """
import importlib, json, pkgutil, sys
import msgspec
names = []
for room in ("agent", "common", "contract", "rules"):
    package = importlib.import_module("wardwatch." + room)
    names.append(package.__name__)
    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
structs = []
for name in names:
    for value in list(vars(importlib.import_module(name)).values()):
        ours = isinstance(value, type) and value.__module__ == name
        if ours and issubclass(value, msgspec.Struct):
            msgspec.json.Decoder(value)  # evaluates every field's annotation
            msgspec.inspect.type_info(value)
            structs.append(name + "." + value.__name__)
print(json.dumps({"python": list(sys.version_info[:2]), "modules": names, "structs": structs}))
"""
"""Imports every module of the agent's wheel and builds the decoder of every Struct in it."""


@pytest.mark.process
def test_every_module_imports_and_every_struct_decodes_under_python_3_8(agent38: Path) -> None:
    swept = subprocess.run(
        [str(agent38 / "python"), "-c", SWEEP], capture_output=True, text=True, timeout=120
    )
    assert swept.returncode == 0, swept.stderr
    found = json.loads(swept.stdout)
    assert found["python"] == [3, 8]
    assert set(found["modules"]) == set(agent_modules())
    assert "wardwatch.contract.wire.Report" in found["structs"]
    assert "wardwatch.agent.config.AgentConfig" in found["structs"]


CONFIG: Final = """
[agent]
id = "tan-an-pc07"
site = "tan-an"
interval_s = 300
[mqtt]
url = "{url}"
[outbox]
path = "{outbox}"
[links]
gateway = false
dns = false
count = 3
spread_s = 0.2
[[target]]
name = "loopback"
host = "127.0.0.1"
kind = "vc-endpoint"
ports = [9]
[thresholds.vc-endpoint]
good_rtt_ms = 250
"""
"""Every section, a list of tables and a table of tables; probes reach only this machine."""


def _config(tmp_path: Path, url: str = "mqtt://127.0.0.1:1883") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(CONFIG.format(url=url, outbox=tmp_path / "outbox.sqlite3"), encoding="utf-8")
    return path


@pytest.mark.process
def test_check_loads_a_config_under_python_3_8(agent38: Path, tmp_path: Path) -> None:
    config = _config(tmp_path)
    checked = run38(agent38, "--config", str(config), "--check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"{config}: OK, agent id 'tan-an-pc07'"
    # A bad value, from the environment, is named as on 3.11.
    environ = {**os.environ, "WARDWATCH_AGENT_INTERVAL_S": "0"}
    refused = run38(agent38, "--config", str(config), "--check", env=environ)
    assert refused.returncode == 2
    assert "key agent.interval_s = '0'" in refused.stderr
    assert "(from environment variable WARDWATCH_AGENT_INTERVAL_S)" in refused.stderr
    config.write_text("[agent\n", encoding="utf-8")  # not TOML: tomli says why, as tomllib does
    broken = run38(agent38, "--config", str(config), "--check")
    assert broken.returncode == 2 and "not valid TOML" in broken.stderr


@pytest.mark.process
def test_inventory_of_a_dump_is_the_same_under_python_3_8(agent38: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dell.bin"
    dump.write_bytes(b.dump(DELL_OPTIPLEX_3010))
    args = ("inventory", "--smbios-dump", str(dump), "--json")
    old = run38(agent38, *args)
    assert old.returncode == 0, old.stderr
    new = subprocess.run(
        [*programs.AGENT, *args], capture_output=True, text=True, timeout=120, check=True
    )
    shown = json.loads(old.stdout)
    assert shown["model"] == "OptiPlex 3010" and shown["age"]["source"] == "cpu"
    assert shown == json.loads(new.stdout)


@pytest.mark.process
def test_a_probe_round_under_python_3_8(agent38: Path, tmp_path: Path) -> None:
    probed = run38(agent38, "--config", str(_config(tmp_path)), "probe", "--json")
    assert probed.returncode in (0, 1), probed.stderr
    (loopback,) = json.loads(probed.stdout)
    assert loopback["target"] == "loopback" and loopback["address"] == "127.0.0.1"
    assert loopback["sent"] == 3 and loopback["received"] == 3
    assert loopback["ports"] == {"9": False}  # nothing listens on discard here


@pytest.mark.process
@pytest.mark.services
def test_once_under_python_3_8_is_stored(
    agent38: Path, tmp_path: Path, mosquitto: Mosquitto, collector: Collector
) -> None:
    """The whole path of a report on 3.8: probes, the SQLite outbox (which first moves aside a
    file that is not a database: SQLite's message tells it on 3.8), paho, the collector's ack."""
    config = _config(tmp_path, mosquitto.url)
    (tmp_path / "outbox.sqlite3").write_bytes(b"not an outbox\n" * 300)
    once = run38(agent38, "--config", str(config), "--once")
    assert once.returncode == 0, once.stderr
    assert "stored: report of tan-an-pc07 acknowledged by the collector" in once.stdout
    wait_until(lambda: collector.stats.stored >= 1, what="the report stored")
    (aside,) = tmp_path.glob("outbox.sqlite3.corrupt-*")
    assert aside.read_bytes() == b"not an outbox\n" * 300


@pytest.mark.process
@pytest.mark.services
def test_the_agent_runs_and_stops_under_python_3_8(
    agent38: Path, tmp_path: Path, mosquitto: Mosquitto, collector: Collector
) -> None:
    """As a ward PC runs it: reports every interval (link rounds in their thread), then
    SIGTERM (the service stopping) says ``offline`` and exits 0."""
    config = _config(tmp_path, mosquitto.url)
    environ = {**os.environ, "WARDWATCH_AGENT_INTERVAL_S": "1"}
    agent = subprocess.Popen(
        [str(agent38 / "wardwatch-agent"), "--config", str(config)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The inventory and two reports at least, each acked.
        wait_until(lambda: collector.stats.stored >= 3, what="three messages stored")
        agent.send_signal(signal.SIGTERM)
        _, log = agent.communicate(timeout=30)
    finally:
        agent.kill()
    assert agent.returncode == 0, log
    assert "connected to" in log and "message(s) wait in the outbox" in log, log
    assert "Traceback" not in log, log  # nor in paho's or the link rounds' threads
