"""The wire contract: every message that crosses MQTT, its topics and its schema version.

One module, imported by the agent and the collector alike, so both ends agree by construction.
It imports neither psutil nor paho: the collector and tests use it without the agent's runtime.

Its JSON Schema, for the people who write other agents or readers of the topics, is committed
beside it as ``wire.schema.json`` (``wardwatch.contract.schema`` writes it; ``make schema``).

Long because it is the whole contract in one place: every message, the value types they share
and their codec, so that neither end can import half of it.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Final, List, Literal, Optional, Union

import msgspec
from msgspec import Meta, Struct

# The agent runs this module on CPython 3.8 too (wardwatch.common.compat says why and how; the
# contract imports no other room, so it chooses Annotated itself).
if sys.version_info >= (3, 9):
    from typing import Annotated
else:  # msgspec reads typing_extensions' Annotated; a dependency on 3.8 only (pyproject.toml)
    from typing_extensions import Annotated

SCHEMA_VERSION: Final = 1
"""Bumped only on a breaking change; the collector refuses messages of another version."""

TOPIC_ROOT: Final = f"wardwatch/v{SCHEMA_VERSION}"
MAX_PAYLOAD_BYTES: Final = 256 * 1024
"""Default ceiling on one message; a report of a busy VC machine is a few kB."""

# Ceilings of the schema itself, far above any real machine's: they bound what one message can
# cost to decode. The collector's [limits] set the operative, tighter bounds. Facts (and probe
# errors, and missing items) in one message; ports checked on one target; disks of a machine.
MAX_FACTS: Final = 256
MAX_PORTS: Final = 16
MAX_DISKS: Final = 32

Kind = Literal["report", "inventory", "status", "ack", "enrolment"]
KINDS: Final[tuple[Kind, ...]] = ("report", "inventory", "status", "ack", "enrolment")
AGENT_KINDS: Final[tuple[Kind, ...]] = ("report", "inventory", "status")
"""What an agent publishes (the broker lets it publish nothing else)."""
COLLECTED_KINDS: Final[tuple[Kind, ...]] = (*AGENT_KINDS, "enrolment")
"""What the collectors read: the agents' messages and the broker admin's enrolment notices."""

# Labels become InfluxDB tags. Line protocol cannot hold a control character in a tag, and
# InfluxDB 1.x cannot store a tag value that ends in a backslash (the parser reads "\," or "\ "
# as an escape whatever precedes it; measured on 1.6.7). Refusing both here gives the agent a
# clear error at start instead of a point the database rejects later. A tag is also a name on
# the operators' screens, so the characters that change how text around them is shown are
# refused as well: C1 controls, zero-width and bidirectional marks, overrides and isolates
# (U+202E shows "ward 5" reversed), line and paragraph separators, the byte-order mark.
_INVISIBLE = r"\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_LABEL_RE = rf"^[^{_INVISIBLE}]*[^{_INVISIBLE}\\]$"
_AGENT_ID_RE = rf"^[^{_INVISIBLE}/+#]*[^{_INVISIBLE}/+#\\]$"  # also a topic level: no / + #
_AGENT_ID_OR_EMPTY_RE = "^$|" + _AGENT_ID_RE
_TEXT_RE = r"^[^\x00-\x1f\x7f]*$"
_MESSAGE_ID_RE = r"^[0-9A-Za-z._-]+$"

Label = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=_LABEL_RE,
        description="A tag value: no control, invisible or bidirectional characters, not "
        "ending in a backslash.",
    ),
]
AgentId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=_AGENT_ID_RE,
        description="Unique agent id, also its MQTT username and topic level: no control, "
        "invisible or bidirectional characters, '/', '+', '#', nor a trailing backslash.",
    ),
]
AgentIdOrEmpty = Annotated[str, Meta(max_length=64, pattern=_AGENT_ID_OR_EMPTY_RE)]
"""A configured agent id, where empty means "derive it from the hostname"."""
Text = Annotated[str, Meta(max_length=512, pattern=_TEXT_RE, description="Free text, one line.")]
MessageId = Annotated[str, Meta(min_length=1, max_length=64, pattern=_MESSAGE_ID_RE)]
Timestamp = Annotated[datetime, Meta(tz=True, description="RFC 3339 time with a zone.")]
Percent = Annotated[float, Meta(ge=0, le=100)]
NonNegative = Annotated[float, Meta(ge=0)]


PATTERN_HINTS: Final = {
    _LABEL_RE: "text without control, invisible or bidirectional characters, not ending in a "
    "backslash",
    _AGENT_ID_RE: "an id without control, invisible or bidirectional characters, '/', '+', '#' "
    "or a trailing backslash",
    _AGENT_ID_OR_EMPTY_RE: "empty, or an id without control, invisible or bidirectional "
    "characters, '/', '+', '#' or a trailing backslash",
    _TEXT_RE: "one line of text without control characters",
    _MESSAGE_ID_RE: "an id of letters, digits, '.', '_' or '-'",
}


def explain(error: str, hints: Mapping[str, str] = PATTERN_HINTS) -> str:
    """Replace the regular expressions in a validation error by what they mean to a person."""
    for pattern, hint in hints.items():
        error = error.replace(f"`str` matching regex {pattern!r}", hint)
    return error


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str, limit: int = 500) -> str:
    """``text`` made valid as Text: control characters become spaces, cut at ``limit``."""
    return _CONTROL_CHARS.sub(" ", text)[:limit]


def hostname_id(hostname: str) -> str:
    """A valid agent id from a hostname: lower case, anything unusual replaced by '-'."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", hostname.lower()).strip("-")
    return cleaned[:64] or "agent"


def now() -> datetime:
    """The current time, timezone-aware in UTC, as every message carries it."""
    return datetime.now(timezone.utc)


def new_message_id() -> str:
    """A fresh message id; resending a message keeps its id, so acks and points stay stable."""
    return uuid.uuid4().hex


class Identity(Struct, frozen=True, kw_only=True):
    """Who sent a message; these become the InfluxDB tags of every point it yields."""

    agent: AgentId
    site: Label
    role: Label
    device_class: Label


class HostFacts(Struct, frozen=True, kw_only=True, tag="host", tag_field="kind"):
    """What the ``host`` probe measured: identity of the OS, uptime and resource use."""

    hostname: Text
    os_name: Text
    os_version: Text
    os_build: Text
    boot_time: Timestamp
    uptime_s: NonNegative
    cpu_pct: Percent
    cpu_count: Annotated[int, Meta(ge=1)]
    mem_total_mb: NonNegative
    mem_used_pct: Percent
    disk_total_gb: NonNegative
    disk_used_pct: Percent


class Disk(Struct, frozen=True, kw_only=True):
    """One disk as smartctl reads it; its power-on hours are evidence of the machine's age."""

    device: Text
    protocol: Text = ""
    model: Text = ""
    serial: Text = ""
    power_on_hours: Annotated[int, Meta(ge=0)]


class MachineFacts(Struct, frozen=True, kw_only=True, tag="machine", tag_field="kind"):
    """What the machine is, and the evidence of its age: everything its lifecycle verdicts need.

    Carried by the inventory and, as a fact, by every report, so any collector can judge a
    machine from the message in hand, keeping no state. Empty text and None mean unknown.
    """

    hostname: Text
    os_name: Text
    os_version: Text
    os_build: Text
    os_edition: Text = ""
    """Windows edition as the OS names it (``Professional``, ``EnterpriseS``...); decides
    the end of support together with the build."""
    os_installed: Optional[date] = None
    """When the OS was installed (a feature update or reinstall moves it forward)."""
    manufacturer: Text = ""
    model: Text = ""
    serial: Text = ""
    chassis: Text = ""
    bios_vendor: Text = ""
    bios_version: Text = ""
    bios_date: Optional[date] = None
    hypervisor: Text = ""
    """The hypervisor of a virtual machine (``VMware``, ``QEMU/KVM``...); "" for hardware."""
    cpu: Text
    """The processor's model name (SMBIOS, else the OS's)."""
    cpu_count: Annotated[int, Meta(ge=1)]
    memory_mb: NonNegative
    disks: Annotated[List[Disk], Meta(max_length=MAX_DISKS)] = msgspec.field(default_factory=list)
    first_seen: Optional[date] = None
    """When the agent first ran on this machine (its state directory's first day)."""
    model_line: Text = ""
    """The maker's name of the product line, where the model is a type code (SMBIOS type 1's
    Version, else its Family: Lenovo's "ThinkCentre M73" of "10AAS0Y500")."""
    smbios_version: Text = ""
    """The SMBIOS specification the firmware's table follows ("2.7"): no older than it."""
    memory_type: Text = ""
    """The type of the installed memory ("DDR3"), from the populated slots."""
    cpu_socket: Text = ""
    """The processor's socket: SMBIOS type 4's Processor Upgrade code ("Socket LGA1150"), else
    its Socket Designation string as the firmware writes it."""
    cpu_family: Text = ""
    """SMBIOS type 4's Processor Family ("Core 2 Duo"): dates a CPU whose name is blank or
    unknown."""
    board: Text = ""
    """The mainboard's product name (SMBIOS type 2: "H81M-K"): its chipset dates a white-box PC
    whose system name is a placeholder."""


TargetKind = Literal["gateway", "dns", "hub", "mcu", "internet", "vc-endpoint", "service"]
"""What a link target is: the ward's gateway, a DNS server, the city hub, the province's VC MCU,
an Internet host, a hardware VC codec (no agent of its own) or a service (an HTTP(S) site)."""
ProbeMethod = Literal["icmp", "tcp", "dns", "http"]
Millis = Annotated[float, Meta(ge=0)]
Port = Annotated[int, Meta(ge=1, le=65535)]


class PortCheck(Struct, frozen=True, kw_only=True):
    """One TCP port of a target: reachable (a connection was accepted) or why not."""

    port: Port
    open: bool
    connect_ms: Optional[Millis] = None
    error: Text = ""
    """``refused`` (the host answered: closed), ``timeout`` (filtered or down), or the OS error."""


class LinkFacts(Struct, frozen=True, kw_only=True, tag="link", tag_field="kind"):
    """One round of probes towards one target: RTT figures, jitter and loss, Smokeping-style.

    RTT figures and jitter are None when no reply came back; ``error`` then says why (no route,
    a DNS name that does not resolve, no ICMP rights and no TCP port to fall back on...).
    """

    target: Label
    target_kind: TargetKind
    host: Text
    address: Text = ""
    """The address probed (``host`` resolved)."""
    method: ProbeMethod
    sent: Annotated[int, Meta(ge=0)]
    received: Annotated[int, Meta(ge=0)]
    loss_pct: Percent
    rtt_min_ms: Optional[Millis] = None
    rtt_avg_ms: Optional[Millis] = None
    rtt_median_ms: Optional[Millis] = None
    rtt_max_ms: Optional[Millis] = None
    jitter_ms: Optional[Millis] = None
    http_status: Optional[Annotated[int, Meta(ge=100, le=599)]] = None
    ports: Annotated[List[PortCheck], Meta(max_length=MAX_PORTS)] = msgspec.field(
        default_factory=list
    )
    """For a ``vc-endpoint``: each of its ports (H.323 1720, SIP 5060/5061, HTTPS 443)."""
    error: Text = ""


Fact = Union[HostFacts, MachineFacts, LinkFacts]
"""One probe result, tagged by ``kind``. Later probes join this union."""


class ProbeError(Struct, frozen=True, kw_only=True):
    """A probe that failed this round; it travels in the report instead of stopping the agent."""

    probe: Label
    error: Text


class Measured(Identity, frozen=True, kw_only=True):
    """What a message that must be stored carries: an id to ack it by, and its times.

    ``measured_at`` never changes; ``sent_at`` is renewed at each (re)publish, so the
    collector can tell a clock's skew from a message's age.
    """

    v: Literal[1] = SCHEMA_VERSION
    id: MessageId
    measured_at: Timestamp
    sent_at: Timestamp
    session: Annotated[int, Meta(ge=0, le=2**53)] = 0
    """The agent's connection (``Status.session``) this copy was sent on, renewed with
    ``sent_at``: a report sent on a connection newer than the agent's last stored status
    proves it online, even if that connection's ``online`` was lost (0: not numbered)."""


class Report(Measured, frozen=True, kw_only=True, tag="report", tag_field="type"):
    """One periodic report: the facts every probe measured at ``measured_at``."""

    interval_s: Annotated[int, Meta(ge=1, le=86400)]
    agent_version: Label
    outbox_depth: Annotated[int, Meta(ge=0)] = 0
    """Messages waiting in the agent's outbox when this report was made."""
    outbox_dropped: Annotated[int, Meta(ge=0)] = 0
    """Messages the outbox has ever dropped: at its size or age bound, or undeliverable
    (larger than the broker or the collector takes, or refused by the broker)."""
    facts: Annotated[List[Fact], Meta(max_length=MAX_FACTS)] = msgspec.field(default_factory=list)
    errors: Annotated[List[ProbeError], Meta(max_length=MAX_FACTS)] = msgspec.field(
        default_factory=list
    )


class Inventory(Measured, frozen=True, kw_only=True, tag="inventory", tag_field="type"):
    """What the machine is: sent retained at start and whenever it changes (disk hours aside,
    which grow every hour and travel in every report's machine fact)."""

    machine: MachineFacts
    missing: Annotated[List[Text], Meta(max_length=MAX_FACTS)] = msgspec.field(default_factory=list)
    """What could not be read (a truncated SMBIOS table, no smartctl...), for the operator."""


class Status(Identity, frozen=True, kw_only=True, tag="status", tag_field="type"):
    """Whether the agent is connected: ``online`` at connect, ``offline`` at stop or as its
    last will (which the broker publishes with the ``sent_at`` of when it was armed).

    ``session`` numbers the agent's connections, growing across its restarts; a status of an
    older session never overrides a newer one (a broker may publish a stale last will after the
    agent's next ``online``). Within a session, ``offline`` follows ``online``.
    """

    v: Literal[1] = SCHEMA_VERSION
    state: Literal["online", "offline"]
    sent_at: Timestamp
    session: Annotated[int, Meta(ge=0, le=2**53)] = 0


class Rejection(Struct, frozen=True, kw_only=True):
    """A message the collector refused, and why; acked so the agent stops resending it."""

    id: MessageId
    reason: Text


class Ack(Struct, frozen=True, kw_only=True, tag="ack", tag_field="type"):
    """The collector's end-to-end ack: these messages are stored in InfluxDB (or refused)."""

    v: Literal[1] = SCHEMA_VERSION
    agent: AgentId
    stored: List[MessageId] = msgspec.field(default_factory=list)
    rejected: List[Rejection] = msgspec.field(default_factory=list)


class Enrolment(Struct, frozen=True, kw_only=True, tag="enrolment", tag_field="type"):
    """The broker admin's word on an agent's login (``wardwatch agents enable|disable|remove``).

    Only the admin may publish it (the broker's roles), on the agent's ``enrolment`` topic; the
    collector stores it and acks it like an agent's message, and ``wardwatch status`` shows a
    disabled or removed agent as such: the broker disconnects it without its last will.
    """

    v: Literal[1] = SCHEMA_VERSION
    id: MessageId
    agent: AgentId
    state: Literal["enabled", "disabled", "removed"]
    sent_at: Timestamp


AgentMessage = Union[Report, Inventory, Status]
Message = Union[Report, Inventory, Status, Ack, Enrolment]


def topic(agent: str, kind: Kind) -> str:
    """The topic an agent's message of ``kind`` travels on."""
    return f"{TOPIC_ROOT}/{agent}/{kind}"


def subscription(kind: Kind, share_group: str = "") -> str:
    """The wildcard filter for every agent's ``kind``, shared across a group when one is given."""
    base = f"{TOPIC_ROOT}/+/{kind}"
    return f"$share/{share_group}/{base}" if share_group else base


class WireError(ValueError):
    """A message that cannot be accepted. ``code`` is a short, countable reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def parse_topic(name: str) -> tuple[str, Kind]:
    """Split a wardwatch topic into (agent id, kind); raise WireError for any other topic."""
    parts = name.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT or not parts[2]:
        raise WireError("topic", f"not a {TOPIC_ROOT}/<agent>/<kind> topic: {name!r}")
    kind = parts[3]
    if kind not in KINDS:
        raise WireError("topic", f"unknown message kind {kind!r} in topic {name!r}")
    return parts[2], kind


_encoder = msgspec.json.Encoder()
_decoders: dict[str, msgspec.json.Decoder[Message]] = {
    "report": msgspec.json.Decoder(Report),
    "inventory": msgspec.json.Decoder(Inventory),
    "status": msgspec.json.Decoder(Status),
    "ack": msgspec.json.Decoder(Ack),
    "enrolment": msgspec.json.Decoder(Enrolment),
}


def encode(message: Measured | Status | Ack | Enrolment) -> bytes:
    """Serialise a message to its JSON payload."""
    return _encoder.encode(message)


def decode(topic_name: str, payload: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Message:
    """Decode and validate a payload received on ``topic_name``.

    Raises WireError with a countable code: ``oversized``, ``malformed`` (not JSON),
    ``version`` (another schema version), ``invalid`` (schema violation), ``topic`` or
    ``spoofed`` (the payload's agent differs from the topic's, which the broker's ACL vouches
    for).
    """
    if len(payload) > max_bytes:
        raise WireError("oversized", f"{len(payload)} bytes, limit {max_bytes}")
    agent, kind = parse_topic(topic_name)
    try:
        message = _decoders[kind].decode(payload)
    except msgspec.ValidationError as exc:
        raise _classify(payload, exc) from None
    except msgspec.DecodeError as exc:
        raise WireError("malformed", str(exc)) from None
    except RecursionError:
        raise WireError("malformed", "JSON nested too deeply") from None
    if message.agent != agent:
        raise WireError("spoofed", f"payload agent {message.agent!r} on topic of {agent!r}")
    return message


def _classify(payload: bytes, exc: msgspec.ValidationError) -> WireError:
    """Tell a message from another schema version apart from a broken one."""
    try:
        version = msgspec.json.decode(payload).get("v")
    except (msgspec.DecodeError, AttributeError, RecursionError):
        version = None
    if isinstance(version, int) and version != SCHEMA_VERSION:
        return WireError("version", f"schema version {version}, this collector reads 1")
    return WireError("invalid", explain(str(exc)))
