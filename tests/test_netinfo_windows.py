"""Windows gateway and DNS readers on a fake registry: the layouts Windows writes, and any values.

``FakeRegistry`` stands in for HKEY_LOCAL_MACHINE: a dict from key path to the values winreg
would return (str for REG_SZ, list of str for REG_MULTI_SZ, int for REG_DWORD).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardwatch.agent.probes.links import netinfo_windows
from wardwatch.agent.probes.links.netinfo_windows import (
    INTERFACES_KEY,
    PARAMETERS_KEY,
    addresses,
    dns_servers_from,
    gateways_from,
)

pytestmark = pytest.mark.unit

NIC_DHCP = INTERFACES_KEY + r"\{4D36E972-E325-11CE-BFC1-08002BE10318}"
NIC_STATIC = INTERFACES_KEY + r"\{8A1F0C55-2B7E-4C1D-9E3A-5F6D7C8B9A01}"
NIC_UNPLUGGED = INTERFACES_KEY + r"\{0B5E3F2A-77C4-4E19-A1D2-3C4B5A697887}"


class FakeRegistry:
    """A fake ``RegistryReader``: key paths to their values; a path it lacks raises OSError,
    as winreg.OpenKey does."""

    def __init__(self, keys: Mapping[str, Mapping[str, object]]) -> None:
        self.keys = keys

    def subkeys(self, path: str) -> list[str]:
        if path not in self.keys:
            raise FileNotFoundError(path)
        prefix = path + "\\"
        return [k[len(prefix) :] for k in self.keys if k.startswith(prefix)]

    def values(self, path: str, names: Sequence[str]) -> dict[str, object]:
        if path not in self.keys:
            raise FileNotFoundError(path)
        return {n: v for n, v in self.keys[path].items() if n in names}


def fake_registry(**interfaces: Mapping[str, object]) -> FakeRegistry:
    """The Tcpip keys with ``interfaces`` (name: values) and empty machine-wide values."""
    keys: dict[str, Mapping[str, object]] = {PARAMETERS_KEY: {}, INTERFACES_KEY: {}}
    keys.update({INTERFACES_KEY + "\\" + name: values for name, values in interfaces.items()})
    return FakeRegistry(keys)


# As recorded on a ward PC (Windows 10 22H2): a DHCP Ethernet adapter, a static one, and a
# Wi-Fi adapter never connected (Windows writes empty strings and 0.0.0.0 there).
WARD_PC = FakeRegistry(
    {
        PARAMETERS_KEY: {"NameServer": "", "DhcpNameServer": "192.168.1.1 8.8.8.8"},
        INTERFACES_KEY: {},
        NIC_DHCP: {
            "EnableDHCP": 1,
            "DefaultGateway": [""],
            "DhcpDefaultGateway": ["192.168.1.1"],
            "NameServer": "",
            "DhcpNameServer": "192.168.1.1 8.8.8.8",
        },
        NIC_STATIC: {
            "EnableDHCP": 0,
            "DefaultGateway": ["10.1.2.1"],
            "NameServer": "10.1.0.53,10.1.0.54",
            # A lease from before the adapter was set by hand: Windows leaves it behind.
            "DhcpDefaultGateway": ["172.16.0.1"],
            "DhcpNameServer": "172.16.0.53",
        },
        NIC_UNPLUGGED: {
            "EnableDHCP": 1,
            "DhcpDefaultGateway": ["0.0.0.0"],
            "DhcpNameServer": "",
        },
    }
)


def test_ward_pc_gateways_and_dns_servers() -> None:
    assert gateways_from(WARD_PC) == ["192.168.1.1", "10.1.2.1"]
    assert dns_servers_from(WARD_PC) == ["192.168.1.1", "8.8.8.8", "10.1.0.53", "10.1.0.54"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.1.0.53,10.1.0.54", ["10.1.0.53", "10.1.0.54"]),  # NameServer set by hand
        ("10.1.0.53 10.1.0.54", ["10.1.0.53", "10.1.0.54"]),  # spaces work there too
        ("192.168.1.1 8.8.8.8 ", ["192.168.1.1", "8.8.8.8"]),  # DhcpNameServer
        ("10.1.0.53, 10.1.0.54\x00", ["10.1.0.53", "10.1.0.54"]),  # hand-edited, NUL-ended
        (["10.1.2.1", "10.1.2.254"], ["10.1.2.1", "10.1.2.254"]),  # REG_MULTI_SZ
        (["", "0.0.0.0"], []),
        ("0.0.0.0", []),
        ("", []),
        ("fe80::1%12 2001:db8::53", ["fe80::1", "2001:db8::53"]),
        ("10.1.0.53,10.1.0.53", ["10.1.0.53"]),
        ("gateway 300.1.1.1 10.0.0.1", ["10.0.0.1"]),
        (1, []),  # a REG_DWORD where a string was expected
        (b"\x0a\x00\x00\x01", []),  # REG_BINARY
        (None, []),
    ],
)
def test_registry_value_forms(value: object, expected: list[str]) -> None:
    assert addresses(value) == expected


def test_static_beats_dhcp_per_interface_and_stale_leases_are_ignored() -> None:
    registry = fake_registry(
        a={"DefaultGateway": ["10.0.0.1"], "DhcpDefaultGateway": ["192.168.0.1"]},
        b={"EnableDHCP": 0, "DhcpDefaultGateway": ["192.168.9.1"]},  # static, no gateway
        c={"DhcpDefaultGateway": ["192.168.5.1", "192.168.5.1"]},  # EnableDHCP unread
    )
    assert gateways_from(registry) == ["10.0.0.1", "192.168.5.1"]


def test_gateways_are_ipv4_only() -> None:
    registry = fake_registry(a={"DefaultGateway": ["fe80::1", "10.0.0.1"]})
    assert gateways_from(registry) == ["10.0.0.1"]


def test_machine_wide_name_servers() -> None:
    keys: dict[str, Mapping[str, object]] = {
        PARAMETERS_KEY: {"NameServer": "10.9.0.53", "DhcpNameServer": "192.168.1.1"},
        INTERFACES_KEY: {},
        INTERFACES_KEY + r"\a": {"NameServer": "10.1.0.53"},
    }
    # Set by hand machine-wide: added after the interfaces' own.
    assert dns_servers_from(FakeRegistry(keys)) == ["10.1.0.53", "10.9.0.53"]
    # The machine-wide DHCP copy only stands in when nothing else names a server.
    keys[PARAMETERS_KEY] = {"DhcpNameServer": "192.168.1.1"}
    keys[INTERFACES_KEY + r"\a"] = {"NameServer": ""}
    assert dns_servers_from(FakeRegistry(keys)) == ["192.168.1.1"]


def test_missing_keys_give_what_can_be_read() -> None:
    assert gateways_from(FakeRegistry({})) == []
    assert dns_servers_from(FakeRegistry({})) == []
    only_machine_wide = FakeRegistry({PARAMETERS_KEY: {"NameServer": "10.9.0.53"}})
    assert dns_servers_from(only_machine_wide) == ["10.9.0.53"]


def test_off_windows_the_readers_say_nothing() -> None:
    # The winreg layer refuses off Windows; the public functions turn that into "none found".
    assert netinfo_windows.default_gateways() == []
    assert netinfo_windows.dns_servers() == []


def test_public_functions_read_through_the_winreg_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netinfo_windows, "WinregReader", lambda: WARD_PC)
    assert netinfo_windows.default_gateways() == ["192.168.1.1", "10.1.2.1"]
    assert netinfo_windows.dns_servers()[:2] == ["192.168.1.1", "8.8.8.8"]


_ADDRESSY = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["", " ", ",", "0.0.0.0", "::", "\x00", "%", "fe80::1%12", "1.2.3"]),
    st.text(max_size=40),
)
_REGISTRY_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.binary(max_size=16),
    st.lists(_ADDRESSY, max_size=5).map(lambda words: " ,".join(words)),
    st.lists(_ADDRESSY, max_size=5),
    st.text(),
)
_INTERFACE = st.dictionaries(
    st.sampled_from(netinfo_windows.INTERFACE_VALUES), _REGISTRY_VALUE, max_size=5
)


def _all_addresses(found: list[str], version: int | None) -> None:
    assert len(found) == len(set(found))
    for text in found:
        address = ipaddress.ip_address(text)
        assert not address.is_unspecified
        assert version in (None, address.version)


@settings(max_examples=300)
@given(
    st.lists(_INTERFACE, max_size=4),
    st.dictionaries(st.sampled_from(["NameServer", "DhcpNameServer"]), _REGISTRY_VALUE),
)
def test_any_registry_values_give_only_addresses(
    interfaces: list[dict[str, object]], machine: dict[str, object]
) -> None:
    keys: dict[str, Mapping[str, object]] = {PARAMETERS_KEY: machine, INTERFACES_KEY: {}}
    keys.update({INTERFACES_KEY + f"\\{{{n}}}": values for n, values in enumerate(interfaces)})
    registry = FakeRegistry(keys)
    _all_addresses(gateways_from(registry), 4)
    _all_addresses(dns_servers_from(registry), None)


@settings(max_examples=300)
@given(_REGISTRY_VALUE)
def test_any_value_parses_without_raising(value: object) -> None:
    _all_addresses(addresses(value), None)
    _all_addresses(addresses(value, version=6), 6)
