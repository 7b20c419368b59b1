"""Payloads a broken or infected ward PC may publish: each must be refused with a reason code,
and none may stop the collector (tests/test_admission.py in process, tests/test_hostile.py
through the real broker and collector)."""

from __future__ import annotations

AGENT = "tan-an-pc07"

CORPUS: dict[str, bytes] = {
    "nested 1,000 deep": b'{"type":"report","facts":' + b"[" * 1000 + b"]" * 1000 + b"}",
    "nested 100,000 deep": b'{"type":"report","facts":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "invalid UTF-8 in a string": b'{"type":"report","agent":"'
    + AGENT.encode()
    + b'","site":"'
    + b"\xff\xfe"
    + b'","id":"x1"}',
    "a number beyond a double": b'{"agent":"' + AGENT.encode() + b'","interval_s":1e400}',
    "NaN": b'{"agent":"' + AGENT.encode() + b'","interval_s":NaN}',
    "an integer beyond 64 bits": b'{"agent":"'
    + AGENT.encode()
    + b'","interval_s":'
    + b"9" * 40
    + b"}",
    "duplicate keys": b'{"agent":"' + AGENT.encode() + b'","agent":"ea-tu-pc01","id":"d1"}',
    "an oversize string": b'{"agent":"' + AGENT.encode() + b'","site":"' + b"x" * 200_000 + b'"}',
    "wrong types": b'{"agent":["' + AGENT.encode() + b'"],"id":{"a":1},"facts":"all of them"}',
    "a JSON array": b"[]",
    "null": b"null",
    "nothing": b"",
    "NUL bytes": b"\x00" * 64,
}
"""By what each payload tries."""
