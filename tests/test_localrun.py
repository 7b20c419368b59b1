"""``make run`` end to end: everything comes up, the agent shows in the status and lifecycle
tables, Ctrl-C stops all."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import psutil
import pytest

from tests.support import programs, repo
from wardwatch.collector.devstack.services import free_port
from wardwatch.contract import wire

pytestmark = pytest.mark.process

ROW_DEADLINE_S = 60.0
STOP_DEADLINE_S = 60.0
HEADER = re.compile(r"^--- wardwatch (status|lifecycle) at ")
STARTED = re.compile(r"^started (\S+) pid (\d+)$")


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pump(stream: IO[str], into: queue.Queue[str | None]) -> None:
    """Copy ``stream`` into ``into`` line by line, then None when it ends."""
    for line in stream:
        into.put(line)
    into.put(None)


def test_localrun_shows_the_agent_then_stops_everything_on_sigint(tmp_path: Path) -> None:
    agent_id = wire.hostname_id(socket.gethostname())
    # The id as a whole word of a status row, not as part of a longer name.
    agent_row = re.compile(rf"(?<![a-z0-9._-]){re.escape(agent_id)}(?![a-z0-9._-])")
    proc = subprocess.Popen(
        [
            *programs.LOCALRUN,
            "--dir",
            str(tmp_path / "run"),
            "--mqtt-port",
            str(free_port()),
            "--influx-port",
            str(free_port()),
            "--interval-s",
            "2",
        ],
        cwd=repo.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    # A thread drains the pipe so the deadline below holds even when localrun prints nothing.
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    reader.start()

    output: list[str] = []
    seen: set[str] = set()  # the tables (status, lifecycle) that showed the agent
    try:
        table = ""
        deadline = time.monotonic() + ROW_DEADLINE_S
        while seen != {"status", "lifecycle"} and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:  # localrun exited
                break
            output.append(line.rstrip("\n"))
            if header := HEADER.match(line):
                table = header[1]
            elif table and agent_row.search(line):
                seen.add(table)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        reader.join(timeout=10)
        while not lines.empty():
            if (line := lines.get()) is not None:
                output.append(line.rstrip("\n"))

    text = "\n".join(output)
    assert seen == {"status", "lifecycle"}, (
        f"agent {agent_id!r} missing from a table within {ROW_DEADLINE_S:g} s "
        f"(seen in: {sorted(seen)}):\n{text}"
    )
    assert code == 0, text
    started = {m[1]: int(m[2]) for line in output if (m := STARTED.match(line))}
    assert set(started) == {"mosquitto", "influxd", "collector", "agent"}, text
    still_alive = {name: pid for name, pid in started.items() if _alive(pid)}
    assert not still_alive, text
    assert output[-1] == "all stopped", text
