"""``wardwatch``: the operator's command line."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from wardwatch.collector import config
from wardwatch.collector.cli.lifecycle import fleet_verdicts, render_csv, render_json
from wardwatch.collector.cli.lifecycle import render_table as render_verdicts
from wardwatch.collector.cli.links import fleet_links
from wardwatch.collector.cli.links import render_json as links_json
from wardwatch.collector.cli.links import render_table as links_table
from wardwatch.collector.cli.status import fleet_status, render_table
from wardwatch.collector.influx.query import QueryClient, QueryError
from wardwatch.collector.simulator import cli as simulate
from wardwatch.common.tomlconfig import ConfigError

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _config_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--config", type=Path, metavar="FILE", help="the collector's TOML config (for [influx])"
    )


def build_parser() -> argparse.ArgumentParser:
    """The operator CLI and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="wardwatch",
        description="Operator commands for a wardwatch installation.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status",
        help="one line per known agent: site, agent, role, last seen, online/offline, uptime",
        description="Show every agent that ever reported, read from InfluxDB. An agent is "
        "offline when it said so (its last will) or missed 3 reports in a row.",
    )
    _config_option(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    life = commands.add_parser(
        "lifecycle",
        help="one line per machine: hardware lifecycle and OS support verdicts, worst first",
        description="List every machine's latest verdicts from InfluxDB, worst first: "
        "overdue, due (within the policy's warning window), unknown, ok; the hardware's age, "
        "the evidence it was taken from, model and serial; the OS release and its end of "
        "support. Use --format csv for a spreadsheet of the machines to replace.",
    )
    _config_option(life)
    life.add_argument("--site", default="", metavar="SITE", help="only this site (ward)")
    life.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (default: table)",
    )
    links = commands.add_parser(
        "links",
        help="one line per link (agent -> target), worst first: state, loss, RTT, jitter",
        description="List every link's latest probe round from InfluxDB, worst first: bad, "
        "degraded, good, then by loss and RTT; for videoconference endpoints, the ports that "
        "answered.",
    )
    _config_option(links)
    links.add_argument("--site", default="", metavar="SITE", help="only this site (ward)")
    links.add_argument("--json", action="store_true", help="print JSON instead of a table")
    boards = commands.add_parser(
        "dashboards",
        help="Grafana dashboards and alert rules as code: build the files, push to a Grafana",
        description="`build` regenerates dashboards/generated/<language>/*.json and "
        "deploy/grafana/provisioning/alerting/wardwatch.yaml from the builders in dashboards/ "
        "(needs the `dashboards` extra: pip install 'wardwatch[dashboards]').",
    )
    actions = boards.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("build", help="regenerate the dashboard and alerting files")
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
    _config_option(pushing)
    pushing.add_argument(
        "--influx-url",
        metavar="URL",
        help="InfluxDB's address as Grafana reaches it (default: the config's [influx] url)",
    )
    simulate.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wardwatch``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "simulate":
        return simulate.run(args)
    if args.command == "dashboards" and args.action == "build":
        return _build_dashboards()
    try:
        cfg = config.load(args.config)
    except ConfigError as exc:
        print(f"wardwatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "dashboards":
        return _push_dashboards(args, cfg)
    client = QueryClient(cfg.influx)
    try:
        if args.command == "lifecycle":
            verdicts = fleet_verdicts(client, args.site)
        elif args.command == "links":
            states = fleet_links(client, args.site)
        else:
            fleet = fleet_status(client)
    except QueryError as exc:
        print(f"wardwatch {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        client.close()
    if args.command == "lifecycle":
        render = {"table": render_verdicts, "csv": render_csv, "json": render_json}
        print(render[args.format](verdicts), end="" if args.format == "csv" else "\n")
    elif args.command == "links":
        print(links_json(states) if args.json else links_table(states))
    elif args.json:
        print(json.dumps([asdict(s) for s in fleet], ensure_ascii=False, indent=2))
    else:
        print(render_table(fleet))
    return 0


def _build_dashboards() -> int:
    try:
        from wardwatch.dashboards import alerts, build
    except ImportError as exc:
        print(
            f"wardwatch dashboards: {exc}; install it with pip install 'wardwatch[dashboards]'",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    changed = build.write()
    if alerts.write():
        changed.append(alerts.FILE)
    for path in changed:
        print(f"wrote {path}")
    print(
        f"{len(build.files())} dashboard files in {build.GENERATED} and the alerting file "
        f"{alerts.FILE}: {len(changed)} changed"
    )
    return 0


def _push_dashboards(args: argparse.Namespace, cfg: config.CollectorConfig) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
