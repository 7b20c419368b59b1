"""Link probes: codecs, grading, discovery on recorded data, and accuracy over real packets
between network namespaces (loss from nftables, delay and jitter from a TUN relay), checked
against what was injected and against fping measuring the same path in the same run."""

from __future__ import annotations

import http.server
import shutil
import socketserver
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import netlab
from tests.support.helpers import wait_until
from wardwatch.agent.config import LinksSection, TargetSection
from wardwatch.agent.probes.links import (
    dns,
    icmp,
    icmp_windows,
    netinfo_linux,
    netinfo_windows,
    rounds,
)
from wardwatch.agent.probes.links.netstats import RoundStats, summarize
from wardwatch.agent.probes.links.probe import LinkProbe
from wardwatch.contract.wire import LinkFacts
from wardwatch.rules import link_quality

# --------------------------------------------------------------------------------------------
# Codecs and grading


@pytest.mark.unit
def test_icmp_echo_request_checksums_to_zero_and_a_reply_parses() -> None:
    packet = icmp.echo_request(0x1234, 7, b"wardwatch-payload")
    assert icmp.checksum(packet) == 0  # a correct checksum sums to zero
    reply = bytes([icmp.ECHO_REPLY]) + packet[1:]
    assert icmp.parse_reply(reply, with_ip_header=False) == (0x1234, 7, b"wardwatch-payload")
    ip_header = bytes([0x45]) + bytes(19)
    assert icmp.parse_reply(ip_header + reply, with_ip_header=True) == (
        0x1234,
        7,
        b"wardwatch-payload",
    )
    assert icmp.parse_reply(packet, with_ip_header=False) is None  # a request, not a reply


@pytest.mark.unit
@given(st.binary(max_size=80), st.booleans())
def test_icmp_parser_never_raises(data: bytes, with_ip: bool) -> None:
    icmp.parse_reply(data, with_ip_header=with_ip)


@pytest.mark.unit
def test_dns_query_is_well_formed_and_answers_parse() -> None:
    query = dns.query(0xBEEF, "motcua.daklak.gov.vn", dns.TYPE_A)
    assert query[:2] == b"\xbe\xef" and query[2:4] == b"\x01\x00"
    assert b"\x06motcua\x06daklak\x03gov\x02vn\x00" in query
    assert dns.query(1, ".", dns.TYPE_NS)[12:] == b"\x00\x00\x02\x00\x01"
    answer = b"\xbe\xef\x81\x83" + bytes(8)  # response, NXDOMAIN
    assert dns.parse_response(answer) == (0xBEEF, 3)
    assert dns.parse_response(query) is None  # a query is not a response
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        dns.encode_name("a" * 64 + ".vn")


@pytest.mark.unit
@given(st.binary(max_size=40))
def test_dns_parser_never_raises(data: bytes) -> None:
    dns.parse_response(data)


def _stats(rtt: float, jitter: float, loss: float) -> RoundStats:
    return RoundStats(
        sent=100, received=100, loss_pct=loss, rtt_avg_ms=rtt, jitter_ms=jitter, rtt_min_ms=rtt
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("rtt", "jitter", "loss", "state"),
    [
        (300.0, 30.0, 0.99, "good"),  # every limit of good, just inside
        (300.1, 30.0, 0.0, "degraded"),
        (20.0, 30.1, 0.0, "degraded"),
        (20.0, 1.0, 1.0, "degraded"),  # loss must stay below 1 % to be good
        (800.0, 50.0, 5.0, "degraded"),  # every limit of degraded, just inside
        (800.1, 1.0, 0.0, "bad"),
        (20.0, 50.1, 0.0, "bad"),
        (20.0, 1.0, 5.01, "bad"),
    ],
)
def test_grade_boundaries_follow_the_design_table(
    rtt: float, jitter: float, loss: float, state: str
) -> None:
    assert link_quality.grade(_stats(rtt, jitter, loss)) == state


@pytest.mark.unit
def test_no_reply_at_all_is_bad() -> None:
    assert link_quality.grade(summarize([None] * 10)) == "bad"


# --------------------------------------------------------------------------------------------
# Discovery, on recorded data

PROC_NET_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0100000A\t0003\t0\t0\t600\t00000000\t0\t0\t0
"""


@pytest.mark.unit
def test_linux_gateways_and_dns_servers_from_recorded_files() -> None:
    assert netinfo_linux.parse_routes(PROC_NET_ROUTE) == ["192.168.1.1", "10.0.0.1"]
    assert netinfo_linux.parse_routes("Iface\tDestination\n") == []
    resolv = "# generated\nsearch daklak.gov.vn\nnameserver 10.10.0.53\nnameserver bad\n" + (
        "nameserver fe80::1%eth0\nnameserver 10.10.0.53\n"
    )
    assert netinfo_linux.parse_resolv_conf(resolv) == ["10.10.0.53", "fe80::1"]


@pytest.mark.unit
def test_windows_gateways_and_dns_servers_from_recorded_registry_values() -> None:
    # As read from HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces\\{...}
    interfaces = [
        {"DhcpDefaultGateway": ["192.168.1.1"], "DhcpNameServer": "192.168.1.1 8.8.8.8"},
        {"DefaultGateway": [""], "NameServer": "", "DhcpNameServer": ""},  # a disconnected NIC
        {"DefaultGateway": ["10.1.2.1"], "NameServer": "10.1.0.53,10.1.0.54"},  # static
    ]
    assert netinfo_windows.pick(interfaces, "DefaultGateway", "DhcpDefaultGateway") == [
        "192.168.1.1",
        "10.1.2.1",
    ]
    assert netinfo_windows.pick(interfaces, "NameServer", "DhcpNameServer") == [
        "192.168.1.1",
        "8.8.8.8",
        "10.1.0.53",
        "10.1.0.54",
    ]


@pytest.mark.unit
def test_a_stuck_target_cannot_hold_the_round_past_its_deadline() -> None:
    settings = LinksSection(count=3, spread_s=0.1, timeout_s=0.1, deadline_s=0.5)
    quick = TargetSection(name="quick", host="127.0.0.1", kind="hub")
    stuck = TargetSection(name="stuck", host="127.0.0.2", kind="hub")

    def measure(target: TargetSection, _: LinksSection) -> LinkFacts:
        if target.name == "stuck":
            time.sleep(5)
        return rounds._facts(target, target.host, "icmp", [1.0, 1.0, 1.0])

    started = time.monotonic()
    results = rounds.run_round([quick, stuck], settings, measure_one=measure)
    assert time.monotonic() - started < 1.5
    assert [(r.target, r.received) for r in results] == [("quick", 3), ("stuck", 0)]
    assert "deadline" in results[1].error and results[1].loss_pct == 100.0


# --------------------------------------------------------------------------------------------
# Over real packets


def _need(binary: str, package: str) -> None:
    if shutil.which(binary) is None:
        pytest.fail(f"{binary} is missing: apt-get install -y {package} (or: make deps)")


@pytest.mark.netns
@pytest.mark.process
@pytest.mark.parametrize("injected", [0, 25])
def test_loss_matches_what_nftables_drops_and_fping(injected: int) -> None:
    _need("nft", "nftables")
    _need("fping", "fping")
    count = 400
    with netlab.veth_lab() as lab:
        lab.drop_share(injected)
        (ours,) = netlab.probe(lab, netlab.hub_config(count, 4.0)).results
        theirs = netlab.fping(lab, count, 10)
    # 400 packets: the binomial spread of the measured share is 2.2 points at 25 %, so 9 points
    # is four spreads for each tool, and 12 four spreads of their difference (a false failure
    # once in some ten thousand runs).
    assert ours["method"] == "icmp" and ours["sent"] == count
    assert ours["loss_pct"] == pytest.approx(injected, abs=9)
    assert theirs.loss_pct == pytest.approx(injected, abs=9)
    assert ours["loss_pct"] == pytest.approx(theirs.loss_pct, abs=12)
    assert ours["rtt_avg_ms"] < 5 and theirs.rtt_avg_ms is not None and theirs.rtt_avg_ms < 5


@pytest.mark.netns
@pytest.mark.process
@pytest.mark.parametrize(("delay", "jitter"), [(40.0, 0.0), (40.0, 10.0)])
def test_rtt_and_jitter_match_the_impaired_link_and_fping(delay: float, jitter: float) -> None:
    _need("fping", "fping")
    count = 40
    with netlab.impaired_lab(delay, jitter) as lab:
        # Packets 100 ms apart, more than the slowest round trip: no reordering, which fping
        # would count as loss.
        (ours,) = netlab.probe(lab, netlab.hub_config(count, 0.1 * (count - 1))).results
        theirs = netlab.fping(lab, count, 100)
    # Uniform delay in [d - j, d + j]: consecutive differences average 2j/3.
    expected_jitter = 2 * jitter / 3
    assert (ours["loss_pct"], theirs.loss_pct) == (0.0, 0.0)
    for figures in (
        ours,
        {
            "rtt_avg_ms": theirs.rtt_avg_ms,
            "jitter_ms": theirs.jitter_ms,
            "rtt_min_ms": theirs.rtt_min_ms,
        },
    ):
        assert figures["rtt_avg_ms"] == pytest.approx(delay, abs=4)  # 4.4 sd of a 40-sample mean
        minimum = figures["rtt_min_ms"]
        assert minimum is not None and minimum >= delay - jitter - 0.5
        assert figures["jitter_ms"] == pytest.approx(expected_jitter, abs=3)
    assert ours["rtt_avg_ms"] == pytest.approx(theirs.rtt_avg_ms, abs=5)  # two samples
    assert ours["jitter_ms"] == pytest.approx(theirs.jitter_ms, abs=4)
    assert ours["state"] == "good"


@pytest.mark.netns
@pytest.mark.process
def test_every_failure_is_a_clear_result_within_the_deadline() -> None:
    absent = "10.77.0.99"  # on the link, but nobody answers ARP
    config = (
        "[links]\ncount = 3\nspread_s = 0.4\ntimeout_s = 0.5\ndeadline_s = 8.0\n"
        "gateway = true\ndns = false\n"
        f'[[target]]\nname = "absent"\nhost = "{absent}"\nkind = "hub"\n'
        '[[target]]\nname = "no-such-name"\nhost = "no-such-host.invalid"\nkind = "mcu"\n'
        f'[[target]]\nname = "codec"\nhost = "{netlab.TARGET_ADDRESS}"\nkind = "vc-endpoint"\n'
        f'[[target]]\nname = "no-dns"\nhost = "{netlab.TARGET_ADDRESS}"\nkind = "dns"\n'
    )
    with netlab.veth_lab() as lab:
        probed = netlab.probe(lab, config)
        as_user = netlab.probe(lab, netlab.hub_config(3, 0.4), as_user=True).results
    results, took = probed.results, probed.wall_s
    by_name = {r["target"]: r for r in results}
    assert took < 8 + 5  # the round's deadline, plus the interpreter's start
    assert by_name["absent"]["loss_pct"] == 100.0 and by_name["absent"]["state"] == "bad"
    assert "cannot resolve no-such-host.invalid" in by_name["no-such-name"]["error"]
    codec = by_name["codec"]
    assert codec["state"] == "good" and codec["method"] == "icmp"
    assert codec["ports"] == {"1720": False, "5060": False, "5061": False, "443": False}
    assert by_name["no-dns"]["loss_pct"] == 100.0
    assert "refused" in by_name["no-dns"]["error"].lower()
    assert by_name["gateway"]["error"] == "no default gateway found on this machine"
    # Without ICMP rights: TCP connect times (the target's kernel refuses port 443 at once).
    (hub,) = as_user
    assert (hub["method"], hub["received"], hub["state"]) == ("tcp", 3, "good")


@pytest.mark.unit
def test_windows_icmp_reply_buffer_as_recorded() -> None:
    # The first bytes of an ICMP_ECHO_REPLY (x64) as IcmpSendEcho fills them: the address in
    # network order, IP_SUCCESS, 12 ms, 56 bytes of data; then a timed-out one.
    ok = bytes.fromhex("0a01021e000000000c00000038000000") + bytes(24)
    assert icmp_windows.parse_reply(ok) == (0, 12, "10.1.2.30")
    lost = bytes.fromhex("00000000022b00000000000000000000") + bytes(24)
    status, _, _ = icmp_windows.parse_reply(lost)
    assert icmp_windows.status_text(status) == "request timed out"
    with pytest.raises(ValueError, match="at least 14 bytes"):
        icmp_windows.parse_reply(b"\0" * 8)


# --------------------------------------------------------------------------------------------
# Real servers on loopback: an HTTP server and a DNS responder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # no access log in the test output
        pass


class _Dns(socketserver.BaseRequestHandler):
    """Answers every query with its id, NXDOMAIN for names under .invalid, else NOERROR."""

    def handle(self) -> None:
        data, sock = self.request
        rcode = 3 if b"\x07invalid\x00" in data else 0
        flags = (0x8180 | rcode).to_bytes(2, "big")
        sock.sendto(data[:2] + flags + data[4:], self.client_address)


@pytest.mark.unit
def test_http_and_dns_rounds_against_real_servers_on_loopback() -> None:
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    resolver = socketserver.ThreadingUDPServer(("127.0.0.1", 0), _Dns)
    for running in (web, resolver):
        threading.Thread(target=running.serve_forever, daemon=True).start()
    try:
        settings = LinksSection(count=4, spread_s=0.3, timeout_s=1.0, gateway=False, dns=False)
        web_port, dns_port = web.server_address[1], resolver.server_address[1]
        portal = TargetSection(
            name="mot-cua",
            host="127.0.0.1",
            kind="service",
            url=f"http://127.0.0.1:{web_port}/",
        )
        missing = TargetSection(
            name="mot-cua-404",
            host="127.0.0.1",
            kind="service",
            url=f"http://127.0.0.1:{web_port}/no-such-page",
        )
        server = TargetSection(name="dns", host="127.0.0.1", kind="dns", ports=[dns_port])
        nxdomain = LinksSection(count=2, spread_s=0.1, dns_query="no-such.invalid")
        got = rounds.run_round([portal, missing, server], settings)
        wrong_name = rounds.measure(server, nxdomain)
    finally:
        web.shutdown()
        resolver.shutdown()
    page, absent, dns_round = got
    assert (page.method, page.sent, page.received, page.http_status) == ("http", 3, 3, 200)
    assert page.error == "" and page.rtt_avg_ms is not None and page.rtt_avg_ms < 500
    assert (absent.http_status, absent.received) == (404, 3)  # the server answered
    assert (dns_round.method, dns_round.received, dns_round.error) == ("dns", 4, "")
    assert (wrong_name.received, wrong_name.error) == (2, "server answered NXDOMAIN")


@pytest.mark.unit
def test_link_probe_never_blocks_a_report_and_hands_each_round_out_once() -> None:
    rounds_run: list[int] = []
    release = threading.Event()

    def slow_round(settings: LinksSection, targets: object) -> list[LinkFacts]:
        release.wait(10)
        rounds_run.append(1)
        hub = TargetSection(name="hub", host="127.0.0.1", kind="hub")
        return [rounds._facts(hub, "127.0.0.1", "icmp", [1.0])]

    probe = LinkProbe([], LinksSection(), interval_s=3600, round_=slow_round)
    started = time.monotonic()
    assert probe.collect() == []  # the first round is still running: no wait
    assert time.monotonic() - started < 0.5
    release.set()
    (first,) = wait_until(probe.collect, 10, "the first round's results")
    assert isinstance(first, LinkFacts)
    assert first.target == "hub" and rounds_run == [1]
    assert probe.collect() == []  # already reported; the next round is an hour away
    probe.stop()
