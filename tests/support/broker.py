"""The broker as shipped: ``deploy/mosquitto/mosquitto.conf`` with real logins and the ACL."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.support import repo
from wardwatch.collector.devstack.services import Mosquitto, free_port

MOSQUITTO = repo.DEPLOY / "mosquitto"


def shipped(workdir: Path, passwords: Mapping[str, str], extra_acl: str = "") -> Mosquitto:
    """Mosquitto (not started) with the shipped configuration verbatim but for its listener
    (the fixture's own, on a free loopback port) and its paths: a password file holding
    ``passwords`` (made with the commands deploy/mosquitto/README.md documents) and the shipped
    ACL followed by ``extra_acl``."""
    workdir.mkdir(parents=True, exist_ok=True)
    passwd = workdir / "wardwatch.passwd"
    for number, (user, password) in enumerate(passwords.items()):
        create = ["-c"] if number == 0 else []
        command = ["mosquitto_passwd", *create, "-b", str(passwd), user, password]
        subprocess.run(command, check=True, timeout=30)
    acl = workdir / "wardwatch.acl"
    acl.write_text(f"{(MOSQUITTO / 'wardwatch.acl').read_text()}\n{extra_acl}\n")
    paths = {"password_file": f"password_file {passwd}", "acl_file": f"acl_file {acl}"}
    conf = (MOSQUITTO / "mosquitto.conf").read_text().splitlines()
    lines = [
        paths.get(line.split(" ")[0], line) for line in conf if not line.startswith("listener")
    ]
    return Mosquitto(workdir / "mosquitto", free_port(), extra_conf="\n".join(lines))
