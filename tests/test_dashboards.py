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
    ANNOUNCED,
    DASHBOARDS,
    load_dashboards,
    metrics_in,
    panel_queries,
    panels,
    parse_label_values,
    variable_queries,
)
from support.procs import ROOT

EXPECTED = {"readiness-overview", "readiness-item", "readiness-exporter-health", "readiness-fleet"}
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
EXPORTED = ROOT / "exporter" / "metrics.py"


def exported(name: str, source: str) -> bool:
    """Exported by exporter/metrics.py, announced in the metrics contract, or Prometheus's own."""
    base = re.sub(r"_total$", "", name)
    return f'"{base}"' in source or name in ANNOUNCED or not name.startswith("readiness_")


def by_uid(dashboards, uid: str):
    return next(d for d in dashboards.values() if d["uid"] == uid)


def by_title(dashboard) -> dict:
    return {p["title"]: p for p in panels(dashboard)}


@pytest.fixture(scope="module")
def dashboards():
    found = load_dashboards()
    assert found, f"no dashboards under {DASHBOARDS}"
    return found


def test_the_four_dashboards_exist_with_unique_stable_uids(dashboards):
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
            # Several exporters at once, or all of them.
            assert variables[name]["multi"] and variables[name]["includeAll"], f"{path.name}"
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


def test_panel_titles_are_unique_per_dashboard(dashboards):
    for path, d in dashboards.items():
        titles = [p["title"] for p in panels(d)]
        assert len(titles) == len(set(titles)), f"{path.name}: {titles}"


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
    source = EXPORTED.read_text()
    for d in dashboards.values():
        for q in panel_queries(d):
            names = metrics_in(q.expr)
            assert names, f"{q.where}: no metric in {q.expr!r}"
            for name in names:
                assert exported(name, source), f"{q.where}: {name} is not exported"
            # Every selector is scoped to the chosen exporters, so exporters sharing a
            # Prometheus do not mix.
            for selector in re.findall(r"\b\w+\{([^}]*)\}", q.expr):
                assert 'job=~"$job"' in selector and 'instance=~"$instance"' in selector, (
                    f"{q.where}: selector {{{selector}}} not scoped to $job/$instance"
                )


def test_item_dashboard_queries_select_the_item(dashboards):
    item = next(d for d in dashboards.values() if d["uid"] == "readiness-item")
    for q in panel_queries(item):
        assert 'item="$item"' in q.expr, q.where


def test_thresholds_come_from_the_exporter(dashboards):
    """The GO and caution lines are the exporter's readiness_decision_threshold_ratio; no query
    or description hard-codes 0.90/0.95 (the gauges' colour steps come from the mixin's
    _config.gaugeThresholds)."""
    history = by_title(by_uid(dashboards, "readiness-overview"))["Score history"]
    exprs = [t["expr"] for t in history["targets"]]
    for decision in ("go", "go_with_caution"):
        assert any(
            "readiness_decision_threshold_ratio" in e and f'decision="{decision}"' in e
            for e in exprs
        ), decision
    for d in dashboards.values():
        for q in panel_queries(d):
            assert not re.search(r"\b0\.9[05]?\b", q.expr), q.where
        for panel in panels(d):
            assert not re.search(r"\b9[05] ?%", panel["description"]), panel["title"]


def test_critical_items_fail_first_with_titles_colour_and_links(dashboards):
    from aiohttp import web

    from exporter.web.pages import add_routes
    from exporter.web.urls import Urls

    table = by_title(by_uid(dashboards, "readiness-overview"))["Critical items not PASS"]
    (target,) = table["targets"]
    expr = " ".join(target["expr"].split())
    # FAIL ranks above PARTIAL above PENDING; the table sorts by that rank, descending.
    assert re.search(r'status="fail"\} == 1\) \* 3 or .*status="partial"\} == 1\) \* 2 or', expr)
    assert table["options"]["sortBy"] == [{"displayName": "status", "desc": True}]
    (status,) = [o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "Value"]
    props = {p["id"]: p["value"] for p in status["properties"]}
    assert props["displayName"] == "status"
    assert props["custom.cellOptions"] == {"type": "color-background"}
    texts = {k: (v["text"], v["color"]) for k, v in props["mappings"][0]["options"].items()}
    assert texts == {"3": ("FAIL", "red"), "2": ("PARTIAL", "orange"), "1": ("PENDING", "blue")}
    assert "group_left (title, category, probe) readiness_item_info" in expr
    # Links: the detail dashboard, and the item's page at the exporter's external URL (or
    # http://<instance> from an exporter without readiness_exporter_web_info).
    urls = [
        link["url"]
        for o in table["fieldConfig"]["overrides"]
        if o["matcher"]["options"] == "item"
        for prop in o["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert urls[0].startswith("/d/readiness-item/") and "var-item=${__value.raw}" in urls[0]
    assert urls[1] == "${__data.fields.external_url}/items/${__value.raw}"
    assert "readiness_exporter_web_info" in expr and '"http://$1", "instance"' in expr
    assert "http://${instance}" not in json.dumps(
        dashboards[DASHBOARDS / "readiness-overview.json"]
    )
    app = web.Application()
    add_routes(app, Urls("http://exporter.example:10145/"))
    assert "/items/{id}" in {r.resource.canonical for r in app.router.routes() if r.method == "GET"}


def test_status_timeline_shows_only_items_that_changed_in_range(dashboards):
    timeline = by_title(by_uid(dashboards, "readiness-overview"))["Items that changed status"]
    (target,) = timeline["targets"]
    assert "changes(readiness_item_last_change_timestamp_seconds" in target["expr"]
    assert "[$__range] @ end()) > 0" in target["expr"]


def test_fleet_lists_every_exporter_and_drills_into_one(dashboards):
    fleet = by_uid(dashboards, "readiness-fleet")
    table = by_title(fleet)["Exporters"]
    exprs = " ".join(t["expr"] for t in table["targets"])
    for metric in (
        "readiness_decision",
        "readiness_total_score_ratio",
        "readiness_critical_score_ratio",
        'priority="critical", status=~"fail|partial|pending"',  # blockers
        "readiness_decision_last_change_timestamp_seconds",
    ):
        assert metric in exprs, metric
    assert all(t.get("format") == "table" and t["instant"] for t in table["targets"])
    assert table["transformations"][0]["id"] == "merge"
    links = [
        link["url"]
        for o in table["fieldConfig"]["overrides"]
        if o["matcher"]["options"] == "instance"
        for prop in o["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert links == [
        "/d/readiness-overview/readiness-overview?${datasource:queryparam}"
        "&var-job=${__data.fields.job}&var-instance=${__value.raw}&${__url_time_range}"
    ]


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
