"""The shipped Grafana dashboards as data for tests: their panels, queries and variables.

``panel_queries`` lists every PromQL expression a dashboard sends, ``substitute`` fills in the
template variables the way Grafana would, so a test can run the queries against a real
Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .procs import ROOT

DASHBOARDS = ROOT / "grafana" / "dashboards"
# Grafana's $name and ${name}; $1 (a label_replace reference) is not a variable and stays.
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|([A-Za-z_]\w*))")
# Metrics the dashboards and rules use that the exporter announces but may not export yet (the
# agreed metrics contract of issues 13 and 14): a query over them may come back empty until it
# does. Once exporter/metrics.py exports one, it counts as exported everywhere.
ANNOUNCED = frozenset(
    {
        "readiness_decision_threshold_ratio",
        "readiness_decision_last_change_timestamp_seconds",
        "readiness_exporter_web_info",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
    }
)
# Panels that may be empty for an item: only attestation and TLS probes report an expiry, only
# items with an accepted risk have one.
MAY_BE_EMPTY_FOR_SOME_ITEMS = frozenset(
    {("readiness-item", "Expiry"), ("readiness-item", "Risk accepted until")}
)
METRIC = re.compile(r"\b((?:readiness|process)_[a-z_]+|up|scrape_[a-z_]+)\b")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # the dashboard's uid
    panel: str  # the panel's title
    ref: str  # the target's refId
    expr: str
    instant: bool  # an instant query (stat, table) rather than a range (graphs)

    @property
    def where(self) -> str:
        return f"{self.dashboard}: panel {self.panel!r} target {self.ref}"


def load_dashboards() -> dict[Path, dict[str, Any]]:
    """Every dashboard JSON under grafana/dashboards, by path."""
    return {path: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """The PromQL of every target of every panel (rows carry none)."""
    return [
        PanelQuery(
            dashboard["uid"],
            panel["title"],
            target["refId"],
            target["expr"],
            bool(target.get("instant")) and not target.get("range"),
        )
        for panel in panels(dashboard)
        if panel.get("type") != "row"
        for target in panel.get("targets", [])
    ]


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (ours, process_*, up, scrape_*)."""
    return set(METRIC.findall(expr))


def variable_queries(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """The query of each query-type template variable, by variable name."""
    out = {}
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]
            out[var["name"]] = query["query"] if isinstance(query, Mapping) else query
    return out


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with ``$name`` and ``${name}`` replaced; raises KeyError naming an unknown one."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"template variable ${name} has no value for this test")
        return values[name]

    return _VARIABLE.sub(one, expr)


_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<match>.+),\s*)?(?P<label>\w+)\)$", re.S)


def parse_label_values(query: str) -> tuple[str | None, str]:
    """``label_values(selector, label)`` as (selector or None, label); ValueError otherwise."""
    m = _LABEL_VALUES.match(query.strip())
    if m is None:
        raise ValueError(f"not a label_values(...) query: {query!r}")
    return m.group("match"), m.group("label")
