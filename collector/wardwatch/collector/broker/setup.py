"""``wardwatch broker init``: a complete broker setup in one directory.

What it writes (``Layout``): ``mosquitto.conf``, which ``mosquitto -c`` runs as is; the CA and
the server certificate (or the city's own, copied); ``state/`` with the dynamic security
plugin's file and the broker's persistence; ``broker.toml`` (the admin's login and the addresses
``wardwatch agents`` needs) and ``collector-<n>.toml`` (a collector's ``[mqtt]`` section to
paste). Files holding a secret are mode 0600. Started as root, Mosquitto drops to ``user``
(``mosquitto``) after opening its listeners: ``state/`` belongs to that user, and the server
key is readable by its group; every other secret stays root's.
"""

from __future__ import annotations

import glob
import grp
import json
import os
import pwd
import shutil
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from wardwatch.collector.broker import dynsec, pki
from wardwatch.common import tomlconfig
from wardwatch.common.mqtt import LOOPBACK
from wardwatch.common.tomlconfig import toml_str

TEMPLATE: Final = Path(__file__).with_name("mosquitto.conf.in")
PLUGIN_GLOBS: Final = (
    "/usr/lib/*/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)


class SetupError(Exception):
    """The broker setup cannot be written; the message says why and what to do."""


class BrokerState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``broker.toml``: what ``wardwatch agents`` needs to enrol agents on this broker."""

    hostname: str
    agent_url: str
    admin_url: str
    admin_username: str
    admin_password: str
    ca_file: str


@dataclass(frozen=True)
class Options:
    """What ``broker init`` was asked for."""

    directory: Path
    hostname: str
    agent_port: int = 8883
    agent_bind: str = ""
    collector_port: int = 1883
    collector_bind: str = "127.0.0.1"
    collectors: int = 1
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    user: str = "mosquitto"
    plugin: str = ""
    force: bool = False


@dataclass(frozen=True)
class Layout:
    """The files of a broker directory."""

    directory: Path

    @property
    def conf(self) -> Path:
        """``mosquitto.conf``."""
        return self.directory / "mosquitto.conf"

    @property
    def state_file(self) -> Path:
        """``broker.toml``: the admin's login (``BrokerState``), mode 0600."""
        return self.directory / "broker.toml"

    @property
    def ca(self) -> Path:
        """``ca.crt``: what agents trust (``[mqtt] ca_file``)."""
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """``ca.key``, mode 0600, when ``broker init`` made the CA."""
        return self.directory / "ca.key"

    @property
    def cert(self) -> Path:
        """``server.crt``: the agents' listener's certificate."""
        return self.directory / "server.crt"

    @property
    def key(self) -> Path:
        """``server.key``: its key, readable by the broker's user and root only."""
        return self.directory / "server.key"

    @property
    def state(self) -> Path:
        """``state/``: the broker's own, owned by the user it runs as."""
        return self.directory / "state"

    @property
    def dynsec(self) -> Path:
        """``state/dynamic-security.json``: the plugin's clients and roles."""
        return self.state / "dynamic-security.json"

    def collector(self, number: int) -> Path:
        """``collector-<n>.toml``: collector ``number``'s ``[mqtt]`` section, mode 0600."""
        return self.directory / f"collector-{number}.toml"


def find_plugin() -> str:
    """The dynamic security plugin of the installed Mosquitto, or SetupError."""
    for pattern in PLUGIN_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise SetupError(
        "cannot find mosquitto_dynamic_security.so: install Mosquitto 2 "
        "(apt-get install -y mosquitto) or give its path with --plugin"
    )


def load_state(directory: Path) -> BrokerState:
    """The ``broker.toml`` of a directory ``broker init`` wrote; SetupError if unusable."""
    path = Layout(directory).state_file
    try:
        return tomlconfig.load(path, BrokerState, environ={})
    except tomlconfig.ConfigError as exc:
        raise SetupError(
            f"{exc} (is {directory} a directory written by `wardwatch broker init`?)"
        ) from None


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only from the first byte."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")  # any of 127.0.0.0/8


def _local_host(bind: str) -> str:
    """Where a program on this machine reaches a listener bound to ``bind``."""
    return "127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _certificates(opts: Options, layout: Layout) -> None:
    """The city's own CA and certificate, copied; else a new CA and one for the hostname."""
    given = [opts.cert, opts.key, opts.ca]
    if any(given):
        if not all(given):
            raise SetupError(
                "--cert, --key and --ca go together: the city's server certificate, "
                "its key and the CA that signed it"
            )
        for source in given:
            if source is not None and not source.is_file():
                raise SetupError(f"{source}: no such file")
        assert opts.cert and opts.key and opts.ca
        shutil.copyfile(opts.cert, layout.cert)
        write_secret(layout.key, opts.key.read_text(encoding="utf-8"))
        shutil.copyfile(opts.ca, layout.ca)
        return
    ca = pki.make_ca(f"wardwatch CA for {opts.hostname}")
    server = pki.make_server(ca, [opts.hostname])
    layout.ca.write_bytes(ca.cert_pem)
    write_secret(layout.ca_key, ca.key_pem.decode())
    layout.cert.write_bytes(server.cert_pem)
    write_secret(layout.key, server.key_pem.decode())


def _conf(opts: Options, layout: Layout, plugin: str) -> str:
    as_root = os.geteuid() == 0
    collector_where = (
        "on this machine only"
        if _is_loopback(opts.collector_bind)
        else f"on {opts.collector_bind}: keep that network private"
    )
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        conf=layout.conf,
        user=f"user {opts.user}\n" if as_root else "",
        hostname=opts.hostname,
        agent_port=opts.agent_port,
        agent_bind=f" {opts.agent_bind}" if opts.agent_bind else "",
        certfile=layout.cert,
        keyfile=layout.key,
        collector_port=opts.collector_port,
        collector_bind=f" {opts.collector_bind}" if opts.collector_bind else "",
        collector_where=collector_where,
        plugin=plugin,
        dynsec=layout.dynsec,
        state=layout.state,
    )


def _hand_over(opts: Options, layout: Layout) -> None:
    """Started as root, Mosquitto becomes ``opts.user``: give it its state and its key."""
    if os.geteuid() != 0 or opts.user == "root":
        return
    try:
        user = pwd.getpwnam(opts.user)
    except KeyError:
        raise SetupError(
            f"no user {opts.user!r}, which Mosquitto runs as when started by root: install "
            "Mosquitto (apt-get install -y mosquitto) or give --user"
        ) from None
    for path in (layout.state, layout.dynsec):
        os.chown(path, user.pw_uid, user.pw_gid)
    os.chown(layout.key, 0, grp.getgrgid(user.pw_gid).gr_gid)
    layout.key.chmod(0o640)
    layout.directory.chmod(0o755)  # traversable: the user reads its conf, certificate and state


def _collector_section(opts: Options, number: int, password: str) -> str:
    name = dynsec.collector_name(number)
    host = _local_host(opts.collector_bind)
    return (
        f"# Collector {number}'s login on the broker of {opts.hostname}, written by "
        "`wardwatch broker init`.\n# Paste into the collector's config, or set "
        "WARDWATCH_MQTT_PASSWORD in its environment file instead of the password line.\n"
        "[mqtt]\n"
        f"url = {toml_str(f'mqtt://{_url_host(host)}:{opts.collector_port}')}\n"
        f"username = {toml_str(name)}\n"
        f"password = {toml_str(password)}\n"
        f"client_id = {toml_str(name)}\n"
        f"share_group = {toml_str(dynsec.SHARE_GROUP)}\n"
    )


def init(opts: Options) -> Layout:
    """Write the whole setup into ``opts.directory``; SetupError if it cannot."""
    layout = Layout(opts.directory)
    if layout.conf.exists() and not opts.force:
        raise SetupError(
            f"{layout.conf} exists: this directory holds a broker already (its agents' logins "
            "are in state/); choose another --dir, or --force to start over and lose them"
        )
    if not 1 <= opts.collectors <= 16:
        raise SetupError("--collectors: from 1 to 16")
    plugin = opts.plugin or find_plugin()
    opts.directory.mkdir(parents=True, exist_ok=True)
    opts.directory.chmod(0o700)
    layout.state.mkdir(mode=0o700, exist_ok=True)
    _certificates(opts, layout)
    admin = dynsec.new_password()
    collectors = [dynsec.new_password() for _ in range(opts.collectors)]
    write_secret(layout.dynsec, json.dumps(dynsec.initial_config(admin, collectors), indent=1))
    for number, password in enumerate(collectors, start=1):
        write_secret(layout.collector(number), _collector_section(opts, number, password))
    admin_host = _local_host(opts.collector_bind)
    state = BrokerState(
        hostname=opts.hostname,
        agent_url=f"mqtts://{_url_host(opts.hostname)}:{opts.agent_port}",
        admin_url=f"mqtt://{_url_host(admin_host)}:{opts.collector_port}",
        admin_username=dynsec.ADMIN,
        admin_password=admin,
        ca_file=str(layout.ca),
    )
    write_secret(
        layout.state_file,
        "# The broker's admin login, for `wardwatch agents`: keep this file mode 0600.\n"
        + "\n".join(f"{k} = {toml_str(v)}" for k, v in msgspec.structs.asdict(state).items())
        + "\n",
    )
    layout.conf.write_text(_conf(opts, layout, plugin), encoding="utf-8")
    _hand_over(opts, layout)
    return layout
