"""DNS round trip: a query sent straight to one server over UDP, timed to its answer.

The codec is pure and tested on its own; the query asks for the root's NS records by default,
which every resolver answers from its cache without depending on one website.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Final

from wardwatch.agent.probes.links import pacing

_HEADER = struct.Struct("!HHHHHH")
PORT: Final = 53
TYPE_NS: Final = 2
TYPE_A: Final = 1
CLASS_IN: Final = 1
RCODES: Final = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name: str) -> bytes:
    """A domain name in DNS wire format; ValueError for an empty or over-long label."""
    labels = [label for label in name.strip(".").split(".") if label] if name != "." else []
    out = b""
    for label in labels:
        try:
            raw = label.encode("idna")
        except UnicodeError:
            raw = b""  # idna refuses an over-long label: said below, as for any bad length
        if not 0 < len(raw) < 64:
            raise ValueError(f"DNS label {label!r} is not 1 to 63 bytes")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def query(ident: int, name: str, qtype: int) -> bytes:
    """A recursive query for ``name``/``qtype`` with id ``ident``."""
    header = _HEADER.pack(ident & 0xFFFF, 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def parse_response(packet: bytes) -> tuple[int, int] | None:
    """``(id, rcode)`` of a response; None when ``packet`` is not a DNS response."""
    if len(packet) < _HEADER.size:
        return None
    ident, flags, *_ = _HEADER.unpack_from(packet)
    if not flags & 0x8000:
        return None
    return ident, flags & 0x000F


def query_round(
    server: str,
    name: str,
    count: int,
    gap_s: float,
    timeout_s: float,
    *,
    port: int = PORT,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[list[float | None], str]:
    """``count`` queries ``gap_s`` apart; the RTT of each answer (any rcode: the server
    answered) and an error naming a non-zero rcode or a socket error."""
    qtype = TYPE_NS if name in ("", ".") else TYPE_A
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    rtts: list[float | None] = []
    error = ""
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((server, port))
        except OSError as exc:
            return [None] * count, exc.strerror or str(exc)
        for _ in pacing.slots(count, gap_s):
            ident = int.from_bytes(os.urandom(2), "big")
            sent = clock()
            rtt: float | None = None
            try:
                sock.send(query(ident, name or ".", qtype))
                while rtt is None and (left := sent + timeout_s - clock()) > 0:
                    if not select.select([sock], [], [], left)[0]:
                        break
                    answer = parse_response(sock.recv(4096))
                    if answer is not None and answer[0] == ident:  # not a late answer
                        rtt = (clock() - sent) * 1000
                        if answer[1]:
                            error = f"server answered {RCODES.get(answer[1], answer[1])}"
            except OSError as exc:  # e.g. ICMP port unreachable: no DNS server there
                error = exc.strerror or str(exc)
            rtts.append(rtt)
    return rtts, error
