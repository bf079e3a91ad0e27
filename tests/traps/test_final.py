"""Traps for the Final Validation items."""

from __future__ import annotations

from traps.apis import Reply, github_runs, serve
from traps.shipped import passes, run_shipped

IMAGE = {"APP_IMAGE": "registry.example/agente-api:1.4"}


async def test_f001_a_smoke_report_with_a_failure_is_not_all_endpoints(tree, reports):
    bad = tree("bad", {"reports/smoke-junit.xml": reports.junit_failed})
    good = tree("good", {"reports/smoke-junit.xml": reports.junit_passed})
    assert not passes(await run_shipped("F-001", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("F-001", {"APP_REPO": str(good)}, good))


async def test_f002_a_report_whose_reservation_test_was_skipped_is_not_a_pass(tree, reports):
    bad = tree("bad", {"reports/e2e-junit.xml": reports.junit_skipped})
    assert not passes(await run_shipped("F-002", {"APP_REPO": str(bad)}, bad))


async def test_f002_an_executed_reservation_flow_passes(tree, reports):
    good = tree("good", {"reports/e2e-junit.xml": reports.junit_passed})
    assert passes(await run_shipped("F-002", {"APP_REPO": str(good)}, good))


def trivy(severity: str, days_ago: float = 1, image: str = IMAGE["APP_IMAGE"]) -> str:
    import datetime as dt
    import json

    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return json.dumps(
        {
            "SchemaVersion": 2,
            "CreatedAt": created.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
            "ArtifactName": image,
            "ArtifactType": "container_image",
            "Results": [
                {
                    "Target": "python-pkg",
                    "Vulnerabilities": [
                        {
                            "VulnerabilityID": "CVE-2024-0001",
                            "PkgName": "jinja2",
                            "Severity": severity,
                        }
                    ],
                }
            ],
        }
    )


async def test_f004_s021_a_high_finding_fails_medium_ones_pass(tree):
    for item in ("F-004", "S-021"):
        bad = tree(f"{item}-bad", {"reports/trivy.json": trivy("HIGH")})
        good = tree(f"{item}-good", {"reports/trivy.json": trivy("MEDIUM")})
        assert not passes(await run_shipped(item, {"APP_REPO": str(bad), **IMAGE}, bad)), item
        assert passes(await run_shipped(item, {"APP_REPO": str(good), **IMAGE}, good)), item


async def test_s021_a_scan_from_45_days_ago_copied_today_is_not_recent(tree):
    bad = tree("bad", {"reports/trivy.json": trivy("MEDIUM", days_ago=45)})
    result = await run_shipped("S-021", {"APP_REPO": str(bad), **IMAGE}, bad)
    assert not passes(result) and "45 days old by its CreatedAt" in result.summary


async def test_s021_f004_a_clean_scan_of_another_image_is_not_this_ones(tree):
    for item in ("S-021", "F-004"):
        bad = tree(f"{item}-bad", {"reports/trivy.json": trivy("MEDIUM", image="agente-api:1.3")})
        result = await run_shipped(item, {"APP_REPO": str(bad), **IMAGE}, bad)
        assert not passes(result) and "a scan of agente-api:1.3" in result.summary, item


async def test_f005_a_healthy_staging_after_a_failed_deploy_is_not_a_passed_deployment(tmp_path):
    env = {"GITHUB_REPOSITORY": "hotel/agente", "GITHUB_TOKEN": "ghp_" + "r" * 36}
    route = "GET /repos/hotel/agente/actions/workflows/deploy-staging.yml/runs"
    for conclusion, should_pass in (("failure", False), ("success", True)):
        routes = {route: github_runs(conclusion), "GET /health": Reply(body={"status": "ok"})}
        async with serve(routes) as base:
            result = await run_shipped(
                "F-005", {**env, "GITHUB_API_URL": base, "STAGING_URL": base}, tmp_path
            )
            assert passes(result) is should_pass, result.summary
