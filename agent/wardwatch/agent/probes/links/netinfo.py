"""This machine's default gateway and DNS servers: chosen once from the per-OS module."""

from __future__ import annotations

import sys

if sys.platform == "win32":
    from wardwatch.agent.probes.links.netinfo_windows import default_gateways, dns_servers
else:
    from wardwatch.agent.probes.links.netinfo_linux import default_gateways, dns_servers

__all__ = ["default_gateways", "dns_servers"]
