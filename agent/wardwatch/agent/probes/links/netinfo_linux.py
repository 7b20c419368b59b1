"""Default gateway and DNS servers on Linux: /proc/net/route and resolv.conf."""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

ROUTE_TABLE = Path("/proc/net/route")
RESOLV_CONF = Path("/etc/resolv.conf")
# systemd-resolved's stub (127.0.0.53) hides the real servers; it writes them here.
RESOLVED_UPSTREAM = Path("/run/systemd/resolve/resolv.conf")
_RTF_UP, _RTF_GATEWAY = 0x1, 0x2


def parse_routes(text: str) -> list[str]:
    """The gateways of the default routes in /proc/net/route, lowest metric first."""
    found: list[tuple[int, str]] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        try:
            destination, gateway, flags = int(cols[1], 16), int(cols[2], 16), int(cols[3], 16)
            metric = int(cols[6])
        except ValueError:
            continue
        if destination == 0 and flags & _RTF_UP and flags & _RTF_GATEWAY and gateway:
            # The kernel prints the address in host byte order (little-endian on x86).
            found.append((metric, socket.inet_ntoa(struct.pack("<I", gateway))))
    return [gateway for _, gateway in sorted(found)]


def parse_resolv_conf(text: str) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf, in order, valid IP addresses only."""
    servers: list[str] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                servers.append(str(ipaddress.ip_address(parts[1].split("%", 1)[0])))
            except ValueError:
                continue
    return list(dict.fromkeys(servers))


def default_gateways() -> list[str]:
    """This machine's default gateways (IPv4)."""
    try:
        return parse_routes(ROUTE_TABLE.read_text(encoding="ascii", errors="replace"))
    except OSError:
        return []


def dns_servers() -> list[str]:
    """This machine's DNS servers; behind systemd-resolved's stub, the upstream ones."""
    try:
        servers = parse_resolv_conf(RESOLV_CONF.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        servers = []
    if all(ipaddress.ip_address(s).is_loopback for s in servers):
        try:
            upstream = parse_resolv_conf(RESOLVED_UPSTREAM.read_text(encoding="utf-8"))
        except OSError:
            upstream = []
        servers = upstream or servers
    return servers
