"""One round of link probes: every target measured in parallel, under one deadline.

Each target gets one method: ``dns`` targets a DNS query, ``service`` targets HTTP(S) GETs,
the others ICMP echo (TCP connect time when this user may not send ICMP). A ``vc-endpoint``
also gets a check of each port; when it answers on a port but not to ICMP (codecs often drop
ping), its RTT comes from TCP connects to that port. A target that fails (no such host, no
route, no ICMP rights and nothing to fall back on) yields a result with the reason, never an
exception; a target still running at the deadline yields "no result within the deadline".
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Final

import msgspec

from wardwatch.agent import native
from wardwatch.agent.config import LinksSection, TargetSection
from wardwatch.agent.probes.links import dns, http, netstats, tcp
from wardwatch.common.compat import zip_strict
from wardwatch.contract.wire import LinkFacts, PortCheck, ProbeMethod, TargetKind, one_line

VC_PORTS: Final = (1720, 5060, 5061, 443)
"""H.323 call signalling, SIP over TCP, SIP over TLS, the codec's web interface."""
FALLBACK_PORT: Final = 443
MAX_PARALLEL: Final = 16


def discovered(
    settings: LinksSection, configured: Sequence[TargetSection]
) -> tuple[list[TargetSection], list[TargetKind]]:
    """The configured targets, plus the default gateway and DNS servers (when enabled and not
    configured already); and the kinds asked for but not found ("gateway", "dns")."""
    known = {t.host for t in configured}
    found = list(configured)
    missing: list[TargetKind] = []
    sources: tuple[tuple[TargetKind, bool, Callable[[], list[str]]], ...] = (
        ("gateway", settings.gateway, native.NETWORK.default_gateways),
        ("dns", settings.dns, native.NETWORK.dns_servers),
    )
    for kind, enabled, hosts in sources:
        if not enabled:
            continue
        addresses = hosts()
        if not addresses:
            missing.append(kind)
        for n, host in enumerate(addresses):
            if host not in known:
                found.append(TargetSection(name=_nth(kind, n), host=host, kind=kind))
                known.add(host)
    return found, missing


def full_round(settings: LinksSection, configured: Sequence[TargetSection]) -> list[LinkFacts]:
    """A round towards the configured and discovered targets; a gateway or DNS server that
    cannot be found is a result too, saying so."""
    targets, missing = discovered(settings, configured)
    results = run_round(targets, settings)
    for kind in missing:
        placeholder = TargetSection(name=kind, host="-", kind=kind)
        what = "no default gateway" if kind == "gateway" else "no DNS server"
        results.append(_failed(placeholder, settings, f"{what} found on this machine"))
    return results


def _nth(base: str, n: int) -> str:
    return base if n == 0 else f"{base}-{n + 1}"


def _gap(settings: LinksSection, count: int) -> float:
    return settings.spread_s / (count - 1) if count > 1 else 0.0


def _facts(
    target: TargetSection,
    address: str,
    method: ProbeMethod,
    rtts: list[float | None],
    error: str = "",
    **extra: object,
) -> LinkFacts:
    stats = netstats.summarize(rtts)
    return LinkFacts(
        target=target.name,
        target_kind=target.kind,
        host=one_line(target.host),
        address=address,
        method=method,
        error=one_line(error),
        **{**msgspec.structs.asdict(stats), **extra},  # dict | dict is 3.9
    )


def _failed(target: TargetSection, settings: LinksSection, why: str) -> LinkFacts:
    # Counted as a round with every packet lost: for a videoconference the path is as good
    # as down, and a loss graph should say so rather than show 0 %.
    return _facts(target, "", "icmp", [None] * settings.count, why)


def measure(target: TargetSection, settings: LinksSection) -> LinkFacts:
    """One round towards ``target``."""
    try:
        address = str(socket.getaddrinfo(target.host, None, socket.AF_INET)[0][4][0])
    except (OSError, UnicodeError) as exc:
        return _failed(target, settings, f"cannot resolve {target.host}: {exc}")
    count, gap, timeout = settings.count, _gap(settings, settings.count), settings.timeout_s
    if target.kind == "dns":
        port = target.ports[0] if target.ports else dns.PORT
        rtts, error = dns.query_round(address, settings.dns_query, count, gap, timeout, port=port)
        return _facts(target, address, "dns", rtts, error)
    if target.kind == "service":
        n = min(count, http.REQUESTS)
        url = target.url or f"http://{target.host}/"
        rtts, status, error = http.get_round(url, n, _gap(settings, n), timeout)
        return _facts(target, address, "http", rtts, error, http_status=status)
    ports: list[PortCheck] = []
    if target.kind == "vc-endpoint":
        ports = [tcp.check_port(address, p, timeout) for p in target.ports or VC_PORTS]
    echoed = native.ICMP.ping(address, count, gap, timeout)
    if echoed is None:  # no ICMP rights
        method: ProbeMethod = "tcp"
        rtts, error = tcp.connect_round(address, _tcp_port(target, ports), count, gap, timeout)
    else:
        method = "icmp"
        rtts, error = echoed
        if not any(rtts) and any(p.open for p in ports):  # a codec that drops ping
            method = "tcp"
            rtts, error = tcp.connect_round(address, _tcp_port(target, ports), count, gap, timeout)
    return _facts(target, address, method, rtts, error, ports=ports)


def _tcp_port(target: TargetSection, ports: list[PortCheck]) -> int:
    return next((p.port for p in ports if p.open), (target.ports or [FALLBACK_PORT])[0])


def run_round(
    targets: Sequence[TargetSection],
    settings: LinksSection,
    *,
    measure_one: Callable[[TargetSection, LinksSection], LinkFacts] = measure,
) -> list[LinkFacts]:
    """Every target's round, in parallel, in the targets' order, within ``deadline_s``."""
    if not targets:
        return []
    pool = ThreadPoolExecutor(min(MAX_PARALLEL, len(targets)), thread_name_prefix="link")
    futures: list[Future[LinkFacts]] = []
    try:
        futures += [pool.submit(measure_one, t, settings) for t in targets]
        wait(futures, timeout=settings.deadline_s)
        results = []
        for target, future in zip_strict(targets, futures):
            if future.done() and future.exception() is None:
                results.append(future.result())
            elif future.done():
                results.append(_failed(target, settings, f"probe failed: {future.exception()}"))
            else:
                why = f"no result within the round's deadline ({settings.deadline_s:g} s)"
                results.append(_failed(target, settings, why))
        return results
    finally:
        # Never wait for a stuck target (a DNS lookup that hangs): its thread ends on its own.
        # A target not started yet never starts: cancelled by hand, as shutdown's
        # cancel_futures=True (3.9) would.
        for future in futures:
            future.cancel()
        pool.shutdown(wait=False)
