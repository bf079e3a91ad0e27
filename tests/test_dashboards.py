"""Structure of the shipped Grafana dashboards and their provisioning files.

What Grafana itself would accept is not checked here (Grafana does not run on this machine);
the end-to-end test runs every panel's query against a real Prometheus.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from support.dashboards import (
    DASHBOARDS,
    load_dashboards,
    panel_queries,
    panels,
    parse_label_values,
    variable_queries,
)
from support.procs import ROOT

EXPECTED = {"readiness-overview", "readiness-item", "readiness-exporter-health"}
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
METRIC = re.compile(r"\b(readiness_[a-z_]+|up|scrape_[a-z_]+)\b")
EXPORTED = ROOT / "exporter" / "metrics.py"


@pytest.fixture(scope="module")
def dashboards():
    found = load_dashboards()
    assert found, f"no dashboards under {DASHBOARDS}"
    return found


def test_the_three_dashboards_exist_with_unique_stable_uids(dashboards):
    uids = [d.get("uid") for d in dashboards.values()]
    assert len(uids) == len(set(uids)), f"duplicate uids: {uids}"
    assert set(uids) == EXPECTED
    titles = [d["title"] for d in dashboards.values()]
    assert len(titles) == len(set(titles)), f"duplicate titles: {titles}"


def test_datasource_job_and_instance_variables(dashboards):
    for path, d in dashboards.items():
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert variables.get("datasource", {}).get("type") == "datasource", path.name
        assert variables["datasource"]["query"] == "prometheus", path.name
        for name in ("job", "instance"):
            assert variables.get(name, {}).get("type") == "query", (
                f"{path.name}: no ${name} variable"
            )
            assert variables[name]["datasource"] == DATASOURCE_REF, f"{path.name}: ${name}"
    item = next(d for d in dashboards.values() if d["uid"] == "readiness-item")
    assert "item" in variable_queries(item)


def test_variable_queries_are_label_values_of_exported_metrics(dashboards):
    exported = EXPORTED.read_text()
    for path, d in dashboards.items():
        for name, query in variable_queries(d).items():
            selector, _label = parse_label_values(query)
            metric = (selector or "").split("{")[0]
            assert metric and f'"{metric}"' in exported, f"{path.name}: ${name} uses {metric!r}"


def test_every_panel_has_the_datasource_variable_and_targets(dashboards):
    for path, d in dashboards.items():
        for panel in panels(d):
            where = f"{path.name}: panel {panel.get('title')!r}"
            if panel["type"] == "row":
                continue
            assert panel.get("datasource") == DATASOURCE_REF, where
            assert panel.get("targets"), f"{where} has no targets"
            for target in panel["targets"]:
                assert target.get("datasource") == DATASOURCE_REF, (
                    f"{where} target {target.get('refId')}"
                )
                assert target.get("expr", "").strip(), (
                    f"{where} target {target.get('refId')} has no expr"
                )
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), f"{where}: duplicate refIds {refs}"
            assert panel.get("description"), f"{where} has no description"


def test_no_hard_coded_datasource_uid_or_import_placeholder(dashboards):
    for path in dashboards:
        text = path.read_text()
        assert "${DS_" not in text and "__inputs" not in text, path.name
        for uid in re.findall(r'"uid":\s*"([^"]*)"', text):
            assert uid == "${datasource}" or uid in EXPECTED, f"{path.name}: hard-coded uid {uid!r}"


def test_panels_fit_the_grid_without_overlap(dashboards):
    for path, d in dashboards.items():
        ids = [p["id"] for p in panels(d)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        taken: set[tuple[int, int]] = set()
        for panel in panels(d):
            g = panel["gridPos"]
            assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, (
                f"{path.name}: {panel['title']}"
            )
            cells = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not cells & taken, f"{path.name}: panel {panel['title']!r} overlaps another"
            taken |= cells


def test_queries_use_only_exported_metrics_and_select_job_and_instance(dashboards):
    exported = EXPORTED.read_text()
    for d in dashboards.values():
        for q in panel_queries(d):
            names = set(METRIC.findall(q.expr))
            assert names, f"{q.where}: no metric in {q.expr!r}"
            for name in names:
                base = re.sub(r"_total$", "", name)
                if name.startswith("readiness_"):
                    assert f'"{base}"' in exported, f"{q.where}: {name} is not exported"
            # Every selector is scoped to the chosen exporter, so exporters sharing a
            # Prometheus do not mix.
            for selector in re.findall(r"\b\w+\{([^}]*)\}", q.expr):
                assert 'job="$job"' in selector and 'instance="$instance"' in selector, (
                    f"{q.where}: selector {{{selector}}} not scoped to $job/$instance"
                )


def test_item_dashboard_queries_select_the_item(dashboards):
    item = next(d for d in dashboards.values() if d["uid"] == "readiness-item")
    for q in panel_queries(item):
        assert 'item="$item"' in q.expr, q.where


def test_overview_draws_the_decision_thresholds(dashboards):
    overview = next(d for d in dashboards.values() if d["uid"] == "readiness-overview")
    by_title = {p["title"]: p for p in panels(overview)}
    for title in ("Total score", "Score history"):
        steps = by_title[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps] == [None, 0.9, 0.95], title
    assert (
        by_title["Score history"]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"]
        != "off"
    )


def test_critical_items_link_to_their_detail_dashboard_and_the_exporters_item_page(dashboards):
    from aiohttp import web

    from exporter.web.pages import add_routes

    overview = next(d for d in dashboards.values() if d["uid"] == "readiness-overview")
    table = {p["title"]: p for p in panels(overview)}["Critical items not PASS"]
    urls = [
        link["url"]
        for o in table["fieldConfig"]["overrides"]
        if o["matcher"]["options"] == "item"
        for prop in o["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert urls[0].startswith("/d/readiness-item/") and "var-item=${__value.raw}" in urls[0]
    # The summary and evidence are not metrics: the exporter's own item page shows them.
    assert urls[1] == "http://${instance}/items/${__value.raw}"
    app = web.Application()
    add_routes(app)
    assert "/items/{id}" in {r.resource.canonical for r in app.router.routes() if r.method == "GET"}


def test_provisioning_files():
    providers = yaml.safe_load(
        (ROOT / "grafana/provisioning/dashboards/readiness.yaml").read_text()
    )
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    sources = yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    assert sources["apiVersion"] == 1
    assert [s["type"] for s in sources["datasources"]] == ["prometheus"]


def test_dashboards_are_stored_formatted():
    """Two-space JSON as Grafana exports it, so diffs of edits stay readable."""
    for path in sorted(Path(DASHBOARDS).glob("*.json")):
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", path.name
