"""What the reports that read InfluxDB (``status``, ``lifecycle``, ``links``) share: how each is
declared, its options, and its JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from wardwatch.collector.cli.options import config_option
from wardwatch.collector.influx.query import QueryClient
from wardwatch.common.startup import Commands

R = TypeVar("R")
"""A report's row: a dataclass instance, one per machine or link."""


@dataclass(frozen=True)
class Report(Generic[R]):
    """One report command: its words for ``--help``, what it reads, and how it prints.

    ``fetch(client, site)`` reads the rows (``site`` is "" without ``--site``); ``formats`` maps
    each output format to its renderer, the first being the default. With ``csv`` among them the
    command takes ``--format``, else ``--json``.
    """

    name: str
    help: str
    description: str
    fetch: Callable[[QueryClient, str], Sequence[R]]
    formats: Mapping[str, Callable[[Sequence[R]], str]]
    site: bool = True

    def add_parser(self, commands: Commands) -> None:
        """Add this command, with ``--config``, ``--site`` if it filters, and its format."""
        command = config_option(
            commands.add_parser(self.name, help=self.help, description=self.description)
        )
        if self.site:
            command.add_argument("--site", default="", metavar="SITE", help="only this site (ward)")
        names = list(self.formats)
        if "csv" in names:
            command.add_argument(
                "--format",
                choices=names,
                default=names[0],
                help=f"output format (default: {names[0]})",
            )
        else:
            command.add_argument(
                "--json",
                dest="format",
                action="store_const",
                const="json",
                default=names[0],
                help="print JSON instead of a table",
            )

    def show(self, client: QueryClient, args: argparse.Namespace) -> str:
        """What the command prints, ending with one newline."""
        rows = self.fetch(client, args.site if self.site else "")
        return self.formats[args.format](rows).rstrip("\n") + "\n"


def as_json(rows: Sequence[Any]) -> str:
    """Every column of every row, as a JSON list."""
    return json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=2)
