"""``wardwatch``: the operator's command line.

Each command is a module of this package: the reports read from InfluxDB (``status``,
``lifecycle``, ``links``) each declare a ``REPORT`` (``report.Report``); ``dashboards``,
``broker``, ``agents``, ``simulate`` (``wardwatch.collector.simulator.cli``) and ``report``
(``inspection``: the inspection report's files) add their own parsers and run themselves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, Final

from wardwatch.collector.cli import agents, broker, dashboards, inspection, lifecycle, links, status
from wardwatch.collector.cli.options import EXIT_CONFIG, EXIT_FAILED, load_config
from wardwatch.collector.cli.report import Report
from wardwatch.collector.influx.query import QueryClient, QueryError
from wardwatch.collector.influx.writer import FIXES
from wardwatch.collector.simulator import cli as simulate

REPORTS: Final[dict[str, Report[Any]]] = {
    report.name: report for report in (status.REPORT, lifecycle.REPORT, links.REPORT)
}
"""The commands that read InfluxDB and print what they found."""
RUNNERS: Final[dict[str, Callable[[argparse.Namespace], int]]] = {
    "dashboards": dashboards.run,
    "broker": broker.run,
    "agents": agents.run,
    "simulate": simulate.run,
    "report": inspection.run,
    "rollup": inspection.run_rollup,
}
"""The commands that run themselves."""


def build_parser() -> argparse.ArgumentParser:
    """The operator CLI and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="wardwatch",
        description="Operator commands for a wardwatch installation.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for report in REPORTS.values():
        report.add_parser(commands)
    dashboards.add_parser(commands)
    broker.add_parser(commands)
    agents.add_parser(commands)
    simulate.add_parser(commands)
    inspection.add_parser(commands)
    inspection.add_rollup_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wardwatch``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command in RUNNERS:
        return RUNNERS[args.command](args)
    cfg = load_config(args.config)
    if cfg is None:
        return EXIT_CONFIG
    client = QueryClient(cfg.influx)
    try:
        text = REPORTS[args.command].show(client, args)
    except QueryError as exc:
        # A refused login is the reader's to fix; the writer's other fixes are not a reader's.
        fix = f": {FIXES[401]}" if exc.status == 401 else ""
        print(f"wardwatch {args.command}: {exc}{fix}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        client.close()
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
