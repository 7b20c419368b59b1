"""The config file that gives an agent its identity and its broker login.

Written in two places, one text: ``wardwatch agents add`` (the city's enrolment, on the
collector's host) and the Windows installer's first run (``wardwatch.agent.install``, from the
properties given to msiexec). ``wardwatch.agent.config`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from wardwatch.common.tomlconfig import toml_str


@dataclass(frozen=True)
class AgentLogin:
    """Who the agent is and how it logs in; the username is the agent id unless given."""

    agent_id: str
    site: str
    role: str
    device_class: str
    url: str
    password: str
    username: str = ""
    ca_file: str = "ca.crt"

    def text(self, header: str) -> str:
        """The TOML file, ``header`` first as comments (the CA certificate goes beside it)."""
        comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
        return (
            f"{comments}[agent]\n"
            f"id = {toml_str(self.agent_id)}\n"
            f"site = {toml_str(self.site)}\n"
            f"role = {toml_str(self.role)}\n"
            f"device_class = {toml_str(self.device_class)}\n"
            "\n[mqtt]\n"
            f"url = {toml_str(self.url)}\n"
            f"username = {toml_str(self.username or self.agent_id)}\n"
            f"password = {toml_str(self.password)}\n"
            f"ca_file = {toml_str(self.ca_file)}\n"
        )
