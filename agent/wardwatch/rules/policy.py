"""Lifecycle policy: useful life per device class, warning window, OS end of support.

A policy is a TOML data file (``data/policy-<name>.toml`` beside this module ships the defaults;
a city names its own file). The OS end-of-support table is ``data/os-eol.json``, in
endoflife.date's data format (MIT). Windows is decided by build number and edition, because
Windows 11 still calls itself 10 in many APIs; Windows Server by build number, in a list of its
own, because it shares builds with Windows 10 and 11 but not their dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Dict, FrozenSet, Literal, Optional, Tuple, Union

import msgspec
from msgspec import Meta, Struct

from wardwatch.common import tomlconfig
from wardwatch.common.compat import Annotated, tomllib
from wardwatch.common.tomlconfig import ConfigError
from wardwatch.contract.wire import Label

DATA = Path(__file__).with_name("data")
DEFAULT_POLICY = "vn-tt23-2023"
OS_EOL_FILE = DATA / "os-eol.json"

PolicyName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Product = Literal["windows", "windows-server", "ubuntu", "debian"]


class UsefulLife(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[useful_life.<class>]``: how long one device class stays in lifecycle, and why."""

    years: Annotated[int, Meta(ge=1, le=50)]
    rate_pct: Optional[Annotated[float, Meta(gt=0, le=100)]] = None
    source: Annotated[str, Meta(min_length=1)]
    confirmed: bool = False


class Policy(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A whole lifecycle policy, as its file declares it."""

    name: PolicyName
    source: Annotated[str, Meta(min_length=1)]
    warning_days: Annotated[int, Meta(ge=0, le=3650)] = 180
    extended_support: FrozenSet[Product] = frozenset()
    useful_life: Annotated[Dict[Label, UsefulLife], Meta(min_length=1)]

    def life(self, device_class: str) -> UsefulLife:
        """The useful life of ``device_class``; KeyError naming the known classes if absent."""
        try:
            return self.useful_life[device_class]
        except KeyError:
            known = ", ".join(sorted(self.useful_life))
            raise KeyError(
                f"policy {self.name} has no useful life for device class {device_class!r}; "
                f"known classes: {known}"
            ) from None


def shipped_policies() -> list[str]:
    """Names of the policies shipped with wardwatch."""
    # The names between "policy-" and ".toml" (slices: str.removeprefix is 3.9).
    return sorted(p.name[len("policy-") : -len(".toml")] for p in _shipped())


def _shipped() -> list[Path]:
    return list(DATA.glob("policy-*.toml"))


def is_path(text: str) -> bool:
    """Whether a policy setting names a file (a path separator, or ``.toml`` at the end)
    rather than a shipped policy."""
    return "/" in text or "\\" in text or text.endswith(".toml")


def load_policy(name_or_path: str | Path = DEFAULT_POLICY) -> Policy:
    """Load a shipped policy by name, or a city's own policy file by path.

    A string holding a path separator or ending in ``.toml`` is a path. A bad file raises
    ConfigError naming the file, the key and what was expected.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or is_path(text):
        path = Path(name_or_path)
    else:
        path = DATA / f"policy-{text}.toml"
        if not path.is_file():
            raise ConfigError(
                f"no shipped lifecycle policy named {text!r}: use one of "
                f"{', '.join(shipped_policies())}, or the path of the city's own policy file"
            )
    try:
        return tomlconfig.load(path, Policy, environ={})
    except ConfigError as exc:
        message = _name_class(path, str(exc)) if "useful_life[...]" in str(exc) else str(exc)
        raise ConfigError(
            f"{message} (lifecycle policy; see {DATA / ('policy-' + DEFAULT_POLICY + '.toml')} "
            "for every key)"
        ) from None


_AT = re.compile(r"^(?P<what>.*?) - at `\$\.?(?P<key>[^`]*)`$", re.S)


def _name_class(path: Path, message: str) -> str:
    """msgspec writes a bad dict entry as ``useful_life[...]``: name the device class instead."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for device_class, entry in raw.get("useful_life", {}).items():
        try:
            msgspec.convert(entry, UsefulLife, strict=False)
        except msgspec.ValidationError as exc:
            match = _AT.match(str(exc))
            if match is None:
                return f"{path}: key useful_life.{device_class}: {exc}"
            key = match.group("key")
            value = entry.get(key) if isinstance(entry, dict) else None
            shown = "" if value is None else f" = {value!r}"
            return f"{path}: key useful_life.{device_class}.{key}{shown}: {match.group('what')}"
    return message


class EolCycle(Struct, frozen=True, kw_only=True):
    """One release cycle in endoflife.date's format (the fields wardwatch reads)."""

    cycle: str
    release_label: str = msgspec.field(default="", name="releaseLabel")
    release_date: Optional[dt.date] = msgspec.field(default=None, name="releaseDate")
    eol: dt.date
    extended_support: Union[dt.date, bool] = msgspec.field(default=False, name="extendedSupport")
    latest: str = ""
    link: Optional[str] = None
    """Where the dates come from (endoflife.date's field; null there for a few rows)."""


class OsTable(Struct, frozen=True, kw_only=True):
    """The OS end-of-support table: one list of cycles per product."""

    windows: Tuple[EolCycle, ...] = ()
    windows_server: Tuple[EolCycle, ...] = msgspec.field(default=(), name="windows-server")
    ubuntu: Tuple[EolCycle, ...] = ()
    debian: Tuple[EolCycle, ...] = ()


class OsEol(Struct, frozen=True, kw_only=True):
    """The end of support that applies to one machine's OS, and the release it was found as."""

    eol: dt.date
    label: str
    extended: bool = False
    """True when ``eol`` is the paid or LTS extended-support date."""


def load_os_table(path: Path = OS_EOL_FILE) -> OsTable:
    """Read an OS end-of-support table; ConfigError naming the file and the key if bad."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=OsTable)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: {exc} (endoflife.date format expected)") from None


# Windows 10/11 Enterprise multi-session's edition ID: a client, though it starts with "Server".
_MULTI_SESSION = "serverrdsh"

_EDITION_PREFERENCE: dict[str, tuple[str, ...]] = {
    "iot-lts": ("-iot-lts", "-e-lts", "-e", ""),
    "e-lts": ("-e-lts", "-e", ""),
    "e": ("-e", ""),
    "w": ("-w", ""),
}


def edition_family(edition: str) -> str:
    """The endoflife.date edition group of a Windows edition name.

    ``w``: Home, Core, Pro and unknown editions (the shortest support, so the safe guess);
    ``e``: Enterprise, Education, Enterprise multi-session (``ServerRdsh``); ``e-lts``:
    Enterprise LTSB/LTSC (``EnterpriseS``); ``iot-lts``: IoT Enterprise LTSC (``IoTEnterpriseS``).
    """
    e = edition.lower().replace(" ", "")
    lts = "enterprises" in e or "ltsc" in e or "ltsb" in e
    if lts and "iot" in e:
        return "iot-lts"
    if lts:
        return "e-lts"
    if _MULTI_SESSION in e:
        return "e"  # Microsoft lists it with Enterprise and Education
    if any(word in e for word in ("home", "core", "pro")):
        return "w"
    if "enterprise" in e or "education" in e:
        return "e"
    return "w"


def windows_build(build: str) -> int | None:
    """The build number from ``19045``, ``19045.4291`` or ``10.0.19045``; None if absent."""
    parts = build.strip().split(".")
    if len(parts) >= 3 and parts[0] in {"6", "10"}:
        parts = parts[2:]
    return int(parts[0]) if parts and parts[0].isdigit() else None


def is_windows_server(name: str, version: str, edition: str) -> bool:
    """Whether the agent's names for a Windows say Server: the edition ID (``ServerStandard``,
    ``ServerDatacenter``...), the name or the version (``Server 2019``) says so.

    Enterprise multi-session's edition ID is ``ServerRdsh``, but it is a client.
    """
    return "server" in " ".join((name, version, edition)).lower().replace(_MULTI_SESSION, "")


_LABELS: dict[Product, str] = {
    "windows": "Windows",
    "windows-server": "Windows Server",
    "ubuntu": "Ubuntu",
    "debian": "Debian",
}


def os_eol(
    name: str,
    version: str,
    build: str,
    edition: str = "",
    *,
    table: OsTable,
    extended: Collection[Product] = (),
) -> OsEol | None:
    """The end of support of an OS as the agent names it; None when the table does not know it.

    Windows is matched by build number, then edition (``edition`` or else the ``name``, which the
    agent writes as ``Windows <edition>``); Windows Server (``is_windows_server``) by build number
    in its own list. Ubuntu is matched by ``major.minor``, Debian by major version. The
    extended-support date counts only for products listed in ``extended``.
    """
    lowered = name.lower()
    product: Product
    if "windows" in lowered and is_windows_server(name, version, edition):
        # Server shares builds 14393, 17763 and 26100 with clients, not their dates.
        product = "windows-server"
        found = _server_cycle(table.windows_server, build)
    elif "windows" in lowered:
        product = "windows"
        found = _windows_cycle(table.windows, build, edition or name)
    elif "ubuntu" in lowered:
        product = "ubuntu"
        found = _by_cycle(table.ubuntu, ".".join(version.strip().split(".")[:2]))
    elif "debian" in lowered:
        product = "debian"
        found = _by_cycle(table.debian, version.strip().split(".")[0])
    else:
        return None
    if found is None:
        return None
    label = f"{_LABELS[product]} {found.release_label or found.cycle}"
    ext = found.extended_support
    if product in extended and isinstance(ext, dt.date) and ext > found.eol:
        return OsEol(eol=ext, label=f"{label} (extended support)", extended=True)
    return OsEol(eol=found.eol, label=label)


def _by_cycle(cycles: Sequence[EolCycle], cycle: str) -> EolCycle | None:
    return next((c for c in cycles if c.cycle == cycle), None)


def _server_cycle(cycles: Sequence[EolCycle], build: str) -> EolCycle | None:
    number = windows_build(build)
    if number is None:
        return None
    return next((c for c in cycles if windows_build(c.latest) == number), None)


def _windows_cycle(cycles: Sequence[EolCycle], build: str, edition: str) -> EolCycle | None:
    number = windows_build(build)
    if number is None:
        return None
    same_build = [c for c in cycles if windows_build(c.latest) == number]
    for suffix in _EDITION_PREFERENCE[edition_family(edition)]:
        for c in same_build:
            rest = c.cycle.split("-", 2)
            tail = "-" + rest[2] if len(rest) == 3 else ""
            if tail == suffix:
                return c
    return None
