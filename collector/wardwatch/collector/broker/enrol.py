"""Agents' logins on the running broker, and the config each agent gets.

An agent is two plugin clients sharing one role (``dynsec.agent_role``) and one password: its
own name, and ``once_name`` of it for ``wardwatch-agent --once``. ``disable``, ``enable`` and
``remove`` act on both, at once (the plugin disconnects a disabled or deleted client
immediately, without its last will), then tell the collectors through an ``Enrolment`` notice,
so that ``wardwatch status`` shows the agent as disabled or removed rather than online.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec

from wardwatch.collector.broker import dynsec
from wardwatch.collector.broker.control import Control
from wardwatch.collector.broker.setup import BrokerState
from wardwatch.common.agentfile import AgentLogin
from wardwatch.common.mqtt import once_name
from wardwatch.contract import wire

CA_NAME: Final = "ca.crt"
"""The broker's CA certificate beside each agent's config (``[mqtt] ca_file``)."""
_TAKEN: Final = "already exists"
_GONE: Final = "not found"


class EnrolError(Exception):
    """An agent cannot be enrolled or changed as asked; the message says why."""


class AlreadyEnrolled(EnrolError):
    """The agent has a login on the broker already."""


@dataclass(frozen=True)
class Enrolled:
    """One agent's login on the broker."""

    agent: str
    site: str
    role: str
    device_class: str
    disabled: bool


def check_agent(agent: Enrolled) -> None:
    """Refuse an id or label the agent and the collector would refuse, or a reserved name."""
    for name, value, kind in (
        ("id", agent.agent, wire.AgentId),
        ("site", agent.site, wire.Label),
        ("role", agent.role, wire.Label),
        ("device class", agent.device_class, wire.Label),
    ):
        try:
            msgspec.convert(value, kind)
        except msgspec.ValidationError as exc:
            raise EnrolError(f"{name} {value!r}: {wire.explain(str(exc))}") from None
    if agent.agent.startswith(dynsec.RESERVED_PREFIX):
        raise EnrolError(
            f"id {agent.agent!r}: ids starting with {dynsec.RESERVED_PREFIX!r} are the "
            "broker's own (admin, collectors)"
        )


def agent_config(state: BrokerState, agent: Enrolled, password: str, ca_file: str = CA_NAME) -> str:
    """The agent's config file: who it is, and its login on this broker over TLS."""
    login = AgentLogin(
        agent_id=agent.agent,
        site=agent.site,
        role=agent.role,
        device_class=agent.device_class,
        url=state.agent_url,
        password=password,
        ca_file=ca_file,
    )
    return login.text(
        f"wardwatch agent {agent.agent!r} on the broker of {state.hostname}, written by "
        "`wardwatch agents`.\nIt holds the agent's password: readable by the agent only (mode "
        "0600; on Windows,\nAdministrators and SYSTEM). The broker's CA certificate goes beside "
        f"it as {ca_file}."
    )


def install_command(
    state: BrokerState, agent: Enrolled, password: str, version: str, folder: str = ""
) -> str:
    """The line that installs the agent on a Windows PC as this enrolment made it: the MSI and
    the broker's CA certificate are in ``folder`` (``%~dp0`` in a script: its own folder,
    whether a USB stick or a share; "" for the current one). Values are in double quotes for
    cmd."""
    properties = {
        "MQTT_URL": state.agent_url,
        "AGENT_ID": agent.agent,
        "SITE": agent.site,
        "ROLE": agent.role,
        "DEVICE_CLASS": agent.device_class,
        "MQTT_PASSWORD": password,
        "CA_FILE": f"{folder}{CA_NAME}",
    }
    quoted = " ".join(f'{name}="{value}"' for name, value in properties.items())
    return f'msiexec /i "{folder}{msi_name(version)}" /qn {quoted}'


def msi_name(version: str, legacy: bool = False) -> str:
    """The file name ``make windows`` gives the agent's MSI (legacy: Windows 7 to 8.1)."""
    return f"wardwatch-agent-{version}-x64{'-legacy' if legacy else ''}.msi"


class Enrolment:
    """The broker's agents, changed through an admin session (``Control``)."""

    def __init__(self, control: Control) -> None:
        self.control = control

    def exists(self, agent: str) -> bool:
        """Whether ``agent`` has a login on the broker."""
        (data,) = self.control.run({"command": "getClient", "username": agent}, tolerate=(_GONE,))
        return data is not None

    def add(self, agent: Enrolled) -> str:
        """Create the agent's role and its two logins; return their new password."""
        check_agent(agent)
        if self.exists(agent.agent):
            raise AlreadyEnrolled(
                f"agent {agent.agent!r} is enrolled already: `wardwatch agents rotate "
                f"{agent.agent}` gives it a new password and config"
            )
        password = dynsec.new_password()
        role = dynsec.agent_role(agent.agent)
        about = {"site": agent.site, "role": agent.role, "device_class": agent.device_class}
        self.control.run(
            {"command": "createRole", "rolename": role, "acls": dynsec.agent_acls(agent.agent)},
            *(
                {
                    "command": "createClient",
                    "username": name,
                    "clientid": name,
                    "password": password,
                    "textname": agent.agent,
                    "textdescription": json.dumps(about),
                    "roles": [{"rolename": role}],
                }
                for name in (agent.agent, once_name(agent.agent))
            ),
            tolerate=(_TAKEN,),  # what an interrupted earlier add left behind
        )
        return password

    def list(self) -> list[Enrolled]:
        """Every enrolled agent, by id."""
        (data,) = self.control.run({"command": "listClients", "verbose": True})
        return sorted(
            (_enrolled(client) for client in data["clients"] if _is_agent(client)),
            key=lambda e: e.agent,
        )

    def get(self, agent: str) -> Enrolled:
        """One enrolled agent, or EnrolError."""
        (data,) = self.control.run({"command": "getClient", "username": agent}, tolerate=(_GONE,))
        if data is None or not _is_agent(data["client"]):
            raise EnrolError(f"no agent {agent!r} on this broker (`wardwatch agents list`)")
        return _enrolled(data["client"])

    def set_enabled(self, agent: str, enabled: bool) -> bool:
        """Enable or disable both logins; True when a collector recorded the change."""
        self.get(agent)
        command = "enableClient" if enabled else "disableClient"
        self.control.run(*({"command": command, "username": n} for n in _names(agent)))
        return self._notify(agent, "enabled" if enabled else "disabled")

    def rotate(self, agent: str) -> tuple[Enrolled, str]:
        """A new password for both logins; their connections are closed, so the old one no
        longer works anywhere. Returns the agent and its password."""
        enrolled = self.get(agent)
        password = dynsec.new_password()
        self.control.run(
            *(
                {"command": "setClientPassword", "username": n, "password": password}
                for n in _names(agent)
            )
        )
        if not enrolled.disabled:  # disable then enable: the plugin's only way to kick
            for command in ("disableClient", "enableClient"):
                self.control.run(*({"command": command, "username": n} for n in _names(agent)))
        return enrolled, password

    def remove(self, agent: str) -> bool:
        """Delete both logins and the role; True when a collector recorded it."""
        self.get(agent)
        self.control.run(
            *({"command": "deleteClient", "username": n} for n in _names(agent)),
            {"command": "deleteRole", "rolename": dynsec.agent_role(agent)},
            tolerate=(_GONE,),
        )
        return self._notify(agent, "removed")

    def _notify(self, agent: str, state: Literal["enabled", "disabled", "removed"]) -> bool:
        notice = wire.Enrolment(
            id=wire.new_message_id(), agent=agent, state=state, sent_at=wire.now()
        )
        return self.control.publish(wire.topic(agent, "enrolment"), wire.encode(notice), notice.id)


def _names(agent: str) -> tuple[str, str]:
    return agent, once_name(agent)


def _is_agent(client: dict[str, Any]) -> bool:
    """An agent's own login (not its second identity, nor the admin or a collector)."""
    username = client.get("username", "")
    roles = [role.get("rolename") for role in client.get("roles", [])]
    return dynsec.agent_role(username) in roles


def _enrolled(client: dict[str, Any]) -> Enrolled:
    try:
        about = json.loads(client.get("textdescription") or "{}")
    except ValueError:
        about = {}
    return Enrolled(
        agent=client["username"],
        site=str(about.get("site", "")),
        role=str(about.get("role", "")),
        device_class=str(about.get("device_class", "")),
        disabled=bool(client.get("disabled", False)),
    )
