"""TCP connect time: the fallback probe where ICMP is not allowed, and the port checks of
videoconference endpoints.

A refused connection is an answer too: the host's TCP stack sent a reset, so its round trip
counts as a reply (the port is closed, the path is up). Only silence is a loss.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Callable

from wardwatch.agent.probes.links import pacing
from wardwatch.contract.wire import PortCheck


def connect_once(
    address: str, port: int, timeout_s: float, clock: Callable[[], float] = time.perf_counter
) -> tuple[float | None, str]:
    """One connection attempt: (ms until accepted or refused, "" or "refused"), or
    (None, "timeout" or the OS error)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        start = clock()
        code = sock.connect_ex((address, port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            return None, errno.errorcode.get(code, str(code)).lower()
        _, writable, failed = select.select([], [sock], [sock], timeout_s)
        elapsed = (clock() - start) * 1000
        if not writable and not failed:
            return None, "timeout"
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            return elapsed, ""
        if code == errno.ECONNREFUSED:
            return elapsed, "refused"
        return None, errno.errorcode.get(code, str(code)).lower()
    finally:
        sock.close()


def connect_round(
    address: str, port: int, count: int, gap_s: float, timeout_s: float
) -> tuple[list[float | None], str]:
    """``count`` connection attempts ``gap_s`` apart (a slow attempt delays the next); the
    RTT of each (accepted or refused) and the last error other than a refusal."""
    rtts: list[float | None] = []
    error = ""
    for _ in pacing.slots(count, gap_s):
        rtt, why = connect_once(address, port, timeout_s)
        rtts.append(rtt)
        if rtt is None:
            error = why
    return rtts, error


def check_port(address: str, port: int, timeout_s: float) -> PortCheck:
    """Whether ``port`` accepts a connection, how fast, or why not."""
    rtt, why = connect_once(address, port, timeout_s)
    if rtt is not None and not why:
        return PortCheck(port=port, open=True, connect_ms=round(rtt, 3))
    return PortCheck(port=port, open=False, connect_ms=None, error=why)
