"""``wardwatch report``: the inspection report (``wardwatch.collector.inspection``) of a period,
for the whole city or one ward, as a workbook, a web page or a PDF.

Progress goes to stderr, one line per query. Whatever stops it (a ward that does not exist, a
period without reports, InfluxDB out of reach, no browser to print the PDF, an output that
cannot be written) is one line on stderr and exit code 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from wardwatch.collector.cli.options import EXIT_CONFIG, config_option, load_config
from wardwatch.collector.config import EXAMPLE_PRICES_VND, CollectorConfig
from wardwatch.collector.influx.query import QueryClient, QueryError
from wardwatch.collector.inspection import gather, rollup
from wardwatch.collector.inspection.model import Inspection
from wardwatch.collector.inspection.queries import Reader, Scope
from wardwatch.common.startup import Commands

FORMATS: Final = ("xlsx", "html", "pdf")
MAX_DAYS: Final = 366


class ReportFailed(Exception):
    """Why the report could not be made: one line for the operator."""


def add_parser(commands: Commands) -> None:
    """The ``report`` command and its options."""
    command = config_option(
        commands.add_parser(
            "report",
            help="the inspection report: wards, machines, replacement plan, links (xlsx/html/pdf)",
            description="Read InfluxDB and write the inspection report of the last DAYS days: a "
            "summary by ward (machines by hardware verdict, OS out of support, availability, "
            "videoconference link quality), every machine with its age evidence, the "
            "replacement plan priced from [report] unit_price_vnd, the worst links, and "
            "charts. --format xlsx (one sheet per section, with native charts), html (one "
            "self-contained page that prints on A4) or pdf (that page printed by headless "
            "Chromium: apt-get install chromium). Every figure names the InfluxQL it came from.",
        )
    )
    command.add_argument("--site", default="", metavar="SITE", help="only this ward")
    command.add_argument(
        "--days",
        type=int,
        default=30,
        metavar="N",
        help=f"the period: the last N days (default 30, at most {MAX_DAYS})",
    )
    command.add_argument(
        "--lang", choices=("vi", "en"), default="vi", help="language (default: vi, Vietnamese)"
    )
    command.add_argument("--format", choices=FORMATS, help="default: the output's extension")
    command.add_argument("--output", type=Path, required=True, metavar="PATH", help="file to write")
    command.add_argument(
        "--horizon-months",
        type=int,
        default=12,
        metavar="M",
        help="the plan lists machines overdue or due within M months (default 12)",
    )


def add_rollup_parser(commands: Commands) -> None:
    """The ``rollup`` command: the report's hourly rollups of a past period."""
    command = config_option(
        commands.add_parser(
            "rollup",
            help="compute the hourly rollups `wardwatch report` reads, for the last N days",
            description="Recompute the hourly rollups of link rounds and reports (link_1h, "
            "link_site_1h, agent_1h) from the raw points of the last N days, a day at a time. "
            "The collector keeps them up to date as it writes ([report] rollup_every_s); run "
            "this once after an upgrade, or after importing points written without a "
            "collector. Needs InfluxDB 1.x (SELECT ... INTO) and a login that may write.",
        )
    )
    command.add_argument(
        "--days", type=int, default=30, metavar="N", help="the last N days (default 30)"
    )


def run_rollup(args: argparse.Namespace) -> int:
    """``wardwatch rollup``; the exit code."""
    cfg = load_config(args.config)
    if cfg is None:
        return EXIT_CONFIG
    if not 1 <= args.days <= MAX_DAYS:
        print(f"wardwatch rollup: --days {args.days}: give 1 to {MAX_DAYS}", file=sys.stderr)
        return EXIT_CONFIG
    now, say = datetime.now(UTC), _progress("rollup")
    client = QueryClient(cfg.influx)
    try:
        hours = rollup.refresh_period(client, now - timedelta(days=args.days), now, say)
    except QueryError as exc:
        print(f"wardwatch rollup: cannot roll up in InfluxDB at {cfg.influx.url}: {exc}",
              file=sys.stderr)  # fmt: skip
        return EXIT_CONFIG
    finally:
        client.close()
    print(f"wardwatch rollup: {hours} hours rolled up", file=sys.stderr)
    return 0


def _format(args: argparse.Namespace) -> str:
    chosen = args.format or args.output.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise ReportFailed(
            f"say --format {'|'.join(FORMATS)}: the output {args.output} has no known extension"
        )
    return str(chosen)


def _progress(command: str = "report") -> Callable[[str], None]:
    started, step = time.monotonic(), [0]

    def say(what: str) -> None:
        step[0] += 1
        print(f"wardwatch {command}: [{step[0]}] {what} ({time.monotonic() - started:.1f} s)",
              file=sys.stderr, flush=True)  # fmt: skip

    return say


def _checked(args: argparse.Namespace) -> None:
    if not 1 <= args.days <= MAX_DAYS:
        raise ReportFailed(f"--days {args.days}: give 1 to {MAX_DAYS}")
    if not 0 <= args.horizon_months <= 120:
        raise ReportFailed(f"--horizon-months {args.horizon_months}: give 0 to 120")
    if not args.output.parent.is_dir():
        raise ReportFailed(f"--output {args.output}: no directory {args.output.parent}")


def make(cfg: CollectorConfig, args: argparse.Namespace, now: datetime) -> Inspection:
    """Read the report of ``args`` from the InfluxDB of ``cfg``."""
    say = _progress()
    client = QueryClient(cfg.influx)
    try:
        # From a whole hour: the rollups the report reads are hourly.
        start = rollup.hour_of(now - timedelta(days=args.days))
        reader = Reader(client, Scope(start, now, args.site), say)
        if args.site and args.site not in (known := reader.sites()):
            raise ReportFailed(
                f"--site {args.site!r}: no such ward in InfluxDB (known: {', '.join(known)})"
            )
        prices = cfg.report.unit_price_vnd
        options = gather.Options(
            city=cfg.report.city,
            language=args.lang,
            policy=gather.policy_text(cfg.lifecycle.policy),
            horizon_months=args.horizon_months,
            prices=prices or EXAMPLE_PRICES_VND,
            prices_are_examples=not prices,
            now=now,
        )
        return gather.gather(reader, options)
    except gather.EmptyReport as exc:
        where = f" in {args.site!r}" if args.site else ""
        days = f"over the last {args.days} days"
        raise ReportFailed(f"nothing to report{where} {days}: {exc}") from exc
    except QueryError as exc:
        raise ReportFailed(f"cannot read InfluxDB at {cfg.influx.url}: {exc}") from exc
    finally:
        client.close()


def write(report: Inspection, kind: str, out: Path) -> None:
    """Write ``report`` to ``out`` as ``kind``."""
    # Imported here: openpyxl and the renderers load only when a report is written.
    from wardwatch.collector.inspection import html, pdf, xlsx

    try:
        if kind == "xlsx":
            xlsx.write(report, out)
        elif kind == "html":
            _atomic_text(html.render(report), out)
        else:
            pdf.print_pdf(html.render(report), out)
    except pdf.PdfError as exc:
        raise ReportFailed(str(exc)) from exc
    except OSError as exc:
        raise ReportFailed(f"cannot write {out}: {exc.strerror or exc}") from exc


def _atomic_text(text: str, out: Path) -> None:
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)


def run(args: argparse.Namespace) -> int:
    """``wardwatch report``; the exit code."""
    cfg = load_config(args.config)
    if cfg is None:
        return EXIT_CONFIG
    started = time.monotonic()
    try:
        _checked(args)
        kind = _format(args)
        report = make(cfg, args, datetime.now(UTC))
        print(f"wardwatch report: writing {kind}", file=sys.stderr, flush=True)
        write(report, kind, args.output)
    except ReportFailed as exc:
        print(f"wardwatch report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(
        f"wardwatch report: wrote {args.output} ({len(report.machines)} machines, "
        f"{len(report.wards)} wards, {len(report.plan)} to replace) in "
        f"{time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0
