"""Writing batches of line protocol to InfluxDB, through the v1 or the v2 API.

The writer owns retry and backoff, and nothing else does: an unreachable database or a 5xx
is retried with exponential backoff and jitter until it succeeds or the collector stops; so is a
refused login (401), a missing privilege (403) or a missing database (404), which the operator
must fix and which are no fault of the lines. Any other 4xx is permanent for that batch, and
``write_isolating`` bisects the batch to find the lines InfluxDB refuses while writing all the
others.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Final, Protocol

from wardwatch.collector.config import InfluxSection
from wardwatch.collector.influx.http_client import InfluxHttp, InfluxUnreachable
from wardwatch.collector.influx.query import QueryClient, QueryError, quote_ident

log = logging.getLogger("wardwatch.collector.writer")


class WriteError(Exception):
    """A failed write. ``permanent`` means retrying the same lines cannot succeed (a 4xx);
    ``fix`` is what the operator must change before any write can (then it ends the message)."""

    def __init__(self, message: str, *, permanent: bool, fix: str = "") -> None:
        super().__init__(f"{message}: {fix}" if fix else message)
        self.permanent = permanent
        self.fix = fix


class Writer(Protocol):
    """Anything that stores lines of line protocol, or raises WriteError."""

    def write(self, lines: list[str]) -> None:
        """Store the lines, all or nothing as InfluxDB does per request."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


FIXES: Final = {
    401: "check [influx] username and password (v2: token)",
    403: "grant the user ALL (or at least WRITE) on the database, as an InfluxDB admin",
    404: "create it as an InfluxDB admin",
}
"""Statuses that refuse the request, not its lines: bisecting would dead-letter every point
and ack it, so the batch waits (unacked) for the operator's fix instead."""


def _http_error(status: int, body: bytes) -> WriteError:
    text = body.decode("utf-8", "replace").strip()[:500]
    message = f"InfluxDB answered {status}: {text}"
    if status in FIXES:
        return WriteError(message, permanent=False, fix=FIXES[status])
    return WriteError(message, permanent=400 <= status < 500)


class V1Writer:
    """``POST /write?db=<database>&precision=ns``: every InfluxDB 1.x, and 2.x/3.x compat."""

    def __init__(self, cfg: InfluxSection) -> None:
        self._cfg = cfg
        self._http = InfluxHttp(cfg)
        self._database = cfg.database
        self._create = cfg.create_database

    def ensure_database(self) -> None:
        """Create the database when configured to and it is missing.

        ``SHOW DATABASES`` first: only an admin may ``CREATE DATABASE``, even one that exists,
        and the collector's user is not one; it sees the databases it has a privilege on.
        """
        if not self._create:
            return
        client = QueryClient(self._cfg, database="")
        statement = f"CREATE DATABASE {quote_ident(self._database)}"
        try:
            if self._database not in {row.text("name") for row in client.query("SHOW DATABASES")}:
                client.execute(statement)
        except QueryError as exc:
            if exc.status == 403:  # a user without admin (README, "InfluxDB users")
                raise WriteError(
                    f"[influx] create_database = true, but InfluxDB refused {statement} ({exc})",
                    permanent=False,
                    fix="create the database as an InfluxDB admin, "
                    "or set [influx] create_database = false",
                ) from exc
            raise WriteError(str(exc), permanent=False, fix=FIXES.get(exc.status, "")) from exc
        finally:
            client.close()

    def write(self, lines: list[str]) -> None:
        """One HTTP request carrying every line."""
        body = "\n".join(lines).encode("utf-8")
        params = {"db": self._database, "precision": "ns"}
        try:
            status, answer = self._http.request("POST", "/write", params, body)
        except InfluxUnreachable as exc:
            raise WriteError(str(exc), permanent=False) from exc
        if status != 204:
            raise _http_error(status, answer)

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()


class V2Writer:
    """``POST /api/v2/write`` through influxdb-client, synchronously.

    Synchronous on purpose: the client's batching mode reports errors only to a callback and
    would let the collector ack messages that were never stored.
    """

    def __init__(self, cfg: InfluxSection) -> None:
        # Imported here so that nothing on the agent's side ever loads influxdb-client.
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._client = InfluxDBClient(
            url=cfg.url, token=cfg.token, org=cfg.org, timeout=int(cfg.timeout_s * 1000)
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._bucket = cfg.bucket
        self._org = cfg.org

    def ensure_database(self) -> None:
        """Buckets are created by the InfluxDB administrator, not by the collector."""

    def write(self, lines: list[str]) -> None:
        """One HTTP request carrying every line."""
        from influxdb_client.rest import ApiException

        try:
            # The client's default precision is nanoseconds, the precision of our lines.
            self._api.write(bucket=self._bucket, org=self._org, record=lines)
        except ApiException as exc:
            raise _http_error(int(exc.status or 0), str(exc.body or exc.reason).encode()) from exc
        except Exception as exc:  # urllib3 connection errors: no answer, retry later
            raise WriteError(
                f"InfluxDB at {self._client.url} did not answer: {exc}", permanent=False
            ) from exc

    def close(self) -> None:
        """Close the client."""
        self._client.close()  # type: ignore[no-untyped-call]


def make_writer(cfg: InfluxSection) -> V1Writer | V2Writer:
    """The writer for the configured API."""
    return V1Writer(cfg) if cfg.api == "v1" else V2Writer(cfg)


class Backoff:
    """Exponential backoff with full jitter, waits interruptible by ``stop``."""

    def __init__(self, stop: threading.Event, base_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.stop = stop
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0

    def wait(self) -> bool:
        """Sleep before the next attempt; False when stopping instead."""
        delay = random.uniform(0, min(self.cap_s, self.base_s * 2**self.attempt))
        self.attempt += 1
        return not self.stop.wait(delay)


def write_with_retry(writer: Writer, lines: list[str], stop: threading.Event) -> bool:
    """Write until stored (True) or stopping (False); a permanent error is raised at once."""
    backoff = Backoff(stop)
    while True:
        try:
            writer.write(lines)
            return True
        except WriteError as exc:
            if exc.permanent:
                raise
            # An error only the operator can fix is an error; an outage may pass by itself.
            log.log(
                logging.ERROR if exc.fix else logging.WARNING, "write failed, will retry: %s", exc
            )
            if not backoff.wait():
                return False


class Stopping(Exception):
    """The collector is stopping before the write completed; nothing may be acked."""


def write_isolating(
    writer: Writer, lines: list[str], stop: threading.Event
) -> list[tuple[int, str]]:
    """Write ``lines``; return (index, reason) of each line InfluxDB refuses for good.

    A 4xx refuses a whole request (InfluxDB 1.x stores the good points of a "partial write",
    later versions may not), so the batch is halved until each refused line stands alone:
    k bad lines among n cost about k * log2(n) extra requests, and rewriting a good point is
    harmless because its identity (measurement, tags, time) is unchanged.
    Raises Stopping when the collector stops first.
    """
    refused: list[tuple[int, str]] = []
    pending = [(0, len(lines))]
    while pending:
        start, end = pending.pop()
        try:
            if not write_with_retry(writer, lines[start:end], stop):
                raise Stopping
        except WriteError as exc:
            if end - start == 1:
                refused.append((start, str(exc)))
            else:
                middle = (start + end) // 2
                pending += [(middle, end), (start, middle)]
    return sorted(refused)
