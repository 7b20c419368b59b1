"""``wardwatch-collector``: from the agents' MQTT messages to InfluxDB points."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from agent.tomlconfig import ConfigError
from collector import config
from collector.pipeline import Collector
from collector.writer import WriteError, make_writer

EXIT_CONFIG = 2
STATS_EVERY_S = 60.0


def build_parser() -> argparse.ArgumentParser:
    """The collector's command line."""
    parser = argparse.ArgumentParser(
        prog="wardwatch-collector",
        description="Receive wardwatch agents' reports from MQTT, validate them, and write "
        "them to InfluxDB; acknowledge each message only once it is stored.",
        epilog="Configuration keys are documented in collector/collector.sample.toml; each can "
        "be overridden by an environment variable WARDWATCH_<SECTION>_<KEY>, e.g. "
        "WARDWATCH_INFLUX_URL.",
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML config file (default: built-in defaults)"
    )
    parser.add_argument("--check", action="store_true", help="validate the config and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wardwatch-collector``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        cfg = config.load(args.config)
    except ConfigError as exc:
        print(f"wardwatch-collector: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.check:
        print(f"{args.config or '<defaults>'}: OK")
        return 0
    writer = make_writer(cfg.influx)
    collector = Collector(cfg, writer)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: collector.stop_event.set())
    try:
        writer.ensure_database()
    except WriteError as exc:
        # Not fatal: InfluxDB may come up later; writes retry until it does.
        logging.getLogger("wardwatch.collector").warning("cannot create the database yet: %s", exc)
    threading.Thread(target=_log_stats, args=(collector,), daemon=True).start()
    collector.run()
    return 0


def _log_stats(collector: Collector) -> None:
    log = logging.getLogger("wardwatch.collector")
    while not collector.stop_event.wait(STATS_EVERY_S):
        log.info("%s", collector.stats.summary())


if __name__ == "__main__":
    sys.exit(main())
