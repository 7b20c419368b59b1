"""``wardwatch-collector``: from the agents' MQTT messages to InfluxDB points."""

from __future__ import annotations

import logging
import sys
import threading

from wardwatch.collector import config
from wardwatch.collector.influx.writer import WriteError, make_writer
from wardwatch.collector.ingest.pipeline import Collector
from wardwatch.collector.judgement.stage import Lifecycle
from wardwatch.common import startup
from wardwatch.common.tomlconfig import ConfigError

STATS_EVERY_S = 60.0
log = logging.getLogger("wardwatch.collector")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wardwatch-collector``; returns the process exit code."""
    parser = startup.parser(
        "wardwatch-collector",
        "Receive wardwatch agents' reports from MQTT, validate them, and write them to "
        "InfluxDB; acknowledge each message only once it is stored.",
        str(config.SAMPLE),
    )
    args = parser.parse_args(argv)
    cfg = startup.configure(args, "wardwatch-collector", config.load)
    if cfg is None:
        return startup.EXIT_CONFIG
    try:
        lifecycle = Lifecycle(cfg.lifecycle)
    except ConfigError as exc:
        print(f"wardwatch-collector: {args.config or '<defaults>'}: {exc}", file=sys.stderr)
        return startup.EXIT_CONFIG
    if args.check:
        register = lifecycle.register
        problems = f", {len(register.problems)} asset register problem(s)" if register else ""
        print(f"{args.config or '<defaults>'}: OK, policy {lifecycle.policy.name}{problems}")
        return 0
    writer = make_writer(cfg.influx)
    collector = Collector(cfg, writer, lifecycle)
    startup.stop_on_signals(collector.stop_event)
    try:
        writer.ensure_database()
    except WriteError as exc:
        # Not fatal: InfluxDB may come up later; writes retry until it does.
        log.warning("cannot create the database yet: %s", exc)
    threading.Thread(target=_log_stats, args=(collector,), daemon=True).start()
    collector.run()
    return 0


def _log_stats(collector: Collector) -> None:
    while not collector.stop_event.wait(STATS_EVERY_S):
        log.info("%s", collector.stats.summary())


if __name__ == "__main__":
    sys.exit(main())
