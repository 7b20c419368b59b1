"""``wardwatch-agent``: the command that runs on each ward PC or VC machine."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from agent import __version__, config
from agent.probes.host import HostProbe
from agent.runner import Agent
from agent.tomlconfig import ConfigError

EXIT_NOT_STORED = 1
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """The agent's command line."""
    parser = argparse.ArgumentParser(
        prog="wardwatch-agent",
        description="Measure this machine and report it to the wardwatch collector over MQTT. "
        "Runs forever on its interval; with --once, sends one report and exits 0 only when "
        "the collector has stored it.",
        epilog="Configuration keys are documented in agent/agent.sample.toml; each can be "
        "overridden by an environment variable WARDWATCH_<SECTION>_<KEY>, e.g. "
        "WARDWATCH_MQTT_URL.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML config file (default: built-in defaults and the environment)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="send one report, wait for the collector's ack, exit 0 if stored, 1 if not",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="with --once: give up after this long (default: [agent] deadline_s, 15)",
    )
    parser.add_argument("--check", action="store_true", help="validate the config and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument("--version", action="version", version=f"wardwatch-agent {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wardwatch-agent``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        cfg = config.load(args.config)
    except ConfigError as exc:
        print(f"wardwatch-agent: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.check:
        print(f"{args.config or '<defaults>'}: OK, agent id {cfg.agent_id!r}")
        return 0
    agent = Agent(cfg, [HostProbe()], once=args.once)
    if args.once:
        reason = agent.run_once(args.deadline or cfg.agent.deadline_s)
        if reason:
            print(f"wardwatch-agent: not stored: {reason}", file=sys.stderr)
            return EXIT_NOT_STORED
        print(f"stored: report of {agent.id} acknowledged by the collector")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    agent.run_forever(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
