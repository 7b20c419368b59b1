"""Typed TOML configuration loading, shared by the agent and the collector.

Each program declares its config as msgspec structs with defaults; this module reads the TOML
file, applies ``WARDWATCH_<SECTION>_<KEY>`` environment overrides, and validates. A bad file
fails at start with the file, the key, the value and what was expected.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from wardwatch.common.compat import tomllib
from wardwatch.common.mqtt import MQTT_URL_PATTERN
from wardwatch.contract.wire import PATTERN_HINTS, explain

T = TypeVar("T", bound=msgspec.Struct)

ENV_PREFIX = "WARDWATCH_"
_HINTS = {
    **PATTERN_HINTS,
    MQTT_URL_PATTERN: "mqtt://host:port or mqtts://host:port, the port from 1 to 65535, without "
    "a login (the username and password keys hold it)",
}
SECRET_KEYS = frozenset({"password", "token", "secret"})
"""Keys whose value an error never shows (``***`` instead)."""
_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def toml_str(value: str) -> str:
    """Quote ``value`` as a TOML basic string."""
    # JSON's string escapes (\\, \", \n, \u001f...) are all valid in TOML basic strings, but
    # not its surrogate pairs for characters past U+FFFF (ensure_ascii): those stay as they are.
    # DEL is a control character to TOML, not to JSON.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def shown(key: str, value: Any) -> str:
    """How an error shows ``value`` of ``key``: ``***`` for a secret, a URL without its login."""
    if key.rpartition(".")[2] in SECRET_KEYS:
        return "***"
    if isinstance(value, str):
        value = _USERINFO.sub("***@", value)
    return repr(value)


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the key and the fix."""


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides ``[section] key``."""
    return f"{ENV_PREFIX}{section}_{key}".upper()


def load(path: Path | None, model: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Load ``model`` from the TOML file at ``path`` (defaults only when None) plus environment.

    Environment values are strings; they are converted to the key's type (``"60"`` becomes 60,
    ``"true"`` becomes True), the same lax conversion the file gets, so both fail the same way.
    """
    source = str(path) if path is not None else "<defaults>"
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    overridden = _apply_env(raw, model, os.environ if environ is None else environ)
    if path is not None:
        _resolve_files(raw, path.parent)
    try:
        return msgspec.convert(raw, model, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(source, raw, explain(str(exc), _HINTS), overridden)) from None


def _apply_env(
    raw: dict[str, Any], model: type[msgspec.Struct], environ: Mapping[str, str]
) -> set[str]:
    """Copy ``WARDWATCH_<SECTION>_<KEY>`` values into ``raw``; return the dotted keys set."""
    overridden: set[str] = set()
    for section_field in msgspec.structs.fields(model):
        section_type = section_field.type
        if not (isinstance(section_type, type) and issubclass(section_type, msgspec.Struct)):
            continue
        for key_field in msgspec.structs.fields(section_type):
            value = environ.get(env_name(section_field.encode_name, key_field.encode_name))
            if value is None:
                continue
            section = raw.setdefault(section_field.encode_name, {})
            if isinstance(section, dict):
                section[key_field.encode_name] = value
                overridden.add(f"{section_field.encode_name}.{key_field.encode_name}")
    return overridden


def _resolve_files(raw: dict[str, Any], directory: Path) -> None:
    """Make a relative ``*_file`` key relative to the config file's directory, not to wherever
    the program was started: an agent's config and the broker's ``ca.crt`` travel together."""
    for section in raw.values():
        if not isinstance(section, dict):
            continue
        for key, value in section.items():
            relative = isinstance(value, str) and value and not Path(value).is_absolute()
            if key.endswith("_file") and relative:
                section[key] = str(directory / value)


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _explain(source: str, raw: dict[str, Any], message: str, overridden: set[str]) -> str:
    """Turn msgspec's ``Expected `int`, got `str` - at `$.agent.interval_s``` into a fix."""
    match = _AT.match(message)
    what = match.group("what") if match else message
    path = (match.group("path") or "") if match else ""
    key = path.lstrip(".")
    if not key:
        return f"{source}: {what}"
    value: Any = raw
    for part in re.split(r"\.|\[|\]", key):
        if part and isinstance(value, dict):
            value = value.get(part)
    origin = ""
    if key in overridden:
        section, _, name = key.partition(".")
        origin = f" (from environment variable {env_name(section, name)})"
    value_text = "" if value is None or isinstance(value, dict) else f" = {shown(key, value)}"
    return f"{source}: key {key}{value_text}{origin}: {what}"
