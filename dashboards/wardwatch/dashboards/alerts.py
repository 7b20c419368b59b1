"""Grafana alert rules, notification policy and contact points, as a provisioning file.

Grafana unified alerting's file provisioning format (``apiVersion: 1`` with ``groups``,
``contactPoints`` and ``policies``). The file is JSON, which is also YAML, so Grafana reads it
from ``deploy/grafana/provisioning/alerting/``. Each rule is an InfluxQL query (``A``), a reduce
to the last value per series (``B``) and a threshold (``C``, the condition); every series is a
machine or a link, labelled with its ``agent`` and ``site``, so each fires on its own.

Secrets are placeholders that Grafana fills from its environment at start
(``$__env{WARDWATCH_...}``), never values in the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
from msgspec import Struct

from wardwatch.dashboards import queries as q

IN_REPO: Final = Path("deploy/grafana/provisioning/alerting/wardwatch.yaml")
"""Where the provisioning file is committed, from the repository's top level."""
FOLDER: Final = "wardwatch"
DATASOURCE_UID: Final = "wardwatch-influxdb"
RECEIVER: Final = "wardwatch"
Severity = Literal["critical", "warning", "info"]


class Rule(Struct, frozen=True, kw_only=True):
    """One alert rule: what it asks, when it fires, how it is labelled."""

    uid: str
    title: str
    query: q.Query
    range_s: int
    """How far back the query looks (its relative time range)."""
    op: Literal["lt", "gt"]
    threshold: float
    pending: str
    """How long the condition must hold before the rule fires (Grafana's ``for``)."""
    severity: Severity
    summary: str
    """Grafana template; ``$labels`` are the series' tags."""


RULES: Final = (
    Rule(
        uid="ww-said-offline",
        title="Máy ngoại tuyến / Machine offline",
        query=q.ALERT_SAID_OFFLINE,
        range_s=7 * 86400,
        op="lt",
        threshold=1,
        pending="5m",
        severity="warning",
        summary="{{ $labels.agent }} ({{ $labels.site }}) said offline (or its broker did, as "
        "its last will); for a VC endpoint: it stopped answering",
    ),
    Rule(
        uid="ww-silent",
        title="Máy không báo cáo / Machine silent",
        query=q.ALERT_SILENT,
        range_s=86400,
        op="lt",
        threshold=0.01,
        pending="0s",
        severity="warning",
        summary="{{ $labels.agent }} ({{ $labels.site }}) sent no report for 3 minutes",
    ),
    Rule(
        uid="ww-link-degraded",
        title="Đường truyền kém / Link degraded",
        query=q.ALERT_LINK,
        range_s=600,
        op="gt",
        threshold=0.5,
        pending="5m",
        severity="warning",
        summary="{{ $labels.site }}: the link from {{ $labels.agent }} to {{ $labels.target }} "
        "({{ $labels.kind }}) has been degraded or bad for 5 minutes: a videoconference may fail",
    ),
    Rule(
        uid="ww-link-bad",
        title="Đường truyền rất kém / Link bad",
        query=q.ALERT_LINK,
        range_s=600,
        op="gt",
        threshold=1.5,
        pending="5m",
        severity="critical",
        summary="{{ $labels.site }}: the link from {{ $labels.agent }} to {{ $labels.target }} "
        "({{ $labels.kind }}) has been bad for 5 minutes",
    ),
    Rule(
        uid="ww-hardware-out",
        title="Phần cứng hết vòng đời / Hardware out of lifecycle",
        query=q.ALERT_HARDWARE,
        range_s=7 * 86400,
        op="gt",
        threshold=2.5,
        pending="0s",
        severity="info",
        summary="{{ $labels.agent }} ({{ $labels.site }}) is past its useful life",
    ),
    Rule(
        uid="ww-os-out",
        title="Hệ điều hành hết hỗ trợ / OS out of support",
        query=q.ALERT_OS,
        range_s=7 * 86400,
        op="gt",
        threshold=2.5,
        pending="0s",
        severity="info",
        summary="{{ $labels.agent }} ({{ $labels.site }}) runs an OS past its end of support",
    ),
    Rule(
        uid="ww-clock-skew",
        title="Sai đồng hồ / Clock skewed",
        query=q.ALERT_CLOCK,
        range_s=3600,
        op="gt",
        threshold=0.5,
        pending="10m",
        severity="warning",
        summary="{{ $labels.agent }} ({{ $labels.site }}): its clock is off (a dead clock "
        "battery?); the collector corrects its timestamps",
    ),
    Rule(
        uid="ww-outbox-dropping",
        title="Hàng đợi mất dữ liệu / Outbox dropping data",
        query=q.ALERT_DROPPING,
        range_s=3600,
        op="gt",
        threshold=0.5,
        pending="0s",
        severity="critical",
        summary="{{ $labels.agent }} ({{ $labels.site }}) dropped reports from its full outbox "
        "within the last hour",
    ),
)


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "uid": rule.uid,
        "title": rule.title,
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": rule.range_s, "to": 0},
                "datasourceUid": DATASOURCE_UID,
                "model": {
                    "refId": "A",
                    "rawQuery": True,
                    "query": rule.query.text,
                    "resultFormat": rule.query.format,
                },
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"},
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": rule.op, "params": [rule.threshold]}}],
                },
            },
        ],
        # A machine that stops sending points is the silent rule's business, not every rule's.
        "noDataState": "OK",
        "execErrState": "Error",
        "for": rule.pending,
        "labels": {"severity": rule.severity, "wardwatch": "true"},
        "annotations": {"summary": rule.summary},
    }


def provisioning() -> dict[str, Any]:
    """The whole alerting provisioning document."""
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": "wardwatch",
                "folder": FOLDER,
                "interval": "1m",
                "rules": [_rule(rule) for rule in RULES],
            }
        ],
        "contactPoints": [{"orgId": 1, "name": RECEIVER, "receivers": _receivers()}],
        "policies": [_policy()],
    }


def _receivers() -> list[dict[str, Any]]:
    """E-mail, a webhook and Telegram; their secrets are placeholders Grafana fills from its
    environment."""
    return [
        {
            "uid": "ww-email",
            "type": "email",
            "settings": {"addresses": "$__env{WARDWATCH_ALERT_EMAIL}"},
        },
        {
            "uid": "ww-webhook",
            "type": "webhook",
            "settings": {"url": "$__env{WARDWATCH_ALERT_WEBHOOK_URL}"},
        },
        {
            "uid": "ww-telegram",
            "type": "telegram",
            "settings": {
                "bottoken": "$__env{WARDWATCH_TELEGRAM_BOT_TOKEN}",
                "chatid": "$__env{WARDWATCH_TELEGRAM_CHAT_ID}",
            },
        },
    ]


def _policy() -> dict[str, Any]:
    """One notification per ward and kind of problem, not one per machine; lifecycle verdicts
    as a daily digest, not a page."""
    return {
        "orgId": 1,
        "receiver": RECEIVER,
        "group_by": ["site", "alertname"],
        "group_wait": "1m",
        "group_interval": "5m",
        "repeat_interval": "4h",
        "routes": [
            {
                "receiver": RECEIVER,
                "object_matchers": [["severity", "=", "info"]],
                "group_wait": "10m",
                "group_interval": "24h",
                "repeat_interval": "24h",
            }
        ],
    }


def render() -> str:
    """The provisioning file's text, as committed."""
    return json.dumps(provisioning(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path) -> bool:
    """Regenerate the file; True if it changed."""
    text = render()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def document(path: Path) -> dict[str, Any]:
    """The committed file, parsed."""
    parsed: dict[str, Any] = msgspec.json.decode(path.read_bytes())
    return parsed
