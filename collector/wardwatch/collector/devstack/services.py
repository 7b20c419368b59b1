"""Real local services (Mosquitto, InfluxDB 1.x, VictoriaMetrics) as child processes.

The one place that knows how to run them; the pytest fixtures and ``make run`` both use it. Each
service runs in the foreground with its config, data and log inside one directory, binds
127.0.0.1 only, is waited on until it answers, and is stopped by PID (``process``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wardwatch.collector.config import InfluxSection
from wardwatch.collector.devstack import influx_users
from wardwatch.collector.devstack.influx_users import Login, Privilege
from wardwatch.collector.devstack.process import ManagedProcess, ServiceError
from wardwatch.collector.influx.query import QueryClient, Row
from wardwatch.collector.influx.writer import V1Writer
from wardwatch.common.tomlconfig import toml_str

HOST = "127.0.0.1"
APT_MOSQUITTO_INFLUXDB = "sudo apt-get install -y mosquitto influxdb"
APT_VICTORIA_METRICS = "sudo apt-get install -y victoria-metrics"


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


def tcp_connects(port: int) -> bool:
    """Tell whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


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
            # ack (docs/design.md, "Nothing lost") covers what it does lose.
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
        return tcp_connects(self.port)


class Influxd(LocalService):
    """InfluxDB 1.x (``influxd``) with HTTP on 127.0.0.1:``port``, everything in ``workdir``.

    With ``auth``, HTTP needs a login (``auth-enabled = true``): an admin user ``admin`` is
    created at each start, and ``query``/``write`` log in as it; ``create_user`` adds others.
    """

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        rpc_port: int | None = None,
        binary: str | None = None,
        auth: bool = False,
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
        # Random per instance: only this object can log in as the admin, nothing guesses it.
        self.admin = Login(influx_users.ADMIN_USER, secrets.token_urlsafe(16)) if auth else None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def _listen_ports(self) -> tuple[int, ...]:
        return (self.port, self.rpc_port)

    def start(self) -> None:
        """Start and wait until it answers; with auth, then create the admin user.

        InfluxDB takes the first admin without a login; the login is sent anyway, so that a
        restart (the admin exists, the statement is then a no-op) is accepted too.
        """
        super().start()
        if self.admin is not None:
            self.query(influx_users.create_admin(self.admin))

    def create_user(self, login: Login, privilege: Privilege, database: str) -> None:
        """Create ``login`` (as the admin) with ``privilege`` on ``database``."""
        for statement in influx_users.user_with_privilege(login, privilege, database):
            self.query(statement)

    def section(self, database: str = "wardwatch", login: Login | None = None) -> InfluxSection:
        """The collector's ``[influx]`` for this server, logged in as ``login`` (by default
        the admin when auth is on, nobody otherwise)."""
        login = login or self.admin
        if login is None:
            return InfluxSection(url=self.url, database=database)
        return InfluxSection(
            url=self.url, database=database, username=login.user, password=login.password
        )

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
            f"  auth-enabled = {'true' if self.admin else 'false'}\n"
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
        client = QueryClient(self.section(), database=database)
        try:
            return client.execute(statement)
        finally:
            client.close()

    def write(self, database: str, lines: str) -> None:
        """Write line protocol with the collector's v1 writer; raises WriteError."""
        writer = V1Writer(self.section(database))
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
