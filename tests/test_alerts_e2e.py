"""End to end: a real regression pages, a storm pages once, and every dashboard query works
against real data.

On loopback, with temp dirs: an HTTP target whose status the test flips; the exporter probing it
every second; Prometheus scraping the exporter and evaluating the shipped rules every second;
Alertmanager with the shipped example config, its receivers pointed at a webhook the test reads
(its pager route, its inhibition of ReadinessNoGo and of the per-item alerts under
ReadinessManyItemsRegressed are checked too). The rules are the shipped file with
`for`/`keep_firing_for` divided by 60 (support.rulefiles.scaled_rules); the promtool unit tests
cover the real durations.

"Was PASS" is readiness_item_last_pass_timestamp_seconds, which the exporter keeps in its store:
a regression still pages after the exporter restarts (the item FAIL from its first probe).
Every item alert carries the item's owner as the label `owner`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
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
from support.procs import (
    ROOT,
    http_get,
    start_alertmanager,
    start_exporter,
    start_prometheus,
    wait_until,
)
from support.rulefiles import rule_durations, scaled_rules

ALERT = "ReadinessCriticalItemRegressed"
SCALE = 60  # production `for` minutes become seconds
PROBE_INTERVAL = 1.0  # the items' interval and timeout in the exporter config below
PROBE_TIMEOUT = 1.0
SCRAPE = 1.0  # Prometheus scrape_interval and evaluation_interval
EVALUATION = 1.0
SLACK = 10.0  # for a loaded 2-core machine: the bound is 2 x worst case + SLACK
RATE_INTERVAL = "4s"  # Grafana's $__rate_interval for a 1s scrape interval: 4 x scrape
PROBED_ITEMS = ("A-001", "A-002", "B-001")
STORM_ITEMS = 12  # more than the mixin's default stormItems (10)

CONFIG = """\
checklist: {{name: End-to-end test}}
defaults: {{interval: {interval}s, timeout: {timeout}s}}
categories:
- id: availability
  title: Availability
  owner: sre-team
  items:
  - id: A-001
    title: Health endpoint answers
    priority: critical
    probe: {{http: {{url: "{target}/health"}}}}
  - id: A-002
    title: Restore drill signed off
    priority: high
    probe: {{attestation: {{file: drill.yaml}}}}
  - id: A-003
    title: Mainframe failover
    priority: medium
    applicable: false
- id: operations
  title: Operations
  items:
  - id: B-001
    title: Status page up
    priority: medium
    probe: {{http: {{url: "{target}/status"}}}}
"""


class LoopbackHTTP:
    """An HTTP server on 127.0.0.1: GETs get ``status``, POSTs are kept by path."""

    def __init__(self) -> None:
        self.status = 200
        self.posts: list[tuple[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append((self.path, json.loads(body or b"null")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback() -> Iterator[LoopbackHTTP]:
    server = LoopbackHTTP()
    yield server
    server.close()


def worst_case_to_fire(for_: float) -> float:
    """Seconds from breaking the target to the alert at Alertmanager, at worst, when all is well:
    the probe's next run and its timeout, one scrape, one evaluation to turn PENDING, `for`, one
    more evaluation to turn FIRING (Prometheus then sends to Alertmanager at once)."""
    return PROBE_INTERVAL + PROBE_TIMEOUT + SCRAPE + EVALUATION + for_ + EVALUATION


def worst_case_to_resolve(keep_firing_for: float) -> float:
    """The same for a repair: the next probe, a scrape, `keep_firing_for`, two evaluations."""
    return PROBE_INTERVAL + PROBE_TIMEOUT + SCRAPE + EVALUATION + keep_firing_for + EVALUATION


def get_json(url: str) -> Any:
    status, body = http_get(url)
    assert status == 200, f"GET {url}: {status} {body[:500]!r}"
    return json.loads(body)


def am_alerts(am: str, item: str | None = None, alertname: str = ALERT) -> list[dict[str, Any]]:
    """Alertmanager's alerts named ``alertname`` (for ``item``), inhibited ones included."""
    matchers = [f'alertname="{alertname}"'] + ([f'item="{item}"'] if item else [])
    query = urllib.parse.urlencode({"filter": matchers}, doseq=True)
    return get_json(f"{am}/api/v2/alerts?{query}")


def prom_query(prom: str, expr: str, **params: object) -> list[Any]:
    """The result of a PromQL query (instant, or a range with start/end/step); fails on error."""
    path = "query_range" if "step" in params else "query"
    url = f"{prom}/api/v1/{path}?" + urllib.parse.urlencode({"query": expr, **params})
    status, body = http_get(url)
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "success", (
        f"{expr!r}: {doc.get('errorType')}: {doc.get('error')}"
    )
    return doc["data"]["result"]


STORM_CONFIG = """\
checklist: {{name: Storm test}}
defaults: {{interval: {interval}s, timeout: {timeout}s}}
categories:
- id: service
  title: Service
  items:
{items}
"""


def storm_config(target: LoopbackHTTP) -> str:
    """STORM_ITEMS items on one target: the first two critical, the others high priority."""
    items = "".join(
        f"  - id: S-{i:03d}\n    title: Check {i}\n"
        f"    priority: {'critical' if i <= 2 else 'high'}\n"
        f"    probe: {{http: {{url: '{target.url}/health?check={i}'}}}}\n"
        for i in range(1, STORM_ITEMS + 1)
    )
    return STORM_CONFIG.format(interval=PROBE_INTERVAL, timeout=PROBE_TIMEOUT, items=items)


def exported_metrics(exporter: str) -> set[str]:
    """The metric names on an exporter's /metrics (counters with and without _total)."""
    _, body = http_get(f"{exporter}/metrics")
    names = set()
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            names |= {name, f"{name}_total"}
    return names


def accept_risk(config: Path, item: str) -> None:
    """A risk accepted for a week through the command line (the dashboards show it)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "accept-risk",
            item,
            "--config.file",
            str(config),
            "--by",
            "E2E Test",
            "--impact",
            "low",
            "--probability",
            "low",
            "--mitigation",
            "status page served from the CDN",
            "--expires",
            "7d",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def start_stack(
    tmp_path: Path, write_config, target: LoopbackHTTP, config: str | None = None
) -> dict[str, Any]:
    (tmp_path / "drill.yaml").write_text(
        yaml.safe_dump(
            {
                "item": "A-002",
                "status": "pass",
                "validated_by": "E2E Test",
                "date": dt.date.today().isoformat(),
                "expires": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
            }
        )
    )
    shipped = config is None
    config = write_config(
        config or CONFIG.format(interval=PROBE_INTERVAL, timeout=PROBE_TIMEOUT, target=target.url)
    )
    if shipped:
        accept_risk(config, "B-001")
    exporter, exporter_url = start_exporter(config, tmp_path / "exporter.log")
    stack: dict[str, Any] = {
        "procs": [exporter],
        "exporter": exporter_url,
        "instance": exporter_url.removeprefix("http://"),
        "config": config,
    }
    try:
        am_config = (ROOT / "alerts" / "alertmanager.example.yml").read_text()
        assert "http://127.0.0.1:5001/" in am_config
        am, am_url = start_alertmanager(
            tmp_path / "am", am_config.replace("http://127.0.0.1:5001/", f"{target.url}/")
        )
        stack["procs"].append(am)
        rules = scaled_rules(SCALE)
        stack["rules"] = rules
        (tmp_path / "prom").mkdir()
        (tmp_path / "prom" / "readiness.rules.yml").write_text(yaml.safe_dump(rules))
        prom, prom_url = start_prometheus(
            tmp_path / "prom",
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": f"{SCRAPE:g}s",
                        "evaluation_interval": f"{EVALUATION:g}s",
                    },
                    "rule_files": ["readiness.rules.yml"],
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [am_url.removeprefix("http://")]}]}
                        ]
                    },
                    "scrape_configs": [
                        {
                            "job_name": "readiness",
                            "static_configs": [{"targets": [stack["instance"]]}],
                        }
                    ],
                }
            ),
        )
        stack["procs"].append(prom)
    except BaseException:
        for proc in stack["procs"]:
            proc.stop()
        raise
    stack.update(am=am_url, prom=prom_url)
    return stack


def check_dashboard_queries(prom: str, exporter: str, instance: str, start: float) -> int:
    """Run every variable and panel query of every dashboard; returns how many ran.

    A query over a metric the exporter does not export yet (announced in the metrics contract)
    may be empty; every other one must return data.
    """
    values = {
        "job": "readiness",
        "instance": instance,
        "__rate_interval": RATE_INTERVAL,
        "__range": f"{max(int(time.time() - start), 1)}s",
    }
    missing = ANNOUNCED - exported_metrics(exporter)
    ran = 0
    for dashboard in load_dashboards().values():
        uid = dashboard["uid"]
        for name, query in variable_queries(dashboard).items():
            selector, label = parse_label_values(query)
            params = urllib.parse.urlencode(
                {"match[]": substitute(selector, values)} if selector else {}
            )
            found = get_json(f"{prom}/api/v1/label/{label}/values?{params}")["data"]
            expected = {
                "job": {"readiness"},
                "instance": {instance},
                "item": {*PROBED_ITEMS, "A-003"},
            }[name]
            assert set(found) == expected, f"{uid}: variable ${name}: {query}"
            ran += 1
        items = PROBED_ITEMS if "item" in variable_queries(dashboard) else (None,)
        for q in panel_queries(dashboard):
            had_data = []
            for item in items:
                expr = substitute(q.expr, {**values, "item": item or ""})
                now = time.time()
                if q.instant:
                    result = prom_query(prom, expr, time=now)
                else:
                    result = prom_query(prom, expr, start=start, end=now, step="1s")
                ran += 1
                had_data.append(bool(result))
                if metrics_in(q.expr) & missing:
                    continue
                if (uid, q.panel) not in MAY_BE_EMPTY_FOR_SOME_ITEMS:
                    assert result, (
                        f"{q.where}: no data{f' for item {item}' if item else ''}: {expr}"
                    )
            if not metrics_in(q.expr) & missing:
                assert any(had_data), f"{q.where}: no data for any item"
    return ran


def test_a_regressed_critical_item_pages_and_resolves(tmp_path, write_config, loopback, capsys):
    stack = start_stack(tmp_path, write_config, loopback)
    prom, am = stack["prom"], stack["am"]
    try:
        started = time.time()
        durations = rule_durations(stack["rules"], ALERT)
        # Ready when Prometheus has seen A-001 PASS: only then can it regress.
        wait_until(
            lambda: bool(
                prom_query(prom, 'readiness_item_status{item="A-001",status="pass"} == 1')
            ),
            30,
            "Prometheus seeing A-001 PASS",
        )
        assert am_alerts(am, "A-001") == []

        loopback.status = 503
        broken = time.monotonic()
        bound = 2 * worst_case_to_fire(durations["for"]) + SLACK
        wait_until(lambda: bool(am_alerts(am, "A-001")), bound, f"{ALERT} at Alertmanager")
        to_fire = time.monotonic() - broken
        (alert,) = am_alerts(am, "A-001")
        assert alert["labels"] | {"instance": "-"} == {
            "alertname": ALERT,
            "severity": "critical",
            "job": "readiness",
            "instance": "-",
            "item": "A-001",
            "title": "Health endpoint answers",
            "category": "availability",
            "priority": "critical",
            "probe": "http",
            "owner": "sre-team",  # readiness_item_info's item_owner: Alertmanager routes by it
        }
        assert alert["labels"]["instance"] == stack["instance"]
        assert (
            "A-001 (Health endpoint answers, owner sre-team)"
            in (alert["annotations"]["description"])
        )
        assert "was PASS and is now FAIL;" in alert["annotations"]["description"]
        assert alert["annotations"]["runbook_url"].endswith(
            "runbook.md#readinesscriticalitemregressed"
        )
        assert [r["name"] for r in alert["receivers"]] == ["readiness-page"]

        # While it fires, every dashboard query must work and show data ("Critical items not
        # PASS" included).
        queries = check_dashboard_queries(prom, stack["exporter"], stack["instance"], started)

        # The example config's critical route notifies the pager receiver after its group_wait.
        wait_until(
            lambda: any(path == "/page" for path, _ in loopback.posts),
            10 + SLACK,
            "the readiness-page webhook",
        )
        page = next(body for path, body in loopback.posts if path == "/page")
        assert page["receiver"] == "readiness-page" and page["status"] == "firing"
        assert [
            a["labels"]["item"] for a in page["alerts"] if a["labels"]["alertname"] == ALERT
        ] == ["A-001"]

        # The decision fell from GO to NO-GO too; the example config inhibits ReadinessNoGo
        # while the critical item that explains it pages.
        no_go_bound = (
            2 * worst_case_to_fire(rule_durations(stack["rules"], "ReadinessNoGo")["for"]) + SLACK
        )
        wait_until(
            lambda: bool(am_alerts(am, alertname="ReadinessNoGo")),
            no_go_bound,
            "ReadinessNoGo at Alertmanager",
        )
        (no_go,) = am_alerts(am, alertname="ReadinessNoGo")
        assert no_go["status"]["state"] == "suppressed" and no_go["status"]["inhibitedBy"], no_go[
            "status"
        ]

        loopback.status = 200
        repaired = time.monotonic()
        bound_resolve = 2 * worst_case_to_resolve(durations["keep_firing_for"]) + SLACK
        wait_until(lambda: am_alerts(am, "A-001") == [], bound_resolve, f"{ALERT} resolved")
        to_resolve = time.monotonic() - repaired
        with capsys.disabled():
            print(
                f"\n{ALERT} (for {durations['for']:g}s, keep_firing_for "
                f"{durations['keep_firing_for']:g}s, scaled 1/{SCALE}): target broken -> alert at "
                f"Alertmanager {to_fire:.1f}s (bound {bound:.0f}s); repaired -> resolved "
                f"{to_resolve:.1f}s (bound {bound_resolve:.0f}s); {queries} dashboard queries ran"
            )
        # Resolution must wait for keep_firing_for: a flap back to PASS does not end the page.
        assert to_resolve >= durations["keep_firing_for"]
    finally:
        for proc in reversed(stack["procs"]):
            proc.stop()


def test_a_regression_still_pages_after_the_exporter_restarts(tmp_path, write_config, loopback):
    """The exporter restarts while its item is down: from its first probe the item is FAIL, and
    only the last PASS it keeps in its store says the item was PASS. Prometheus's own memory of
    the old process's series ends at the restart (staleness)."""
    stack = start_stack(tmp_path, write_config, loopback)
    prom, am = stack["prom"], stack["am"]
    try:
        wait_until(
            lambda: bool(
                prom_query(prom, 'readiness_item_last_pass_timestamp_seconds{item="A-001"}')
            ),
            30,
            "Prometheus seeing A-001's last PASS",
        )
        exporter = stack["procs"][0]
        assert exporter.stop() == 0
        loopback.status = 503
        port = int(stack["instance"].rpartition(":")[2])
        again, _ = start_exporter(stack["config"], tmp_path / "again.log", port=port)
        stack["procs"][0] = again
        # Prometheus sees the restarted exporter: the item FAIL, and its remembered last PASS.
        wait_until(
            lambda: bool(
                prom_query(
                    prom,
                    'readiness_item_status{item="A-001",status="fail"} == 1'
                    " and on (item) readiness_item_last_pass_timestamp_seconds",
                )
            ),
            30,
            "Prometheus seeing A-001 FAIL with its last PASS after the restart",
        )
        durations = rule_durations(stack["rules"], ALERT)
        bound = 2 * worst_case_to_fire(durations["for"]) + SLACK
        wait_until(lambda: bool(am_alerts(am, "A-001")), bound, f"{ALERT} after the restart")
        (alert,) = am_alerts(am, "A-001")
        assert alert["labels"]["owner"] == "sre-team"
        assert "was PASS and is now FAIL;" in alert["annotations"]["description"]
    finally:
        for proc in reversed(stack["procs"]):
            proc.stop()


def test_a_storm_of_regressions_pages_once(tmp_path, write_config, loopback, capsys):
    """Twelve items failing at once: ReadinessManyItemsRegressed pages, and the example config's
    inhibition keeps every per-item alert (and ReadinessNoGo) of that exporter from notifying."""
    stack = start_stack(tmp_path, write_config, loopback, storm_config(loopback))
    prom, am = stack["prom"], stack["am"]
    storm = "ReadinessManyItemsRegressed"
    try:
        wait_until(
            lambda: (
                len(prom_query(prom, 'readiness_item_status{status="pass"} == 1')) == STORM_ITEMS
            ),
            30,
            f"Prometheus seeing all {STORM_ITEMS} items PASS",
        )
        loopback.status = 503
        broken = time.monotonic()
        bound = 2 * worst_case_to_fire(rule_durations(stack["rules"], storm)["for"]) + SLACK
        wait_until(lambda: bool(am_alerts(am, alertname=storm)), bound, f"{storm} at Alertmanager")
        to_fire = time.monotonic() - broken
        (aggregate,) = am_alerts(am, alertname=storm)
        assert aggregate["labels"]["severity"] == "critical"  # two critical items among them
        assert aggregate["status"]["state"] == "active"
        assert aggregate["annotations"]["description"].startswith(f"{STORM_ITEMS} items of ")

        # The per-item alerts reach Alertmanager too (Prometheus fires them), suppressed.
        per_item = {
            "ReadinessCriticalItemRegressed": 2,
            "ReadinessItemRegressed": STORM_ITEMS - 2,
            "ReadinessNoGo": 1,
        }
        for name, count in per_item.items():
            item_bound = 2 * worst_case_to_fire(rule_durations(stack["rules"], name)["for"]) + SLACK
            wait_until(
                lambda name=name, count=count: len(am_alerts(am, alertname=name)) == count,
                item_bound,
                f"{count} {name} at Alertmanager",
            )
            for alert in am_alerts(am, alertname=name):
                assert alert["status"]["state"] == "suppressed", (name, alert["status"])
                assert alert["status"]["inhibitedBy"] == [aggregate["fingerprint"]]

        # One page, for the aggregate; no notification names a per-item alert.
        wait_until(
            lambda: any(path == "/page" for path, _ in loopback.posts),
            10 + SLACK,
            "the readiness-page webhook",
        )
        notified = {a["labels"]["alertname"] for _, body in loopback.posts for a in body["alerts"]}
        assert notified == {storm}, notified
        with capsys.disabled():
            print(
                f"\n{storm} ({STORM_ITEMS} items, for "
                f"{rule_durations(stack['rules'], storm)['for']:g}s scaled 1/{SCALE}): target "
                f"broken -> aggregate at Alertmanager {to_fire:.1f}s (bound {bound:.0f}s); "
                f"{sum(per_item.values())} per-item alerts suppressed, one page"
            )
    finally:
        for proc in reversed(stack["procs"]):
            proc.stop()
