"""InfluxQL queries over HTTP ``/query``: quoting, and results as plain rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from wardwatch.collector.config import InfluxSection
from wardwatch.collector.influx.http_client import InfluxHttp, InfluxUnreachable


class QueryError(Exception):
    """A query InfluxDB could not answer; ``status`` is the HTTP status it answered (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def quote_ident(name: str) -> str:
    """An identifier (measurement, tag, field, database) in double quotes, escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """A string literal in single quotes, escaped as InfluxQL's scanner expects."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


class _Series(msgspec.Struct):
    name: str = ""
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    columns: list[str] = msgspec.field(default_factory=list)
    values: list[list[Any]] = msgspec.field(default_factory=list)


class _Result(msgspec.Struct):
    series: list[_Series] = msgspec.field(default_factory=list)
    error: str = ""


class _Response(msgspec.Struct):
    results: list[_Result] = msgspec.field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class Row:
    """One result row: the series' measurement and tags, and its columns by name."""

    measurement: str
    tags: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)

    def text(self, name: str, default: str = "") -> str:
        """The column as text; ``default`` when the point has no such field or it is empty."""
        return str(self.values.get(name) or default)

    def optional_int(self, name: str) -> int | None:
        """The column as an int; None when the point has no such field."""
        value = self.values.get(name)
        return None if value is None else int(value)

    def optional_float(self, name: str) -> float | None:
        """The column as a float; None when the point has no such field."""
        value = self.values.get(name)
        return None if value is None else float(value)

    def moment(self) -> datetime:
        """The row's time (queries ask for epoch nanoseconds) as an aware UTC datetime."""
        return datetime.fromtimestamp(int(self.values["time"]) / 1e9, UTC)


class QueryClient:
    """Runs InfluxQL against the configured database (v1) or bucket via its DBRP mapping (v2).

    ``database`` overrides the configured one; "" runs statements outside any database.
    """

    def __init__(self, cfg: InfluxSection, database: str | None = None) -> None:
        self._http = InfluxHttp(cfg)
        if database is None:
            database = cfg.database if cfg.api == "v1" else cfg.bucket
        self.database = database

    def query(self, influxql: str) -> list[Row]:
        """Every row of the first statement's result; times are epoch nanoseconds."""
        return self._run("GET", influxql)

    def execute(self, influxql: str) -> list[Row]:
        """Like ``query``, for statements that change something (CREATE, DROP): InfluxDB
        accepts those only by POST."""
        return self._run("POST", influxql)

    def _run(self, method: str, influxql: str) -> list[Row]:
        params = {"q": influxql, "epoch": "ns"}
        if self.database:
            params["db"] = self.database
        try:
            status, body = self._http.request(method, "/query", params)
        except InfluxUnreachable as exc:
            raise QueryError(str(exc)) from exc
        try:
            response = msgspec.json.decode(body, type=_Response)
        except msgspec.DecodeError as exc:
            raise QueryError(f"InfluxDB answered {status} with {body[:200]!r}", status) from exc
        if response.error or status != 200:
            raise QueryError(
                f"InfluxDB answered {status}: {response.error or body[:200]!r}", status
            )
        rows: list[Row] = []
        for result in response.results[:1]:
            if result.error:
                raise QueryError(f"query {influxql!r} failed: {result.error}")
            for series in result.series:
                for values in series.values:
                    rows.append(
                        Row(
                            series.name, series.tags, dict(zip(series.columns, values, strict=True))
                        )
                    )
        return rows

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()


def latest(
    client: QueryClient,
    measurement: str,
    fields: Sequence[str],
    group_by: Sequence[str],
    where: Mapping[str, str] | None = None,
) -> list[Row]:
    """The latest point of each series, one row per combination of the ``group_by`` tags,
    ``fields`` only; ``where`` keeps the series whose tags equal the given values (an empty value
    keeps all)."""
    conditions = [f"{quote_ident(k)} = {quote_string(v)}" for k, v in (where or {}).items() if v]
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return client.query(
        f"SELECT {', '.join(quote_ident(f) for f in fields)} FROM {quote_ident(measurement)}"
        f"{clause} GROUP BY {', '.join(quote_ident(t) for t in group_by)} "
        "ORDER BY time DESC LIMIT 1"
    )
