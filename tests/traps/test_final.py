"""Traps for the Final Validation items: reports, scans and deployments (F-001..F-005), and the
Sign-Off Sheet's sign-offs and Go/No-Go decision in the store (F-006..F-010)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter import process
from exporter.cli import only_items
from exporter.config import parse, read_yaml
from exporter.engine import Engine
from exporter.scoring import Decision
from exporter.store import Store
from probes.result import Result, Status
from traps.apis import Reply, github_runs, serve
from traps.shipped import CONFIG, passes, run_shipped, shipped_item

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


# --- F-006..F-010: the Sign-Off Sheet ----------------------------------------------------------
#
# The shipped sign-off items answer from the records `sign` and `decide` keep in the store. Each
# trap runs them as shipped, with the shipped roles, in a checklist with one more critical item
# (its file there or not: the state signatures are bound to), and records through
# exporter/process.py into a real store: the way in the CLI and the API share.

SIGNOFF_ITEMS = ("F-006", "F-007", "F-008", "F-009")
SHEET_ITEMS = (*SIGNOFF_ITEMS, "F-010")
ROLES = {
    "F-006": "Engineering Lead",
    "F-007": "Operations Lead",
    "F-008": "Security Lead",
    "F-009": "Product Lead",
}
DAY = 86400.0


class Sheet:
    """The shipped sheet items beside X-001 (PASS while ``evidence`` exists), and a store."""

    def __init__(self, tmp_path: Path) -> None:
        self.evidence = tmp_path / "evidence.txt"
        self.evidence.write_text("the release notes\n")
        other = {
            "id": "X-001",
            "title": "Release notes exist",
            "priority": "critical",
            "probe": {"file": {"path": str(self.evidence)}},
        }
        doc = {
            "signoff": read_yaml(CONFIG)["signoff"],
            "categories": [
                {
                    "id": "final",
                    "title": "Final",
                    "items": [other, *(shipped_item(i) for i in SHEET_ITEMS)],
                }
            ],
        }
        self.checklist = parse(doc, tmp_path / "config.yaml", {})
        self.store = Store.open(tmp_path / "data")
        self.engine = Engine(self.checklist)

    async def round(self) -> dict[str, Result]:
        """Every item judged once, with the store's records as they are now."""
        self.engine.set_people(self.store.people())
        snap = await self.engine.run_round()
        return {i: s.result for i, s in snap.states.items() if s.result is not None}

    def sign(self, item: str, at: float | None = None, by: str = "Jane Doe") -> None:
        """The role of ``item`` signs the state under review now (as ``sign`` would)."""
        stamp = self.engine.snapshot().launch.stamp
        now = time.time() if at is None else at
        process.sign(self.store, self.checklist, ROLES[item], by, None, "", stamp, now)

    def decide(self, value: str, launch: str | None = "2027-01-15T14:00:00Z") -> None:
        computed = self.engine.snapshot().launch.stamp.decision
        process.decide(self.store, value, "Carla CTO", None, computed, launch, "", time.time())

    async def close(self) -> None:
        await self.engine.resources.aclose()
        self.store.close()


@pytest.fixture
async def sheet(tmp_path: Path) -> AsyncIterator[Sheet]:
    made = Sheet(tmp_path)
    await made.round()  # X-001 judged: the state the records below are bound to
    try:
        yield made
    finally:
        await made.close()


async def test_f006_f010_signatures_and_a_go_for_this_state_pass_and_stay_valid(sheet):
    # Signed and decided while F-006..F-010 were PENDING (the real decision NO-GO: five
    # critical items not PASS). The state under review counts them as given, so their PASS does
    # not void the records they read: all five PASS, the decision becomes GO, and every
    # signature still counts (a fixed point, not a loop).
    assert sheet.engine.snapshot().scores.decision is Decision.NO_GO
    for item in SIGNOFF_ITEMS:
        sheet.sign(item)
    sheet.decide("go")
    results = await sheet.round()
    for item in SHEET_ITEMS:
        assert passes(results[item]), (item, results[item].summary)
    snap = sheet.engine.snapshot()
    assert snap.scores.decision is Decision.GO
    assert all(s.check is not None and s.check.counts for s in snap.launch.signatures[:4])
    assert results["F-006"].summary.startswith("signed by Jane Doe on ")
    assert "counts: given for this state (GO)" in results["F-006"].summary
    assert results["F-010"].summary.endswith("launch 2027-01-15 14:00 UTC")
    results = await sheet.round()  # judged again on the state their own PASS made: stable
    assert all(passes(results[i]) for i in SHEET_ITEMS)


async def test_f006_a_signature_for_an_older_state_does_not_pass(sheet):
    sheet.evidence.unlink()
    await sheet.round()  # X-001 FAILs: the state under review is NO-GO
    sheet.sign("F-006")
    sheet.decide("go")  # a GO call against the computed NO-GO, documented as such
    sheet.evidence.write_text("the release notes, written since\n")
    results = await sheet.round()  # X-001 PASS now: the state is GO, not the one signed
    assert results["F-006"].status is Status.FAIL, results["F-006"].summary
    assert "given for another state: decision was NO-GO, now GO" in results["F-006"].summary
    assert results["F-010"].status is Status.FAIL, results["F-010"].summary
    assert "the decision was made for another state" in results["F-010"].summary


async def test_f006_a_new_gap_since_signing_voids_the_signature(sheet):
    sheet.sign("F-006")
    assert passes((await sheet.round())["F-006"])
    sheet.evidence.unlink()  # X-001 was PASS when signed; it FAILs now
    result = (await sheet.round())["F-006"]
    assert result.status is Status.FAIL and "given for another state" in result.summary


async def test_f006_another_role_s_signature_is_not_engineering_s(sheet):
    for item in ("F-007", "F-008", "F-009"):
        sheet.sign(item)
    process.sign(
        sheet.store,
        sheet.checklist,
        "CTO",
        "Carla CTO",
        None,
        "",
        sheet.engine.snapshot().launch.stamp,
        time.time(),
    )
    results = await sheet.round()
    assert results["F-006"].status is Status.PENDING, results["F-006"].summary
    assert results["F-006"].summary.startswith("not signed yet: no signature of Engineering Lead")
    assert all(passes(results[i]) for i in ("F-007", "F-008", "F-009"))


async def test_f006_a_signature_older_than_90_days_or_dated_ahead_does_not_pass(sheet):
    sheet.sign("F-006", at=time.time() - 100 * DAY)
    sheet.sign("F-007", at=time.time() + DAY)
    sheet.sign("F-008", at=time.time() - 80 * DAY)
    results = await sheet.round()
    assert results["F-006"].status is Status.FAIL, results["F-006"].summary
    assert "more than max_age 90d" in results["F-006"].summary
    assert results["F-007"].status is Status.FAIL and "in the future" in results["F-007"].summary
    assert passes(results["F-008"]), results["F-008"].summary


async def test_f006_a_revoked_signature_does_not_pass_until_signed_again(sheet):
    sheet.sign("F-006")
    assert passes((await sheet.round())["F-006"])
    process.revoke_signoff(
        sheet.store, sheet.checklist, "engineering lead", "Jane Doe", None, time.time()
    )
    result = (await sheet.round())["F-006"]
    assert result.status is Status.FAIL, result.summary
    assert "; revoked by Jane Doe on " in result.summary
    sheet.sign("F-006")  # a new signature, for the state as it is now
    assert passes((await sheet.round())["F-006"])


async def test_f010_a_recorded_no_go_is_documented_but_does_not_pass(sheet):
    sheet.decide("no_go", launch=None)
    result = (await sheet.round())["F-010"]
    assert result.status is Status.FAIL, result.summary
    assert result.summary.endswith("the launch is not approved")
    assert not result.error


async def test_f010_a_no_go_recorded_after_a_go_replaces_it(sheet):
    sheet.decide("go")
    assert passes((await sheet.round())["F-010"])
    sheet.decide("no_go", launch=None)
    result = (await sheet.round())["F-010"]
    assert result.status is Status.FAIL and "NO-GO decided by Carla CTO" in result.summary


async def test_f010_a_go_without_a_launch_time_is_not_a_pass(sheet):
    sheet.decide("go", launch=None)
    result = (await sheet.round())["F-010"]
    assert result.status is Status.PARTIAL, result.summary
    assert "with no launch date and time" in result.summary


async def test_f006_f010_wait_for_records_and_cannot_judge_a_cut_checklist(sheet):
    results = await sheet.round()
    assert all(results[i].status is Status.PENDING for i in SHEET_ITEMS)
    sheet.sign("F-006")
    cut = only_items(sheet.checklist, ["F-006"])
    engine = Engine(cut)
    try:
        engine.set_people(sheet.store.people())
        result = (await engine.run_round()).states["F-006"].result
    finally:
        await engine.resources.aclose()
    assert result is not None and result.error and not passes(result)
    assert result.summary.startswith("cannot judge in a run of some items")
