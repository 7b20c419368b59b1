"""Who may do what on the broker: the roles of Mosquitto's dynamic security plugin.

Every login is a plugin *client* bound to one MQTT client id, holding one *role*:

- an agent ``<id>``: client id ``<id>``; publishes only ``wardwatch/v1/<id>/{report,inventory,
  status}``, subscribes only to ``wardwatch/v1/<id>/ack`` (a literal grant, so ``$share/…``,
  ``#`` and ``$SYS/#`` are refused at SUBSCRIBE with 0x87). Its second identity ``<id>/once``
  (``wardwatch.common.mqtt.once_name``), bound to that client id, holds the same role: it is
  what ``wardwatch-agent --once`` logs in as beside the running agent;
- a collector ``wardwatch-collector-<n>``: joins the collectors' shared group (literal
  ``$share/<group>/wardwatch/v1/+/<kind>`` grants: only it may) and publishes acks;
- the admin ``wardwatch-admin``: the plugin's control topic, and the enrolment notices the
  collectors record (``wardwatch agents disable`` shows in ``wardwatch status``).

Default access is deny for everything but unsubscribing. A client with no bound id could take
any client id (Mosquitto 2.0.11), so every client this module makes is bound.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any, Final

from wardwatch.contract import wire

ADMIN: Final = "wardwatch-admin"
COLLECTOR_PREFIX: Final = "wardwatch-collector-"
SHARE_GROUP: Final = "wardwatch"
"""The collectors' shared group (the collector's ``[mqtt] share_group`` default)."""
RESERVED_PREFIX: Final = "wardwatch-"
"""No agent id may start with this: the admin's and the collectors' names do."""

ADMIN_ROLE: Final = "wardwatch-admin"
COLLECTOR_ROLE: Final = "wardwatch-collector"
AGENT_ROLE_PREFIX: Final = "agent:"
CONTROL_TOPIC: Final = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC: Final = f"{CONTROL_TOPIC}/response"

# Mosquitto 2.0.11's own parameters for its PBKDF2-SHA512 password hashes (what `mosquitto_ctrl
# dynsec init` writes): 12 random bytes of salt, 101 iterations.
_SALT_BYTES: Final = 12
_ITERATIONS: Final = 101

Acl = dict[str, Any]
"""One access rule: ``{"acltype": ..., "topic": ..., "allow": True, "priority": 0}``."""


def new_password() -> str:
    """A random password: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


def agent_role(agent: str) -> str:
    """The role that holds one agent's rights."""
    return f"{AGENT_ROLE_PREFIX}{agent}"


def collector_name(number: int) -> str:
    """The username and client id of collector ``number`` (1, 2, ...)."""
    return f"{COLLECTOR_PREFIX}{number}"


def _acl(acltype: str, topic: str) -> Acl:
    return {"acltype": acltype, "topic": topic, "allow": True, "priority": 0}


def agent_acls(agent: str) -> list[Acl]:
    """Publish its own messages; subscribe to and receive its own acks; nothing else."""
    ack = wire.topic(agent, "ack")
    sends = [_acl("publishClientSend", wire.topic(agent, kind)) for kind in wire.AGENT_KINDS]
    return [*sends, _acl("subscribeLiteral", ack), _acl("publishClientReceive", ack)]


def collector_acls(share_group: str = SHARE_GROUP) -> list[Acl]:
    """Join the shared group for every agent's messages (literally: no other filter), receive
    them, and publish the acks."""
    acls = [_acl("publishClientSend", wire.topic("+", "ack"))]
    for kind in wire.COLLECTED_KINDS:
        acls += [
            _acl("subscribeLiteral", wire.subscription(kind, share_group)),
            _acl("publishClientReceive", wire.subscription(kind)),
        ]
    return acls


def admin_acls() -> list[Acl]:
    """The plugin's control topic, enrolment notices out and the collectors' acks back."""
    acks = wire.topic("+", "ack")
    return [
        _acl("publishClientSend", CONTROL_TOPIC),
        _acl("subscribeLiteral", RESPONSE_TOPIC),
        _acl("publishClientReceive", RESPONSE_TOPIC),
        _acl("publishClientSend", wire.subscription("enrolment")),
        _acl("subscribeLiteral", acks),
        _acl("publishClientReceive", acks),
    ]


def hashed(password: str) -> dict[str, Any]:
    """The ``password``, ``salt`` and ``iterations`` of a client in the plugin's file."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _ITERATIONS)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": _ITERATIONS,
    }


def _client(name: str, password: str, role: str, text: str) -> dict[str, Any]:
    return {
        "username": name,
        "clientid": name,
        "textname": text,
        **hashed(password),
        "roles": [{"rolename": role}],
    }


def initial_config(
    admin_password: str, collector_passwords: list[str], share_group: str = SHARE_GROUP
) -> dict[str, Any]:
    """The plugin's first file: the admin, the collectors, their roles, and deny by default.
    Agents are added later, on the running broker (``control``)."""
    collectors = [
        _client(collector_name(n), password, COLLECTOR_ROLE, "wardwatch collector")
        for n, password in enumerate(collector_passwords, start=1)
    ]
    return {
        "clients": [_client(ADMIN, admin_password, ADMIN_ROLE, "wardwatch admin"), *collectors],
        "roles": [
            {"rolename": ADMIN_ROLE, "acls": admin_acls()},
            {"rolename": COLLECTOR_ROLE, "acls": collector_acls(share_group)},
        ],
        "groups": [],
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
    }
