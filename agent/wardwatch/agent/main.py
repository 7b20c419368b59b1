"""``wardwatch-agent``: the command that runs on each ward PC or VC machine."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from wardwatch.agent import __version__, config
from wardwatch.agent.outbox import OutboxError
from wardwatch.agent.probes import Probe
from wardwatch.agent.probes.host import HostProbe
from wardwatch.agent.probes.links import report, rounds
from wardwatch.agent.probes.links.probe import LinkProbe
from wardwatch.agent.probes.machine import probe as machine
from wardwatch.agent.probes.machine import view
from wardwatch.agent.runner import Agent
from wardwatch.common import startup
from wardwatch.contract import wire

EXIT_NOT_STORED = 1
EXIT_NOT_GOOD = 1
"""`probe`: some link is degraded or bad."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``wardwatch-agent``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "inventory":
        return _inventory(args.smbios_dump, as_json=args.json)
    cfg = startup.configure(args, "wardwatch-agent", config.load)
    if cfg is None:
        return startup.EXIT_CONFIG
    if args.command == "probe":
        return _probe(cfg, as_json=args.json)
    if args.check:
        print(f"{args.config or '<defaults>'}: OK, agent id {cfg.agent_id!r}")
        return 0
    return _run(cfg, once=args.once, deadline_s=args.deadline)


def build_parser() -> argparse.ArgumentParser:
    """The daemon's options and the ``inventory`` and ``probe`` commands."""
    parser = startup.parser(
        "wardwatch-agent",
        "Measure this machine and report it to the wardwatch collector over MQTT. Runs "
        "forever on its interval; with --once, sends one report and exits 0 only when the "
        "collector has stored it.",
        str(config.SAMPLE),
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="send one report, wait for the collector's ack, exit 0 if stored, 1 if not",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="with --once: give up after this long (default: [agent] deadline_s, 15)",
    )
    parser.add_argument("--version", action="version", version=f"wardwatch-agent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_inventory(commands)
    _add_probe(commands)
    return parser


def _add_inventory(commands: startup.Commands) -> None:
    shown = commands.add_parser(
        "inventory",
        help="print this machine's inventory and age estimate (or a dump's), then exit",
        description="Read SMBIOS, the OS and the disks' power-on hours, and estimate the "
        "machine's age from the oldest trustworthy evidence. Needs no broker or config.",
    )
    shown.add_argument(
        "--smbios-dump",
        type=Path,
        metavar="FILE",
        help="read a file written by `dmidecode --dump-bin FILE` instead of this machine",
    )
    shown.add_argument("--json", action="store_true", help="print JSON instead of text")


def _add_probe(commands: startup.Commands) -> None:
    probe = commands.add_parser(
        "probe",
        help="run one round of link probes against the configured targets, print figures and "
        "verdicts, then exit",
        description="Probe every [[target]] of the config, the default gateway and the DNS "
        "servers once: RTT min/avg/median/max, jitter, loss and the good/degraded/bad verdict; "
        "port reachability for videoconference endpoints. Needs no broker. Exit 0 when every "
        "link is good, 1 otherwise.",
    )
    probe.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=argparse.SUPPRESS,  # else it would hide a --config given before "probe"
        help="the agent's TOML config: [[target]], [links], [thresholds.<kind>]",
    )
    probe.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _run(cfg: config.AgentConfig, *, once: bool, deadline_s: float | None) -> int:
    """The agent itself: forever, or once (exit 0 only when the collector stored it)."""
    if not once:
        stop = threading.Event()
        startup.stop_on_signals(stop)
        return serve(cfg, stop)
    try:
        # --once reports at once: it does not wait for a link round (`probe` runs one).
        agent = Agent(cfg, [HostProbe()], read_machine=machine.read_this_machine, once=True)
    except OutboxError as exc:
        print(f"wardwatch-agent: {exc}", file=sys.stderr)
        return startup.EXIT_CONFIG
    reason = agent.run_once(deadline_s or cfg.agent.deadline_s)
    if reason:
        print(f"wardwatch-agent: not stored: {reason}", file=sys.stderr)
        return EXIT_NOT_STORED
    print(f"stored: report of {agent.id} acknowledged by the collector")
    return 0


def serve(cfg: config.AgentConfig, stop: threading.Event) -> int:
    """The long-running agent until ``stop`` is set (a signal, or the Windows service's stop):
    it then says ``offline`` and closes its outbox. Returns the exit code."""
    try:
        links = LinkProbe(cfg.target, cfg.links, cfg.agent.interval_s)
        probes: list[Probe] = [HostProbe(), links]
        agent = Agent(cfg, probes, read_machine=machine.read_this_machine)
    except OutboxError as exc:
        print(f"wardwatch-agent: {exc}", file=sys.stderr)
        return startup.EXIT_CONFIG
    agent.run_forever(stop)
    # No round may start while the interpreter shuts down: its thread pool would refuse the
    # round's work ("cannot schedule new futures after interpreter shutdown") with a traceback.
    links.stop()
    return 0


def _probe(cfg: config.AgentConfig, *, as_json: bool) -> int:
    if not as_json:
        print(f"probing, {cfg.links.count} packets per target...", flush=True)
    results = report.graded(rounds.full_round(cfg.links, cfg.target), cfg.thresholds)
    if as_json:
        sys.stdout.buffer.write(report.to_json(results) + b"\n")
    else:
        print(report.render(results))
    return 0 if all(r.state == "good" for r in results) else EXIT_NOT_GOOD


def _inventory(dump: Path | None, *, as_json: bool) -> int:
    try:
        reading = machine.read_dump(dump) if dump else machine.read_this_machine()
    except OSError as exc:
        print(f"wardwatch-agent inventory: cannot read {dump}: {exc.strerror}", file=sys.stderr)
        return startup.EXIT_CONFIG
    shown = view.view(reading, wire.now())
    if as_json:
        sys.stdout.buffer.write(view.to_json(shown) + b"\n")
    else:
        print(view.render(shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
