"""The agent's working set and private bytes on Windows, under Wine, per runtime, against a floor.

Each runtime of ``deploy/windows/inputs.toml`` (``main``, CPython 3.13, in a fresh Wine prefix
playing Windows 10; ``legacy``, CPython 3.8, in one playing Windows 7), side by side: the tree
the MSI installs is staged by ``build_msi.fetch`` and ``stage`` (no MSI built), and ``python.exe
-B -m wardwatch.agent.main`` runs with a 1 s interval for ``--cycles`` reports (60 = an hour at
the default 60 s) against a broker, InfluxDB and an in-process collector, as the Linux footprint
does. The prefix's own Python reads with psutil the agent's memory after its first stored report
and after the cycles, and that of a floor: the same Python importing only psutil and paho-mqtt.

What Wine 8's numbers mean (read in Wine's source, checked against Linux in the last row):

- **working set** (``wset``) is the resident set (``VmRSS``) of the Unix process hosting the
  Windows one: Wine's loader and its builds of ntdll, kernelbase... instead of Windows' DLLs;
- **private bytes** are ``PagefileUsage`` (psutil's ``pagefile``), on Windows the commit charge
  (``PrivateUsage`` is "same as PagefileUsage", says Microsoft). Wine reports the host's
  ``RssAnon + VmSwap``: memory committed but never touched is left out, Wine's own heap is in.
  psutil's ``private`` is unusable: Wine's ``GetProcessMemoryInfo`` fills only the short
  ``PROCESS_MEMORY_COUNTERS``, and psutil's buffer is not zeroed (it reads stack garbage);
- **CPU** cannot be read inside Wine (``GetProcessTimes`` of another process answers the
  caller's own times): the CPU per cycle is Linux's count for the Wine process (Wine's work in
  the process included, its wineserver's not).

So they compare the two runtimes with each other and with the floor on the same Wine; they are
not what Task Manager shows on a real Windows. ``make bench`` runs this in
``tests.benchmarks.run_all``; alone, with services of its own:

    .venv/bin/python -m tests.benchmarks.windows_footprint [--cycles 60]
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, cast

import psutil

from tests.support import msi_build
from tests.support.helpers import collector_config, running_collector
from tests.support.wine import INSTALL, Wine
from wardwatch.agent.probes.links import netinfo_linux, netinfo_windows
from wardwatch.collector.devstack.services import Influxd, Mosquitto, free_port

WINDOWS = {"main": "win10", "legacy": "win7"}
"""The Windows each runtime's prefix plays: the oldest its MSI is for."""
TREE = "C:\\wardwatch"
"""Where each prefix gets the staged tree (what the MSI installs, outside Program Files)."""
AGENT = "wardwatch.agent.main"
FLOOR = "import psutil, paho.mqtt.client, time; print('floor ready', flush=True); time.sleep(3600)"
PROBE = """
import json, os, sys, psutil
for marker in sys.stdin:
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and marker.strip() in " ".join(process.cmdline()):
                memory = process.memory_info()
                found.append({"wset": memory.wset, "pagefile": memory.pagefile})
        except psutil.Error:
            pass
    print(json.dumps(found), flush=True)
"""
"""Run by the prefix's own Python: for each line read, the memory of the processes whose command
line holds it. By command line: psutil's ``name()`` and ``exe()`` fail under Wine 8
(``NtQuerySystemInformation``: invalid parameter)."""


class Runtime(Protocol):
    """What this benchmark reads of ``build_msi.Runtime``."""

    name: str
    python: str


class BuildMsi(Protocol):
    """The functions of ``deploy/windows/build_msi.py`` this benchmark reuses (see there)."""

    load_inputs: Callable[[], list[Runtime]]
    fetch: Callable[[Runtime, Path], tuple[Path, list[Path]]]
    stage: Callable[[Runtime, Path, list[Path], Path], None]


def build_msi() -> BuildMsi:
    """``deploy/windows/build_msi.py``'s functions, typed."""
    return cast(BuildMsi, msi_build.script())


@dataclass(frozen=True)
class Memory:
    """One process's memory as Windows reports it under Wine, and as Linux sees its host."""

    wset_mb: float
    private_mb: float
    linux_rss_mb: float
    linux_anon_mb: float


ROWS = (
    "cycles (reports stored, 1 s interval)",
    "agent working set: after first report / after the cycles",
    "agent private bytes: after first report / after the cycles",
    "floor (python + psutil + paho): working set / private bytes",
    "agent / floor, working set",
    "agent / floor, private bytes",
    "agent CPU per cycle (Linux's count for the Wine process)",
    "Linux's view of the agent after the cycles: VmRSS / RssAnon + VmSwap",
)
"""What ``WinFootprint.values`` are."""


@dataclass(frozen=True)
class WinFootprint:
    """One runtime's figures."""

    runtime: str
    python: str
    cycles: int
    first: Memory
    last: Memory
    floor: Memory
    cpu_per_cycle_ms: float

    def values(self) -> list[str]:
        """Each figure, in the order of ``ROWS``."""
        first, last, floor = self.first, self.last, self.floor
        return [
            f"{self.cycles}",
            _pair(first.wset_mb, last.wset_mb),
            _pair(first.private_mb, last.private_mb),
            _pair(floor.wset_mb, floor.private_mb),
            f"**{last.wset_mb / floor.wset_mb:.2f}x**",
            f"**{last.private_mb / floor.private_mb:.2f}x**",
            f"{self.cpu_per_cycle_ms:.1f} ms",
            _pair(last.linux_rss_mb, last.linux_anon_mb),
        ]


Outcome = WinFootprint | str
"""A runtime's figures, or why it has none."""


def _pair(one: float, other: float) -> str:
    return f"{one:.1f} / {other:.1f} MiB"


class Child:
    """A Windows process of a prefix, its stdio on pipes (a regular file as stdout stops
    Python under Wine), read by threads: its output lines, the tail of its errors."""

    def __init__(self, wine: Wine, *command: str, stdin: int = subprocess.DEVNULL) -> None:
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(
            [*wine.wrap, "wine", *command], env=wine.env, stdin=stdin, stdout=pipe, stderr=pipe
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: deque[str] = deque(maxlen=15)
        streams = ((self.process.stdout, self.lines.put), (self.process.stderr, self.errors.append))
        for stream, keep in streams:
            threading.Thread(target=_pump, args=(stream, keep), daemon=True).start()

    def line(self, timeout_s: float) -> str:
        """The next line it prints; RuntimeError with its errors if none comes in time."""
        try:
            return self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise RuntimeError(f"no line in {timeout_s:g} s; {self.why()}") from None

    def why(self) -> str:
        """Whether it still runs, and the last lines of its stderr."""
        code = self.process.poll()
        state = "running" if code is None else f"exited with {code}"
        return f"{state}; stderr: {' | '.join(self.errors) or '(nothing)'}"


def _pump(stream: IO[bytes] | None, keep: Callable[[str], None]) -> None:
    for line in stream or ():
        keep(line.decode(errors="replace").strip())


def _status(pid: int) -> dict[str, int]:
    """The kB figures of ``/proc/<pid>/status``, as Wine reads them for ``VM_COUNTERS``."""
    fields = (line.partition(":") for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(value.split()[0]) for name, _, value in fields if value.endswith(" kB")}


class Session:
    """One runtime staged in a fresh prefix, and the prefix's Python that reads memory there."""

    def __init__(self, runtime: Runtime, wine: Wine, progress: bool) -> None:
        self.runtime, self.wine, self.progress = runtime, wine, progress
        builder = build_msi()
        cache = msi_build.CACHE / runtime.name
        builder.stage(runtime, *builder.fetch(runtime, cache), wine.path(TREE))
        self.python = f"{TREE}\\python\\python.exe"
        self.seed_network()
        self.probe = Child(wine, self.python, "-c", PROBE, stdin=subprocess.PIPE)

    def say(self, what: str) -> None:
        """A progress line on stderr, if asked for."""
        if self.progress:
            print(f"windows footprint [{self.runtime.name}]: {what}", file=sys.stderr, flush=True)

    def seed_network(self) -> None:
        """This machine's gateway and DNS servers, where a DHCP lease puts them in the registry.

        Wine leaves ``Tcpip\\Parameters\\Interfaces`` empty: the agent's link round would find
        no target and send nothing, where the Linux footprint's agent probes this machine's."""
        key = f"HKLM\\{netinfo_windows.INTERFACES_KEY}\\{{{uuid.uuid4()}}}"
        for name, kind, value in (
            ("DhcpDefaultGateway", "REG_MULTI_SZ", "\\0".join(netinfo_linux.default_gateways())),
            ("DhcpNameServer", "REG_SZ", " ".join(netinfo_linux.dns_servers())),
        ):
            # An empty value (no gateway here) is what an unplugged adapter's key holds.
            command = ("wine", "reg", "add", key, "/v", name, "/t", kind, "/d", value, "/f")
            done = self.wine.run(*command)
            if done.returncode != 0:
                raise RuntimeError(f"reg add {name} failed: {done.stderr.strip()}")

    def read(self, marker: str, child: Child) -> Memory:
        """The memory of the one process whose command line holds ``marker``, and of its host."""
        stdin = self.probe.process.stdin
        assert stdin is not None
        stdin.write(f"{marker}\n".encode())
        stdin.flush()
        found = json.loads(self.probe.line(120))
        if len(found) != 1:
            raise RuntimeError(f"{len(found)} Windows processes hold {marker!r}: {found}")
        status = _status(child.process.pid)  # wine execs its loader: the same Unix process
        rss, anon = status["VmRSS"], status["RssAnon"] + status["VmSwap"]
        return Memory(
            found[0]["wset"] / 2**20, found[0]["pagefile"] / 2**20, rss / 1024, anon / 1024
        )

    def floor(self) -> Memory:
        """The floor's memory, once it has imported what the agent cannot do without."""
        floor = Child(self.wine, self.python, "-c", FLOOR)
        try:
            if (ready := floor.line(180)) != "floor ready":
                raise RuntimeError(f"the floor printed {ready!r}; {floor.why()}")
            return self.read("floor ready", floor)
        finally:
            floor.process.kill()  # its Unix process: Wine's server sees it go
            floor.process.wait(30)

    def agent(self, broker: Mosquitto, influx: Influxd, cycles: int, floor: Memory) -> WinFootprint:
        """The agent for ``cycles`` stored reports, its memory read after the first and the last."""
        name = self.runtime.name
        database = f"footprint_windows_{name}"
        influx.query(f'CREATE DATABASE "{database}"')
        client = {"client_id": f"bench-{name}"}
        cfg = collector_config(broker.url, influx.url, database, mqtt=client)
        with running_collector(cfg) as collector:
            stats = collector.stats
            config = _config(self.wine, name, broker)
            agent = Child(self.wine, self.python, "-B", "-m", AGENT, "--config", config)
            host, base = psutil.Process(agent.process.pid), stats.stored
            # Wine and the embeddable Python start slowly: the first report takes seconds.
            _wait(agent, lambda: stats.stored - base, 2, 240)
            first = self.read(AGENT, agent)
            cpu_start, start = sum(host.cpu_times()[:2]), stats.stored
            for step in range(10, cycles + 10, 10):
                _wait(agent, lambda: stats.stored - start, min(step, cycles), 60)
                self.say(f"{stats.stored - start}/{cycles} cycles")
            done, cpu_ms = stats.stored - start, (sum(host.cpu_times()[:2]) - cpu_start) * 1e3
            last = self.read(AGENT, agent)
        return WinFootprint(name, self.runtime.python, done, first, last, floor, cpu_ms / done)


def _config(wine: Wine, name: str, broker: Mosquitto) -> str:
    """The agent's config in the prefix, as the Linux footprint's; its ``C:\\`` path."""
    folder = f"{TREE}-bench"
    (unix := wine.path(folder)).mkdir(parents=True, exist_ok=True)
    # TOML literal strings: a Windows path's backslashes stay as they are.
    (unix / "agent.toml").write_text(
        f'[agent]\nid = "bench-win-{name}"\ninterval_s = 1\n[mqtt]\nurl = "{broker.url}"\n'
        f"[outbox]\npath = '{folder}\\outbox.sqlite3'\n"
    )
    return f"{folder}\\agent.toml"


def _wait(agent: Child, stored: Callable[[], int], target: int, timeout_s: float) -> None:
    """Until ``stored()`` reaches ``target``; RuntimeError, with the agent's errors, if the
    agent stops or time is up first."""
    deadline = time.monotonic() + timeout_s
    while stored() < target:
        if agent.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{stored()}/{target} reports in {timeout_s:g} s; {agent.why()}")
        time.sleep(0.2)


def measure_runtime(
    work: Path, runtime: Runtime, influx: Influxd, cycles: int, progress: bool = True
) -> WinFootprint:
    """One runtime in a fresh prefix, with a broker and a collector of its own: the floor, then
    the agent for ``cycles`` reports."""
    windows = WINDOWS[runtime.name]
    work.mkdir(parents=True, exist_ok=True)
    wine = Wine(work / "prefix", windows)
    try:
        session = Session(runtime, wine, progress)
        session.say(f"CPython {runtime.python} staged in a fresh prefix as {windows}")
        floor = session.floor()
        with Mosquitto(work / "mqtt", free_port()) as broker:
            return session.agent(broker, influx, cycles, floor)
    finally:
        wine.kill()  # every process of the prefix: the agent, the probe, Wine's services


def _outcome(work: Path, runtime: Runtime, influx: Influxd, cycles: int, progress: bool) -> Outcome:
    try:
        return measure_runtime(work, runtime, influx, cycles, progress)
    # One runtime's failure costs neither the other's figures nor the rest of the bench.
    except Exception as exc:
        return _unmeasured(runtime.name, f"{type(exc).__name__}: {exc}")


def _unmeasured(runtime: str, reason: str) -> str:
    return f"- {runtime} (Wine as {WINDOWS[runtime]}): not measured: {reason}"


@dataclass(frozen=True)
class Report:
    """Every runtime's outcome, with the Wine that ran them and the time it took."""

    wine: str
    elapsed_s: float
    results: list[Outcome]

    def markdown(self) -> list[str]:
        """A table, a column per runtime; then, a line each, why a runtime was not measured."""
        measured = [r for r in self.results if isinstance(r, WinFootprint)]
        lines = [r for r in self.results if isinstance(r, str)]  # a list: why, for each unmeasured
        if measured:
            titles = [f"{r.runtime} (CPython {r.python}, {WINDOWS[r.runtime]})" for r in measured]
            columns = [r.values() for r in measured]
            lines[:0] = [
                f"{self.wine}, a fresh prefix each ({self.elapsed_s / 60:.1f} min). Working set is "
                "the Wine process's resident set, private bytes its anonymous resident memory: "
                "runtimes and floors compare, a real Windows differs (see `windows_footprint.py`).",
                "",
                "| measure | " + " | ".join(titles) + " |",
                "|---" * len(titles) + "|---|",
                *(f"| {n} | {' | '.join(c[i] for c in columns)} |" for i, n in enumerate(ROWS)),
                *([""] if lines else []),  # the list of reasons apart from the table
            ]
        return lines


def measure(work: Path, influx: Influxd, cycles: int, progress: bool = True) -> Report:
    """Every runtime side by side, each with a prefix, a broker and a collector of its own."""
    started = time.monotonic()
    if shutil.which("wine") is None:
        reason = f"wine is missing: {INSTALL}"
        return Report("no Wine", 0, [_unmeasured(name, reason) for name in WINDOWS])
    version = subprocess.run(["wine", "--version"], capture_output=True, text=True, check=False)
    runtimes = build_msi().load_inputs()  # imported once, before the threads
    with ThreadPoolExecutor(len(runtimes)) as pool:
        jobs = [pool.submit(_outcome, work / r.name, r, influx, cycles, progress) for r in runtimes]
        results = [job.result() for job in jobs]
    return Report(version.stdout.strip(), time.monotonic() - started, results)


def main() -> int:
    """Measure with an InfluxDB of its own (each runtime starts its broker); print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60, help="reports to run (default 60)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wardwatch-winfoot-") as scratch:
        work = Path(scratch)
        with Influxd(work / "influx", free_port()) as influx:
            report = measure(work, influx, args.cycles)
    print("\n".join(report.markdown()))
    return 0 if all(isinstance(r, WinFootprint) for r in report.results) else 1


if __name__ == "__main__":
    sys.exit(main())
