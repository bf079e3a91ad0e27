"""The /metrics exposition: every family and its values, read back through prometheus_client."""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter import config
from exporter.engine import Engine
from exporter.metrics import Exposition, ReloadStatus

CONFIG = """
categories:
  - id: security
    title: Security
    items:
      - {id: S-1, title: "passes, \\"quoted\\"", priority: critical, interval: 30s,
         probe: {file: {path: present.txt}}}
      - {id: S-2, title: fails, priority: high, probe: {file: {path: absent.txt}}}
      - {id: S-3, title: not configured, priority: high, probe: {file: {path: "${UNSET}"}}}
  - id: team
    title: Team
    items:
      - {id: T-1, title: not applicable, priority: critical, applicable: false}
"""


@pytest.fixture
async def engine(write_config, tmp_path):
    (tmp_path / "present.txt").write_text("x")
    engine = Engine(config.load(write_config(CONFIG), {}))
    await engine.run_round()
    yield engine
    await engine.stop()


def exposition(engine, reload_status=ReloadStatus(True, 1700000000.0)):
    return Exposition(engine.snapshot, lambda: reload_status)


async def test_item_status_has_all_five_series_with_one_set(engine):
    reg = exposition(engine).registry

    def status(item, category, priority, st):
        return reg.get_sample_value(
            "readiness_item_status",
            {"item": item, "category": category, "priority": priority, "status": st},
        )

    assert [
        status("S-1", "security", "critical", s)
        for s in ("pass", "partial", "fail", "pending", "na")
    ] == [1, 0, 0, 0, 0]
    assert status("S-2", "security", "high", "fail") == 1
    assert status("S-3", "security", "high", "pending") == 1
    assert status("T-1", "team", "critical", "na") == 1


async def test_item_info_timestamps_and_counters(engine):
    reg = exposition(engine).registry
    assert (
        reg.get_sample_value(
            "readiness_item_info",
            {
                "item": "S-1",
                "category": "security",
                "priority": "critical",
                "title": 'passes, "quoted"',
                "probe": "file",
            },
        )
        == 1
    )
    state = engine.snapshot().states["S-1"]
    assert (
        reg.get_sample_value("readiness_item_last_probe_timestamp_seconds", {"item": "S-1"})
        == state.checked_at
    )
    assert (
        reg.get_sample_value("readiness_item_probe_duration_seconds", {"item": "S-1"})
        == state.duration
    )
    assert reg.get_sample_value("readiness_item_interval_seconds", {"item": "S-1"}) == 30
    assert reg.get_sample_value("readiness_probe_runs_total", {"item": "S-1"}) == 1
    assert reg.get_sample_value("readiness_probe_errors_total", {"item": "S-1"}) == 0
    assert (
        reg.get_sample_value("readiness_item_last_change_timestamp_seconds", {"item": "S-3"})
        is not None
    )
    # Items that are not probed have no probe timestamps, interval or counters.
    for name in (
        "readiness_item_last_probe_timestamp_seconds",
        "readiness_item_interval_seconds",
        "readiness_probe_runs_total",
    ):
        assert reg.get_sample_value(name, {"item": "S-3"}) is None
        assert reg.get_sample_value(name, {"item": "T-1"}) is None


async def test_scores_and_decision(engine):
    reg = exposition(engine).registry
    assert reg.get_sample_value("readiness_total_score_ratio") == pytest.approx(1 / 3)
    assert reg.get_sample_value("readiness_critical_score_ratio") == 1.0
    assert reg.get_sample_value(
        "readiness_category_score_ratio", {"category": "security"}
    ) == pytest.approx(1 / 3)
    assert math.isnan(reg.get_sample_value("readiness_category_score_ratio", {"category": "team"}))
    assert (
        reg.get_sample_value("readiness_category_items", {"category": "security", "status": "fail"})
        == 1
    )
    assert (
        reg.get_sample_value("readiness_category_items", {"category": "team", "status": "na"}) == 1
    )
    assert [
        reg.get_sample_value("readiness_decision", {"decision": d})
        for d in ("go", "go_with_caution", "no_go")
    ] == [0, 0, 1]


async def test_exporter_self_metrics(engine):
    from exporter import __version__

    reg = exposition(engine, ReloadStatus(False, 1700000000.0)).registry
    assert reg.get_sample_value("readiness_exporter_build_info", {"version": __version__}) == 1
    assert reg.get_sample_value("readiness_exporter_config_last_reload_successful") == 0
    assert (
        reg.get_sample_value("readiness_exporter_config_last_reload_success_timestamp_seconds")
        == 1700000000.0
    )


# Families that describe the checklist or the exporter, not the result of a probe.
NOT_RESULTS = {
    "readiness_item_info",
    "readiness_item_interval_seconds",
    "readiness_exporter_build_info",
    "readiness_exporter_config_last_reload_successful",
    "readiness_exporter_config_last_reload_success_timestamp_seconds",
}


async def test_help_of_every_result_family_says_results_come_from_periodic_probes(engine):
    families = {f.name: f.documentation for f in exposition(engine).registry.collect()}
    assert set(families) >= NOT_RESULTS
    results = {name: doc for name, doc in families.items() if name not in NOT_RESULTS}
    assert len(results) == 12  # a new family lands in one of the two sets on purpose
    assert [name for name, doc in results.items() if "periodic probes" not in doc] == []


async def test_expiry_is_exported_when_a_result_has_one(write_config, tmp_path):
    (tmp_path / "T-1.yaml").write_text(
        "item: T-1\nstatus: pass\nvalidated_by: x\ndate: 2026-01-01\nexpires: 2099-01-01\n"
    )
    engine = Engine(
        config.load(
            write_config("""
        categories:
          - id: team
            items:
              - {id: T-1, title: t, priority: high, probe: {attestation: {file: T-1.yaml}}}
    """),
            {},
        )
    )
    await engine.run_round()
    await engine.stop()
    reg = exposition(engine).registry
    assert (
        reg.get_sample_value("readiness_item_expiry_timestamp_seconds", {"item": "T-1"})
        == 4070908800.0
    )


async def test_removed_items_leave_the_exposition(engine, write_config):
    expo = exposition(engine)
    assert b'item="S-2"' in expo.render()
    engine.reload(
        config.load(
            write_config("""
        categories:
          - id: security
            items:
              - {id: S-1, title: passes, priority: critical, probe: {file: {path: present.txt}}}
    """),
            {},
        )
    )
    text = expo.render().decode()
    assert 'item="S-2"' not in text and 'category="team"' not in text
    assert 'item="S-1"' in text


async def test_render_is_reused_until_results_change(engine):
    expo = exposition(engine)
    first = expo.render()
    assert expo.render() is first
    await engine.run_item("S-1")
    assert expo.render() is not first


async def test_small_checklists_scrape_exact_text(engine):
    expo = exposition(engine)
    first = expo.scrape()
    await engine.run_item("S-1")
    assert expo.scrape() is not first  # 4 items: far below CACHED_ABOVE


async def test_big_checklists_scrape_the_refreshed_text_while_it_is_recent(engine, monkeypatch):
    from exporter import metrics

    status = ReloadStatus(True, 1700000000.0)
    expo = Exposition(engine.snapshot, lambda: status)
    expo.cached_above = 0  # treat these 4 items as a big checklist
    clock = [1000.0]
    monkeypatch.setattr(metrics.time, "monotonic", lambda: clock[0])
    first = expo.scrape()
    await engine.run_item("S-1")
    clock[0] += 1.0
    assert expo.scrape() is first, "within SERVE_WITHIN the last render is served"
    expo.refresh()  # the daemon's once-a-second write
    refreshed = expo.scrape()
    assert refreshed is not first
    await engine.run_item("S-1")
    clock[0] += metrics.SERVE_WITHIN + 0.1
    assert expo.scrape() is not refreshed, "older than SERVE_WITHIN: rendered at the scrape"
    latest = expo.scrape()
    status = ReloadStatus(False, 1700000000.0)  # a failed reload shows at once
    assert expo.scrape() is not latest
    assert b"readiness_exporter_config_last_reload_successful 0.0" in expo.scrape()


async def test_exposition_parses_and_passes_promtool(engine):
    text = exposition(engine).render().decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {
        "readiness_item_status",
        "readiness_probe_runs",
        "readiness_decision",
        "readiness_total_score_ratio",
    } <= names
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/test.sh installs it as root)")
    done = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, b"")
