"""ICMP echo rounds through this OS's way: a socket (Linux, macOS) or the ICMP API (Windows)."""

from __future__ import annotations

import sys

if sys.platform == "win32":
    from wardwatch.agent.probes.links.icmp_windows import ping
else:
    from wardwatch.agent.probes.links.icmp import ping

__all__ = ["ping"]
