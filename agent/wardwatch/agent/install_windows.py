"""The Windows side of the first install's config (``install``): the properties msiexec
stored in the registry, and the ACL of ``%ProgramData%\\wardwatch``.

Windows only (winreg and advapi32 are reached inside functions, so this imports anywhere).
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Dict

from wardwatch.agent import install

KEY = "SOFTWARE\\wardwatch\\agent"
"""Where the MSI's Registry table puts the properties (HKLM, 64-bit view)."""
OWNERS_ONLY = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
"""SDDL: SYSTEM and Administrators full control, inherited by what the folder holds, nothing
inherited from ProgramData (where every user may read and create)."""
_DACL, _PROTECTED_DACL = 0x4, 0x80000000


def read_properties() -> Dict[str, str]:
    """The installer's properties that are set (a missing or empty value is left out)."""
    if sys.platform != "win32":
        raise OSError("the Windows registry and ACLs exist only on Windows")
    import winreg

    found = {}
    access = winreg.KEY_READ | winreg.KEY_WOW64_64KEY
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, KEY, 0, access) as key:
            for name in (*install.PROPERTIES, install.FOLDER):
                try:
                    value, _ = winreg.QueryValueEx(key, name)
                except FileNotFoundError:
                    continue
                if value:
                    found[name] = str(value)
    except FileNotFoundError:  # installed by hand, without the MSI: defaults only
        pass
    return found


def forget_password() -> None:
    """Delete the password from the registry, once the config (owners only) holds it."""
    if sys.platform != "win32":
        raise OSError("the Windows registry and ACLs exist only on Windows")
    import winreg

    access = winreg.KEY_SET_VALUE | winreg.KEY_WOW64_64KEY
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, KEY, 0, access) as key:
            winreg.DeleteValue(key, install.SECRET)
    except FileNotFoundError:
        pass


def secure(folder: Path) -> None:
    """Give ``folder`` the ACL ``OWNERS_ONLY``; raise OSError if Windows refuses."""
    if sys.platform != "win32":
        raise OSError("the Windows registry and ACLs exist only on Windows")
    advapi = ctypes.WinDLL("advapi32", use_last_error=True)
    descriptor = ctypes.c_void_p()
    convert = advapi.ConvertStringSecurityDescriptorToSecurityDescriptorW
    convert.argtypes = [ctypes.c_wchar_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p]
    advapi.SetFileSecurityW.argtypes = [ctypes.c_wchar_p, ctypes.c_uint32, ctypes.c_void_p]
    if not convert(OWNERS_ONLY, 1, ctypes.byref(descriptor), None):
        raise ctypes.WinError(ctypes.get_last_error())
    try:
        if not advapi.SetFileSecurityW(str(folder), _DACL | _PROTECTED_DACL, descriptor):
            raise ctypes.WinError(ctypes.get_last_error())
    finally:
        ctypes.windll.kernel32.LocalFree(descriptor)
