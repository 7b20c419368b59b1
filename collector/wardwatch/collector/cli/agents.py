"""``wardwatch agents``: enrol agents on the running broker and manage their logins.

Every action goes through the broker's admin login (``broker.toml`` of ``--broker-dir``) to
its dynamic security plugin: no file to edit, no restart. A config an agent receives holds its
password and is written mode 0600.
"""

from __future__ import annotations

import argparse
import csv
import logging
import shutil
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Final

from wardwatch.collector.broker import setup
from wardwatch.collector.broker.control import Control, ControlError
from wardwatch.collector.broker.enrol import (
    CA_NAME,
    AlreadyEnrolled,
    EnrolError,
    Enrolled,
    Enrolment,
    agent_config,
    check_agent,
    install_command,
    msi_name,
)
from wardwatch.collector.cli.options import EXIT_CONFIG, EXIT_FAILED
from wardwatch.common import table
from wardwatch.common.startup import Commands

DEFAULT_DIR: Final = Path("/etc/wardwatch/broker")
CSV_COLUMNS: Final = ("id", "site", "role", "device_class")
RECORDED: Final = "the collector recorded it"
NOT_RECORDED: Final = (
    "no collector acknowledged it yet: `wardwatch status` shows it once a collector reads it"
)


def add_parser(commands: Commands) -> None:
    """The ``agents`` command and its actions."""
    agents = commands.add_parser(
        "agents",
        help="enrol agents on the broker; list, disable, enable, rotate or remove their logins",
        description="Agents' logins on the running broker (made by `wardwatch broker init`), "
        "changed at once without a restart. A disabled or removed agent is disconnected at "
        "once and cannot log in; `wardwatch status` shows it as such.",
    )
    agents.add_argument(
        "--broker-dir",
        type=Path,
        default=DEFAULT_DIR,
        metavar="DIR",
        help=f"the directory `wardwatch broker init` wrote (default {DEFAULT_DIR})",
    )
    actions = agents.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="enrol one agent (--id, --site) or a ward's list (--from-csv) and print or write "
        "its config",
        description="Create an agent's login and print its config (TOML: the mqtts:// URL, "
        "username, password and CA file) and, on stderr, the msiexec line that installs it on "
        "a Windows PC; or write them to --out DIR as <id>.toml and <id>.install.cmd (mode "
        f"0600) with the broker's {CA_NAME} beside them. --from-csv FILE enrols every row of a CSV "
        f"with the columns {', '.join(CSV_COLUMNS)} (role and device_class optional), one "
        "config per agent in --out DIR; agents enrolled already are skipped.",
    )
    add.add_argument("--id", metavar="ID", help="the agent's id (its machine's name)")
    add.add_argument("--site", metavar="S", help="its ward or commune office")
    add.add_argument("--role", default="office-pc", help="office-pc (default), vc-endpoint...")
    add.add_argument("--device-class", default="desktop", help="desktop (default), laptop...")
    add.add_argument("--from-csv", type=Path, metavar="FILE", help="enrol every row of FILE")
    add.add_argument("--out", type=Path, metavar="DIR", help="write configs here, not stdout")
    actions.add_parser("list", help="every enrolled agent: site, role, class, enabled/disabled")
    for name, what in (
        ("disable", "disconnect an agent now and refuse its logins"),
        ("enable", "let a disabled agent log in again"),
        ("rotate", "give an agent a new password (the old one fails at once); print its config"),
        ("remove", "delete an agent's logins (it is disconnected at once)"),
    ):
        action = actions.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".")
        action.add_argument("id", metavar="ID", help="the agent's id")
        if name == "rotate":
            action.add_argument("--out", type=Path, metavar="DIR", help="write the config here")


def run(args: argparse.Namespace) -> int:
    """``wardwatch agents ACTION``; the exit code."""
    if args.action == "add" and not _add_arguments_ok(args):
        return EXIT_CONFIG
    # The command says once what failed; the connection's own "retrying" log would mislead.
    logging.getLogger("wardwatch.mqtt").setLevel(logging.CRITICAL)
    try:
        state = setup.load_state(args.broker_dir)
    except setup.SetupError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    try:
        with Control(state.admin_url, state.admin_username, state.admin_password) as control:
            return _ACTIONS[args.action](args, state, Enrolment(control))
    except EnrolError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except ControlError as exc:
        return _fail(str(exc), EXIT_FAILED)


def _fail(message: str, code: int) -> int:
    print(f"wardwatch agents: {message}", file=sys.stderr)
    return code


def _add_arguments_ok(args: argparse.Namespace) -> bool:
    if args.from_csv and (args.id or args.site):
        problem = "give either --from-csv or --id and --site, not both"
    elif args.from_csv and not args.out:
        problem = "--from-csv needs --out DIR, where each agent's config is written"
    elif not args.from_csv and not (args.id and args.site):
        problem = "add needs --id ID and --site S (or --from-csv FILE --out DIR)"
    else:
        return True
    _fail(problem, EXIT_CONFIG)
    return False


def _deliver(state: setup.BrokerState, agent: Enrolled, password: str, out: Path | None) -> None:
    """Print the agent's config, or write it (0600) with the CA beside it into ``out``; and the
    Windows install line, printed or as ``<id>.install.cmd`` (0600: it holds the password)."""
    text = agent_config(state, agent, password)
    release = version("wardwatch")
    if out is None:
        sys.stdout.write(text)
        print(f"# copy {state.ca_file} beside it as {CA_NAME}", file=sys.stderr)
        command = install_command(state, agent, password, release)
        print(f"# on Windows, in the folder of the MSI and {CA_NAME}:\n{command}", file=sys.stderr)
        return
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(state.ca_file, out / CA_NAME)
    setup.write_secret(out / f"{agent.agent}.toml", text)
    # %~dp0: the script's own folder, so it runs from a USB stick or a share alike.
    script = (
        f"@echo off\r\nrem Windows 7, 8.1, Server 2008 R2 to 2012 R2: "
        f"{msi_name(release, legacy=True)} instead\r\n"
        f"{install_command(state, agent, password, release, folder='%~dp0')}\r\n"
    )
    setup.write_secret(out / f"{agent.agent}.install.cmd", script)


def _add(args: argparse.Namespace, state: setup.BrokerState, enrolment: Enrolment) -> int:
    if args.from_csv:
        return _add_csv(args.from_csv, args.out, state, enrolment)
    agent = Enrolled(args.id, args.site, args.role, args.device_class, disabled=False)
    _deliver(state, agent, enrolment.add(agent), args.out)
    if args.out:
        print(f"enrolled {agent.agent}: {args.out / (agent.agent + '.toml')}")
    return 0


def read_csv(path: Path) -> list[Enrolled]:
    """The agents a CSV lists, every row checked first; EnrolError naming the line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as source:
            rows = list(csv.DictReader(source))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EnrolError(f"{path}: cannot read: {exc}") from None
    agents: list[Enrolled] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        values = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
        if not values["id"] or not values["site"]:
            raise EnrolError(f"{path}:{line}: every row needs an id and a site")
        agent = Enrolled(
            values["id"],
            values["site"],
            values["role"] or "office-pc",
            values["device_class"] or "desktop",
            disabled=False,
        )
        try:
            check_agent(agent)
        except EnrolError as exc:
            raise EnrolError(f"{path}:{line}: {exc}") from None
        if agent.agent in seen:
            raise EnrolError(f"{path}:{line}: id {agent.agent!r} is listed twice")
        seen.add(agent.agent)
        agents.append(agent)
    return agents


def _add_csv(path: Path, out: Path, state: setup.BrokerState, enrolment: Enrolment) -> int:
    agents = read_csv(path)
    skipped = 0
    for number, agent in enumerate(agents, start=1):
        try:
            password = enrolment.add(agent)
        except AlreadyEnrolled:
            skipped += 1
            print(f"[{number}/{len(agents)}] {agent.agent}: enrolled already, skipped")
            continue
        _deliver(state, agent, password, out)
        print(f"[{number}/{len(agents)}] {agent.agent}: enrolled, {out / (agent.agent + '.toml')}")
    print(
        f"{len(agents) - skipped} enrolled, {skipped} enrolled already (their configs were not "
        f"rewritten; `wardwatch agents rotate ID --out {out}` makes a new one)"
    )
    return 0


def _list(args: argparse.Namespace, state: setup.BrokerState, enrolment: Enrolment) -> int:
    rows = [
        (a.agent, a.site, a.role, a.device_class, "disabled" if a.disabled else "enabled")
        for a in enrolment.list()
    ]
    header = ("AGENT", "SITE", "ROLE", "DEVICE CLASS", "LOGIN")
    sys.stdout.write(table.text(header, rows, "(no agent is enrolled)"))
    return 0


def _switch(args: argparse.Namespace, state: setup.BrokerState, enrolment: Enrolment) -> int:
    if args.action == "remove":
        recorded = enrolment.remove(args.id)
        done = "removed: disconnected, its logins deleted"
    else:
        recorded = enrolment.set_enabled(args.id, args.action == "enable")
        done = "enabled" if args.action == "enable" else "disabled: disconnected, logins refused"
    print(f"{args.id} {done}; {RECORDED if recorded else NOT_RECORDED}")
    return 0


def _rotate(args: argparse.Namespace, state: setup.BrokerState, enrolment: Enrolment) -> int:
    agent, password = enrolment.rotate(args.id)
    _deliver(state, agent, password, args.out)
    print(f"{args.id}: new password; the old one no longer works", file=sys.stderr)
    return 0


_ACTIONS: Final[dict[str, Callable[[argparse.Namespace, setup.BrokerState, Enrolment], int]]] = {
    "add": _add,
    "list": _list,
    "disable": _switch,
    "enable": _switch,
    "remove": _switch,
    "rotate": _rotate,
}
