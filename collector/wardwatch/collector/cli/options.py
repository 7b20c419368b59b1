"""What every ``wardwatch`` command shares: the ``--config`` option, loading it, exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

from wardwatch.collector import config
from wardwatch.common.tomlconfig import ConfigError

EXIT_FAILED: Final = 1
EXIT_CONFIG: Final = 2


def config_option(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--config FILE``: the collector's TOML config, for ``[influx]``."""
    command.add_argument(
        "--config", type=Path, metavar="FILE", help="the collector's TOML config (for [influx])"
    )
    return command


def load_config(path: Path | None) -> config.CollectorConfig | None:
    """The collector's config, or None after saying why it cannot be used."""
    try:
        return config.load(path)
    except ConfigError as exc:
        print(f"wardwatch: {exc}", file=sys.stderr)
        return None
