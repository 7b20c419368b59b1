"""What every wardwatch daemon does at start: common options, logging, config, signals."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias, TypeVar

from wardwatch.common.tomlconfig import ConfigError

T = TypeVar("T")

EXIT_CONFIG = 2
"""Exit code of a program whose configuration is unusable."""

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: each command adds its own parser to it."""


def parser(prog: str, description: str, sample: str) -> argparse.ArgumentParser:
    """An argument parser with the options every daemon has: --config, --check, --verbose."""
    result = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"Configuration keys are documented in {sample}; each can be overridden by an "
        "environment variable WARDWATCH_<SECTION>_<KEY>, e.g. WARDWATCH_MQTT_URL.",
    )
    result.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML config file (default: built-in defaults and the environment)",
    )
    result.add_argument("--check", action="store_true", help="validate the config and exit")
    result.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    return result


def configure(args: argparse.Namespace, prog: str, load: Callable[[Path | None], T]) -> T | None:
    """Set up logging and load the config; on a bad config print why and return None."""
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return load(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM, so the program finishes its work in hand and exits."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
