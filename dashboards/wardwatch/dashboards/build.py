"""The Grafana dashboards as code: four dashboards, in Vietnamese and English, from one builder.

Built with grafana-foundation-sdk (Grafana's typed builders); the SDK has no InfluxDB query
builder, so each InfluxQL query (``queries``) is wrapped as an ``UnknownDataquery``.
UIDs are stable (``ww-<dashboard>-<language>``) so a re-provisioned dashboard replaces itself.
``write()`` renders every file under ``dashboards/generated/<language>/``; the files are
committed and a test fails when they differ from what the builders make.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from grafana_foundation_sdk.builders import (
    barchart,
    common,
    dashboard,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model

from wardwatch.dashboards import queries as q
from wardwatch.dashboards.text import LANGUAGES, Language, text

GENERATED: Final = Path(__file__).with_name("generated")
"""The generated files as installed (``dashboards push`` reads them here)."""
GENERATED_IN_REPO: Final = Path("dashboards/wardwatch/dashboards/generated")
"""Where they are committed, from the repository's top level (``dashboards build`` writes)."""
DATASOURCE_UID: Final = "wardwatch-influxdb"
"""The InfluxDB data source, as deploy/grafana provisions it."""
DATASOURCE: Final = model.DataSourceRef(type_val="influxdb", uid=DATASOURCE_UID)

Panel = cogbuilder.Builder[model.Panel]


class InfluxQL(cogbuilder.Builder[cogvariants.Dataquery]):
    """A raw InfluxQL target (Grafana's InfluxDB data source in InfluxQL mode)."""

    def __init__(self, query: q.Query, ref_id: str = "A") -> None:
        self.query = query
        self.ref_id = ref_id

    def build(self) -> cogvariants.Dataquery:
        """The target as Grafana stores it."""
        return UnknownDataquery(
            {
                "refId": self.ref_id,
                "datasource": {"type": "influxdb", "uid": DATASOURCE_UID},
                "rawQuery": True,
                "query": self.query.text,
                "resultFormat": self.query.format,
            }
        )


Shown = tuple[tuple[str, str, str], ...]
"""A column's stored values, each with the word (a ``text`` key) and colour it is shown in."""

LIFECYCLE: Final[Shown] = (
    ("ok", "ok", "green"),
    ("due", "due", "orange"),
    ("overdue", "overdue", "red"),
    ("unknown", "unknown", "text"),
)
LINK_STATES: Final[Shown] = (
    ("good", "good", "green"),
    ("degraded", "degraded", "orange"),
    ("bad", "bad", "red"),
)
LINK_RANKS: Final[Shown] = (
    ("0", "good", "green"),
    ("1", "degraded", "orange"),
    ("2", "bad", "red"),
)


def _mapping(shown: Shown, language: Language) -> list[model.ValueMapping]:
    """Verdicts shown in words and colours."""
    return [
        model.ValueMap(
            options={
                value: model.ValueMappingResult(text=text(word, language), color=colour, index=n)
                for n, (value, word, colour) in enumerate(shown)
            }
        )
    ]


def _stat(title: str, query: q.Query, unit: str, red_from: float) -> stat.Panel:
    steps = [
        model.Threshold(value=None, color="green"),
        model.Threshold(value=red_from, color="red"),
    ]
    return (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(InfluxQL(query))
        .unit(unit)
        .thresholds(dashboard.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps))
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(4)
    )


def _table(title: str, query: q.Query, unit: str, mapped: Shown, lang: Language) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(InfluxQL(query))
        .unit(unit)
        .mappings(_mapping(mapped, lang) if mapped else [])
        .sort_by([common.TableSortByFieldState().display_name("rank").desc(True)])
        .height(10)
        .span(24)
    )


def _series(title: str, query: q.Query, unit: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(InfluxQL(query))
        .unit(unit)
        .height(8)
        .span(12)
    )


def _variable(name: str, query: str, language: Language) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(text(name, language))
        .datasource(DATASOURCE)
        .query(query)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


def _fleet_variables(board: dashboard.Dashboard, language: Language) -> dashboard.Dashboard:
    return board.with_variable(
        _variable("site", 'SHOW TAG VALUES FROM "host" WITH KEY = "site"', language)
    ).with_variable(_variable("role", 'SHOW TAG VALUES FROM "host" WITH KEY = "role"', language))


def _in(language: Language) -> Callable[[str], str]:
    """``text`` in one language."""
    return functools.partial(text, language=language)


def _base(key: str, language: Language) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(text(key, language))
        .uid(f"ww-{key}-{language}")
        .tags(["wardwatch", language])
        .time("now-24h", "now")
        .refresh("1m")
        .timezone("browser")
    )


def overview(language: Language) -> dashboard.Dashboard:
    """Per ward: machines reporting and offline, out-of-lifecycle counts, worst link."""
    t = _in(language)
    reporting = _stat(t("reporting"), q.REPORTING, "none", 1e12).time_from("3m")
    board = _fleet_variables(_base("overview", language), language)
    for panel in (
        reporting,
        _stat(t("said_offline"), q.SAID_OFFLINE, "none", 1),
        _stat(t("hardware_out"), q.HARDWARE_OUT, "none", 1),
        _stat(t("os_out"), q.OS_OUT, "none", 1),
        _stat(t("bad_links"), q.BAD_LINKS, "none", 1),
        _per_ward(t("per_ward"), language),
    ):
        board = board.with_panel(panel)
    return board


def _per_ward(title: str, language: Language) -> table.Panel:
    """One row per ward: machines seen, said offline, hardware and OS out of lifecycle, worst
    link; one query each, merged on the ward."""
    panel = _table(title, q.SITE_SEEN, "none", (), language).override_by_name(
        "worst_link",
        [model.DynamicConfigValue(id_val="mappings", value=_mapping(LINK_RANKS, language))],
    )
    for ref, query in zip(
        "BCDE",
        (q.SITE_OFFLINE, q.SITE_HARDWARE_OUT, q.SITE_OS_OUT, q.SITE_WORST_LINK),
        strict=True,
    ):
        panel = panel.with_target(InfluxQL(query, ref))
    return panel.with_transformation(model.DataTransformerConfig(id_val="merge", options={}))


def lifecycle(language: Language) -> dashboard.Dashboard:
    """Every machine's hardware verdict and evidence, OS support, age per ward."""
    t = _in(language)
    board = _fleet_variables(_base("lifecycle", language), language).time("now-30d", "now")
    board = board.with_panel(_table(t("machines"), q.MACHINES, "none", LIFECYCLE, language))
    board = board.with_panel(_table(t("systems"), q.SYSTEMS, "none", LIFECYCLE, language))
    age = (
        barchart.Panel()
        .title(t("age_by_site"))
        .datasource(DATASOURCE)
        .with_target(InfluxQL(q.AGE_BY_SITE))
        .unit("y")
        .height(8)
        .span(24)
    )
    return board.with_panel(age)


def links(language: Language) -> dashboard.Dashboard:
    """RTT, jitter and loss per ward and target over time, state timeline, VC ports."""
    t = _in(language)
    board = _fleet_variables(_base("links", language), language).with_variable(
        _variable("target", 'SHOW TAG VALUES FROM "link" WITH KEY = "target"', language)
    )
    state = (
        statetimeline.Panel()
        .title(t("link_state"))
        .datasource(DATASOURCE)
        .with_target(InfluxQL(q.LINK_STATE))
        .unit("none")
        .mappings(_mapping(LINK_RANKS, language))
        .height(8)
        .span(24)
    )
    for panel in (
        _table(t("links_now"), q.LINKS_NOW, "none", LINK_STATES, language),
        state,
        _series(t("rtt"), q.RTT, "ms"),
        _series(t("jitter"), q.JITTER, "ms"),
        _series(t("loss"), q.LOSS, "percent").span(24),
        _table(t("ports"), q.PORTS, "none", (), language),
    ):
        board = board.with_panel(panel)
    return board


def machine(language: Language) -> dashboard.Dashboard:
    """One machine: uptime and boots, resource use, inventory and verdicts, its links."""
    t = _in(language)
    board = _base("machine", language).with_variable(
        _variable("agent", 'SHOW TAG VALUES FROM "host" WITH KEY = "agent"', language)
        .multi(False)
        .include_all(False)
    )
    for panel in (
        _table(t("inventory"), q.INVENTORY, "none", LIFECYCLE, language),
        _series(t("uptime"), q.UPTIME, "s"),
        _table(t("reboots"), q.REBOOTS, "dateTimeAsIso", (), language).span(12),
        _series(t("cpu"), q.CPU, "percent").span(8),
        _series(t("memory"), q.MEMORY, "percent").span(8),
        _series(t("disk"), q.DISK, "percent").span(8),
        _table(t("machine_links"), q.MACHINE_LINKS, "none", LINK_STATES, language),
    ):
        board = board.with_panel(panel)
    return board


BUILDERS: Final[dict[str, Callable[[Language], dashboard.Dashboard]]] = {
    "overview": overview,
    "lifecycle": lifecycle,
    "links": links,
    "machine": machine,
}


def render(language: Language, name: str) -> str:
    """One dashboard's JSON, as committed."""
    built: Any = BUILDERS[name](language).build()
    return JSONEncoder(sort_keys=True, indent=2).encode(built) + "\n"


def files() -> dict[Path, str]:
    """Every generated file (relative to ``GENERATED``) and its text."""
    return {
        Path(language) / f"{name}.json": render(language, name)
        for language in LANGUAGES
        for name in BUILDERS
    }


def write(root: Path) -> list[Path]:
    """Regenerate every file under ``root``; return the paths whose content changed."""
    changed = []
    for relative, content in files().items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            changed.append(path)
    return changed


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a generated dashboard's JSON (rows' panels included)."""
    found: list[dict[str, Any]] = []
    for panel in board.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def load(path: Path) -> dict[str, Any]:
    """A generated dashboard, as JSON."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
