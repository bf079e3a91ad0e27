"""Many exporters, one Prometheus: three exporters (one per service and environment) scraped by
one real Prometheus that adds ``service``/``environment`` as target labels.

Checks that queries tell the exporters apart by job/instance/target labels, that the shipped
alert rules (waits scaled down) fire for exactly the instance whose target regressed, and that
every query of every dashboard (the fleet dashboard's included) runs against this Prometheus,
returns data, and shows only the exporters chosen in the multi-select $job/$instance variables.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.dashboards import (
    ANNOUNCED,
    MAY_BE_EMPTY_FOR_SOME_ITEMS,
    load_dashboards,
    metrics_in,
    panel_queries,
    parse_label_values,
    substitute,
    variable_queries,
)
from support.procs import http_get, start_exporter, start_prometheus, wait_until
from support.rulefiles import scaled_rules

SCRAPE_SECONDS = 1
# Rules wait minutes; at one scrape and one evaluation a second, a sixtieth keeps their shape.
RULE_SPEEDUP = 60
ALERT = "ReadinessCriticalItemRegressed"


class Targets(ThreadingHTTPServer):
    """A loopback HTTP server whose answer per path the test sets (200 unless told otherwise)."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code = outer.status.get(self.path, 200)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass
class Exporter:
    service: str
    environment: str
    items: dict[str, str]  # item id -> priority
    instance: str = ""

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.environment}"


FLEET = [
    Exporter("booking", "production", {"S-001": "critical", "P-001": "high"}),
    Exporter("booking", "staging", {"S-001": "critical", "P-001": "high"}),
    Exporter("payments", "production", {"S-001": "critical", "O-001": "medium", "O-002": "high"}),
]
BROKEN = FLEET[1]


def config_for(exporter: Exporter, targets: Targets) -> str:
    items = "".join(
        f"  - id: {item}\n    title: {exporter.service} answers ({item})\n"
        f"    priority: {priority}\n"
        f"    probe: {{http: {{url: '{targets.base}{exporter.path}/{item}', "
        "expect_status: [200]}}\n"
        for item, priority in exporter.items.items()
    )
    return (
        f"checklist: {{name: {exporter.service} {exporter.environment}}}\n"
        f"defaults: {{interval: 1s, timeout: 1s}}\n"
        f"categories:\n- id: service\n  title: Service\n  items:\n{items}"
    )


def prometheus_config(fleet: list[Exporter], rule_file: Path) -> str:
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": f"{SCRAPE_SECONDS}s",
            "evaluation_interval": f"{SCRAPE_SECONDS}s",
        },
        "scrape_configs": [
            {
                "job_name": "readiness",
                # One static config per exporter: service/environment are target labels.
                "static_configs": [
                    {
                        "targets": [e.instance],
                        "labels": {"service": e.service, "environment": e.environment},
                    }
                    for e in fleet
                ],
            }
        ],
        "rule_files": [str(rule_file)],
    }
    return yaml.safe_dump(config)


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    status, body = http_get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", f"{expr}: {answer}"
    return answer["data"]["result"]


def by_labels(result: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"].get(lbl, "") for lbl in labels): float(r["value"][1]) for r in result}


def alerts(prom: str, name: str) -> list[dict[str, Any]]:
    _, body = http_get(f"{prom}/api/v1/alerts")
    return [a for a in json.loads(body)["data"]["alerts"] if a["labels"]["alertname"] == name]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Targets, str]]:
    targets = Targets()
    threading.Thread(target=targets.serve_forever, daemon=True).start()
    procs = []
    try:
        for i, exporter in enumerate(FLEET):
            config = tmp_path / f"exporter-{i}.yaml"
            config.write_text(config_for(exporter, targets))
            proc, base = start_exporter(config, tmp_path / f"exporter-{i}.log")
            procs.append(proc)
            exporter.instance = base.removeprefix("http://")
        rule_file = tmp_path / "rules.yml"
        rule_file.write_text(yaml.safe_dump(scaled_rules(RULE_SPEEDUP)))
        prom, prom_url = start_prometheus(
            tmp_path / "prometheus", prometheus_config(FLEET, rule_file)
        )
        procs.append(prom)
        yield targets, prom_url
    finally:
        for proc in procs:
            proc.stop()
        targets.shutdown()
        targets.server_close()


def wait_all_pass(prom: str) -> None:
    total = sum(len(e.items) for e in FLEET)
    wait_until(
        lambda: (
            len(query(prom, 'readiness_item_status{job="readiness", status="pass"} == 1')) == total
        ),
        30,
        f"all {total} items PASS in Prometheus",
    )


def test_queries_separate_the_exporters_by_target_labels(stack):
    _, prom = stack
    wait_all_pass(prom)
    up = by_labels(query(prom, 'up{job="readiness"}'), "instance", "service", "environment")
    assert up == {(e.instance, e.service, e.environment): 1.0 for e in FLEET}
    # The exporter sets none of these: they come from the scrape config alone.
    status, body = http_get(f"http://{FLEET[0].instance}/metrics")
    assert status == 200 and b"service=" not in body and b"environment=" not in body
    items = by_labels(
        query(prom, "count by (service, environment) (readiness_item_info)"),
        "service",
        "environment",
    )
    assert items == {(e.service, e.environment): float(len(e.items)) for e in FLEET}
    scores = query(prom, 'readiness_total_score_ratio{service="booking"}')
    assert {r["metric"]["environment"] for r in scores} == {"production", "staging"}
    one = query(prom, f'readiness_critical_score_ratio{{instance="{BROKEN.instance}"}}')
    assert [(r["metric"]["service"], r["metric"]["environment"]) for r in one] == [
        (BROKEN.service, BROKEN.environment)
    ]


def test_alert_fires_for_exactly_the_instance_that_regressed(stack):
    targets, prom = stack
    wait_all_pass(prom)
    targets.status[f"{BROKEN.path}/S-001"] = 500
    wait_until(
        lambda: any(a["state"] == "firing" for a in alerts(prom, ALERT)), 60, f"{ALERT} firing"
    )
    fired = alerts(prom, ALERT)
    assert {(a["labels"]["instance"], a["labels"]["item"]) for a in fired} == {
        (BROKEN.instance, "S-001")
    }
    # The target labels reach the alert, so Alertmanager can route by service and environment.
    for label in ("service", "environment"):
        assert {a["labels"].get(label) for a in fired} == {getattr(BROKEN, label)}
    # The others stay PASS: their critical item has no alert in any state.
    critical = by_labels(
        query(prom, 'readiness_item_status{item="S-001", status="pass"}'), "instance"
    )
    assert critical == {(e.instance,): 0.0 if e is BROKEN else 1.0 for e in FLEET}


def exported_metrics(instance: str) -> set[str]:
    """The metric names on an exporter's /metrics (counters with and without _total)."""
    _, body = http_get(f"http://{instance}/metrics")
    names = set()
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            names |= {line.split()[2], f"{line.split()[2]}_total"}
    return names


def test_every_dashboard_query_shows_the_chosen_exporters(stack):
    """All dashboards' variable and panel queries, with two of the three exporters chosen (as the
    multi-select variables send them: a regex of the values): each returns data and no series
    of the third exporter."""
    targets, prom = stack
    wait_all_pass(prom)
    # Items of a chosen exporter change status, so the timeline of changed items has rows and
    # the table of critical items not PASS has one (S-001 is critical).
    changed = FLEET[0]
    for item in ("P-001", "S-001"):
        targets.status[f"{changed.path}/{item}"] = 500
    wait_until(
        lambda: (
            len(
                query(
                    prom,
                    f'readiness_item_status{{instance="{changed.instance}", item=~"P-001|S-001", '
                    'status="fail"} == 1',
                )
            )
            == 2
        ),
        30,
        "P-001 and S-001 FAIL in Prometheus",
    )
    # rate() and increase() need two scrapes of the counters inside their window.
    wait_until(
        lambda: (
            len(query(prom, "count_over_time(readiness_probe_runs_total[1m]) >= 3"))
            == sum(len(e.items) for e in FLEET)
        ),
        30,
        "three scrapes of every exporter's counters",
    )
    chosen = [FLEET[0], FLEET[2]]
    left_out = FLEET[1]
    values = {
        "job": "readiness",
        "instance": "|".join(e.instance for e in chosen),
        "item": "P-001",
        "__rate_interval": "1m",
        "__interval": "15s",
        "__range": "1h",
    }
    # Queries over contract metrics the exporter does not export yet may be empty.
    missing = ANNOUNCED - exported_metrics(FLEET[0].instance)
    ran = 0
    for dashboard in load_dashboards().values():
        uid = dashboard["uid"]
        for name, variable in variable_queries(dashboard).items():
            selector, label = parse_label_values(variable)
            params = urllib.parse.urlencode(
                {"match[]": substitute(selector, values)} if selector else {}
            )
            _, body = http_get(f"{prom}/api/v1/label/{label}/values?{params}")
            found = set(json.loads(body)["data"])
            expected = {
                "job": {"readiness"},
                "instance": {e.instance for e in FLEET},
                "item": {i for e in chosen for i in e.items},
            }[name]
            assert found == expected, f"{uid}: variable ${name}: {variable}"
        for q in panel_queries(dashboard):
            result = query(prom, substitute(q.expr, values))
            ran += 1
            shown = {r["metric"]["instance"] for r in result if "instance" in r["metric"]}
            assert left_out.instance not in shown, f"{q.where} shows {left_out.instance}"
            if (
                not metrics_in(q.expr) & missing
                and (uid, q.panel) not in MAY_BE_EMPTY_FOR_SOME_ITEMS
            ):
                assert result, f"{q.where}: no data: {q.expr}"
    assert ran > 50, ran


def test_fleet_table_has_one_row_per_exporter(stack):
    """The fleet table's queries give each exporter, with its target labels, exactly once."""
    _, prom = stack
    wait_all_pass(prom)
    fleet = next(d for d in load_dashboards().values() if d["uid"] == "readiness-fleet")
    table = next(q for q in panel_queries(fleet) if q.panel == "Exporters")
    values = {"job": "readiness", "instance": ".*"}
    decisions = query(prom, substitute(table.expr, values))
    rows = sorted(
        (r["metric"]["instance"], r["metric"]["service"], r["metric"]["environment"])
        for r in decisions
    )
    assert rows == sorted((e.instance, e.service, e.environment) for e in FLEET)
    # Every item PASS: every exporter is GO (2).
    assert {float(r["value"][1]) for r in decisions} == {2.0}
