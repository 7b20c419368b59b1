"""``wardwatch broker init``: write a complete, secured broker setup (``broker.setup``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wardwatch.collector.broker import setup
from wardwatch.collector.cli.options import EXIT_CONFIG
from wardwatch.common.startup import Commands


def add_parser(commands: Commands) -> None:
    """The ``broker init`` command."""
    broker = commands.add_parser(
        "broker",
        help="the city's Mosquitto: write its setup (TLS, logins, roles)",
        description="Manage the broker's setup. Agents are enrolled on it with `wardwatch agents`.",
    )
    actions = broker.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="write mosquitto.conf, a CA and certificate, the security plugin's file and the "
        "collectors' and admin's logins into one directory",
        description="Write a broker setup that `mosquitto -c DIR/mosquitto.conf` runs as is: a "
        "TLS listener for the agents, a plaintext listener for the collectors (this machine "
        "only, by default), Mosquitto's dynamic security plugin (every login bound to its "
        "client id and its role), a CA and a server certificate for HOSTNAME (or the city's "
        "own), and the logins of the collectors and of the admin (files mode 0600).",
    )
    init.add_argument("--dir", type=Path, required=True, metavar="DIR", help="where to write")
    init.add_argument(
        "--hostname",
        required=True,
        metavar="H",
        help="the name (or IP address) agents reach the broker by; the certificate is for it",
    )
    init.add_argument("--agent-port", type=int, default=8883, help="agents' TLS port (8883)")
    init.add_argument(
        "--agent-bind", default="", metavar="ADDR", help="agents' listener address (default: all)"
    )
    init.add_argument("--collector-port", type=int, default=1883, help="collectors' port (1883)")
    init.add_argument(
        "--collector-bind",
        default="127.0.0.1",
        metavar="ADDR",
        help="collectors' listener address (default 127.0.0.1: collectors on this machine)",
    )
    init.add_argument("--collectors", type=int, default=1, help="collector logins to make (1)")
    for name, what in (
        ("--cert", "the city's own server certificate (PEM) instead of a new CA's"),
        ("--key", "its private key (PEM)"),
        ("--ca", "the CA certificate that signed it, given to the agents"),
    ):
        init.add_argument(name, type=Path, metavar="FILE", help=what)
    init.add_argument(
        "--user",
        default="mosquitto",
        help="the user Mosquitto runs as when started by root (default mosquitto); it owns state/",
    )
    init.add_argument(
        "--plugin", default="", metavar="PATH", help="mosquitto_dynamic_security.so (found alone)"
    )
    init.add_argument(
        "--force", action="store_true", help="overwrite a setup in DIR (its logins are lost)"
    )


def run(args: argparse.Namespace) -> int:
    """``wardwatch broker init``; the exit code."""
    opts = setup.Options(
        directory=args.dir.resolve(),
        hostname=args.hostname,
        agent_port=args.agent_port,
        agent_bind=args.agent_bind,
        collector_port=args.collector_port,
        collector_bind=args.collector_bind,
        collectors=args.collectors,
        cert=args.cert,
        key=args.key,
        ca=args.ca,
        user=args.user,
        plugin=args.plugin,
        force=args.force,
    )
    try:
        layout = setup.init(opts)
    except (setup.SetupError, OSError) as exc:
        print(f"wardwatch broker init: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    collectors = ", ".join(str(layout.collector(n)) for n in range(1, opts.collectors + 1))
    print(
        f"wrote a broker setup for {opts.hostname} in {layout.directory}:\n"
        f"  run it:          mosquitto -c {layout.conf}\n"
        f"  collectors:      paste the [mqtt] section of {collectors} into the collector's config\n"
        f"  agents trust:    {layout.ca}\n"
        f"  admin login:     {layout.state_file} (mode 0600; `wardwatch agents` reads it)\n"
        f"  enrol an agent:  wardwatch agents add --broker-dir {layout.directory} --id ID --site S"
    )
    return 0
