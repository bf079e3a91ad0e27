"""The shipped alerting rules: promtool's checks and unit tests, the conventions the issue sets,
the runbook's anchors, and the example Alertmanager config (amtool). The rules are rendered from
mixin/ (tests/test_mixin.py checks the rendering)."""

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
    "ReadinessAttestationExpired",
    "ReadinessRiskAcceptanceExpired",
    "ReadinessManyItemsRegressed",
}
# Labels every alert about one item carries, joined from readiness_item_info.
ITEM_LABELS = "group_left (title, category, priority, probe, owner)"


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


def _broken(rules: dict, alter) -> dict:
    for group in rules["groups"]:
        for rule in group["rules"]:
            alter(rule)
    return rules


def _forget_last_pass(rule: dict) -> None:
    """Every item counts as having passed (its info series stands in for the last PASS)."""
    rule["expr"] = rule["expr"].replace(
        "readiness_item_last_pass_timestamp_seconds", "readiness_item_info"
    )


PERSON_PROBES = "attestation|signoff|decision"  # mixin/config.libsonnet's personProbes


def _page_on_attestations(rule: dict) -> None:
    rule["expr"] = rule["expr"].replace(f'probe!~"{PERSON_PROBES}"', 'probe=~".*"')


def _page_on_signoffs(rule: dict) -> None:
    rule["expr"] = rule["expr"].replace(f'probe!~"{PERSON_PROBES}"', 'probe!="attestation"')


def _no_hold_between_runs(rule: dict) -> None:
    """The error share over the window only, forgotten when the last run leaves it."""
    if rule.get("record") == "readiness_item:probe_errors:ratio":
        rule["expr"] = rule["expr"].split("or on")[0]


@pytest.mark.parametrize(
    "alter, test_file, found",
    [
        (_forget_last_pass, "item_regressed_test.yml", "S-002"),  # never PASS, now pages
        (_page_on_attestations, "item_regressed_test.yml", "A-001"),  # paperwork pages
        (_page_on_signoffs, "item_regressed_test.yml", "F-006"),  # a voided signature pages
        (_no_hold_between_runs, "probes_test.yml", "H-1"),  # the hourly item flaps
    ],
)
def test_promtool_unit_tests_can_fail(tmp_path, alter, test_file, found):
    """A rule file without one of the rules' safeguards fails the shipped unit tests."""
    broken = _broken(yaml.safe_load(RULES.read_text()), alter)
    assert broken != yaml.safe_load(RULES.read_text())
    (tmp_path / "readiness.rules.yml").write_text(yaml.safe_dump(broken))
    (tmp_path / "tests").mkdir()
    test = tmp_path / "tests" / test_file
    test.write_text((ALERTS / "tests" / test_file).read_text())
    result = run([require("promtool"), "test", "rules", str(test)])
    assert result.returncode != 0
    assert found in result.stdout + result.stderr


def test_the_issue_s_alerts_exist_with_conventional_names_and_labels():
    rules = alerting_rules()
    # A name appears twice only as a page and a ticket of the same condition split by its cause
    # (ReadinessNoGo, ReadinessManyItemsRegressed), as the mixins' severity pairs do.
    variants = [(r["alert"], r["labels"]["severity"]) for r in rules]
    assert len(variants) == len(set(variants)), variants
    names = {r["alert"] for r in rules}
    assert names >= REQUIRED, REQUIRED - names
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


def item_alerts() -> list[dict]:
    """Alerts about one item each; ReadinessManyItemsRegressed counts items per exporter."""
    return [
        r
        for r in alerting_rules()
        if ("readiness_item" in r["expr"] or "readiness_probe" in r["expr"])
        and "count without (item)" not in r["expr"]
        and "readiness_decision{" not in r["expr"]
    ]


def test_item_alerts_name_the_item_its_title_and_carry_its_labels():
    """Alertmanager routes on probe kind, priority, category and owner: item alerts carry them."""
    assert {r["alert"] for r in item_alerts()} >= {
        "ReadinessCriticalItemRegressed",
        "ReadinessAttestationExpired",
        "ReadinessProbeErrors",
    }
    for rule in item_alerts():
        description = rule["annotations"]["description"]
        assert "$labels.item" in description and "$labels.title" in description, rule["alert"]
        assert ITEM_LABELS in " ".join(rule["expr"].split()), f"{rule['alert']}: {ITEM_LABELS}"
        assert '"owner", "$1", "item_owner"' in rule["expr"], rule["alert"]


def test_attestations_never_page():
    """Expired evidence is a ticket: paging alerts about items leave out the kinds that read a
    person's record (attestations, the Sign-Off Sheet's sign-offs and decision)."""
    for rule in alerting_rules():
        if rule["labels"]["severity"] == "critical" and "readiness_item_status" in rule["expr"]:
            assert f'probe!~"{PERSON_PROBES}"' in rule["expr"] or (
                f'readiness_item_info{{job=~"readiness.*", probe=~"{PERSON_PROBES}"}}'
                in rule["expr"]
            ), rule["alert"]


def test_no_hard_coded_decision_thresholds():
    """The thresholds come from readiness_decision_threshold_ratio, as `decision:` sets them."""
    text = RULES.read_text()
    assert not re.search(r"\b0\.9[05]?\b|\b9[05] ?%", text)
    assert "readiness_decision_threshold_ratio" in text


def test_no_recording_rule_latches():
    """ "Was PASS" is the exporter's last-PASS time, not a latch forgotten after 5 minutes."""
    doc = yaml.safe_load(RULES.read_text())
    recorded = {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}
    assert recorded == {"readiness_item:probe_errors:ratio"}
    for rule in alerting_rules():
        if "Regressed" in rule["alert"] or rule["alert"] == "ReadinessAttestationExpired":
            assert "readiness_item_last_pass_timestamp_seconds" in rule["expr"], rule["alert"]


def test_runbook_has_a_section_per_alert_at_its_runbook_url():
    text = RUNBOOK.read_text()
    # GitHub's anchors: the heading lowercased, spaces to dashes.
    anchors = {h.strip().lower().replace(" ", "-") for h in re.findall(r"^## (.+)$", text, re.M)}
    for rule in alerting_rules():
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path.endswith("alerts/runbook.md"), url
        assert anchor == rule["alert"].lower() and anchor in anchors, f"{rule['alert']}: {url}"
    assert anchors == {r["alert"].lower() for r in alerting_rules()}, "a section without an alert"


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
