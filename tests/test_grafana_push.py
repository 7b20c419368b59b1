"""``wardwatch dashboards push`` against FakeGrafana: a local HTTP server standing in for Grafana
(which cannot run here) that checks each request's method, path, token and body against
Grafana's documented HTTP API (folders, data sources, dashboards, alerting provisioning)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import programs
from wardwatch.dashboards import alerts, build

pytestmark = pytest.mark.process

TOKEN = "glsa_test_token"
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

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
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
        return f"http://127.0.0.1:{self.server_address[1]}"


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
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Unauthorized"})
            return
        body = self._body()
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


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _push(
    grafana: FakeGrafana, config: Path, token: str = TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WARDWATCH_ALERT_EMAIL": "it@daklak.example",
        "WARDWATCH_ALERT_WEBHOOK_URL": "https://hooks.example/wardwatch",
    }
    env.pop("WARDWATCH_TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [
            *programs.WARDWATCH,
            "dashboards",
            "push",
            "--url",
            grafana.url,
            "--token",
            token,
            "--config",
            str(config),
            "--influx-url",
            "http://influxdb:8086",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_push_creates_then_updates_everything_as_grafana_documents(
    grafana: FakeGrafana, tmp_path: Path
) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[influx]\ndatabase = "wardwatch"\n', encoding="utf-8")
    first = _push(grafana, config)
    assert first.returncode == 0, first.stderr
    assert grafana.problems == []
    assert set(grafana.folders) == {alerts.FOLDER}
    source = grafana.datasources[build.DATASOURCE_UID]
    assert (source["url"], source["jsonData"]["dbName"]) == ("http://influxdb:8086", "wardwatch")
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
    second = _push(grafana, config)
    assert second.returncode == 0, second.stderr
    assert grafana.problems == []
    assert ("PUT", f"/api/datasources/uid/{build.DATASOURCE_UID}") in grafana.calls
    assert ("PUT", "/api/v1/provisioning/contact-points/ww-email") in grafana.calls
    assert ("POST", "/api/folders") not in grafana.calls


def test_a_refused_token_is_a_clear_error(grafana: FakeGrafana, tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text("", encoding="utf-8")
    done = _push(grafana, config, token="wrong")
    assert done.returncode == 1
    assert "wardwatch dashboards push: Grafana refused" in done.stderr
    assert "401" in done.stderr or "Unauthorized" in done.stderr
