"""A small inspection report of known content (``model.Inspection``), for the renderers' tests:
three wards, a Vietnamese ward name with every diacritic class, machines of each verdict, a
plan with an unpriced machine, links of each quality, a heat map with a day without rounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wardwatch.collector.inspection.model import (
    AgeBucket,
    HeatCell,
    Inspection,
    Language,
    LinkShare,
    MachineRow,
    PlanRow,
    PlanWard,
    Query,
    VerdictCounts,
    WardSummary,
    WorstLink,
)

END = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
WARDS = ("Phường Tân An", "Xã Đức Hòa Thượng", "Phường 7")


def _machine(site: str, agent: str, lifecycle: str, rank: int, **extra: object) -> MachineRow:
    values: dict[str, object] = dict(
        site=site,
        agent=agent,
        role="office-pc",
        device_class="desktop",
        manufacturer="Dell Inc.",
        model="OptiPlex 3010",
        serial=f"SN-{agent}",
        age_years=13.9,
        since="2012-01-01",
        age_source="cpu",
        age_confidence="medium",
        made_earliest=2012,
        made_latest=2013,
        evidence="BIOS date 2018-05-14 is long after the CPU: the BIOS was likely updated",
        lifecycle=lifecycle,
        days_left=-3980,
        end_date="2017-01-01",
        os_name="Windows 7",
        os_support="overdue",
        os_eol_date="2020-01-14",
        last_seen=END - timedelta(minutes=1),
        availability_pct=99.5,
        rank=rank,
        vc=False,
    )
    values.update(extra)
    return MachineRow(**values)  # type: ignore[arg-type]


def sample(language: Language = "vi") -> Inspection:
    """The report: 6 machines in 3 wards, 3 to replace (one a VC machine, one unpriced)."""
    tan_an, duc_hoa, p7 = WARDS
    machines = [
        _machine(tan_an, "ta-pc01", "overdue", 3),
        _machine(duc_hoa, "dh-vc01", "overdue", 3, role="vc-endpoint", vc=True, days_left=-200),
        _machine(
            p7, "p7-pc02", "due", 2, days_left=90, device_class="server", os_support="ok",
            os_name="Windows 10 22H2", availability_pct=50.0,
        ),
        _machine(tan_an, "ta-pc02", "unknown", 1, age_years=None, since="", days_left=None,
                 os_support="ok", os_name="Windows 11 24H2", made_earliest=None, made_latest=None),
        _machine(tan_an, "ta-pc03", "ok", 0, age_years=1.2, days_left=1400, os_support="ok",
                 os_name="Windows 11 24H2"),
        _machine(p7, "p7-pc01", "ok", 0, age_years=2.5, days_left=900, os_support="ok",
                 os_name="Windows 11 24H2"),
    ]  # fmt: skip
    plan = [
        PlanRow(priority=1, site=duc_hoa, agent="dh-vc01", device_class="desktop",
                manufacturer="Dell Inc.", model="OptiPlex 3010", serial="SN-dh-vc01",
                lifecycle="overdue", days_left=-200, end_date="2026-05-13", vc=True,
                unit_price_vnd=15_000_000),
        PlanRow(priority=2, site=tan_an, agent="ta-pc01", device_class="desktop",
                manufacturer="Dell Inc.", model="OptiPlex 3010", serial="SN-ta-pc01",
                lifecycle="overdue", days_left=-3980, end_date="2017-01-01", vc=False,
                unit_price_vnd=15_000_000),
        PlanRow(priority=3, site=p7, agent="p7-pc02", device_class="server",
                manufacturer="Dell Inc.", model="OptiPlex 3010", serial="SN-p7-pc02",
                lifecycle="due", days_left=90, end_date="2027-02-27", vc=False,
                unit_price_vnd=None),
    ]  # fmt: skip

    def links(good: float, degraded: float, bad: float, hours: int) -> list[LinkShare]:
        return [
            LinkShare(kind=kind, rounds=1440, good_pct=good, degraded_pct=degraded,
                      bad_pct=bad, bad_hours=hours)
            for kind in ("hub", "mcu", "internet")
        ]  # fmt: skip

    wards = [
        WardSummary(site=tan_an, machines=3, hardware=VerdictCounts(overdue=1, ok=1, unknown=1),
                    os_unsupported=1, availability_pct=99.5, links=links(100.0, 0.0, 0.0, 0)),
        WardSummary(site=duc_hoa, machines=1, hardware=VerdictCounts(overdue=1),
                    os_unsupported=1, availability_pct=99.5, links=links(50.0, 25.0, 25.0, 180)),
        WardSummary(site=p7, machines=2, hardware=VerdictCounts(due=1, ok=1),
                    os_unsupported=0, availability_pct=74.75, links=links(90.0, 10.0, 0.0, 0)),
    ]  # fmt: skip
    total = WardSummary(
        site="", total=True, machines=6, hardware=VerdictCounts(overdue=2, due=1, ok=2, unknown=1),
        os_unsupported=2, availability_pct=90.5, links=links(80.0, 11.67, 8.33, 180),
    )  # fmt: skip
    days = [END.date() - timedelta(days=d) for d in range(7, 0, -1)]
    heat = [
        HeatCell(site=site, day=day, good_pct=None if (site, i) == (p7, 3) else 100.0 - 6 * w * i,
                 bad_pct=None if (site, i) == (p7, 3) else 3.0 * w * i)
        for w, site in enumerate(WARDS)
        for i, day in enumerate(days)
    ]  # fmt: skip
    return Inspection(
        city="UBND Thành phố Tân An",
        site="",
        start=END - timedelta(days=7),
        end=END,
        days=7,
        language=language,
        policy="vn-tt23-2023 (Circulars 45/2018/TT-BTC and 23/2023/TT-BTC)",
        made_at=END + timedelta(hours=8),
        horizon_months=12,
        wards=wards,
        total=total,
        machines=machines,
        plan=plan,
        plan_wards=[
            PlanWard(site=duc_hoa, machines=1, priced=1, cost_vnd=15_000_000),
            PlanWard(site=tan_an, machines=1, priced=1, cost_vnd=15_000_000),
            PlanWard(site=p7, machines=1, priced=0, cost_vnd=0),
        ],
        plan_total_vnd=30_000_000,
        plan_unpriced=1,
        prices_are_examples=True,
        worst_links=[
            WorstLink(
                site=duc_hoa,
                agent="dh-vc01",
                target="mcu-tinh",
                kind="mcu",
                rounds=1440,
                bad_pct=25.0,
                degraded_pct=25.0,
                loss_pct=4.2,
                rtt_avg_ms=410.5,
                jitter_ms=38.0,
            ),
            WorstLink(
                site=p7,
                agent="p7-pc01",
                target="hub",
                kind="hub",
                rounds=1440,
                bad_pct=0.0,
                degraded_pct=10.0,
                loss_pct=0.5,
                rtt_avg_ms=120.0,
                jitter_ms=12.5,
            ),
        ],
        heat=heat,
        ages=[
            AgeBucket(low=0, high=2, count=1),
            AgeBucket(low=2, high=4, count=1),
            AgeBucket(low=4, high=6, count=0),
            AgeBucket(low=6, high=8, count=0),
            AgeBucket(low=8, high=10, count=0),
            AgeBucket(low=10, high=None, count=3),
        ],
        queries=[
            Query(
                key="machines",
                purpose="each machine's latest hardware verdict",
                influxql='SELECT last("rank") FROM "hardware" WHERE time >= now() - 7d '
                'GROUP BY "agent", "site"',
            ),
            Query(
                key="days",
                purpose="link rounds by ward and kind",
                influxql='SELECT count("rank") FROM "link" WHERE time >= now() - 7d '
                'GROUP BY "site", "kind"',
            ),
        ],
    )
