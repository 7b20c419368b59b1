"""ICMP echo: the packet codec (pure, any OS) and rounds over a POSIX socket.

Two kinds of socket, tried in this order: the unprivileged datagram socket Linux offers to the
groups in ``net.ipv4.ping_group_range`` (the kernel picks the identifier and checksums), and a
raw socket (root or CAP_NET_RAW; replies come with their IP header and every ICMP packet of the
host, so each is matched by identifier, sequence and a per-round token). Without either,
``open_socket`` says why and the caller falls back to TCP.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Final, Literal

ECHO_REPLY: Final = 0
ECHO_REQUEST: Final = 8
PAYLOAD_BYTES: Final = 56
"""As ping(8) sends: 64 bytes of ICMP, 84 with the IP header."""
_HEADER = struct.Struct("!BBHHH")

SocketKind = Literal["dgram", "raw"]


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    """An echo request packet (ICMP header and payload) with its checksum."""
    header = _HEADER.pack(ECHO_REQUEST, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    return (
        _HEADER.pack(ECHO_REQUEST, 0, checksum(header + payload), ident & 0xFFFF, seq & 0xFFFF)
        + payload
    )


def parse_reply(packet: bytes, *, with_ip_header: bool) -> tuple[int, int, bytes] | None:
    """``(identifier, sequence, payload)`` of an echo reply; None for anything else (another
    ICMP type, a truncated or malformed packet)."""
    if with_ip_header:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < _HEADER.size:
        return None
    kind, code, _, ident, seq = _HEADER.unpack_from(packet)
    if kind != ECHO_REPLY or code != 0:
        return None
    return ident, seq, packet[_HEADER.size :]


def open_socket() -> tuple[socket.socket, SocketKind] | str:
    """An ICMP socket, unprivileged if the OS allows it; else why there is none."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP), "dgram"
    except OSError as dgram_error:
        try:
            return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), "raw"
        except OSError:
            return (
                f"no ICMP rights ({dgram_error.strerror}; this user's group is outside "
                "net.ipv4.ping_group_range and it has no CAP_NET_RAW)"
            )


def ping_round(
    address: str,
    count: int,
    gap_s: float,
    timeout_s: float,
    *,
    opened: tuple[socket.socket, SocketKind],
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[list[float | None], str]:
    """Send ``count`` echo requests ``gap_s`` apart; the RTT of each in ms (None: no reply
    within ``timeout_s``) and the last send error ("" if none). Closes the socket."""
    sock, kind = opened
    token = os.urandom(8)
    payload = token + bytes(PAYLOAD_BYTES - len(token))
    # A datagram socket's identifier is the kernel's; a raw socket's is ours to pick.
    ident = int.from_bytes(os.urandom(2), "big")
    first_seq = int.from_bytes(os.urandom(2), "big")
    rtts: list[float | None] = [None] * count
    sent_at: list[float | None] = [None] * count
    error = ""
    try:
        sock.setblocking(False)
        start = clock()
        deadline = start + gap_s * (count - 1) + timeout_s
        index = 0
        while True:
            now = clock()
            if index < count and now >= start + index * gap_s:
                packet = echo_request(ident, first_seq + index, payload)
                try:
                    sock.sendto(packet, (address, 0))
                    sent_at[index] = clock()
                except OSError as exc:
                    error = exc.strerror or str(exc)
                index += 1
                continue
            if now >= deadline:
                break
            wake = deadline if index >= count else min(deadline, start + index * gap_s)
            ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
            if not ready:
                continue
            try:
                data = sock.recv(65535)
            except OSError as exc:  # an ICMP error (unreachable) queued on a datagram socket
                error = exc.strerror or str(exc)
                continue
            got = clock()
            reply = parse_reply(data, with_ip_header=kind == "raw")
            if reply is None or reply[2][: len(token)] != token:
                continue  # someone else's packet (a raw socket sees every ICMP packet)
            if kind == "raw" and reply[0] != ident:
                continue
            n = (reply[1] - first_seq) & 0xFFFF
            sent = sent_at[n] if n < count else None
            if sent is not None and rtts[n] is None and got - sent <= timeout_s:
                rtts[n] = (got - sent) * 1000
    finally:
        sock.close()
    return rtts, error


def ping(
    address: str, count: int, gap_s: float, timeout_s: float
) -> tuple[list[float | None], str] | None:
    """A round of echo requests over the best socket this user may open; None when it may open
    none (the caller falls back to TCP)."""
    opened = open_socket()
    if isinstance(opened, str):
        return None
    return ping_round(address, count, gap_s, timeout_s, opened=opened)
