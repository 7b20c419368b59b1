"""A small keep-alive HTTP client for InfluxDB's v1 endpoints (``/write``, ``/query``)."""

from __future__ import annotations

import base64
import http.client
import urllib.parse

from wardwatch.collector.config import InfluxSection


class InfluxUnreachable(OSError):
    """InfluxDB did not answer (refused, reset, timed out)."""


class InfluxHttp:
    """One persistent connection to InfluxDB, reopened on failure; not thread-safe."""

    def __init__(self, cfg: InfluxSection) -> None:
        parsed = urllib.parse.urlsplit(cfg.url)
        self.url = cfg.url.rstrip("/")
        self._tls = parsed.scheme == "https"
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or (443 if self._tls else 8086)
        self._timeout = cfg.timeout_s
        self.headers: dict[str, str] = {}
        if cfg.api == "v2" and cfg.token:
            self.headers["Authorization"] = f"Token {cfg.token}"
        elif cfg.username:
            pair = f"{cfg.username}:{cfg.password}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            factory = http.client.HTTPSConnection if self._tls else http.client.HTTPConnection
            self._conn = factory(self._host, self._port, timeout=self._timeout)
        return self._conn

    def request(
        self, method: str, path: str, params: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        """Send one request; return (status, body). Raise InfluxUnreachable on no answer."""
        target = f"{path}?{urllib.parse.urlencode(params)}"
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        try:
            conn = self._connection()
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise InfluxUnreachable(f"InfluxDB at {self.url} did not answer: {exc}") from exc

    def close(self) -> None:
        """Drop the connection; the next request opens a new one."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
