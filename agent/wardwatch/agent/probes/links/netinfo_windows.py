"""Default gateway and DNS servers on Windows, from the TCP/IP interface keys of the registry.

Each interface key holds ``DefaultGateway`` / ``NameServer`` (static) and ``DhcpDefaultGateway``
/ ``DhcpNameServer`` (from DHCP); static settings win, as they do for Windows itself. Parsing is
separate from reading so it is tested on recorded values.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Iterable, Mapping

INTERFACES_KEY = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces"
_SEPARATORS = re.compile(r"[\s,]+")


def _addresses(value: object) -> list[str]:
    """Addresses from a REG_SZ (space or comma separated) or REG_MULTI_SZ value."""
    items = value if isinstance(value, list) else _SEPARATORS.split(str(value or ""))
    out: list[str] = []
    for item in items:
        try:
            address = ipaddress.ip_address(str(item).strip())
        except ValueError:
            continue
        if not address.is_unspecified:
            out.append(str(address))
    return out


def pick(interfaces: Iterable[Mapping[str, object]], static: str, dhcp: str) -> list[str]:
    """Every interface's static ``static`` value, else its ``dhcp`` one, without repeats."""
    found: list[str] = []
    for values in interfaces:
        found += _addresses(values.get(static)) or _addresses(values.get(dhcp))
    return list(dict.fromkeys(found))


def _interfaces() -> list[dict[str, object]]:
    if sys.platform != "win32":
        raise OSError("the Windows registry exists only on Windows")
    import winreg

    out: list[dict[str, object]] = []
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, INTERFACES_KEY) as root:
        index = 0
        while True:
            try:
                name = winreg.EnumKey(root, index)
            except OSError:
                break
            index += 1
            values: dict[str, object] = {}
            with winreg.OpenKey(root, name) as key:
                for value_name in (
                    "DefaultGateway",
                    "DhcpDefaultGateway",
                    "NameServer",
                    "DhcpNameServer",
                ):
                    try:
                        values[value_name] = winreg.QueryValueEx(key, value_name)[0]
                    except OSError:
                        continue
            out.append(values)
    return out


def default_gateways() -> list[str]:
    """This machine's default gateways."""
    try:
        return pick(_interfaces(), "DefaultGateway", "DhcpDefaultGateway")
    except OSError:
        return []


def dns_servers() -> list[str]:
    """This machine's DNS servers."""
    try:
        return pick(_interfaces(), "NameServer", "DhcpNameServer")
    except OSError:
        return []
