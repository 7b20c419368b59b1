"""``wardwatch simulate``: a fleet of simulated agents against a broker, for load tests and demos.

The command line; its config file is ``config``, the simulator itself ``loop.Simulator``, both
imported only when the command runs, so that the other ``wardwatch`` commands never load the
agent's code the simulator drives.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Final

from wardwatch.common import tomlconfig
from wardwatch.common.startup import Commands

EXIT_OK: Final = 0
EXIT_NOT_ACKED: Final = 1
EXIT_CONFIG: Final = 2


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    """The ``simulate`` subcommand of ``wardwatch``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "simulate",
        help="run a fleet of simulated agents against a broker (load tests, demos)",
        description="Run N simulated agents in one process, each logged in as itself "
        "(client id and username = its agent id, e.g. sim-tan-an-pc03), over M sites, through "
        "the agent's own outbox and MQTT code. Exits 0 when every committed message was acked "
        "by a collector, 1 otherwise.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML with an [mqtt] table (url; username/password are ignored: each simulated "
        "agent logs in as itself)",
    )
    parser.add_argument("--agents", type=int, required=True, metavar="N")
    parser.add_argument("--sites", type=int, required=True, metavar="M")
    parser.add_argument(
        "--interval-s",
        type=float,
        required=True,
        metavar="S",
        help="seconds between two reports of one agent (fractions allowed for load tests)",
    )
    parser.add_argument(
        "--duration-s", type=float, metavar="D", help="stop after D seconds (default: Ctrl-C)"
    )
    parser.add_argument("--seed", type=int, default=0, help="fleet seed (default 0)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where the outbox file is kept (default: a temporary directory, deleted at exit)",
    )
    parser.add_argument(
        "--outbox-sync",
        choices=("full", "normal"),
        default="full",
        help="full (the agent's own setting: fsync at each commit) or normal (no fsync per "
        "commit, for higher load; safe against a crash, not a power cut)",
    )
    parser.add_argument(
        "--drain-s",
        type=float,
        default=10.0,
        metavar="S",
        help="at stop, wait this long for outstanding acks (default 10)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """``wardwatch simulate``; returns the exit code."""
    from wardwatch.collector.simulator.config import load_config
    from wardwatch.collector.simulator.loop import Simulator

    if args.agents < 1 or args.sites < 1 or args.interval_s < 0:
        print(
            "wardwatch simulate: --agents and --sites must be >= 1, --interval-s >= 0",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        cfg = load_config(args.config)
    except tomlconfig.ConfigError as exc:
        print(f"wardwatch simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        simulator = Simulator(
            mqtt=cfg.mqtt,
            agents=args.agents,
            sites=args.sites,
            interval_s=args.interval_s,
            seed=args.seed,
            state_dir=args.state_dir,
            outbox_sync=args.outbox_sync,
            progress=sys.stderr,
        )
    except OSError as exc:
        print(f"wardwatch simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def on_signal(signum: int, frame: Any) -> None:
        simulator.request_stop(hurry=simulator.stopping)  # a second Ctrl-C skips the drain

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    print(
        f"simulate: {args.agents} agent(s) over {args.sites} site(s) to {cfg.mqtt.url}, "
        f"a report every {args.interval_s:g} s each; Ctrl-C stops",
        file=sys.stderr,
    )
    summary = simulator.run(duration_s=args.duration_s, drain_s=args.drain_s)
    for line in summary.lines:
        print(f"simulate: {line}", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_NOT_ACKED
