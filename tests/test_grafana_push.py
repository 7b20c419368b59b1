"""``wardwatch dashboards push`` against FakeGrafana: a local HTTP server standing in for Grafana
(which cannot run here) that checks each request's method, path, token and body against
Grafana's documented HTTP API (folders, data sources, dashboards, alerting provisioning). It can
also answer every request with one error status, hang without answering, or speak TLS with a
certificate of its own, for the failures the command must report in one line.

The command runs as the operator runs it, in a child process (``process``); what is refused
before any connection (the token's sources, --url) is also checked in-process (``unit``).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import programs
from wardwatch.collector.broker import pki
from wardwatch.collector.cli import dashboards
from wardwatch.collector.cli import main as cli
from wardwatch.collector.devstack.services import free_port
from wardwatch.dashboards import alerts, build, push

TOKEN = "glsa_test_token_3f9c"
"""Distinctive, so that a test can tell it never appears in any output."""
RULE_KEYS = {
    "uid",
    "title",
    "condition",
    "data",
    "for",
    "noDataState",
    "execErrState",
    "folderUID",
    "ruleGroup",
    "labels",
    "annotations",
}


class FakeGrafana(ThreadingHTTPServer):
    """Grafana's HTTP API, as much as the push uses, with its documented bodies enforced."""

    daemon_threads = True  # a hanging answer must not hold up the test's end

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.socket = context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.fail_with = 0
        """An HTTP status to answer every request with (0: answer as Grafana does)."""
        self.hang = False
        """Whether to read each request and never answer it (until ``release``)."""
        self.release = threading.Event()
        self.tokens: set[str] = set()
        """Every Authorization header received."""
        self.calls: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rule_groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.contact_points: dict[str, dict[str, Any]] = {}
        self.policy: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _need(self, ok: bool, what: str) -> None:
        if not ok:
            self.server.problems.append(f"{self.command} {self.path}: {what}")

    def _serve(self) -> None:
        grafana = self.server
        grafana.calls.append((self.command, self.path))
        grafana.tokens.add(self.headers.get("Authorization", ""))
        body = self._body()
        if grafana.hang:
            grafana.release.wait()
            return
        if grafana.fail_with:
            self._reply(grafana.fail_with, {"message": f"fake failure {grafana.fail_with}"})
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Unauthorized"})
            return
        parts = self.path.split("?")[0].strip("/").split("/")
        method = self.command
        match parts:
            case ["api", "folders", uid] if method == "GET":
                found = grafana.folders.get(uid)
                self._reply(200, found) if found else self._reply(404, {"message": "not found"})
            case ["api", "folders"] if method == "POST":
                self._need({"title", "uid"} <= set(body), "a folder needs title and uid")
                grafana.folders[body["uid"]] = body
                self._reply(200, body)
            case ["api", "datasources", "uid", uid] if method == "GET":
                found = grafana.datasources.get(uid)
                self._reply(200, found) if found else self._reply(404, {"message": "not found"})
            case ["api", "datasources"] if method == "POST":
                self._need({"name", "type", "access", "url"} <= set(body), "data source fields")
                grafana.datasources[body["uid"]] = body
                self._reply(200, {"datasource": body, "id": 1, "message": "Datasource added"})
            case ["api", "datasources", "uid", uid] if method == "PUT":
                self._need(uid in grafana.datasources, "update of an absent data source")
                grafana.datasources[uid] = body
                self._reply(200, {"datasource": body, "message": "Datasource updated"})
            case ["api", "dashboards", "db"] if method == "POST":
                board = body["dashboard"]
                self._need({"uid", "title", "panels"} <= set(board), "dashboard fields")
                self._need(body.get("folderUid") in grafana.folders, "folderUid of no folder")
                self._need(body.get("overwrite") is True, "overwrite must be true to update")
                grafana.dashboards[board["uid"]] = body
                self._reply(200, {"status": "success", "uid": board["uid"], "version": 1})
            case ["api", "v1", "provisioning", "folder", folder, "rule-groups", group] if (
                method == "PUT"
            ):
                self._need(folder in grafana.folders, "rule group in no folder")
                self._need(isinstance(body.get("interval"), int), "interval in seconds")
                for rule in body["rules"]:
                    self._need(set(rule) >= RULE_KEYS, f"rule lacks {RULE_KEYS - set(rule)}")
                    self._need(rule.get("folderUID") == folder, "rule in another folder")
                grafana.rule_groups[(folder, group)] = body
                self._reply(200, body)
            case ["api", "v1", "provisioning", "contact-points"] if method == "GET":
                self._reply(200, list(grafana.contact_points.values()))
            case ["api", "v1", "provisioning", "contact-points"] if method == "POST":
                self._need({"uid", "name", "type", "settings"} <= set(body), "contact point")
                grafana.contact_points[body["uid"]] = body
                self._reply(202, body)
            case ["api", "v1", "provisioning", "contact-points", uid] if method == "PUT":
                self._need(uid in grafana.contact_points, "update of an absent contact point")
                grafana.contact_points[uid] = body
                self._reply(202, {"message": "contactpoint updated"})
            case ["api", "v1", "provisioning", "policies"] if method == "PUT":
                names = {p["name"] for p in grafana.contact_points.values()}
                self._need(body.get("receiver") in names, "policy to an unknown receiver")
                grafana.policy = body
                self._reply(202, {"message": "policies updated"})
            case _:
                self.server.problems.append(f"unexpected {method} {self.path}")
                self._reply(404, {"message": "not found"})

    do_GET = do_POST = do_PUT = _serve


def _serve(server: FakeGrafana) -> Iterator[FakeGrafana]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    yield from _serve(FakeGrafana())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "collector.toml"
    path.write_text('[influx]\ndatabase = "wardwatch"\n', encoding="utf-8")
    return path


def _push(
    url: str, config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``wardwatch dashboards push --url URL ... ARGS``; its output never holds the token."""
    environ = {
        **os.environ,
        "WARDWATCH_ALERT_EMAIL": "it@daklak.example",
        "WARDWATCH_ALERT_WEBHOOK_URL": "https://hooks.example/wardwatch",
        **(env or {}),
    }
    environ.pop("WARDWATCH_TELEGRAM_BOT_TOKEN", None)
    if env is None or "WARDWATCH_GRAFANA_TOKEN" not in env:
        environ.pop("WARDWATCH_GRAFANA_TOKEN", None)
    done = subprocess.run(
        [
            *programs.WARDWATCH,
            "dashboards",
            "push",
            "--url",
            url,
            "--config",
            str(config),
            "--influx-url",
            "http://influxdb:8086",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )
    assert TOKEN not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The command's only line on stderr."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.process
def test_push_creates_then_updates_everything_as_grafana_documents(
    grafana: FakeGrafana, config: Path
) -> None:
    reader = {"WARDWATCH_INFLUX_READ_USER": "grafana", "WARDWATCH_INFLUX_READ_PASSWORD": "r-pw"}
    first = _push(grafana.url, config, env={"WARDWATCH_GRAFANA_TOKEN": TOKEN, **reader})
    assert first.returncode == 0, first.stderr
    assert grafana.problems == []
    assert grafana.tokens == {f"Bearer {TOKEN}"}
    assert set(grafana.folders) == {alerts.FOLDER}
    source = grafana.datasources[build.DATASOURCE_UID]
    assert (source["url"], source["jsonData"]["dbName"]) == ("http://influxdb:8086", "wardwatch")
    assert (source["user"], source["secureJsonData"]["password"]) == ("grafana", "r-pw")
    assert set(grafana.dashboards) == {
        build.load(build.GENERATED / path)["uid"] for path in build.files()
    }
    (group,) = grafana.rule_groups.values()
    assert [r["uid"] for r in group["rules"]] == [r.uid for r in alerts.RULES]
    assert set(grafana.contact_points) == {"ww-email", "ww-webhook"}  # Telegram unset: skipped
    assert grafana.contact_points["ww-email"]["settings"]["addresses"] == "it@daklak.example"
    assert "skipped contact point ww-telegram: set WARDWATCH_TELEGRAM_BOT_TOKEN" in first.stdout
    assert grafana.policy["group_by"] == ["site", "alertname"]

    grafana.calls.clear()
    second = _push(grafana.url, config, env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert second.returncode == 0, second.stderr
    assert grafana.problems == []
    assert ("PUT", f"/api/datasources/uid/{build.DATASOURCE_UID}") in grafana.calls
    assert ("PUT", "/api/v1/provisioning/contact-points/ww-email") in grafana.calls
    assert ("POST", "/api/folders") not in grafana.calls


@pytest.mark.process
def test_the_token_from_a_file_or_the_command_line(
    grafana: FakeGrafana, config: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "grafana.token"
    token_file.write_text(f"  {TOKEN}  \nthe second line is not read\n", encoding="utf-8")
    from_file = _push(grafana.url, config, "--token-file", str(token_file))
    assert from_file.returncode == 0, from_file.stderr
    from_argv = _push(grafana.url, config, "--token", TOKEN)
    assert from_argv.returncode == 0, from_argv.stderr
    assert grafana.tokens == {f"Bearer {TOKEN}"}
    assert grafana.problems == []


@pytest.mark.process
@pytest.mark.parametrize(
    ("status", "line"),
    [
        (
            401,
            "Grafana at {url} refused the token (401 Unauthorized) for the folder and the data "
            "source (fake failure 401): is it a valid service account token?",
        ),
        (
            403,
            "Grafana at {url} refused the token (403 Forbidden) for the folder and the data "
            "source (fake failure 403): its service account's role may not change the folder "
            "and the data source",
        ),
        (
            404,
            "Grafana at {url} answered 404 (Not Found) for the folder and the data source: is "
            "--url Grafana's address, with its sub-path if it is served under one?",
        ),
        (
            500,
            "Grafana answered 500 (Internal Server Error) for the folder and the data source at "
            "{url} (fake failure 500)",
        ),
    ],
)
def test_an_error_status_is_one_line(
    grafana: FakeGrafana, config: Path, status: int, line: str
) -> None:
    grafana.fail_with = status
    done = _push(grafana.url, config, env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert done.returncode == 1
    assert _one_line(done) == "wardwatch dashboards push: " + line.format(url=grafana.url)


@pytest.mark.process
def test_a_wrong_token_is_refused_in_one_line(grafana: FakeGrafana, config: Path) -> None:
    done = _push(grafana.url, config, env={"WARDWATCH_GRAFANA_TOKEN": "glsa_wrong"})
    assert done.returncode == 1
    assert "refused the token (401 Unauthorized)" in _one_line(done)
    assert "glsa_wrong" not in done.stderr
    assert grafana.tokens == {"Bearer glsa_wrong"}


@pytest.mark.process
def test_a_grafana_that_never_answers_times_out(grafana: FakeGrafana, config: Path) -> None:
    grafana.hang = True
    began = time.monotonic()
    done = _push(grafana.url, config, "--timeout-s", "1", env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert done.returncode == 1
    assert _one_line(done) == (
        f"wardwatch dashboards push: Grafana at {grafana.url} did not answer within 1 s (the "
        "folder and the data source); a longer wait: --timeout-s"
    )
    assert time.monotonic() - began < 30
    assert grafana.tokens == {f"Bearer {TOKEN}"}  # it did receive the request


@pytest.mark.process
def test_nothing_listening_is_one_line(config: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _push(url, config, env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert done.returncode == 1
    assert _one_line(done) == (
        f"wardwatch dashboards push: cannot reach Grafana at {url} (the folder and the data "
        "source): connection refused (is it running, and on that port?)"
    )


@pytest.mark.process
def test_plain_http_to_another_machine_needs_insecure(config: Path) -> None:
    # .invalid never resolves (RFC 6761): with --insecure the push goes on, to the DNS error.
    url = "http://grafana.invalid:3000"
    refused = _push(url, config, env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert refused.returncode == 2
    assert _one_line(refused) == (
        f"wardwatch dashboards push: --url {url}: the token would cross the network in clear; "
        "use https:// or pass --insecure"
    )
    allowed = _push(url, config, "--insecure", env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert allowed.returncode == 1
    assert allowed.stderr.splitlines() == [
        f"wardwatch dashboards push: warning: the token crosses the network in clear to {url}",
        f"wardwatch dashboards push: cannot reach Grafana at {url} (the folder and the data "
        "source): the name grafana.invalid does not resolve (DNS)",
    ]


def _certificate(cert: Path, key: Path, ca: Path) -> None:
    """A certificate for 127.0.0.1 and its key, and the CA that signed it (the broker's own
    tooling, ``wardwatch.collector.broker.pki``)."""
    authority = pki.make_ca("test CA")
    server = pki.make_server(authority, ["127.0.0.1", "localhost"])
    cert.write_bytes(server.cert_pem)
    key.write_bytes(server.key_pem)
    ca.write_bytes(authority.cert_pem)


@pytest.fixture
def tls_grafana(tmp_path: Path) -> Iterator[FakeGrafana]:
    """FakeGrafana over TLS, the CA of its certificate in ``tmp_path / "grafana.pem"``."""
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    _certificate(cert, key, tmp_path / "grafana.pem")
    yield from _serve(FakeGrafana(tls=(cert, key)))


@pytest.mark.process
def test_https_trusts_the_ca_file(tls_grafana: FakeGrafana, config: Path, tmp_path: Path) -> None:
    server = tls_grafana
    untrusted = _push(server.url, config, env={"WARDWATCH_GRAFANA_TOKEN": TOKEN})
    assert untrusted.returncode == 1
    assert _one_line(untrusted) == (
        f"wardwatch dashboards push: cannot reach Grafana at {server.url} (the folder and "
        "the data source): its TLS certificate is not trusted; name the CA that signed it "
        "with --ca-file"
    )
    assert server.calls == []  # the token was not sent
    trusted = _push(
        server.url,
        config,
        "--ca-file",
        str(tmp_path / "grafana.pem"),
        env={"WARDWATCH_GRAFANA_TOKEN": TOKEN},
    )
    assert trusted.returncode == 0, trusted.stderr
    assert server.tokens == {f"Bearer {TOKEN}"}
    assert server.problems == []


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command in-process; it must exit 2 with one line on stderr, returned."""
    code = cli.main(["dashboards", "push", *argv])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    (line,) = err.splitlines()
    assert TOKEN not in line
    return line


@pytest.fixture
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The test's environment without WARDWATCH_GRAFANA_TOKEN; set it through the result."""
    monkeypatch.delenv("WARDWATCH_GRAFANA_TOKEN", raising=False)
    return monkeypatch


@pytest.mark.unit
def test_the_token_is_given_exactly_one_way(
    no_env_token: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--url", "http://localhost:3000"]
    assert _refused(url, capsys) == (
        "wardwatch dashboards push: no Grafana token: set WARDWATCH_GRAFANA_TOKEN, or pass "
        "--token-file FILE (the token on its first line), or --token TOKEN (seen by every user "
        "in ps)"
    )
    assert _refused([*url, "--token", "  "], capsys) == (
        "wardwatch dashboards push: --token is empty"
    )
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    no_env_token.setenv("WARDWATCH_GRAFANA_TOKEN", TOKEN)
    assert _refused([*url, "--token-file", str(token_file)], capsys) == (
        "wardwatch dashboards push: the token is given 2 ways (WARDWATCH_GRAFANA_TOKEN, "
        "--token-file): give one"
    )
    assert _refused([*url, "--token", TOKEN], capsys).endswith(
        "given 2 ways (WARDWATCH_GRAFANA_TOKEN, --token): give one"
    )
    no_env_token.setenv("WARDWATCH_GRAFANA_TOKEN", f"{TOKEN} x")
    assert _refused(url, capsys) == (
        "wardwatch dashboards push: the token of WARDWATCH_GRAFANA_TOKEN holds a space or a "
        "control character"
    )


@pytest.mark.unit
def test_an_unusable_token_file_is_named(
    no_env_token: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--url", "http://localhost:3000", "--token-file"]
    missing, empty, binary = tmp_path / "missing", tmp_path / "empty", tmp_path / "binary"
    empty.write_text("\n" + TOKEN, encoding="utf-8")  # the token must be on the first line
    binary.write_bytes(b"\xff\xfe\x00")
    assert _refused([*url, str(missing)], capsys) == (
        f"wardwatch dashboards push: cannot read the token file {missing}: No such file or "
        "directory"
    )
    assert _refused([*url, str(tmp_path)], capsys) == (
        f"wardwatch dashboards push: cannot read the token file {tmp_path}: Is a directory"
    )
    assert _refused([*url, str(empty)], capsys) == (
        f"wardwatch dashboards push: the token file {empty} has no token on its first line"
    )
    assert _refused([*url, str(binary)], capsys) == (
        f"wardwatch dashboards push: cannot read the token file {binary}: not UTF-8 text"
    )


@pytest.mark.unit
def test_an_unsafe_or_unusable_url_is_refused(
    no_env_token: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_env_token.setenv("WARDWATCH_GRAFANA_TOKEN", TOKEN)

    def refused(url: str, *more: str) -> str:
        line = _refused(["--url", url, *more], capsys)
        return line.removeprefix("wardwatch dashboards push: ")

    clear = "the token would cross the network in clear; use https:// or pass --insecure"
    assert refused("http://10.0.0.5:3000") == f"--url http://10.0.0.5:3000: {clear}"
    assert refused("http://grafana.example") == f"--url http://grafana.example: {clear}"
    shape = "give Grafana's address as http(s)://HOST[:PORT][/PATH]"
    assert refused("grafana:3000") == f"--url grafana:3000: {shape}"
    assert refused("https://grafana/?verify=0") == f"--url https://grafana/?verify=0: {shape}"
    assert refused("https://admin:secret@grafana") == (
        "--url: put no user or password in it; the token is the credential"
    )
    assert refused("https://grafana:port").startswith("--url https://grafana:port: ")
    assert refused("http://localhost:3000", "--ca-file", "ca.pem") == (
        "--ca-file is for an https:// --url"
    )
    absent = tmp_path / "ca.pem"
    assert refused("https://grafana", "--ca-file", str(absent)) == (
        f"cannot read the CA file {absent}: no such file"
    )


@pytest.mark.unit
def test_the_api_address_keeps_ipv6_brackets_and_a_sub_path() -> None:
    def address(url: str) -> str:
        client_url: str = push.Target(url, TOKEN).api().client.url
        return client_url

    assert address("http://[::1]:3000") == "http://[::1]:3000/api"
    assert address("https://grafana.example/grafana") == "https://grafana.example/grafana/api"
    assert address("https://grafana.example/grafana/") == "https://grafana.example/grafana/api"
    assert TOKEN not in repr(push.Target("https://grafana.example", TOKEN))


@pytest.mark.unit
def test_plain_http_is_allowed_to_this_machine_only(capsys: pytest.CaptureFixture[str]) -> None:
    for url in ("http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"):
        assert dashboards.url_for_token(url, insecure=False, ca_file=None) == url
    url = "http://10.0.0.5:3000"
    assert dashboards.url_for_token(url, insecure=True, ca_file=None) == url
    assert capsys.readouterr().err == (
        f"wardwatch dashboards push: warning: the token crosses the network in clear to {url}\n"
    )
