"""The agent's config at its first install on Windows, from the properties given to msiexec.

``msiexec /i wardwatch-agent-<v>-x64.msi /qn MQTT_URL=... AGENT_ID=... SITE=...`` cannot write a
file itself (wixl has no custom actions to ship): the MSI stores the properties as registry
values (``deploy/windows``), and the service, at each start, writes
``%ProgramData%\\wardwatch\\agent.toml`` from them when there is none yet. So the config is
written at the first install only, and an upgrade or a reinstall never overwrites what the
city's IT team edited. The password does not stay in the registry, which every user may read:
the service deletes it once the config holds it. This module is the part that is the same on
every OS (tested on Linux); ``install_windows`` reads the registry and sets the folder's ACL.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Mapping, Optional

from wardwatch.agent import config
from wardwatch.common.agentfile import AgentLogin
from wardwatch.common.tomlconfig import ConfigError
from wardwatch.contract import wire

PROPERTIES = (
    "MQTT_URL",
    "AGENT_ID",
    "SITE",
    "ROLE",
    "DEVICE_CLASS",
    "MQTT_USERNAME",
    "MQTT_PASSWORD",
    "CA_FILE",
)
"""The MSI's public properties, each stored as a registry value of the same name."""
FOLDER = "SOURCEDIR"
"""Also stored: the folder the MSI ran from, which a relative CA_FILE is read from."""
SECRET = "MQTT_PASSWORD"
CONFIG_NAME = "agent.toml"
CA_NAME = "ca.crt"
HEADER = (
    "wardwatch agent, written at its first install from the installer's properties.\n"
    "It holds the agent's password: readable by Administrators and SYSTEM only. An upgrade\n"
    "keeps this file; edit it and restart the service (net stop / net start wardwatch-agent)."
)


class InstallError(Exception):
    """The installer's properties cannot make a config; the message names the property."""


def login(values: Mapping[str, str], computer_name: str) -> AgentLogin:
    """The agent's login from the properties (missing or empty ones take their defaults):
    AGENT_ID the computer's name, MQTT_USERNAME the agent id, ROLE office-pc, DEVICE_CLASS
    desktop, SITE unassigned."""
    defaults = config.AgentSection()
    agent_id = values.get("AGENT_ID") or wire.hostname_id(computer_name)
    return AgentLogin(
        agent_id=agent_id,
        site=values.get("SITE") or defaults.site,
        role=values.get("ROLE") or defaults.role,
        device_class=values.get("DEVICE_CLASS") or defaults.device_class,
        url=values.get("MQTT_URL") or config.MqttSection().url,
        username=values.get("MQTT_USERNAME") or agent_id,
        password=values.get(SECRET, ""),
        ca_file=CA_NAME if values.get("CA_FILE") else "",
    )


def first_config(
    state_dir: Path,
    values: Mapping[str, str],
    computer_name: str,
    secure: Callable[[Path], None],
) -> Optional[Path]:
    """Write ``state_dir/agent.toml`` (and ``ca.crt`` from CA_FILE) unless it exists; the
    written file, or None when there was one. ``secure`` restricts ``state_dir`` to
    Administrators and SYSTEM before the password goes into it. Raises InstallError."""
    path = state_dir / CONFIG_NAME
    if path.exists():
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    secure(state_dir)
    ca_source = values.get("CA_FILE", "")
    if ca_source:
        # "ca.crt" beside the MSI, as `wardwatch agents add` writes the install command.
        ca_source = os.path.join(values.get(FOLDER, ""), ca_source)
        try:
            shutil.copyfile(ca_source, state_dir / CA_NAME)
        except OSError as exc:
            raise InstallError(
                f"CA_FILE={ca_source}: cannot copy it ({exc.strerror}); reinstall with CA_FILE "
                "naming the broker's CA certificate (ca.crt from `wardwatch broker init`)"
            ) from None
    staged = path.with_name(CONFIG_NAME + ".new")
    staged.write_text(login(values, computer_name).text(HEADER), encoding="utf-8")
    try:
        config.load(staged)
    except ConfigError as exc:
        staged.unlink()
        named = ", ".join(f"{p}=" for p in PROPERTIES if values.get(p) and p != SECRET)
        raise InstallError(
            f"the installer's properties ({named}) make no valid config: {exc}; reinstall "
            f"with corrected properties, or write {path} by hand"
        ) from None
    staged.replace(path)
    return path
