"""Start real local services (Mosquitto, InfluxDB 1.x, VictoriaMetrics) as child processes.

This is the one place that knows how to run them; the pytest fixtures and ``make run`` both use
it. Each service runs in the foreground with its config, data and log inside one directory,
binds 127.0.0.1 only, is waited on until it answers, and is stopped by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from wardwatch.collector.config import InfluxSection
from wardwatch.collector.influx.query import QueryClient, Row
from wardwatch.collector.influx.writer import V1Writer

__all__ = [
    "BinaryMissingError",
    "Influxd",
    "LocalService",
    "ManagedProcess",
    "Mosquitto",
    "PortInUseError",
    "ServiceError",
    "VictoriaMetrics",
    "free_port",
    "port_is_free",
    "toml_str",
]

HOST = "127.0.0.1"
APT_MOSQUITTO_INFLUXDB = "sudo apt-get install -y mosquitto influxdb"
APT_VICTORIA_METRICS = "sudo apt-get install -y victoria-metrics"
LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """A managed process could not be started (the message holds the tail of its log)."""


class BinaryMissingError(ServiceError):
    """The executable of a managed process does not exist; the message says how to install it."""


class PortInUseError(ServiceError):
    """A port a service must listen on is already taken by another process."""

    def __init__(self, service: str, port: int) -> None:
        super().__init__(f"{service}: port {HOST}:{port} is already in use")
        self.port = port


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Tell whether a server could listen on 127.0.0.1:``port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The servers we start set SO_REUSEADDR, so connections of an earlier instance lingering
        # in TIME_WAIT do not block them; probe the same way so that a restart is not refused.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def toml_str(value: str) -> str:
    """Quote ``value`` as a TOML basic string."""
    # JSON string escapes (\\, \", \n, \uXXXX, ...) are all valid in TOML basic strings.
    return json.dumps(value)


def _http_status(url: str) -> int | None:
    """GET ``url`` and return the HTTP status, or None if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:  # URLError, connection refused, timeout
        return None


def _tcp_connects(port: int) -> bool:
    """Tell whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _find_executable(program: str) -> str | None:
    """Resolve ``program`` like the shell would, accepting explicit paths as they are."""
    if os.sep in program:
        return program if os.access(program, os.X_OK) and Path(program).is_file() else None
    return shutil.which(program)


class ManagedProcess:
    """A child process run in the foreground from a working directory, stopped by PID.

    Its stdout and stderr are appended to ``<workdir>/<name>.log``. ``start()`` returns once
    the process answers (see ``_answers``) and raises ``ServiceError`` with the tail of the log
    if it exits or does not answer in time. ``stop()`` sends SIGTERM, then SIGKILL after
    ``stop_timeout_s``. Usable as a context manager.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        workdir: Path,
        *,
        install_hint: str,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.workdir = workdir.resolve()
        self.install_hint = install_hint
        self.env = dict(env) if env is not None else None
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The file the process's stdout and stderr are appended to."""
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        """PID of the process last started (None before the first start)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the process last started is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def poll(self) -> int | None:
        """Exit code of the process if it has exited, else None (also None if never started)."""
        return self._proc.poll() if self._proc is not None else None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log file ("" if there is none yet)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _prepare(self) -> None:
        """Hook run before each start: write config files, check ports."""

    def _answers(self) -> bool:
        """Hook: whether the freshly started process is ready. By default, at once."""
        return True

    def _error(self, what: str) -> ServiceError:
        """A ServiceError about this process with the tail of its log attached."""
        return ServiceError(
            f"{self.name}: {what}\n--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def start(self) -> None:
        """Start the process and wait until it answers; raise ServiceError if it does not."""
        if self.running:
            raise ServiceError(f"{self.name}: already running as pid {self.pid}")
        if _find_executable(self.argv[0]) is None:
            raise BinaryMissingError(
                f"{self.name}: executable {self.argv[0]!r} not found; "
                f"install it with: {self.install_hint}"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._prepare()
        with self.log_path.open("ab") as log:
            log.write(f"--- wardwatch: starting {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A session of its own: a Ctrl-C in the terminal reaches only our parent, which
                # then stops its children one by one in a chosen order.
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            code = self._proc.poll()
            if code is not None:
                raise self._error(f"exited with code {code} while starting")
            # Checking liveness again after the answer: something else may hold the port.
            if self._answers() and self._proc.poll() is None:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise self._error(f"did not answer within {self.start_timeout_s:g} s")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """Stop by PID: SIGTERM, SIGKILL after ``stop_timeout_s``. Returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode

    def kill(self) -> int | None:
        """Stop by PID with SIGKILL at once, as a crash or power cut would. Returns the code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        return self._proc.returncode

    def restart(self) -> None:
        """Stop (if running) and start again with the same configuration and data."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LocalService(ManagedProcess, ABC):
    """A server listening on 127.0.0.1:``port`` with its config and data in ``workdir``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        workdir: Path,
        port: int,
        *,
        install_hint: str,
    ) -> None:
        super().__init__(name, argv, workdir, install_hint=install_hint)
        self.port = port

    @property
    @abstractmethod
    def url(self) -> str:
        """Where clients reach the service."""

    def _listen_ports(self) -> tuple[int, ...]:
        """Every port the service binds; all must be free before it starts."""
        return (self.port,)

    def _prepare(self) -> None:
        # Otherwise a server already on the port would answer the readiness check for us.
        for port in self._listen_ports():
            if not port_is_free(port):
                raise PortInUseError(self.name, port)
        self._write_config()

    def _write_config(self) -> None:
        """Write the service's config file(s) into ``workdir``; by default there are none."""


class Mosquitto(LocalService):
    """Mosquitto 2.x MQTT broker on 127.0.0.1:``port``, persistence in ``workdir/data``."""

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        persistence: bool = True,
        extra_conf: str = "",
        binary: str | None = None,
    ) -> None:
        workdir = workdir.resolve()
        self.config_path = workdir / "mosquitto.conf"
        super().__init__(
            "mosquitto",
            [
                binary or shutil.which("mosquitto") or "/usr/sbin/mosquitto",
                "-c",
                str(self.config_path),
            ],
            workdir,
            port,
            install_hint=f"{APT_MOSQUITTO_INFLUXDB} (or: make deps)",
        )
        self.persistence = persistence
        self.extra_conf = extra_conf

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://{HOST}:{self.port}"

    def _write_config(self) -> None:
        data_dir = self.workdir / "data"
        data_dir.mkdir(exist_ok=True)
        lines = [
            f"listener {self.port} {HOST}",
            "allow_anonymous true",
            # Mosquitto writes its own log file and flushes each line; its stdout is
            # block-buffered, so a log read from there would lose the last lines on SIGKILL.
            f"log_dest file {self.log_path}",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {data_dir}",
            # Short, so a broker killed in a test or on `make run` loses little; the end-to-end
            # ack (DESIGN.md, "Nothing lost") covers what it does lose.
            "autosave_interval 1",
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto switches to the `mosquitto` user after reading its
            # config, and that user cannot enter pytest's 0700 /tmp/pytest-of-root, so it fails
            # to save its database ("Permission denied"). `user root` keeps the identity we
            # started it with (verified with 2.0.11); it only logs a warning. Without root the
            # option is ignored, so it is written only when needed.
            lines.append("user root")
        if self.extra_conf:
            lines.append(self.extra_conf)
        self.config_path.write_text("\n".join(lines) + "\n")

    def _answers(self) -> bool:
        return _tcp_connects(self.port)


class Influxd(LocalService):
    """InfluxDB 1.x (``influxd``) with HTTP on 127.0.0.1:``port``, everything in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        rpc_port: int | None = None,
        binary: str | None = None,
    ) -> None:
        workdir = workdir.resolve()
        self.config_path = workdir / "influxd.conf"
        super().__init__(
            "influxd",
            [
                binary or shutil.which("influxd") or "/usr/bin/influxd",
                "run",
                "-config",
                str(self.config_path),
            ],
            workdir,
            port,
            install_hint=f"{APT_MOSQUITTO_INFLUXDB} (or: make deps)",
        )
        # The backup/restore RPC listener defaults to 8088 and would collide between two
        # instances; it gets its own port, chosen once so that a restart keeps it.
        self.rpc_port = rpc_port if rpc_port is not None else free_port()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def _listen_ports(self) -> tuple[int, ...]:
        return (self.port, self.rpc_port)

    def _write_config(self) -> None:
        q = toml_str
        self.config_path.write_text(
            # Upstream 1.x reads `reporting-disabled`; Debian's build renamed it to
            # `reporting-enabled` (default off). Unknown keys are ignored, so both are written.
            "reporting-disabled = true\n"
            "reporting-enabled = false\n"
            f"bind-address = {q(f'{HOST}:{self.rpc_port}')}\n"
            "\n[meta]\n"
            f"  dir = {q(str(self.workdir / 'meta'))}\n"
            "\n[data]\n"
            f"  dir = {q(str(self.workdir / 'data'))}\n"
            f"  wal-dir = {q(str(self.workdir / 'wal'))}\n"
            "  query-log-enabled = false\n"
            "\n[monitor]\n"
            "  store-enabled = false\n"
            "\n[http]\n"
            f"  bind-address = {q(f'{HOST}:{self.port}')}\n"
            "  log-enabled = false\n"
            "\n[continuous_queries]\n"
            "  log-enabled = false\n"
            "\n[logging]\n"
            "  suppress-logo = true\n"
        )

    def _answers(self) -> bool:
        return _http_status(f"{self.url}/ping") == 204

    def query(self, statement: str, database: str = "") -> list[Row]:
        """Run an InfluxQL statement by ``POST /query`` with the collector's own client.

        Raises QueryError if InfluxDB reports an error.
        """
        client = QueryClient(InfluxSection(url=self.url), database=database)
        try:
            return client.execute(statement)
        finally:
            client.close()

    def write(self, database: str, lines: str) -> None:
        """Write line protocol with the collector's v1 writer; raises WriteError."""
        writer = V1Writer(InfluxSection(url=self.url, database=database))
        try:
            writer.write(lines.splitlines())
        finally:
            writer.close()


class VictoriaMetrics(LocalService):
    """VictoriaMetrics single-node on 127.0.0.1:``port``: a test server for InfluxDB's v2 write API.

    It accepts line protocol at ``/api/v2/write`` and ``/write`` and stores each field as a
    series named ``<measurement>_<field>`` with the tags as labels (plus ``db=<db>`` for the v1
    ``/write?db=``); booleans become 1/0 and string fields are not kept as text.
    ``export()`` reads the stored series back.
    """

    def __init__(self, workdir: Path, port: int, *, binary: str | None = None) -> None:
        workdir = workdir.resolve()
        super().__init__(
            "victoria-metrics",
            [
                binary or shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics",
                f"-storageDataPath={workdir / 'data'}",
                f"-httpListenAddr={HOST}:{port}",
                # The default retention (1 month) silently drops points older than that, and
                # tests write fixed timestamps (and ward PCs with dead clocks send old ones).
                "-retentionPeriod=100y",
                # By default the last 30 s are hidden from queries; tests read back at once.
                "-search.latencyOffset=0s",
                "-search.disableCache",
            ],
            workdir,
            port,
            install_hint=f"{APT_VICTORIA_METRICS} (or: make deps)",
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def _answers(self) -> bool:
        return _http_status(f"{self.url}/health") == 200

    def export(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """Every stored series matching the selector ``match``, as exported by ``/api/v1/export``.

        Each item is ``{"metric": {"__name__": ..., <labels>}, "values": [...],
        "timestamps": [<ms>...]}``. Pending writes are flushed first so they are all visible.
        """
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30.0).close()
        body = urllib.parse.urlencode({"match[]": match}).encode()
        with urllib.request.urlopen(f"{self.url}/api/v1/export", data=body, timeout=30.0) as resp:
            text: str = resp.read().decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]
