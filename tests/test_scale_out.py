"""Many exporters, one Prometheus: three exporters (one per service and environment) scraped by
one real Prometheus that adds ``service``/``environment`` as target labels.

Checks that queries tell the exporters apart by job/instance/target labels and that the shipped
alert rules (waits scaled down) fire for exactly the instance whose target regressed.
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
from support.dashboards import load_dashboards, panel_queries, substitute
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


def test_dashboard_queries_select_one_instance(stack):
    """Each panel query that uses $job/$instance returns series of the chosen exporter only."""
    _, prom = stack
    wait_all_pass(prom)
    chosen = FLEET[2]
    values = {
        "job": "readiness",
        "instance": chosen.instance,
        "item": "S-001",
        "category": "service",
        "service": chosen.service,
        "environment": chosen.environment,
        "__rate_interval": "1m",
        "__interval": "15s",
        "__range": "1h",
        "__range_s": "3600",
        "datasource": "prometheus",
    }
    checked = 0
    for dashboard in load_dashboards().values():
        for q in panel_queries(dashboard):
            result = query(prom, substitute(q.expr, values))
            if "$instance" in q.expr or "${instance" in q.expr:
                others = {r["metric"]["instance"] for r in result if "instance" in r["metric"]} - {
                    chosen.instance
                }
                assert not others, f"{q.where} shows other exporters {others}: {q.expr}"
                checked += 1
    assert checked, "no dashboard query filters on $instance"
