"""Link probes over real packets: what was injected, what wardwatch measured, what fping
measured on the same path in the same run; and what one probe round costs.

Uses the network lab of the tests (tests/netlab.py: namespaces, nftables drops, a TUN relay
for delay and jitter), so it needs root.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.support import netlab
from wardwatch.agent.probes.links.netstats import RoundStats

COUNT = 100
LOSS_COUNT = 200
"""Loss is a share: 200 packets keep its binomial spread near 3 points at 30 %."""


@dataclass(frozen=True)
class Case:
    """One injected impairment and the two tools' figures for it."""

    name: str
    loss_pct: float
    delay_ms: float
    jitter_ms: float  # the expected mean |difference|: 2j/3 for a uniform +-j
    ours: RoundStats
    fping: RoundStats


@dataclass(frozen=True)
class Cost:
    """One round of ``wardwatch-agent probe``: CPU of the whole process and on the wire."""

    targets: int
    packets: int  # requests and replies
    wire_bytes: int  # IP datagrams, both ways
    cpu_ms: float  # user + system, interpreter start included
    baseline_cpu_ms: float  # the same process with no target: the interpreter and imports


def _stats(probed: netlab.Probed) -> RoundStats:
    (result,) = probed.results
    return RoundStats(**{k: result[k] for k in RoundStats.__struct_fields__})


def _config(count: int, spread_s: float, targets: int = 1) -> str:
    return netlab.hub_config(count, spread_s, targets=targets, deadline_s=60.0)


def measure() -> tuple[list[Case], Cost]:
    """Every case, then the cost of a default round (10 packets) to 5 targets."""
    cases: list[Case] = []
    for loss in (0, 10, 30):
        with netlab.veth_lab() as lab:
            lab.drop_share(loss)
            ours = _stats(netlab.probe(lab, _config(LOSS_COUNT, LOSS_COUNT * 0.01)))
            theirs = netlab.fping(lab, LOSS_COUNT, 10)
            cases.append(Case(f"veth, {loss} % dropped", loss, 0, 0, ours, theirs))
    for delay, jitter in ((30.0, 0.0), (80.0, 5.0), (150.0, 20.0)):
        with netlab.impaired_lab(delay, jitter) as lab:
            gap = delay + jitter + 50  # no reordering: fping would count it as loss
            ours = _stats(netlab.probe(lab, _config(COUNT // 2, gap / 1000 * (COUNT // 2 - 1))))
            theirs = netlab.fping(lab, COUNT // 2, int(gap))
            name = f"TUN relay, {delay:g} +- {jitter:g} ms"
            cases.append(Case(name, 0, delay, 2 * jitter / 3, ours, theirs))
    with netlab.veth_lab() as lab:
        cpu = netlab.probe(lab, _config(10, 2.0, targets=5)).cpu_ms
        baseline = netlab.probe(lab, _config(10, 2.0, targets=0)).cpu_ms
    packets = 5 * 10 * 2
    cost = Cost(5, packets, packets * (20 + 8 + 56), cpu, baseline)
    return cases, cost


def render(cases: list[Case], cost: Cost) -> list[str]:
    """The accuracy table and the cost line, as markdown."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        "| injected | loss % wardwatch / fping | RTT avg ms wardwatch / fping | RTT min ms "
        "wardwatch / fping | jitter ms expected / wardwatch / fping |",
        "|---|---|---|---|---|",
    ]
    for c in cases:
        lines.append(
            f"| {c.name} | {c.ours.loss_pct:g} / {c.fping.loss_pct:g} "
            f"| {ms(c.ours.rtt_avg_ms)} / {ms(c.fping.rtt_avg_ms)} "
            f"| {ms(c.ours.rtt_min_ms)} / {ms(c.fping.rtt_min_ms)} "
            f"| {c.jitter_ms:.2f} / {ms(c.ours.jitter_ms)} / {ms(c.fping.jitter_ms)} |"
        )
    lines += [
        "",
        f"One default round (10 echo requests to each of {cost.targets} targets, spread over "
        f"2 s): {cost.packets} packets, {cost.wire_bytes:,} bytes of IP on the wire; "
        f"`wardwatch-agent probe` used {cost.cpu_ms:.0f} ms of CPU, of which "
        f"{cost.baseline_cpu_ms:.0f} ms is starting the interpreter (the same command with no "
        f"target): {cost.cpu_ms - cost.baseline_cpu_ms:.0f} ms for the round itself.",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(render(*measure())))
