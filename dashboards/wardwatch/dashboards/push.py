"""``wardwatch dashboards push``: the folder, data source, dashboards and alerting into a running
Grafana, through its HTTP API (grafana-client, the ``grafana`` extra).

Idempotent: each object is looked up by its uid and updated, or created when absent, so a push
after a change replaces what the last one made. Alerting goes through the provisioning API
(``/api/v1/provisioning/...``): the rule group, the contact points (whose secrets the file
leaves to Grafana's environment come from the pusher's environment here; a receiver whose
secret is unset is skipped, with a warning) and the notification policy tree.

Whatever goes wrong on the way (an HTTP error status, a refused connection, a name that does not
resolve, an untrusted certificate, a Grafana that never answers) becomes one ``PushError`` whose
message is one line saying what and where; the token is never part of it.
"""

from __future__ import annotations

import http
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaTimeoutError
from niquests.exceptions import JSONDecodeError, RequestException

from wardwatch.dashboards import alerts, build

_ENV = re.compile(r"\$__env\{([A-Z0-9_]+)\}")
GROUP: Final = "wardwatch"
_DETAIL_CHARS: Final = 200
"""Of Grafana's own error message, at most this much is quoted (a proxy may answer a page)."""


class PushError(Exception):
    """The push failed; the message says what, where and why, on one line, without the token."""


@dataclass(frozen=True)
class Target:
    """The Grafana to push to: its address (``http(s)://HOST[:PORT][/PATH]``), the service
    account token, how long to wait for each answer, and the CA that signed its certificate
    (None: the system's trust store)."""

    url: str
    token: str = field(repr=False)  # so that no repr, log line or traceback shows it
    timeout_s: float = 30.0
    ca_file: Path | None = None

    def api(self) -> GrafanaApi:
        """A grafana-client API for this target."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        # grafana-client pastes the host, the port and the path into "{host}:{port}/{path}api":
        # an IPv6 address needs its brackets back, and a sub-path its trailing slash.
        prefix = parts.path.strip("/")
        return GrafanaApi(
            self.token,
            protocol=parts.scheme,
            host=f"[{host}]" if ":" in host else host,
            port=parts.port,
            url_path_prefix=f"{prefix}/" if prefix else "",
            verify=str(self.ca_file) if self.ca_file else True,
            timeout=self.timeout_s,
        )


def datasource(
    influx_url: str, database: str, username: str = "", password: str = ""
) -> dict[str, Any]:
    """The InfluxDB (InfluxQL) data source every panel and rule refers to by uid."""
    body: dict[str, Any] = {
        "uid": build.DATASOURCE_UID,
        "name": "wardwatch InfluxDB",
        "type": "influxdb",
        "access": "proxy",
        "url": influx_url,
        "jsonData": {"dbName": database, "httpMode": "POST"},
        "isDefault": True,
    }
    if username:
        body["user"] = username
        body["secureJsonData"] = {"password": password}
    return body


def _rule_for_api(rule: dict[str, Any], folder_uid: str) -> dict[str, Any]:
    """A provisioning-file rule as the API takes it (it also names its folder and group)."""
    return {**rule, "folderUID": folder_uid, "ruleGroup": GROUP, "orgID": 1}


def _with_secrets(
    receiver: dict[str, Any], environ: dict[str, str]
) -> tuple[dict[str, Any] | None, list[str]]:
    """The receiver with its ``$__env{...}`` placeholders filled, or None and the unset names."""
    missing: list[str] = []

    def fill(value: Any) -> Any:
        if not isinstance(value, str):
            return value

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                missing.append(name)
                return ""
            return environ[name]

        return _ENV.sub(one, value)

    settings = {key: fill(value) for key, value in receiver["settings"].items()}
    return (None if missing else {**receiver, "settings": settings}), missing


def push(
    target: Target,
    influx: dict[str, Any],
    *,
    environ: dict[str, str] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Create or update everything in the Grafana ``target``; PushError when something fails."""
    environ = dict(os.environ) if environ is None else environ
    api = target.api()
    document = alerts.provisioning()
    with _step(target, "the folder and the data source"):
        _push_folder_and_datasource(api, influx, say)
    with _step(target, "the dashboards"):
        _push_dashboards(api, say)
    with _step(target, "the alert rules"):
        _push_rules(api, document, say)
    with _step(target, "the contact points"):
        contact_point = _push_contact_points(api, document, environ, say)
    if not contact_point:
        say("no contact point: the notification policy is left as it is")
        return
    with _step(target, "the notification policy"):
        _push_policy(api, document, say)


@contextmanager
def _step(target: Target, what: str) -> Iterator[None]:
    """Turn a failure of grafana-client or of its HTTP library while pushing ``what`` into one
    PushError line. Anything else is a bug of this code and keeps its traceback."""
    try:
        yield
    except (GrafanaException, RequestException) as exc:
        message = _failure(exc, target, what)
        if target.token:  # an HTTP library may quote the Authorization header it refused
            message = message.replace(target.token, "***")
        raise PushError(message) from exc


def _failure(exc: Exception, target: Target, what: str) -> str:
    """What went wrong, for the operator: the first cause that names it wins."""
    where = target.url
    if isinstance(exc, GrafanaException) and exc.status_code:  # Grafana answered, an error
        return _refusal(exc.status_code, _detail(exc), where, what)
    causes = _causes(exc)
    reach = f"cannot reach Grafana at {where} ({what})"
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        return (
            f"{reach}: its TLS certificate is not trusted; name the CA that signed it with "
            "--ca-file"
        )
    if isinstance(exc, GrafanaTimeoutError) or any(isinstance(c, TimeoutError) for c in causes):
        return (
            f"Grafana at {where} did not answer within {target.timeout_s:g} s ({what}); "
            "a longer wait: --timeout-s"
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"{reach}: connection refused (is it running, and on that port?)"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return f"{reach}: the name {urlsplit(where).hostname} does not resolve (DNS)"
    if isinstance(exc, JSONDecodeError):
        return f"{where} answered {what} with something other than JSON: is it Grafana?"
    return f"{reach}: {_one_line(str(exc))}"


def _refusal(status: int, detail: str, where: str, what: str) -> str:
    """The line for an HTTP error status Grafana answered while pushing ``what``."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    said = f" ({detail})" if detail else ""
    if status == 401:
        return (
            f"Grafana at {where} refused the token ({status} {phrase}) for {what}{said}: "
            "is it a valid service account token?"
        )
    if status == 403:
        return (
            f"Grafana at {where} refused the token ({status} {phrase}) for {what}{said}: "
            f"its service account's role may not change {what}"
        )
    if status == 404:
        return (
            f"Grafana at {where} answered 404 ({phrase}) for {what}: is --url Grafana's address, "
            "with its sub-path if it is served under one?"
        )
    if status >= 500:
        return f"Grafana answered {status} ({phrase}) for {what} at {where}{said}"
    return f"Grafana at {where} refused {what} ({status} {phrase}){said}"


def _detail(exc: GrafanaException) -> str:
    """Grafana's own message in an error answer, on one line and short."""
    body = exc.response
    text = body.get("message", "") if isinstance(body, dict) else str(body or "")
    return _one_line(str(text))


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _DETAIL_CHARS else line[: _DETAIL_CHARS - 1] + "…"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling, down to the OS's own error."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _exists(get: Callable[[], Any]) -> bool:
    """Whether the lookup ``get()`` finds its object (a 404 says it does not)."""
    try:
        get()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True


def _push_folder_and_datasource(
    api: Any, influx: dict[str, Any], say: Callable[[str], None]
) -> None:
    if not _exists(lambda: api.folder.get_folder(alerts.FOLDER)):
        api.folder.create_folder("wardwatch", uid=alerts.FOLDER)
        say(f"created folder {alerts.FOLDER}")
    if _exists(lambda: api.datasource.get_datasource_by_uid(build.DATASOURCE_UID)):
        api.datasource.update_datasource_by_uid(build.DATASOURCE_UID, influx)
        say(f"updated data source {build.DATASOURCE_UID}")
    else:
        api.datasource.create_datasource(influx)
        say(f"created data source {build.DATASOURCE_UID}")


def _push_dashboards(api: Any, say: Callable[[str], None]) -> None:
    for relative in build.files():
        board = build.load(build.GENERATED / relative)
        api.dashboard.update_dashboard(
            {"dashboard": board, "folderUid": alerts.FOLDER, "overwrite": True}
        )
        say(f"pushed dashboard {board['uid']} ({board['title']})")


def _push_rules(api: Any, document: dict[str, Any], say: Callable[[str], None]) -> None:
    (group,) = document["groups"]
    api.alertingprovisioning.update_rule_group(
        alerts.FOLDER,
        GROUP,
        {
            "title": GROUP,
            "folderUid": alerts.FOLDER,
            "interval": 60,
            "rules": [_rule_for_api(r, alerts.FOLDER) for r in group["rules"]],
        },
    )
    say(f"pushed {len(group['rules'])} alert rules")


def _push_contact_points(
    api: Any, document: dict[str, Any], environ: dict[str, str], say: Callable[[str], None]
) -> bool:
    """Push every receiver whose secrets are set; True when Grafana has wardwatch's contact
    point afterwards (pushed now, or before)."""
    known = {p["uid"] for p in api.alertingprovisioning.get_contactpoints()}
    pushed = 0
    for receiver in document["contactPoints"][0]["receivers"]:
        filled, missing = _with_secrets(receiver, environ)
        if filled is None:
            say(f"skipped contact point {receiver['uid']}: set {', '.join(missing)}")
            continue
        body = {**filled, "name": alerts.RECEIVER}
        if filled["uid"] in known:
            api.alertingprovisioning.update_contactpoint(filled["uid"], body)
        else:
            api.alertingprovisioning.create_contactpoint(body)
        say(f"pushed contact point {filled['uid']} ({filled['type']})")
        pushed += 1
    return bool(pushed) or alerts.RECEIVER in {
        p["name"] for p in api.alertingprovisioning.get_contactpoints()
    }


def _push_policy(api: Any, document: dict[str, Any], say: Callable[[str], None]) -> None:
    (policy,) = document["policies"]
    tree = {key: value for key, value in policy.items() if key != "orgId"}
    api.alertingprovisioning.set_notification_policy_tree(tree)
    say("pushed the notification policy")
