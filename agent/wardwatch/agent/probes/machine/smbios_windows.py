"""SMBIOS on Windows: the raw table that ``GetSystemFirmwareTable('RSMB')`` returns."""

from __future__ import annotations

import struct
import sys
from typing import Final

from wardwatch.agent.probes.machine import smbios

RSMB: Final = 0x52534D42  # 'RSMB' as the DWORD the API expects
_HEADER: Final = struct.Struct("<BBBBI")  # RawSMBIOSData: 4 bytes, then DWORD Length


def parse_rsmb(buffer: bytes) -> smbios.Smbios:
    """Parse a RawSMBIOSData buffer: its small header, then the same table Linux exposes."""
    if len(buffer) < _HEADER.size:
        return smbios.parse_table(
            b"", "", notes=[f"RSMB buffer: {len(buffer)} bytes, shorter than its header"]
        )
    _calling_method, major, minor, _dmi_revision, length = _HEADER.unpack_from(buffer)
    table = buffer[_HEADER.size : _HEADER.size + length]
    notes = []
    if len(table) < length:
        notes.append(f"RSMB buffer: table truncated, {len(table)} of {length} bytes")
    return smbios.parse_table(table, f"{major}.{minor}", notes=notes)


def read() -> smbios.Smbios:
    """Fetch and parse this machine's SMBIOS table (no administrator rights needed)."""
    if sys.platform != "win32":
        raise OSError("GetSystemFirmwareTable exists only on Windows")
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    get_table = kernel32.GetSystemFirmwareTable
    get_table.argtypes = [wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p, wintypes.DWORD]
    get_table.restype = wintypes.UINT
    # The first call with no buffer returns the size needed.
    size = get_table(RSMB, 0, None, 0)
    if size == 0:
        raise ctypes.WinError(ctypes.get_last_error())
    buffer = ctypes.create_string_buffer(size)
    got = get_table(RSMB, 0, buffer, size)
    if got == 0 or got > size:
        raise ctypes.WinError(ctypes.get_last_error())
    return parse_rsmb(buffer.raw[:got])
