"""A network lab for link-probe tests: two network namespaces joined by real links.

- ``veth``: a veth pair; loss is injected on the target side by an nftables rule that drops a
  random share of the packets (``numgen random mod 100 < N``).
- ``impaired``: two TUN devices, one in each namespace, joined by a userspace relay (this
  module run as ``python -m tests.support.netlab relay ...``) that delays each packet from the
  prober to the target by ``delay_ms`` plus a uniform random ``±jitter_ms``. This kernel has neither
  netem nor NFQUEUE; a TUN relay is the impaired link we can build. Packets may overtake each
  other under jitter, as on a real path.

Everything is real: real sockets, the kernel's ICMP, real drops. Needs root (namespaces).
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import json
import os
import random
import resource
import select
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support import programs
from wardwatch.agent.probes.links.netstats import RoundStats, summarize

PROBER_ADDRESS = "10.77.0.1"
TARGET_ADDRESS = "10.77.0.2"
_TUNSETIFF = 0x400454CA
_IFF_TUN, _IFF_NO_PI = 0x0001, 0x1000


def run(*argv: str) -> str:
    """Run a command; fail with its stderr."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def need_root() -> None:
    """Namespaces, veth and TUN need root; say so instead of failing obscurely."""
    if os.geteuid() != 0:
        raise RuntimeError("the network lab needs root (network namespaces): run make test as root")


@dataclass
class Lab:
    """Two namespaces: ``prober`` (where probes run) and ``target``."""

    prober: str
    target: str

    def in_prober(self, *argv: str) -> list[str]:
        """``argv`` to run inside the prober's namespace."""
        return ["ip", "netns", "exec", self.prober, *argv]

    def drop_share(self, percent: int) -> None:
        """Drop ``percent`` % of the packets arriving at the target, at random (nftables)."""
        rules = (
            "table inet lab {\n chain input {\n  type filter hook input priority 0;\n"
            f"  numgen random mod 100 < {percent} drop\n }}\n}}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.target, "nft", "-f", "-"],
            input=rules,
            text=True,
            check=True,
            capture_output=True,
            timeout=30,
        )


def hub_config(count: int, spread_s: float, *, targets: int = 1, deadline_s: float = 30.0) -> str:
    """An agent config probing the lab's target (``targets`` times over), nothing discovered."""
    text = (
        f"[links]\ncount = {count}\nspread_s = {spread_s}\ntimeout_s = 1.0\n"
        f"deadline_s = {deadline_s}\ngateway = false\ndns = false\n"
    )
    for n in range(targets):
        name = "hub" if n == 0 else f"hub-{n + 1}"
        text += f'[[target]]\nname = "{name}"\nhost = "{TARGET_ADDRESS}"\nkind = "hub"\n'
    return text


@dataclass(frozen=True)
class Probed:
    """What ``wardwatch-agent probe --json`` said in the prober's namespace, and its cost."""

    results: list[dict[str, Any]]
    wall_s: float
    cpu_ms: float
    """User and system CPU of the whole process, interpreter start included."""


def probe(lab: Lab, config: str, *, as_user: bool = False) -> Probed:
    """Run ``wardwatch-agent probe --json`` with ``config`` in the prober's namespace; as
    ``nobody`` (outside ping_group_range, no CAP_NET_RAW) when ``as_user``."""
    # In /tmp, readable by all: another user could not read a test's private directory.
    with tempfile.NamedTemporaryFile("w", suffix=".toml", dir="/tmp") as file:
        file.write(config)
        file.flush()
        os.chmod(file.name, 0o644)
        command = [
            *programs.AGENT,
            "probe",
            "--config",
            file.name,
            "--json",
        ]
        if as_user:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        done = subprocess.run(
            lab.in_prober(*command), capture_output=True, text=True, timeout=300, check=False
        )
        wall_s = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: some link is not good, still a result
        raise RuntimeError(f"wardwatch-agent probe exited {done.returncode}: {done.stderr}")
    cpu_ms = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return Probed(json.loads(done.stdout), wall_s, cpu_ms)


def fping(lab: Lab, count: int, interval_ms: int) -> RoundStats:
    """fping's figures for ``count`` echo requests from the prober to the target (the real peer
    the link probes are checked against)."""
    done = subprocess.run(
        lab.in_prober(
            "fping", "-C", str(count), "-p", str(interval_ms), "-t", "1000", "-q", TARGET_ADDRESS
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # "10.77.0.2 : 0.05 0.04 - 0.05 ...": one figure per packet, "-" when lost.
    samples = done.stderr.split(":", 1)[1].split()
    return summarize([None if s == "-" else float(s) for s in samples])


def _namespaces() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:6]
    return f"ww-p-{tag}", f"ww-t-{tag}"


def _up(namespace: str, device: str, address: str, peer: str | None = None) -> None:
    spec = [address, "peer", f"{peer}/32"] if peer else [f"{address}/24"]
    run("ip", "-n", namespace, "addr", "add", *spec, "dev", device)
    run("ip", "-n", namespace, "link", "set", device, "up")
    run("ip", "-n", namespace, "link", "set", "lo", "up")


@contextmanager
def veth_lab() -> Iterator[Lab]:
    """Two namespaces joined by a veth pair."""
    need_root()
    prober, target = _namespaces()
    run("ip", "netns", "add", prober)
    try:
        run("ip", "netns", "add", target)
        try:
            run(
                "ip",
                "link",
                "add",
                "wwp",
                "netns",
                prober,
                "type",
                "veth",
                "peer",
                "wwt",
                "netns",
                target,
            )
            _up(prober, "wwp", PROBER_ADDRESS)
            _up(target, "wwt", TARGET_ADDRESS)
            yield Lab(prober, target)
        finally:
            run("ip", "netns", "del", target)
    finally:
        run("ip", "netns", "del", prober)


@contextmanager
def impaired_lab(delay_ms: float, jitter_ms: float) -> Iterator[Lab]:
    """Two namespaces joined by the TUN relay, delaying prober → target packets."""
    need_root()
    prober, target = _namespaces()
    run("ip", "netns", "add", prober)
    run("ip", "netns", "add", target)
    relay = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.netlab",
            "relay",
            prober,
            target,
            "--delay-ms",
            str(delay_ms),
            "--jitter-ms",
            str(jitter_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert relay.stdout is not None
        line = relay.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the TUN relay did not start: {line!r}")
        yield Lab(prober, target)
    finally:
        relay.terminate()
        relay.wait(10)
        run("ip", "netns", "del", target)
        run("ip", "netns", "del", prober)


def _tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def relay(prober: str, target: str, delay_ms: float, jitter_ms: float) -> None:
    """Create a TUN device in each namespace and relay packets between them, delaying those
    towards the target; runs until terminated."""
    a, b = _tun("wwtp"), _tun("wwtt")
    run("ip", "link", "set", "wwtp", "netns", prober)
    run("ip", "link", "set", "wwtt", "netns", target)
    _up(prober, "wwtp", PROBER_ADDRESS, TARGET_ADDRESS)
    _up(target, "wwtt", TARGET_ADDRESS, PROBER_ADDRESS)
    print("ready", flush=True)
    pending: list[tuple[float, int, bytes]] = []  # (release time, order, packet) towards b
    order = 0
    while True:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, packet = heapq.heappop(pending)
            os.write(b, packet)
        wait = max(0.0, pending[0][0] - now) if pending else 1.0
        ready, _, _ = select.select([a, b], [], [], wait)
        for fd in ready:
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                continue
            if fd == a:
                hold = (delay_ms + random.uniform(-jitter_ms, jitter_ms)) / 1000
                heapq.heappush(pending, (time.monotonic() + max(0.0, hold), order, packet))
                order += 1
            else:
                os.write(a, packet)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m tests.support.netlab relay PROBER_NS TARGET_NS --delay-ms D --jitter-ms J``."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.netlab")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("relay", help="the impaired link between two namespaces")
    cmd.add_argument("prober")
    cmd.add_argument("target")
    cmd.add_argument("--delay-ms", type=float, default=0.0)
    cmd.add_argument("--jitter-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    relay(args.prober, args.target, args.delay_ms, args.jitter_ms)


if __name__ == "__main__":
    main()
