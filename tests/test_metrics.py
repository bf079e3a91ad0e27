"""/metrics as a scraper gets it: served over HTTP by a real exporter, parsed by prometheus_client.

Each test reads what the exporter serves (text format, OpenMetrics, gzip), never a registry that
nobody scrapes; a real Prometheus scrapes it the way it always does (OpenMetrics, gzip).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import math
import platform
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from support.procs import http_get, require, start_prometheus
from support.servers import serve_app
from support.waiting import until

from exporter import __version__, build
from exporter.daemon import Daemon
from exporter.metrics import (
    ITEM_FAMILIES,
    Exposition,
    Format,
    ReloadStatus,
    accepts_gzip,
    negotiate,
    select_families,
)
from exporter.web.app import build_app

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

PROMETHEUS_ACCEPT = (  # what Prometheus 2.42 sends with every scrape
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class Served:
    """A running exporter (daemon and HTTP app, no scheduler) and how to scrape it."""

    def __init__(self, daemon: Daemon, base: str, session: aiohttp.ClientSession):
        self.daemon = daemon
        self.engine = daemon.engine
        self.base = base
        self._session = session

    async def get(self, headers: dict[str, str] | None = None) -> tuple[dict[str, str], bytes]:
        """Response headers and the raw body of GET /metrics (never decompressed)."""
        async with self._session.get(f"{self.base}/metrics", headers=headers or {}) as resp:
            assert resp.status == 200
            return dict(resp.headers), await resp.read()

    async def text(self) -> str:
        return (await self.get({"Accept-Encoding": "identity"}))[1].decode()

    async def families(self) -> dict:
        return {f.name: f for f in text_string_to_metric_families(await self.text())}

    async def value(self, name: str, **labels: str) -> float | None:
        for family in (await self.families()).values():
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None


@contextlib.asynccontextmanager
async def serving(path: Path, tweak: Callable[[web.Application], None] = lambda app: None):
    daemon = Daemon(path, env={})
    app = build_app(daemon)
    tweak(app)
    async with serve_app(app) as base, aiohttp.ClientSession(auto_decompress=False) as session:
        try:
            yield Served(daemon, base, session)
        finally:
            await daemon.engine.stop()


@pytest.fixture
async def served(write_config, tmp_path) -> AsyncIterator[Served]:
    (tmp_path / "present.txt").write_text("x")
    async with serving(write_config(CONFIG)) as s:
        await s.engine.run_round()
        yield s


async def test_item_status_has_all_five_series_with_one_set(served):
    async def status(item, category, priority, st):
        return await served.value(
            "readiness_item_status", item=item, category=category, priority=priority, status=st
        )

    assert [
        await status("S-1", "security", "critical", s)
        for s in ("pass", "partial", "fail", "pending", "na")
    ] == [1, 0, 0, 0, 0]
    assert await status("S-2", "security", "high", "fail") == 1
    assert await status("S-3", "security", "high", "pending") == 1
    assert await status("T-1", "team", "critical", "na") == 1


async def test_item_info_timestamps_and_counters(served):
    info = await served.value(
        "readiness_item_info",
        item="S-1",
        category="security",
        priority="critical",
        title='passes, "quoted"',
        probe="file",
        item_owner="",
    )
    assert info == 1
    state = served.engine.snapshot().states["S-1"]
    value = served.value
    assert await value("readiness_item_last_probe_timestamp_seconds", item="S-1") == pytest.approx(
        state.checked_at
    )
    assert await value("readiness_item_probe_duration_seconds", item="S-1") == pytest.approx(
        state.duration
    )
    assert await value("readiness_item_interval_seconds", item="S-1") == 30
    assert await value("readiness_probe_runs_total", item="S-1") == 1
    assert await value("readiness_probe_errors_total", item="S-1") == 0
    assert await value("readiness_item_last_change_timestamp_seconds", item="S-3") is not None
    # Items that are not probed have no probe timestamps, interval or counters.
    for name in (
        "readiness_item_last_probe_timestamp_seconds",
        "readiness_item_interval_seconds",
        "readiness_probe_runs_total",
    ):
        assert await value(name, item="S-3") is None
        assert await value(name, item="T-1") is None


async def test_scores_and_decision(served):
    value = served.value
    assert await value("readiness_total_score_ratio") == pytest.approx(1 / 3)
    assert await value("readiness_critical_score_ratio") == 1.0
    assert await value("readiness_category_score_ratio", category="security") == pytest.approx(
        1 / 3
    )
    assert math.isnan(await value("readiness_category_score_ratio", category="team"))
    assert await value("readiness_category_items", category="security", status="fail") == 1
    assert await value("readiness_category_items", category="team", status="na") == 1
    assert [
        await value("readiness_decision", decision=d) for d in ("go", "go_with_caution", "no_go")
    ] == [0, 0, 1]


async def test_decision_thresholds_come_from_the_config(write_config, tmp_path):
    (tmp_path / "present.txt").write_text("x")
    path = write_config("decision: {go: 0.9, caution: 0.75}\n" + CONFIG)
    async with serving(path) as s:
        assert await s.value("readiness_decision_threshold_ratio", decision="go") == 0.9
        assert await s.value("readiness_decision_threshold_ratio", decision="go_with_caution") == (
            0.75
        )
        assert await s.value("readiness_decision_threshold_ratio", decision="no_go") is None


async def test_decision_last_change_is_when_the_deciding_item_changed(write_config, tmp_path):
    path = write_config("""
        categories:
          - id: a
            items:
              - {id: F-1, title: flag, priority: critical, probe: {file: {path: flag}}}
    """)
    async with serving(path) as s:
        started = await s.value("readiness_decision_last_change_timestamp_seconds")
        await s.engine.run_round()  # PENDING -> FAIL: NO-GO stays NO-GO
        assert await s.value("readiness_decision_last_change_timestamp_seconds") == started
        (tmp_path / "flag").write_text("x")
        await s.engine.run_round()  # FAIL -> PASS: GO
        passed_at = s.engine.snapshot().states["F-1"].changed_at
        assert passed_at > started
        assert await s.value("readiness_decision", decision="go") == 1
        assert await s.value("readiness_decision_last_change_timestamp_seconds") == pytest.approx(
            passed_at
        )
        await s.engine.run_round()  # PASS again: the decision did not change
        assert await s.value("readiness_decision_last_change_timestamp_seconds") == pytest.approx(
            passed_at
        )


async def test_exporter_self_metrics(served):
    served.daemon.reload_status = ReloadStatus(False, 1700000000.0)
    served.daemon.external_url = "https://readiness.example.test/service-a/"
    me = build()
    assert (me.version, me.python) == (__version__, platform.python_version())
    value = served.value
    assert (
        await value(
            "readiness_exporter_build_info",
            version=me.version,
            revision=me.revision,
            branch=me.branch,
            pythonversion=me.python,
        )
        == 1
    )
    assert (
        await value(
            "readiness_exporter_web_info", external_url="https://readiness.example.test/service-a/"
        )
        == 1
    )
    assert await value("readiness_exporter_config_last_reload_successful") == 0
    assert (
        await value("readiness_exporter_config_last_reload_success_timestamp_seconds")
        == 1700000000.0
    )


def test_build_revision_comes_from_git_or_the_environment_the_image_sets(tmp_path):
    import shutil
    import sys

    from support.procs import ROOT

    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert build().revision == head  # a source checkout: asked of git

    # A copy outside any checkout (as in the image): the variables, else "unknown".
    (tmp_path / "exporter").mkdir()
    shutil.copy(ROOT / "exporter" / "__init__.py", tmp_path / "exporter" / "__init__.py")
    code = "from exporter import build; b = build(); print(b.revision, b.branch)"

    def run(env: dict[str, str]) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
        )
        return done.stdout.split() or [done.stderr]

    image = {"READINESS_EXPORTER_REVISION": "0123abc", "READINESS_EXPORTER_BRANCH": "release-1"}
    assert run(image) == ["0123abc", "release-1"]
    assert run({"PATH": "/usr/bin:/bin"}) == ["unknown", "unknown"]


async def test_process_and_python_metrics_are_served_fresh(served):
    families = await served.families()
    for name in (
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "python_info",
    ):
        assert name in families, name
    cpu = families["process_cpu_seconds"].samples[0].value
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # spend CPU the next scrape must show
        pass
    assert (await served.families())["process_cpu_seconds"].samples[0].value > cpu


# Families that describe the checklist or the exporter, not the result of a probe.
NOT_RESULTS = {
    "readiness_item_info",
    "readiness_item_interval_seconds",
    "readiness_decision_threshold_ratio",
    "readiness_exporter_build_info",
    "readiness_exporter_web_info",
    "readiness_exporter_config_last_reload_successful",
    "readiness_exporter_config_last_reload_success_timestamp_seconds",
    # What people recorded (exporter/launch.py), not what probes found.
    "readiness_item_risk_accepted",
    "readiness_item_risk_acceptance_expiry_timestamp_seconds",
    "readiness_signoff",
    "readiness_signoff_timestamp_seconds",
    "readiness_launch_timestamp_seconds",
    "readiness_launch_phase",
}


async def test_help_of_every_result_family_says_results_come_from_periodic_probes(served):
    families = {
        name: f.documentation
        for name, f in (await served.families()).items()
        if name.startswith("readiness_")
    }
    assert set(families) >= NOT_RESULTS
    results = {name: doc for name, doc in families.items() if name not in NOT_RESULTS}
    assert len(results) == 15  # a new family lands in one of the two sets on purpose
    assert [name for name, doc in results.items() if "periodic probes" not in doc] == []


async def test_expiry_is_exported_when_a_result_has_one(write_config, tmp_path):
    (tmp_path / "T-1.yaml").write_text(
        "item: T-1\nstatus: pass\nvalidated_by: x\ndate: 2026-01-01\nexpires: 2099-01-01\n"
    )
    path = write_config("""
        categories:
          - id: team
            items:
              - {id: T-1, title: t, priority: high, probe: {attestation: {file: T-1.yaml}}}
    """)
    async with serving(path) as s:
        await s.engine.run_round()
        assert await s.value("readiness_item_expiry_timestamp_seconds", item="T-1") == 4070908800.0


async def test_removed_items_leave_the_exposition(served, write_config):
    assert 'item="S-2"' in await served.text()
    write_config("""
        categories:
          - id: security
            items:
              - {id: S-1, title: passes, priority: critical, probe: {file: {path: present.txt}}}
    """)
    assert await served.daemon.reload() == []
    text = await served.text()
    assert 'item="S-2"' not in text and 'category="team"' not in text
    assert 'item="S-1"' in text


# -- formats and compression --------------------------------------------------------------


def readiness_part(text: str) -> list[tuple[str, dict, float]]:
    """Every readiness_* sample, comparable across two scrapes (NaN made comparable)."""
    return [
        (s.name, s.labels, -1.0 if math.isnan(s.value) else s.value)
        for f in text_string_to_metric_families(text)
        if f.name.startswith("readiness_")
        for s in f.samples
    ]


async def test_gzip_when_asked_and_the_same_metrics(served):
    headers, plain = await served.get({"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in headers
    headers, body = await served.get({"Accept-Encoding": "gzip, deflate"})
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert len(body) < len(plain) / 2
    unzipped = gzip.decompress(body)  # raises on a bad CRC or length
    assert readiness_part(unzipped.decode()) == readiness_part(plain.decode())
    assert b"process_cpu_seconds_total" in unzipped

    # Looks like a request for gzip, but refuses it.
    headers, body = await served.get({"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in headers
    assert body.startswith(b"# HELP")


async def test_gzip_follows_results_and_reloads(served, tmp_path):
    first = gzip.decompress((await served.get({"Accept-Encoding": "gzip"}))[1]).decode()
    (tmp_path / "absent.txt").write_text("now here")
    await served.engine.run_round()
    second = gzip.decompress((await served.get({"Accept-Encoding": "gzip"}))[1]).decode()
    assert (
        'readiness_item_status{category="security",item="S-2",priority="high",status="pass"} 1.0'
        in second
    )
    assert readiness_part(second) != readiness_part(first)
    assert readiness_part(second) == readiness_part(await served.text())


async def test_openmetrics_when_asked(served):
    headers, body = await served.get({"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"})
    assert headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    text = gzip.decompress(body).decode()
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1
    assert "# TYPE readiness_probe_runs counter\n" in text
    families = {f.name: f for f in openmetrics_families(text)}  # strict: raises on any error
    runs = {s.labels["item"]: s.value for s in families["readiness_probe_runs"].samples}
    assert runs == {"S-1": 1.0, "S-2": 1.0}
    assert families["readiness_probe_runs"].samples[0].name == "readiness_probe_runs_total"
    assert "process_cpu_seconds" in families and "python_info" in families

    # Plain text for a client that asks for nothing, or only for what we do not speak.
    for accept in ("", "text/plain", "application/openmetrics-text;version=0.0.1"):
        headers, body = await served.get({"Accept": accept, "Accept-Encoding": "identity"})
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", accept
        assert b"# EOF" not in body


@pytest.mark.parametrize(
    "header, gz",
    [
        ("gzip", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip;q=0", False),
        ("gzip;q=0.0, *", False),
        ("*, gzip;q=0", False),  # named outright: wins over the wildcard
        ("*;q=0", False),
        ("gzip;q=bogus", False),
    ],
)
def test_accept_encoding(header, gz):
    assert accepts_gzip(header) is gz


def test_negotiation():
    assert negotiate(PROMETHEUS_ACCEPT) is Format.OPENMETRICS
    assert negotiate("text/plain;version=0.0.4;q=0.5,application/openmetrics-text") is (
        Format.OPENMETRICS
    )
    assert negotiate("text/plain;version=0.0.4") is Format.TEXT
    assert negotiate("*/*") is Format.TEXT


async def test_served_text_passes_promtool(served):
    promtool = require("promtool")
    text = await served.text()
    done = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, b"")


# -- the per-item families an operator keeps ------------------------------------------------


async def test_item_families_knob_drops_the_others(served):
    served.daemon.exposition.select(select_families(["status", "info"]))
    names = {n for n in await served.families() if n.startswith("readiness_item_")}
    assert names == {"readiness_item_status", "readiness_item_info"}
    assert "readiness_probe_runs" not in await served.families()
    assert await served.value("readiness_total_score_ratio") == pytest.approx(1 / 3)


def test_item_families_knob_names_what_it_knows():
    assert [f.key for f in select_families(["info", "status"])] == ["status", "info"]
    with pytest.raises(ValueError) as err:
        select_families(["status", "runs", "bogus"])
    assert str(err.value) == (
        "--metrics.item-families: unknown families runs, bogus (expected some of "
        + ", ".join(f.key for f in ITEM_FAMILIES)
        + ")"
    )


async def test_series_per_item_as_the_readme_states(served):
    """README: 13 series for a probed item that has passed (14 with an expiry), 7 for an item
    not probed."""
    families = await served.families()

    def series(item: str) -> int:
        return sum(
            s.labels.get("item") == item
            for name, f in families.items()
            if name.startswith("readiness_")
            for s in f.samples
        )

    assert series("S-1") == 13  # probed, PASS, no expiry
    assert series("S-3") == 7  # not configured: status (5), info, last change


# -- caching --------------------------------------------------------------------------------


def exposition(engine, reload_status=ReloadStatus(True, 1700000000.0)):
    return Exposition(engine.snapshot, lambda: reload_status)


async def test_render_is_reused_until_results_change(served):
    expo = exposition(served.engine)
    first = expo.render()
    assert expo.render() is first
    await served.engine.run_item("S-1")
    assert expo.render() is not first


async def test_small_checklists_scrape_exact_text(served):
    expo = exposition(served.engine)
    first = expo.scrape()
    await served.engine.run_item("S-1")
    assert readiness_part(expo.scrape().decode()) != readiness_part(first.decode())


async def test_big_checklists_scrape_the_refreshed_text_while_it_is_recent(served, monkeypatch):
    from exporter import metrics

    status = ReloadStatus(True, 1700000000.0)
    expo = Exposition(served.engine.snapshot, lambda: status)
    expo.cached_above = 0  # treat these 4 items as a big checklist
    clock = [1000.0]
    monkeypatch.setattr(metrics.time, "monotonic", lambda: clock[0])

    def runs() -> list:
        return [s for s in readiness_part(expo.scrape().decode()) if "runs" in s[0]]

    first = runs()
    await served.engine.run_item("S-1")
    clock[0] += 1.0
    assert runs() == first, "within SERVE_WITHIN the last render is served"
    expo.refresh()  # the daemon's once-a-second write
    refreshed = runs()
    assert refreshed != first
    await served.engine.run_item("S-1")
    clock[0] += metrics.SERVE_WITHIN + 0.1
    assert runs() != refreshed, "older than SERVE_WITHIN: rendered at the scrape"
    status = ReloadStatus(False, 1700000000.0)  # a failed reload shows at once
    assert b"readiness_exporter_config_last_reload_successful 0.0" in expo.scrape()


# -- a real Prometheus ---------------------------------------------------------------------


async def test_prometheus_scrapes_openmetrics_gzipped(write_config, tmp_path):
    (tmp_path / "present.txt").write_text("x")
    seen: list[tuple[str, str, str, str]] = []

    @web.middleware
    async def record(request: web.Request, handler):
        response = await handler(request)
        if request.path == "/metrics":
            seen.append(
                (
                    request.headers.get("Accept", ""),
                    request.headers.get("Accept-Encoding", ""),
                    response.headers.get("Content-Type", ""),
                    response.headers.get("Content-Encoding", ""),
                )
            )
        return response

    async with serving(write_config(CONFIG), lambda app: app.middlewares.append(record)) as s:
        await s.engine.run_round()
        target = urllib.parse.urlsplit(s.base).netloc
        prom, url = await asyncio.to_thread(
            start_prometheus,
            tmp_path / "prom",
            "global: {scrape_interval: 1s}\nscrape_configs:\n"
            f"  - job_name: readiness\n    static_configs: [{{targets: ['{target}']}}]\n",
        )
        try:

            async def query(expr: str) -> list:
                status, body = await asyncio.to_thread(
                    http_get, f"{url}/api/v1/query?query={urllib.parse.quote(expr)}"
                )
                assert status == 200, body
                return json.loads(body)["data"]["result"]

            async def scraped() -> bool:
                return [r["value"][1] for r in await query('up{job="readiness"}')] == ["1"]

            await until(scraped, "Prometheus scraping the exporter", 30, every=0.1)
            runs = await query('readiness_probe_runs_total{job="readiness",item="S-1"}')
            assert [r["value"][1] for r in runs] == ["1"]
            decision = await query('readiness_decision{job="readiness",decision="no_go"}')
            assert [r["value"][1] for r in decision] == ["1"]
            assert await query('process_resident_memory_bytes{job="readiness"}') != []
            # Every sample we serve arrived: nothing was dropped by a parse error.
            served = sum(len(f.samples) for f in (await s.families()).values())
            scraped_samples = await query('scrape_samples_scraped{job="readiness"}')
            assert [r["value"][1] for r in scraped_samples] == [str(served)]
        finally:
            await asyncio.to_thread(prom.stop)
        accept, accept_encoding, content_type, encoding = seen[0]
        assert accept.startswith("application/openmetrics-text") and "gzip" in accept_encoding
        assert content_type.startswith("application/openmetrics-text; version=1.0.0")
        assert encoding == "gzip"
