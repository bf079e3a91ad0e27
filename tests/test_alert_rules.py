"""The shipped alerting rules: promtool's checks and unit tests, the conventions the issue sets,
the runbook's anchors, and the example Alertmanager config (amtool)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from support.procs import ROOT, require

ALERTS = ROOT / "alerts"
RULES = ALERTS / "readiness.rules.yml"
RUNBOOK = ALERTS / "runbook.md"
AM_EXAMPLE = ALERTS / "alertmanager.example.yml"
UNIT_TESTS = sorted((ALERTS / "tests").glob("*.yml"))
SEVERITIES = {"critical", "warning", "info"}
REQUIRED = {
    "ReadinessCriticalItemRegressed",
    "ReadinessItemRegressed",
    "ReadinessNoGo",
    "ReadinessDecisionDegraded",
    "ReadinessScoreDropped",
    "ReadinessProbesStale",
    "ReadinessProbeErrors",
    "ReadinessExpiringSoon",
    "ReadinessExporterDown",
    "ReadinessExporterAbsent",
    "ReadinessConfigReloadFailed",
}


def alerting_rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_promtool_check_rules():
    result = run([require("promtool"), "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    assert UNIT_TESTS, "no promtool unit tests in alerts/tests/"
    result = run([require("promtool"), "test", "rules", *map(str, UNIT_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(tmp_path):
    """A rule file whose regression alert forgets "was PASS" fails the shipped unit tests."""
    broken = RULES.read_text().replace("and on (job, instance, item) readiness_item:has_passed", "")
    assert broken != RULES.read_text()
    (tmp_path / "readiness.rules.yml").write_text(broken)
    (tmp_path / "tests").mkdir()
    test = tmp_path / "tests" / "item_regressed_test.yml"
    test.write_text((ALERTS / "tests" / "item_regressed_test.yml").read_text())
    result = run([require("promtool"), "test", "rules", str(test)])
    assert result.returncode != 0
    assert "S-002" in result.stdout + result.stderr  # the never-PASS item now fires


def test_the_issue_s_alerts_exist_with_conventional_names_and_labels():
    rules = alerting_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), names
    assert set(names) >= REQUIRED, REQUIRED - set(names)
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"Readiness([A-Z][a-z]+)+", name), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert set(rule["annotations"]) >= {"summary", "description", "runbook_url"}, name
        assert rule.get("for"), f"{name} has no `for`: one bad evaluation would notify"


def test_alerts_keep_job_and_instance():
    """An aggregation must keep job and instance, so exporters sharing a Prometheus stay apart."""
    for rule in alerting_rules():
        expr = rule["expr"]
        for clause in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
            labels = {label.strip() for label in clause.split(",")}
            assert {"job", "instance"} <= labels, (
                f"{rule['alert']}: ({clause}) drops job or instance"
            )
        for clause in re.findall(r"\bwithout\s*\(([^)]*)\)", expr):
            dropped = {label.strip() for label in clause.split(",")}
            assert not {"job", "instance"} & dropped, f"{rule['alert']}: without ({clause})"
        assert "ignoring" not in expr, rule["alert"]


def test_aggregating_alerts_keep_target_labels():
    """`max by` would drop service/environment target labels that Alertmanager routes on."""
    for rule in alerting_rules():
        assert not re.search(r"\b(max|min|sum|avg|count) by\b", rule["expr"]), rule["alert"]


def test_item_alerts_name_the_item_and_its_title():
    for rule in alerting_rules():
        if "readiness_item" in rule["expr"] or "readiness_probe" in rule["expr"]:
            description = rule["annotations"]["description"]
            assert "$labels.item" in description and "$labels.title" in description, rule["alert"]
            assert "readiness_item_info" in rule["expr"], f"{rule['alert']} does not join the title"


def test_runbook_has_a_section_per_alert_at_its_runbook_url():
    text = RUNBOOK.read_text()
    # GitHub's anchors: the heading lowercased, spaces to dashes.
    anchors = {h.strip().lower().replace(" ", "-") for h in re.findall(r"^## (.+)$", text, re.M)}
    for rule in alerting_rules():
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path.endswith("alerts/runbook.md"), url
        assert anchor == rule["alert"].lower() and anchor in anchors, f"{rule['alert']}: {url}"
    assert len(anchors) == len(alerting_rules()), "a runbook section without an alert"


def test_every_alert_has_unit_tests_that_fire_and_stay_silent():
    fired: set[str] = set()
    silent: set[str] = set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {r["alert"] for r in alerting_rules()}
    assert names - fired == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested staying silent"


def test_alertmanager_example_passes_amtool():
    result = run([require("amtool"), "check-config", str(AM_EXAMPLE)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "severity, receiver",
    [
        ("critical", "readiness-page"),
        ("warning", "readiness-ticket"),
        ("info", "readiness-log"),
    ],
)
def test_alertmanager_example_routes_by_severity(severity, receiver):
    result = run(
        [
            require("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={AM_EXAMPLE}",
            f"--verify.receivers={receiver}",
            f"severity={severity}",
            "alertname=ReadinessCriticalItemRegressed",
            "job=readiness",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_severity_used_is_routed():
    routed = set()
    for route in yaml.safe_load(AM_EXAMPLE.read_text())["route"]["routes"]:
        for matcher in route["matchers"]:
            m = re.fullmatch(r'severity="(\w+)"', matcher)
            if m:
                routed.add(m.group(1))
    assert {r["labels"]["severity"] for r in alerting_rules()} <= routed
