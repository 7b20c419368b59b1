"""InfluxDB line protocol: exact escaping, and a refusal for what cannot be written safely.

Escaping follows the line-protocol reference: commas and spaces in measurements; commas,
equals signs and spaces in tag keys, tag values and field keys; double quotes and backslashes
inside string field values. What no escaping can carry is refused with LineProtocolError
instead of being written wrong: control characters (a newline would end the point and start
an injected one), empty tag values, and a tag value ending in a backslash (InfluxDB 1.x reads
"\\," as an escaped comma whatever precedes it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

FieldValue = float | int | str | bool

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


class LineProtocolError(ValueError):
    """A value that line protocol cannot carry exactly."""


@dataclass(frozen=True, slots=True)
class Point:
    """One InfluxDB point. Its identity (measurement, tags, time) makes rewrites idempotent."""

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, FieldValue], ...]
    time_ns: int


def time_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (integer arithmetic, no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _check(kind: str, text: str) -> None:
    if not text:
        raise LineProtocolError(f"empty {kind}")
    if _CONTROL.search(text):
        raise LineProtocolError(f"{kind} {text!r} holds a control character")


def _tag_text(kind: str, text: str) -> str:
    _check(kind, text)
    if text.endswith("\\"):
        raise LineProtocolError(f"{kind} {text!r} ends in a backslash, which InfluxDB 1.x misreads")
    return text.translate(_KEY_ESCAPES)


# Cached because they repeat: an agent's series is the same in every report, and field keys
# come from the catalogue. Errors are raised, never cached, so each bad value is reported.
@lru_cache(maxsize=16384)
def _series(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    """``measurement,tag=value,...`` escaped, tags sorted as InfluxDB prefers."""
    _check("measurement", measurement)
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    for key, value in sorted(tags):
        parts.append(f",{_tag_text('tag key', key)}={_tag_text(f'tag {key!r}', value)}")
    return "".join(parts)


@lru_cache(maxsize=1024)
def _field_key(key: str) -> str:
    return _tag_text("field key", key)


def _field_value(key: str, value: FieldValue) -> str:
    # bool before int: True is an int to Python, but a boolean to InfluxDB.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"field {key!r} is {value}, which InfluxDB cannot store")
        return repr(value)
    if _CONTROL.search(value):
        raise LineProtocolError(f"field {key!r} value {value!r} holds a control character")
    return f'"{value.translate(_STRING_ESCAPES)}"'


def encode(point: Point) -> str:
    """One line of line protocol for ``point``."""
    if not point.fields:
        raise LineProtocolError(f"point of {point.measurement!r} has no field")
    fields = ",".join(
        f"{_field_key(key)}={_field_value(key, value)}" for key, value in point.fields
    )
    return f"{_series(point.measurement, point.tags)} {fields} {point.time_ns}"


def encode_all(points: Iterable[Point]) -> list[str]:
    """Encode many points; the first that cannot be written raises."""
    return [encode(point) for point in points]
