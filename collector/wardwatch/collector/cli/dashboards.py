"""``wardwatch dashboards``: regenerate the Grafana files (``build``), or push them to a Grafana
(``push``). Each needs an optional extra; without it the command says which to install.

``push`` sends a service account token: it takes it from the environment or a file rather than
the command line (which every user of the machine sees in ``ps``), and refuses to send it in
clear over plain http:// to another machine unless told to.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from wardwatch.collector.cli.options import EXIT_CONFIG, EXIT_FAILED, config_option, load_config
from wardwatch.common.startup import Commands

TOKEN_ENV: Final = "WARDWATCH_GRAFANA_TOKEN"
"""The environment variable that holds Grafana's service account token."""
PROG: Final = "wardwatch dashboards push"


class Refused(Exception):
    """An unusable --url, token or CA file for ``push``; the message says why, on one line."""


READ_USER = "WARDWATCH_INFLUX_READ_USER"
READ_PASSWORD = "WARDWATCH_INFLUX_READ_PASSWORD"
"""InfluxDB's read-only login for Grafana's data source (README, "InfluxDB users")."""


def add_parser(commands: Commands) -> None:
    """The ``dashboards build`` and ``dashboards push`` commands."""
    boards = commands.add_parser(
        "dashboards",
        help="Grafana dashboards and alert rules as code: build the files, push to a Grafana",
        description="`build` regenerates dashboards/wardwatch/dashboards/generated/<language>/"
        "*.json and deploy/grafana/provisioning/alerting/wardwatch.yaml in a checkout of the "
        "repository from the builders of wardwatch.dashboards (needs the `dashboards` extra: "
        "pip install 'wardwatch[dashboards]'). `push` sends them to a running Grafana.",
    )
    actions = boards.add_subparsers(dest="action", required=True, metavar="ACTION")
    building = actions.add_parser(
        "build",
        help="regenerate the dashboard and alerting files in a checkout of the repository",
    )
    building.add_argument(
        "--repo",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the checkout's top level (default: the current directory)",
    )
    _add_push_parser(actions)


def _add_push_parser(actions: Commands) -> None:
    """``dashboards push`` and its options: where Grafana is, the token, how to reach it."""
    pushing = actions.add_parser(
        "push",
        help="create or update the folder, data source, dashboards and alerting in a Grafana",
        description="Push everything to a running Grafana through its HTTP API (needs the "
        "`grafana` extra: pip install 'wardwatch[grafana]'). Contact points take their secrets "
        "from this environment: WARDWATCH_ALERT_EMAIL, WARDWATCH_ALERT_WEBHOOK_URL, "
        "WARDWATCH_TELEGRAM_BOT_TOKEN, WARDWATCH_TELEGRAM_CHAT_ID; one left unset is skipped. The "
        f"data source logs in to InfluxDB as {READ_USER} ({READ_PASSWORD}), a read-only user, "
        "when set; else as the config's [influx] user.",
    )
    pushing.add_argument(
        "--url",
        required=True,
        help="Grafana's address, e.g. https://grafana.example:3000; plain http:// only to this "
        "machine (localhost, 127.0.0.1, ::1) unless --insecure",
    )
    token = pushing.add_argument_group(
        "the token",
        f"a Grafana service account token with the Editor role, given one way: {TOKEN_ENV} "
        "(preferred), --token-file, or --token",
    )
    token.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="read the token from the first line of FILE (keep it readable by you only)",
    )
    token.add_argument(
        "--token",
        help="the token itself: every user of this machine sees it in ps; prefer "
        f"{TOKEN_ENV} or --token-file",
    )
    pushing.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http:// to another machine, the token crossing the network in clear "
        "(TLS certificates are still checked on https://)",
    )
    pushing.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="the CA certificate(s), PEM, that signed Grafana's certificate (default: the "
        "system's trust store)",
    )
    pushing.add_argument(
        "--timeout-s",
        type=_positive_seconds,
        default=30.0,
        metavar="S",
        help="how long to wait for each answer from Grafana (default: 30)",
    )
    config_option(pushing)
    pushing.add_argument(
        "--influx-url",
        metavar="URL",
        help="InfluxDB's address as Grafana reaches it (default: the config's [influx] url)",
    )


def run(args: argparse.Namespace) -> int:
    """``wardwatch dashboards build|push``; the exit code."""
    return _build(args.repo) if args.action == "build" else _push(args)


def _build(repo: Path) -> int:
    try:
        from wardwatch.dashboards import alerts, build  # the SDK is an optional extra
    except ImportError as exc:
        print(
            f"wardwatch dashboards: {exc}; install it with pip install 'wardwatch[dashboards]'",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    generated, alerting = repo / build.GENERATED_IN_REPO, repo / alerts.IN_REPO
    if not (generated.parent.is_dir() and alerting.parent.is_dir()):
        print(
            f"wardwatch dashboards build: {repo.resolve()} is not a checkout of wardwatch (no "
            f"{build.GENERATED_IN_REPO.parent} or {alerts.IN_REPO.parent}); run it at the "
            "repository's top level or name it with --repo DIR",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    changed = build.write(generated)
    if alerts.write(alerting):
        changed.append(alerting)
    for path in changed:
        print(f"wrote {path}")
    print(
        f"{len(build.files())} dashboard files in {generated} and the alerting file "
        f"{alerting}: {len(changed)} changed"
    )
    return 0


def _push(args: argparse.Namespace) -> int:
    try:
        token = _token(args, os.environ)
        url = url_for_token(args.url, insecure=args.insecure, ca_file=args.ca_file)
    except Refused as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    cfg = load_config(args.config)
    if cfg is None:
        return EXIT_CONFIG
    try:
        from wardwatch.dashboards import push  # grafana-client is an optional extra
    except ImportError as exc:
        print(f"{PROG}: {exc}; install it with pip install 'wardwatch[grafana]'", file=sys.stderr)
        return EXIT_CONFIG
    # Grafana only reads: it gets InfluxDB's read-only user when one is given, not the
    # collector's, which may write.
    reader = os.environ.get(READ_USER, "")
    username, password = (
        (reader, os.environ.get(READ_PASSWORD, ""))
        if reader
        else (cfg.influx.username, cfg.influx.password)
    )
    influx = push.datasource(
        args.influx_url or cfg.influx.url, cfg.influx.database, username, password
    )
    target = push.Target(url, token, timeout_s=args.timeout_s, ca_file=args.ca_file)
    try:
        push.push(target, influx)
    except push.PushError as exc:
        print(f"{PROG}: {str(exc).replace(token, '***')}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _positive_seconds(text: str) -> float:
    """``--timeout-s``: a number of seconds above 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def _token(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The one token given: by the environment, ``--token-file`` or ``--token``."""
    given = [
        name
        for name, present in (
            (TOKEN_ENV, bool(environ.get(TOKEN_ENV))),
            ("--token-file", args.token_file is not None),
            ("--token", args.token is not None),
        )
        if present
    ]
    if not given:
        raise Refused(
            f"no Grafana token: set {TOKEN_ENV}, or pass --token-file FILE (the token on its "
            "first line), or --token TOKEN (seen by every user in ps)"
        )
    if len(given) > 1:
        # Which would win is a guess the operator should not have to make.
        raise Refused(f"the token is given {len(given)} ways ({', '.join(given)}): give one")
    if args.token_file is not None:
        return _token_from_file(args.token_file)
    token: str = (args.token if args.token is not None else environ[TOKEN_ENV]).strip()
    if not token:
        raise Refused(f"{given[0]} is empty")
    if not token.isprintable() or " " in token:
        # Said here, not by the HTTP library, whose message would quote the header, token too.
        raise Refused(f"the token of {given[0]} holds a space or a control character")
    return token


def _token_from_file(path: Path) -> str:
    """The token on the first line of ``path``, stripped."""
    try:
        with path.open(encoding="utf-8") as file:
            token = file.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise Refused(f"cannot read the token file {path}: {reason}") from exc
    if not token:
        raise Refused(f"the token file {path} has no token on its first line")
    if not token.isprintable() or " " in token:
        raise Refused(
            f"the first line of the token file {path} holds a space or a control character"
        )
    return token


def url_for_token(text: str, *, insecure: bool, ca_file: Path | None) -> str:
    """``--url`` once it is safe to send the token there; on plain http:// to another machine
    with ``--insecure``, after a warning."""
    try:
        parts = urlsplit(text)
        if parts.username is not None or parts.password is not None:
            # The token is the credential; a password in the URL would show in ps, and here.
            raise Refused("--url: put no user or password in it; the token is the credential")
        parts.port  # noqa: B018 - a port that is no number raises here, not in grafana-client
    except ValueError as exc:
        raise Refused(f"--url {text}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise Refused(f"--url {text}: give Grafana's address as http(s)://HOST[:PORT][/PATH]")
    if ca_file is not None and parts.scheme != "https":
        raise Refused("--ca-file is for an https:// --url")
    if ca_file is not None and not ca_file.is_file():
        raise Refused(f"cannot read the CA file {ca_file}: no such file")
    if parts.scheme == "http" and not _this_machine(parts.hostname):
        if not insecure:
            raise Refused(
                f"--url {text}: the token would cross the network in clear; use https:// or "
                "pass --insecure"
            )
        print(f"{PROG}: warning: the token crosses the network in clear to {text}", file=sys.stderr)
    return text


def _this_machine(host: str) -> bool:
    """Whether ``host`` is this machine: localhost, or a loopback address (127.0.0.1, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
