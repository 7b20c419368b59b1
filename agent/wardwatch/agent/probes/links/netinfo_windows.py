"""Default gateway and DNS servers on Windows, from the TCP/IP keys of the registry.

Under ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters``, each interface's key
(``Interfaces\\{GUID}``) holds ``DefaultGateway`` (REG_MULTI_SZ) and ``NameServer`` (REG_SZ,
comma or space separated) when set by hand, ``DhcpDefaultGateway`` and ``DhcpNameServer``
(space separated) from DHCP; ``Parameters`` itself may hold machine-wide ``NameServer`` and
``DhcpNameServer``. Static settings win, as they do for Windows itself. The parsing is pure
functions over a ``RegistryReader``, so it runs on recorded values anywhere; the reader over
``winreg`` is the only part that needs Windows.

The registry keeps the last DHCP lease of an adapter that is now unplugged, so its gateway may
be listed too (the link probe then reports it unreachable); the IP Helper API would know which
adapters are up, at the cost of ctypes structures.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

PARAMETERS_KEY: Final = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
INTERFACES_KEY: Final = PARAMETERS_KEY + r"\Interfaces"
INTERFACE_VALUES: Final = (
    "DefaultGateway",
    "DhcpDefaultGateway",
    "NameServer",
    "DhcpNameServer",
    "EnableDHCP",
)
GLOBAL_VALUES: Final = ("NameServer", "DhcpNameServer")

# REG_SZ lists use spaces (DHCP) or commas (set by hand); a NUL may trail a hand-edited value.
_SEPARATORS = re.compile(r"[\s,;\x00]+")


class RegistryReader(Protocol):
    """The two registry reads the parsing needs, under HKEY_LOCAL_MACHINE."""

    def subkeys(self, path: str) -> list[str]:
        """The names of the subkeys of ``path``; OSError if the key cannot be opened."""
        ...

    def values(self, path: str, names: Sequence[str]) -> dict[str, object]:
        """Those of ``names`` that ``path`` holds, with their data as winreg returns it (str for
        REG_SZ, list of str for REG_MULTI_SZ, int for REG_DWORD); OSError if the key cannot be
        opened."""
        ...


def addresses(value: object, *, version: int | None = None) -> list[str]:
    """The IP addresses in a registry value (REG_SZ or REG_MULTI_SZ), in order, without repeats.

    Anything else (an empty string, ``0.0.0.0``, a word, a number, binary data) is skipped;
    ``version`` 4 or 6 keeps only that family.
    """
    if isinstance(value, str):
        items: Iterable[object] = [value]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return []
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        for word in _SEPARATORS.split(item):
            try:
                # An IPv6 zone (fe80::1%12) is the interface, not part of the address.
                address = ipaddress.ip_address(word.split("%", 1)[0])
            except ValueError:
                continue
            if not address.is_unspecified and version in (None, address.version):
                out.append(str(address))
    return list(dict.fromkeys(out))


def pick(
    interfaces: Iterable[Mapping[str, object]],
    static: str,
    dhcp: str,
    *,
    version: int | None = None,
) -> list[str]:
    """Every interface's ``static`` addresses, else its ``dhcp`` ones, without repeats.

    The ``dhcp`` value is skipped where ``EnableDHCP`` is 0: Windows leaves an old lease's values
    behind when an adapter is set by hand.
    """
    found: list[str] = []
    for values in interfaces:
        chosen = addresses(values.get(static), version=version)
        if not chosen and values.get("EnableDHCP") != 0:
            chosen = addresses(values.get(dhcp), version=version)
        found += chosen
    return list(dict.fromkeys(found))


def interfaces_of(reader: RegistryReader) -> list[dict[str, object]]:
    """The TCP/IP values of every interface key; one that cannot be read is left out."""
    try:
        names = reader.subkeys(INTERFACES_KEY)
    except OSError:
        return []  # the machine-wide values may still name a DNS server
    out: list[dict[str, object]] = []
    for name in names:
        try:
            out.append(reader.values(INTERFACES_KEY + "\\" + name, INTERFACE_VALUES))
        except OSError:
            continue  # removed while listed, or not readable by this account
    return out


def gateways_from(reader: RegistryReader) -> list[str]:
    """The default gateways (IPv4) the registry holds."""
    return pick(interfaces_of(reader), "DefaultGateway", "DhcpDefaultGateway", version=4)


def dns_servers_from(reader: RegistryReader) -> list[str]:
    """The DNS servers the registry holds: each interface's, then the machine-wide ``NameServer``;
    the machine-wide ``DhcpNameServer`` only when nothing else names one (it repeats some
    adapter's lease)."""
    found = pick(interfaces_of(reader), "NameServer", "DhcpNameServer")
    try:
        machine = reader.values(PARAMETERS_KEY, GLOBAL_VALUES)
    except OSError:
        machine = {}
    found += addresses(machine.get("NameServer"))
    if not found:
        found = addresses(machine.get("DhcpNameServer"))
    return list(dict.fromkeys(found))


class WinregReader:
    """``RegistryReader`` over the real registry (HKEY_LOCAL_MACHINE); Windows only."""

    def subkeys(self, path: str) -> list[str]:
        """The names of the subkeys of ``path``."""
        if sys.platform != "win32":
            raise OSError("the Windows registry exists only on Windows")
        import winreg

        names: list[str] = []
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
            count = winreg.QueryInfoKey(key)[0]
            for index in range(count):
                try:
                    names.append(winreg.EnumKey(key, index))
                except OSError:
                    break  # a key removed while listed
        return names

    def values(self, path: str, names: Sequence[str]) -> dict[str, object]:
        """Those of ``names`` that ``path`` holds."""
        if sys.platform != "win32":
            raise OSError("the Windows registry exists only on Windows")
        import winreg

        found: dict[str, object] = {}
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
            for name in names:
                try:
                    found[name] = winreg.QueryValueEx(key, name)[0]
                except OSError:
                    continue  # not set on this key
        return found


def default_gateways() -> list[str]:
    """This machine's default gateways (IPv4)."""
    try:
        return gateways_from(WinregReader())
    except OSError:
        return []


def dns_servers() -> list[str]:
    """This machine's DNS servers."""
    try:
        return dns_servers_from(WinregReader())
    except OSError:
        return []
