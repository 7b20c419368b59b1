"""What every wardwatch daemon does at start: common options, logging, config, signals."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

import msgspec

from wardwatch.common.tomlconfig import ConfigError

if TYPE_CHECKING:  # 3.10's; for the type checker only, as annotations are never evaluated
    from typing import TypeAlias

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
    result.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text (default), or one JSON object per line with the record's structured fields "
        "(event, ids, times), for a log shipper",
    )
    return result


# The attributes every log record has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the fields its ``extra``
    carried (``event`` names what happened: ``committed``, ``connected``...)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line, enc_hook=str).decode()


def configure(args: argparse.Namespace, prog: str, load: Callable[[Path | None], T]) -> T | None:
    """Set up logging and load the config; on a bad config print why and return None."""
    handler = logging.StreamHandler()
    if args.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
    try:
        return load(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM, so the program finishes its work in hand and exits."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
