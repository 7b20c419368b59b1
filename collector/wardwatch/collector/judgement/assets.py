"""The asset register: the city's CSV of serial or hostname → purchase date, device class, site.

Header ``serial,hostname,purchase_date,device_class,site`` plus any optional columns (kept as
text in ``Asset.extra``, e.g. ``price_vnd``, ``note``). Dates are ``YYYY-MM-DD`` or the
Vietnamese ``DD/MM/YYYY``. A bad row is reported with its line number and skipped, never fatal;
a missing file is an empty register with one warning. The file is re-read when its modification
time or size changes, checked at most every ``check_every_s`` seconds, so edits apply without a
restart.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path

from msgspec import Struct

from wardwatch.collector.judgement.watched import WatchedFile

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("serial", "hostname", "purchase_date", "device_class", "site")


class Asset(Struct, frozen=True, kw_only=True):
    """One row of the register."""

    serial: str
    hostname: str
    purchase_date: dt.date
    device_class: str
    site: str
    line: int
    extra: dict[str, str] = {}


class Problem(Struct, frozen=True, kw_only=True):
    """Something wrong in the register: the file, the line (0 for the whole file) and why."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def _key(text: str) -> str:
    return text.strip().casefold()


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY``; ValueError naming both forms otherwise."""
    text = text.strip()
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise ValueError(f"purchase_date {text!r} is not a date: write YYYY-MM-DD or DD/MM/YYYY")


def parse(
    text: str, path: str, device_classes: Collection[str], today: dt.date
) -> tuple[list[Asset], list[Problem]]:
    """Parse register text into its good rows and the problems of the others."""
    assets: list[Asset] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    columns = [_key(c) for c in header or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        message = f"header lacks {', '.join(missing)}: the first line must name the columns " + (
            ",".join(REQUIRED_COLUMNS)
        )
        return [], [Problem(path=path, line=1, message=message)]
    serials: set[str] = set()
    line = reader.line_num + 1
    for row in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(columns)}
        found = _asset(cells, start, device_classes, today, serials)
        if isinstance(found, Asset):
            serials.add(_key(found.serial))
            assets.append(found)
        else:
            problems.append(Problem(path=path, line=start, message=found + "; row skipped"))
    return assets, problems


def _asset(
    cells: dict[str, str],
    line: int,
    device_classes: Collection[str],
    today: dt.date,
    serials: set[str],
) -> Asset | str:
    """The row starting at ``line`` as an asset, or why it cannot be one."""
    if not cells["serial"] and not cells["hostname"]:
        return "neither serial nor hostname: give at least one"
    try:
        bought = parse_date(cells["purchase_date"])
    except ValueError as exc:
        return str(exc)
    if bought > today:
        return f"purchase_date {bought.isoformat()} is in the future"
    device_class = cells["device_class"].casefold()
    if device_class not in device_classes:
        known = ", ".join(sorted(device_classes))
        return f"unknown device_class {cells['device_class']!r}: use one of {known}"
    serial = _key(cells["serial"])
    if serial and serial in serials:
        return f"duplicate serial {cells['serial']!r} (first row kept)"
    required = set(REQUIRED_COLUMNS)
    return Asset(
        serial=cells["serial"],
        hostname=cells["hostname"],
        purchase_date=bought,
        device_class=device_class,
        site=cells["site"],
        line=line,
        extra={c: v for c, v in cells.items() if c not in required and c and v},
    )


class AssetRegister:
    """The register file, matched by serial then hostname, re-read when the file changes."""

    def __init__(
        self,
        path: Path,
        device_classes: Collection[str],
        *,
        check_every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        """Open ``path``; ``device_classes`` are those the policy knows."""
        self.path = path
        self._classes = frozenset(c.casefold() for c in device_classes)
        self._file = WatchedFile(path, check_every_s=check_every_s, clock=clock)
        self._today = today
        self._by_serial: dict[str, Asset] = {}
        self._by_host: dict[str, Asset] = {}
        self._assets: list[Asset] = []
        self.problems: list[Problem] = []
        """The problems found by the last read, bad rows first-to-last."""
        self.refresh()

    @property
    def assets(self) -> list[Asset]:
        """Every good row of the last read, in file order."""
        return list(self._assets)

    def refresh(self) -> bool:
        """Re-read the file if it changed and the check interval passed; True if re-read."""
        if not self._file.changed():
            return False
        self._read(self._file.exists)
        return True

    def _read(self, exists: bool) -> None:
        source = str(self.path)
        text = ""
        problems: list[Problem] = []
        if not exists:
            problems.append(Problem(path=source, line=0, message="no asset register: empty"))
        else:
            try:
                text = self.path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(path=source, line=0, message=f"cannot read: {exc}"))
        assets, bad_rows = parse(text, source, self._classes, self._today()) if text else ([], [])
        problems.extend(bad_rows)
        by_serial: dict[str, Asset] = {}
        by_host: dict[str, Asset] = {}
        ambiguous: set[str] = set()
        for asset in assets:
            if asset.serial:
                by_serial[_key(asset.serial)] = asset
            host = _key(asset.hostname)
            if not host:
                continue
            if host in by_host or host in ambiguous:
                if host not in ambiguous:
                    problems.append(
                        Problem(
                            path=source,
                            line=asset.line,
                            message=f"hostname {asset.hostname!r} also on line "
                            f"{by_host[host].line}: these rows match by serial only",
                        )
                    )
                ambiguous.add(host)
                by_host.pop(host, None)
                continue
            by_host[host] = asset
        self._by_serial, self._by_host, self._assets = by_serial, by_host, assets
        self.problems = problems
        for problem in problems:
            log.warning("asset register: %s", problem)

    def lookup(self, serial: str, hostname: str) -> Asset | None:
        """The row for this serial (case-insensitive, trimmed), else for this hostname."""
        self.refresh()
        found = self._by_serial.get(_key(serial)) if _key(serial) else None
        if found is None and _key(hostname):
            found = self._by_host.get(_key(hostname))
        return found
