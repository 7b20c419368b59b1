"""``wardwatch dashboards push``: the folder, data source, dashboards and alerting into a running
Grafana, through its HTTP API (grafana-client, the ``grafana`` extra).

Idempotent: each object is looked up by its uid and updated, or created when absent, so a push
after a change replaces what the last one made. Alerting goes through the provisioning API
(``/api/v1/provisioning/...``): the rule group, the contact points (whose secrets the file
leaves to Grafana's environment come from the pusher's environment here; a receiver whose
secret is unset is skipped, with a warning) and the notification policy tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, Final

from wardwatch.dashboards import alerts, build

_ENV = re.compile(r"\$__env\{([A-Z0-9_]+)\}")
GROUP: Final = "wardwatch"


class PushError(Exception):
    """Grafana refused something; the message says what and why."""


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
    api: Any,
    influx: dict[str, Any],
    *,
    environ: dict[str, str] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Create or update everything in the Grafana ``api`` (a ``grafana_client.GrafanaApi``)."""
    from grafana_client.client import GrafanaClientError  # the optional extra

    environ = dict(os.environ) if environ is None else environ
    try:
        _push_folder_and_datasource(api, influx, say)
        _push_dashboards(api, say)
        document = alerts.provisioning()
        _push_rules(api, document, say)
        if _push_contact_points(api, document, environ, say):
            _push_policy(api, document, say)
        else:
            say("no contact point: the notification policy is left as it is")
    except GrafanaClientError as exc:
        raise PushError(f"Grafana refused the push: {exc}") from exc


def _exists(get: Callable[[], Any]) -> bool:
    """Whether the lookup ``get()`` finds its object (a 404 says it does not)."""
    from grafana_client.client import GrafanaClientError

    try:
        get()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return False
        raise PushError(f"Grafana refused a lookup: {exc}") from exc
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
