"""``wardwatch dashboards``: regenerate the Grafana files (``build``), or push them to a Grafana
(``push``). Each needs an optional extra; without it the command says which to install."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wardwatch.collector.cli.options import EXIT_CONFIG, EXIT_FAILED, config_option, load_config
from wardwatch.common.startup import Commands


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
    pushing = actions.add_parser(
        "push",
        help="create or update the folder, data source, dashboards and alerting in a Grafana",
        description="Push everything to a running Grafana through its HTTP API (needs the "
        "`grafana` extra: pip install 'wardwatch[grafana]'). Contact points take their secrets "
        "from this environment: WARDWATCH_ALERT_EMAIL, WARDWATCH_ALERT_WEBHOOK_URL, "
        "WARDWATCH_TELEGRAM_BOT_TOKEN, WARDWATCH_TELEGRAM_CHAT_ID; one left unset is skipped.",
    )
    pushing.add_argument("--url", required=True, help="Grafana's address, e.g. http://grafana:3000")
    pushing.add_argument(
        "--token", required=True, help="a Grafana service account token with the Editor role"
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
    cfg = load_config(args.config)
    if cfg is None:
        return EXIT_CONFIG
    try:
        from grafana_client.api import GrafanaApi

        from wardwatch.dashboards import push
    except ImportError as exc:
        print(
            f"wardwatch dashboards push: {exc}; install it with pip install 'wardwatch[grafana]'",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    influx = push.datasource(
        args.influx_url or cfg.influx.url,
        cfg.influx.database,
        cfg.influx.username,
        cfg.influx.password,
    )
    api = GrafanaApi.from_url(args.url, credential=args.token)
    try:
        push.push(api, influx)
    except push.PushError as exc:
        print(f"wardwatch dashboards push: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0
