"""ICMP echo on Windows: the ICMP helper API (``IcmpSendEcho`` in iphlpapi.dll) through ctypes.

Windows lets any user send echo requests through this API, no raw socket needed. It blocks for
each packet until its reply or the timeout, so a round's packets go one after another, each at
its slot or as soon as the previous one is done. The round trip is timed here with the
performance counter (the API's own ``RoundTripTime`` is whole milliseconds). Parsing the reply
buffer is separate from calling the API, so it is tested on recorded bytes.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from typing import Final

from wardwatch.agent.probes.links import pacing
from wardwatch.agent.probes.links.icmp import PAYLOAD_BYTES

IP_SUCCESS: Final = 0
STATUS_TEXT: Final = {
    11002: "destination net unreachable",
    11003: "destination host unreachable",
    11004: "destination protocol unreachable",
    11005: "destination port unreachable",
    11010: "request timed out",
    11013: "TTL expired in transit",
    11050: "general failure",
}
_REPLY_HEAD = struct.Struct("<IIIH")  # Address, Status, RoundTripTime, DataSize
REPLY_BUFFER_BYTES: Final = 64 + PAYLOAD_BYTES + 8 + 40  # reply struct, data, ICMP error room


def parse_reply(buffer: bytes) -> tuple[int, int, str]:
    """``(status, round trip ms by the API, replying address)`` from an ICMP_ECHO_REPLY."""
    if len(buffer) < _REPLY_HEAD.size:
        raise ValueError(f"an ICMP_ECHO_REPLY is at least {_REPLY_HEAD.size} bytes")
    address, status, rtt, _ = _REPLY_HEAD.unpack_from(buffer)
    return status, rtt, socket.inet_ntoa(struct.pack("<I", address))


def status_text(status: int) -> str:
    """What an IP_STATUS code means."""
    return STATUS_TEXT.get(status, f"IP status {status}")


def ping(
    address: str, count: int, gap_s: float, timeout_s: float
) -> tuple[list[float | None], str] | None:
    """``count`` echo requests through IcmpSendEcho; the RTT of each in ms (None: lost) and the
    last error. Never None on Windows (every user may ping)."""
    if sys.platform != "win32":
        raise OSError("IcmpSendEcho exists only on Windows")
    import ctypes  # here, not at the top: every OS imports this module (native.py)

    iphlpapi = ctypes.WinDLL("iphlpapi.dll")
    iphlpapi.IcmpCreateFile.restype = ctypes.c_void_p
    handle = iphlpapi.IcmpCreateFile()
    destination = struct.unpack("<I", socket.inet_aton(address))[0]
    payload = os.urandom(8) + bytes(PAYLOAD_BYTES - 8)
    reply = ctypes.create_string_buffer(REPLY_BUFFER_BYTES)
    rtts: list[float | None] = []
    error = ""
    try:
        for _ in pacing.slots(count, gap_s):
            began = time.perf_counter()
            got = iphlpapi.IcmpSendEcho(
                ctypes.c_void_p(handle),
                ctypes.c_ulong(destination),
                payload,
                len(payload),
                None,
                reply,
                REPLY_BUFFER_BYTES,
                int(timeout_s * 1000),
            )
            elapsed = (time.perf_counter() - began) * 1000
            status, _, _ = parse_reply(reply.raw)
            if got and status == IP_SUCCESS:
                rtts.append(elapsed)
            else:
                rtts.append(None)
                error = status_text(status)
    finally:
        iphlpapi.IcmpCloseHandle(ctypes.c_void_p(handle))
    return rtts, error
