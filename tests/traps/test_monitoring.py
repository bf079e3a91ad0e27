"""Traps for the Monitoring & Observability items: a real Prometheus scraping good and bad
versions of the application and node_exporter, its loaded rules, Alertmanager's deliveries."""

from __future__ import annotations

import pytest

from traps.apis import Reply, serve
from traps.shipped import passes, run_shipped


async def prom_item(item: str, prom: str, tmp_path, **env: str):
    return await run_shipped(item, {"PROMETHEUS_URL": prom, **env}, tmp_path)


async def test_m001_one_target_of_two_down_is_not_scraping(tmp_path, scraping):
    result = await prom_item("M-001", scraping.url, tmp_path, APP_JOB="app-bad")
    assert not passes(result) and "1 of 2 series fail" in result.summary
    assert passes(await prom_item("M-001", scraping.url, tmp_path, APP_JOB="app-good"))


async def test_m002_requests_and_errors_without_latency_are_not_tracked(tmp_path, scraping):
    result = await prom_item("M-002", scraping.url, tmp_path, APP_JOB="app-bad")
    assert not passes(result)
    # The summary names which query had no data, and where it asked.
    assert result.summary == (
        f"2 of 3 probes pass; promql: no data from {scraping.url} for "
        'count(http_request_duration_seconds_bucket{job="app-bad"})'
    )
    # No 5xx series at all is fine: errors are tracked by the status label.
    assert passes(await prom_item("M-002", scraping.url, tmp_path, APP_JOB="app-good"))


async def test_m003_a_node_exporter_without_its_filesystem_collector_fails(tmp_path, scraping):
    assert not passes(await prom_item("M-003", scraping.url, tmp_path, NODE_JOB="node-bad"))
    assert passes(await prom_item("M-003", scraping.url, tmp_path, NODE_JOB="node-good"))


async def test_m004_two_pms_counters_are_not_pms_and_whatsapp(tmp_path, scraping):
    assert not passes(await prom_item("M-004", scraping.url, tmp_path, APP_JOB="app-bad"))
    assert passes(await prom_item("M-004", scraping.url, tmp_path, APP_JOB="app-good"))


async def test_m008_a_broken_service_down_rule_is_not_configured(tmp_path, scraping, bad_rules):
    result = await prom_item("M-008", bad_rules.url, tmp_path)
    assert not passes(result) and "ServiceDown" in result.summary
    assert passes(await prom_item("M-008", scraping.url, tmp_path))


async def test_m010_a_loaded_rule_without_runbook_fails_the_exporters_own_aside(
    tmp_path, scraping, bad_rules
):
    result = await prom_item("M-010", bad_rules.url, tmp_path)
    assert not passes(result)
    assert (
        'rules without a runbook link: 2 ("HighErrorRate", "PmsDown"), expected none'
    ) in result.summary
    # readiness-exporter's own group has a rule without a runbook: not the application's
    result = await prom_item("M-010", scraping.url, tmp_path)
    assert passes(result), result.summary
    assert result.summary.endswith(
        "application alerting rules: 10, at least 1; rules without a runbook link: none"
    )


async def test_m010_no_application_rule_links_no_runbook(tmp_path, own_rules_only):
    # Only this exporter's own rules are loaded: no application alert has a runbook to link.
    result = await prom_item("M-010", own_rules_only.url, tmp_path)
    assert not passes(result)
    assert result.summary == "application alerting rules: 0, expected at least 1"


def grafana(panels: int) -> dict[str, Reply]:
    dashboard = {"dashboard": {"uid": "main", "title": "Agente", "panels": [{}] * panels}}
    return {
        "GET /api/dashboards/uid/{uid}": Reply(body=dashboard),
        "GET /api/datasources/uid/{uid}/health": Reply(body={"status": "OK", "message": "ok"}),
    }


GRAFANA_ENV = {
    "GRAFANA_TOKEN": "glsa_" + "t" * 32,
    "MAIN_DASHBOARD_UID": "main",
    "PERFORMANCE_DASHBOARD_UID": "perf",
    "INCIDENT_DASHBOARD_UID": "incident",
    "GRAFANA_DATASOURCE_UID": "prom",
}


@pytest.mark.parametrize("item", ["M-005", "M-006", "M-007"])
async def test_m005_to_m007_a_dashboard_without_panels_is_not_operational(tmp_path, item):
    async with serve(grafana(0)) as base:
        assert not passes(await run_shipped(item, {**GRAFANA_ENV, "GRAFANA_URL": base}, tmp_path))
    async with serve(grafana(12)) as base:
        assert passes(await run_shipped(item, {**GRAFANA_ENV, "GRAFANA_URL": base}, tmp_path))


async def test_m005_a_dead_data_source_fails_the_main_dashboard(tmp_path):
    routes = {
        **grafana(12),
        "GET /api/datasources/uid/{uid}/health": Reply(
            status=400, body={"status": "ERROR", "message": "connection refused"}
        ),
    }
    async with serve(routes) as base:
        assert not passes(
            await run_shipped("M-005", {**GRAFANA_ENV, "GRAFANA_URL": base}, tmp_path)
        )


# M-009 (and O-015 in test_operations.py): Alertmanager deliveries (conftest.deliveries) ---


async def test_m009_failing_or_missing_integrations_are_not_routing(tmp_path, deliveries):
    live, slack_only, dead = deliveries
    result = await prom_item("M-009", dead.prometheus, tmp_path)
    assert not passes(result) and "failed" in result.summary
    result = await prom_item("M-009", slack_only.prometheus, tmp_path)
    assert not passes(result) and "pagerduty: 0 notifications sent" in result.summary
    result = await prom_item("M-009", live.prometheus, tmp_path)
    assert passes(result), result.summary


# M-011, M-012: files ---------------------------------------------------------------------------

JSON_LINES = "".join(
    f'{{"ts":"2026-11-30T10:00:{i:02d}Z","level":"info","msg":"booking {i}"}}\n' for i in range(50)
)


async def test_m011_a_traceback_among_json_lines_is_not_structured(tree):
    bad = tree(
        "bad",
        {
            "app.log": JSON_LINES + "Traceback (most recent call last):\n"
            '  File "app/main.py", line 3\n' + JSON_LINES
        },
    )
    good = tree("good", {"app.log": JSON_LINES})
    assert not passes(await run_shipped("M-011", {"APP_LOG_FILE": str(bad / "app.log")}, bad))
    assert passes(await run_shipped("M-011", {"APP_LOG_FILE": str(good / "app.log")}, good))


async def test_m011_plain_text_after_the_first_4_mib_is_seen(tree):
    # The item reads the newest 4 MiB (read: tail): plain text written now is seen there.
    big = JSON_LINES * (5 * 2**20 // len(JSON_LINES) + 1)
    bad = tree("bad", {"app.log": big + "INFO:     127.0.0.1 - GET /health 200\n"})
    result = await run_shipped("M-011", {"APP_LOG_FILE": str(bad / "app.log")}, bad)
    assert not passes(result) and not result.error
    assert "(the last 4 MiB of 5.0 MiB read)" in result.summary


async def test_m011_plain_text_from_before_the_switch_to_json_is_history(tree):
    # Fine in an unusual way: the log began in plain text; what is written now is JSON.
    big = JSON_LINES * (5 * 2**20 // len(JSON_LINES) + 1)
    good = tree("good", {"app.log": "INFO:     Started server process [1]\n" * 1000 + big})
    result = await run_shipped("M-011", {"APP_LOG_FILE": str(good / "app.log")}, good)
    assert passes(result) and "judged on the last 4 MiB of" in result.summary


async def test_m012_hourly_rotation_of_30_files_is_not_30_days(tree):
    bad = tree(
        "bad", {"deploy/logrotate.conf": "/var/log/agente/*.log {\n  hourly\n  rotate 30\n}\n"}
    )
    good = tree(
        "good",
        {"deploy/logrotate.conf": "/var/log/agente/*.log {\n  weekly\n  rotate 5\n  compress\n}\n"},
    )
    assert not passes(await run_shipped("M-012", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("M-012", {"APP_REPO": str(good)}, good))
