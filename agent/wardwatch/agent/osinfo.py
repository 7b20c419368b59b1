"""What the operating system says about itself, as each OS's module (``osinfo_linux``,
``osinfo_windows``) reads it; ``wardwatch.agent.native`` chooses the module of this OS."""

from __future__ import annotations

from msgspec import Struct


class OsIdentity(Struct, frozen=True, kw_only=True):
    """Name, version, build and edition of the running OS, as an operator would write them."""

    name: str
    version: str
    build: str
    edition: str = ""
