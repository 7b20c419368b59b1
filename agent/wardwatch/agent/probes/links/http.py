"""HTTP(S) response time and status: what a user of a service (the one-stop portal) waits for.

Each request opens a new connection (DNS, TCP and TLS included, as a browser's first visit),
sends a GET and stops the clock at the response's status line and headers.
"""

from __future__ import annotations

import http.client
import ssl
import time
from urllib.parse import urlsplit

from wardwatch.agent.probes.links import pacing

REQUESTS = 3
"""Requests per round: a page load is heavier than a ping, three show the spread."""


def get_round(
    url: str, count: int, gap_s: float, timeout_s: float
) -> tuple[list[float | None], int | None, str]:
    """``count`` GETs of ``url`` ``gap_s`` apart: each response time in ms (None: failed), the
    last status code, and the last error ("" if none)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [None] * count, None, f"not an http(s) URL: {url!r}"
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    rtts: list[float | None] = []
    status: int | None = None
    error = ""
    for _ in pacing.slots(count, gap_s):
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout_s, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        began = time.perf_counter()
        try:
            connection.request("GET", path, headers={"User-Agent": "wardwatch-agent"})
            response = connection.getresponse()
            rtts.append((time.perf_counter() - began) * 1000)
            status = response.status
            if status >= 500:
                error = f"HTTP {status} {response.reason}"
        except (OSError, http.client.HTTPException) as exc:
            rtts.append(None)
            error = str(exc) or type(exc).__name__
        finally:
            connection.close()
    return rtts, status, error
