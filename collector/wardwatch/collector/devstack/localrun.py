"""``make run``: a whole wardwatch on this machine, for trying it out and for development.

Starts Mosquitto and InfluxDB 1.x with their data under ``--dir``, a collector, and an agent
for this machine; prints ``wardwatch status`` every interval (and ``wardwatch lifecycle`` every
sixth); on Ctrl-C (SIGINT) or SIGTERM stops them all by PID, the agent first and the broker
last.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import FrameType

from wardwatch.collector.devstack.process import ManagedProcess, ServiceError
from wardwatch.collector.devstack.services import Influxd, Mosquitto, port_is_free
from wardwatch.common.tomlconfig import toml_str
from wardwatch.contract import wire

DEFAULT_DIR = Path(".run")
# Not 1883/8086: on a Debian machine `apt-get install mosquitto influxdb` also starts the
# system services on those ports.
DEFAULT_MQTT_PORT = 11883
DEFAULT_INFLUX_PORT = 18086
DEFAULT_INTERVAL_S = 10
STATUS_TIMEOUT_S = 30.0
LIFECYCLE_EVERY = 6
"""The lifecycle table changes at most hourly: print it once every this many status tables."""
# How often the children are checked for an unexpected exit.
WATCH_PERIOD_S = 0.2
INSTALL_HINT = "make venv (installs wardwatch into .venv)"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _port(text: str) -> int:
    """argparse type: a TCP port number."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m wardwatch.collector.devstack.localrun``."""
    parser = argparse.ArgumentParser(
        prog="python -m wardwatch.collector.devstack.localrun",
        description="Run a whole wardwatch on this machine: Mosquitto and InfluxDB 1.x on "
        "127.0.0.1, a collector, and an agent reporting this machine. Prints `wardwatch "
        "status` every interval. Ctrl-C stops everything it started.",
        epilog="Written into DIR: agent.toml, collector.toml, one log file per process, and "
        "the broker's and the database's data (kept between runs). `make run` runs this with "
        "--dir .run; pass options through make with RUN_ARGS='--mqtt-port N ...'.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"where configs, logs and data go (default: {DEFAULT_DIR})",
    )
    parser.add_argument(
        "--mqtt-port",
        type=_port,
        default=DEFAULT_MQTT_PORT,
        metavar="PORT",
        help=f"Mosquitto's port on 127.0.0.1 (default: {DEFAULT_MQTT_PORT})",
    )
    parser.add_argument(
        "--influx-port",
        type=_port,
        default=DEFAULT_INFLUX_PORT,
        metavar="PORT",
        help=f"InfluxDB's HTTP port on 127.0.0.1 (default: {DEFAULT_INFLUX_PORT})",
    )
    parser.add_argument(
        "--interval-s",
        type=_positive_int,
        default=DEFAULT_INTERVAL_S,
        metavar="SECONDS",
        help="the agent's report interval, and how often the status is printed "
        f"(default: {DEFAULT_INTERVAL_S})",
    )
    return parser


def write_configs(
    run_dir: Path, agent_id: str, mqtt_url: str, influx_url: str, interval_s: int
) -> tuple[Path, Path]:
    """Write ``agent.toml`` and ``collector.toml`` into ``run_dir``; return their paths."""
    agent_toml = run_dir / "agent.toml"
    agent_toml.write_text(
        "[agent]\n"
        f"id = {toml_str(agent_id)}\n"
        'site = "local"\n'
        'role = "office-pc"\n'
        'device_class = "desktop"\n'
        f"interval_s = {interval_s}\n"
        "[mqtt]\n"
        f"url = {toml_str(mqtt_url)}\n"
        "[outbox]\n"
        f"path = {toml_str(str(run_dir / 'outbox.sqlite3'))}\n"
    )
    collector_toml = run_dir / "collector.toml"
    collector_toml.write_text(
        "[mqtt]\n"
        f"url = {toml_str(mqtt_url)}\n"
        'client_id = "wardwatch-collector-local"\n'
        "[influx]\n"
        f"url = {toml_str(influx_url)}\n"
        'api = "v1"\n'
        'database = "wardwatch"\n'
    )
    return agent_toml, collector_toml


def _say(text: str = "") -> None:
    """Print at once: the output is often a pipe (tests, tee), which Python would buffer."""
    print(text, flush=True)


def _print_report(wardwatch: Path, collector_toml: Path, command: str) -> None:
    """Run ``wardwatch <command>`` (status, lifecycle) and print its output under a header."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    _say(f"--- wardwatch {command} at {stamp} ---")
    try:
        result = subprocess.run(
            [str(wardwatch), command, "--config", str(collector_toml)],
            capture_output=True,
            text=True,
            timeout=STATUS_TIMEOUT_S,
            # Out of the terminal's process group, so a Ctrl-C does not kill it mid-table.
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        _say(f"(wardwatch {command} gave no answer within {STATUS_TIMEOUT_S:g} s)")
        return
    _say((result.stdout + result.stderr).rstrip())
    if result.returncode != 0:
        _say(f"(wardwatch {command} exited with code {result.returncode})")


def _watch(
    children: list[ManagedProcess],
    stop: threading.Event,
    interval_s: int,
    status: tuple[Path, Path],
) -> int:
    """Print the status every interval, and the lifecycle verdicts every
    ``LIFECYCLE_EVERY`` intervals (first with the second status), until ``stop`` is set or a
    child dies; the exit code."""
    next_status = time.monotonic() + interval_s
    printed = 0
    while not stop.wait(WATCH_PERIOD_S):
        for child in children:
            code = child.poll()
            if code is not None:
                _say(f"{child.name} (pid {child.pid}) exited unexpectedly with code {code}")
                _say(f"--- last lines of {child.log_path} ---\n{child.log_tail()}")
                return EXIT_FAILED
        if time.monotonic() >= next_status:
            _print_report(*status, "status")
            if printed % LIFECYCLE_EVERY == 1:
                _print_report(*status, "lifecycle")
            printed += 1
            next_status = time.monotonic() + interval_s
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.mqtt_port == args.influx_port:
        parser.error("--mqtt-port and --influx-port must differ")
    for problem, code in ((_ports_taken(args), EXIT_USAGE), (_scripts_missing(), EXIT_FAILED)):
        if problem:
            print(f"localrun: {problem}", file=sys.stderr)
            return code
    stack = Stack(args.dir.resolve(), args.mqtt_port, args.influx_port, args.interval_s)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        _say(f"\n{signal.Signals(signum).name} received, stopping")
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stack.run(stop)


def _ports_taken(args: argparse.Namespace) -> str:
    """Why a port cannot be used, or ""."""
    for port, option, what in (
        (args.mqtt_port, "--mqtt-port", "MQTT"),
        (args.influx_port, "--influx-port", "InfluxDB"),
    ):
        if not port_is_free(port):
            return (
                f"port {port} ({what}) is already in use on 127.0.0.1; "
                f"choose another with {option} PORT"
            )
    return ""


def _script(name: str) -> Path:
    # The console scripts sit next to this interpreter when wardwatch is installed in its venv.
    return Path(sys.executable).parent / name


def _scripts_missing() -> str:
    """Which of wardwatch's scripts is not installed beside this interpreter, or ""."""
    for name in ("wardwatch-agent", "wardwatch-collector", "wardwatch"):
        if not _script(name).is_file():
            return f"{_script(name)} not found; run: {INSTALL_HINT}"
    return ""


class Stack:
    """The broker, the database, a collector and this machine's agent, under ``run_dir``."""

    def __init__(self, run_dir: Path, mqtt_port: int, influx_port: int, interval_s: int) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.interval_s = interval_s
        self.broker = Mosquitto(run_dir / "mosquitto", mqtt_port)
        self.database = Influxd(run_dir / "influxdb", influx_port)
        self.agent_id = wire.hostname_id(socket.gethostname())
        self.agent_toml, self.collector_toml = write_configs(
            run_dir, self.agent_id, self.broker.url, self.database.url, interval_s
        )
        # Unbuffered, so the collector's and the agent's log files are current while they run.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.children = [
            self.broker,
            self.database,
            # The collector before the agent, so it is subscribed when the first report comes.
            ManagedProcess(
                "collector",
                [str(_script("wardwatch-collector")), "--config", str(self.collector_toml)],
                run_dir,
                install_hint=INSTALL_HINT,
                env=env,
            ),
            ManagedProcess(
                "agent",
                [str(_script("wardwatch-agent")), "--config", str(self.agent_toml)],
                run_dir,
                install_hint=INSTALL_HINT,
                env=env,
            ),
        ]

    def run(self, stop: threading.Event) -> int:
        """Start everything, print the status until ``stop`` (or a child dies), then stop
        everything started, last first; the exit code."""
        started: list[ManagedProcess] = []
        exit_code = EXIT_OK
        try:
            for child in self.children:
                if stop.is_set():
                    break
                child.start()
                started.append(child)
                _say(f"started {child.name} pid {child.pid}")
            else:
                self._say_where()
                report = (_script("wardwatch"), self.collector_toml)
                exit_code = _watch(started, stop, self.interval_s, report)
        except ServiceError as err:
            _say(f"localrun: {err}")
            exit_code = EXIT_FAILED
        finally:
            # Reverse order of start: agent, collector, influxd, mosquitto.
            for child in reversed(started):
                code = child.stop()
                _say(f"stopped {child.name} pid {child.pid} (exit code {code})")
            _say("all stopped")
        return exit_code

    def _say_where(self) -> None:
        _say(f"agent id:  {self.agent_id}")
        _say(f"broker:    {self.broker.url}")
        _say(f"influxdb:  {self.database.url} (database wardwatch)")
        _say(f"configs:   {self.agent_toml}  {self.collector_toml}")
        _say("logs:      " + "  ".join(str(c.log_path) for c in self.children))
        _say(f"status every {self.interval_s} s; Ctrl-C stops everything")


if __name__ == "__main__":
    sys.exit(main())
