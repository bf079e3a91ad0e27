"""The fast /metrics renderer against the reference both are derived from.

``Exposition`` writes the per-item lines itself; ``ReadinessCollector`` (its ``registry``) builds
the same families through prometheus_client from the same declarations. Byte for byte, in the
text format and in OpenMetrics, and gzipped.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from support.procs import require

from exporter import config
from exporter.engine import Engine
from exporter.metrics import BLOCK, Exposition, Format, ReloadStatus, select_families

CONFIG = r"""
checklist:
  name: Render
categories:
- id: security
  title: Security
  items:
  - id: S-001
    title: "Quotes \" and back\\slash, a newline\n and ünïcode"
    priority: critical
    probe: {file: {path: present.txt}}
  - id: S-002
    title: Missing file
    priority: high
    probe: {file: {path: absent.txt}}
  - id: S-003
    title: Signed off, with an expiry
    priority: medium
    probe: {attestation: {file: signed.yaml}}
- id: "ops \"team\""
  title: Operations
  items:
  - id: O-001
    title: Needs a variable that is unset
    priority: low
    probe: {http: {url: "${RENDER_UNSET_URL}"}}
  - id: O-002
    title: Not applicable here
    priority: low
    applicable: false
  - id: O-003
    title: Closed port
    priority: critical
    timeout: 2s
    probe: {tcp: {target: "127.0.0.1:1"}}
"""

SIGNED = """\
item: S-003
status: pass
validated_by: Jane Doe
date: 2026-11-01
evidence: [drill log]
expires: 2099-02-01
"""


def _engine(tmp_path: Path, text: str) -> Engine:
    (tmp_path / "present.txt").write_text("here\n")
    (tmp_path / "signed.yaml").write_text(SIGNED)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return Engine(config.load(path, {}))


def _reference(exposition: Exposition) -> bytes:
    """What prometheus_client writes for the reference collector; checks OpenMetrics too."""
    openmetrics = generate_openmetrics(exposition.registry)
    assert exposition.render(Format.OPENMETRICS) + b"# EOF\n" == openmetrics
    return generate_latest(exposition.registry)


def _unzipped(exposition: Exposition, fmt: Format) -> bytes:
    """The gzipped scrape, decompressed, without the process_* tail it ends with."""
    text = gzip.decompress(exposition.scrape(fmt, gzip=True))
    return text[: text.index(b"# HELP process_")]


async def test_text_matches_generate_latest_before_and_after_probes(tmp_path: Path) -> None:
    engine = _engine(tmp_path, CONFIG)
    reload = ReloadStatus(True, 1_795_000_000.5)
    exposition = Exposition(engine.snapshot, lambda: reload)
    before = exposition.render()
    assert before == _reference(exposition)

    await engine.run_round()
    after = exposition.render()
    assert after != before
    assert after == _reference(exposition)
    assert b'readiness_item_expiry_timestamp_seconds{item="S-003"} 4.0735872e+09' in after
    # The title holds a quote, a backslash and a newline: escaped as the text format wants.
    assert 'title="Quotes \\" and back\\\\slash, a newline\\n and ünïcode"'.encode() in after

    await engine.run_round(["S-002"])  # only S-002's lines are written again
    assert exposition.render() == _reference(exposition)

    await engine.run_round(["S-001", "O-003"])
    exposition.refresh()  # what the daemon does between scrapes
    await engine.run_round(["S-003"])
    assert exposition.render() == _reference(exposition)
    await engine.stop()


async def test_gzip_pieces_make_the_same_text(tmp_path: Path) -> None:
    engine = _engine(tmp_path, CONFIG)
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    await engine.run_round()
    for fmt in Format:
        assert _unzipped(exposition, fmt) == exposition.render(fmt)
    await engine.run_round(["S-002"])  # one block changes, the others are reused compressed
    for fmt in Format:
        assert _unzipped(exposition, fmt) == exposition.render(fmt)
    await engine.stop()


async def test_selected_families_only(tmp_path: Path) -> None:
    engine = _engine(tmp_path, CONFIG)
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    await engine.run_round()
    exposition.render()
    exposition.select(select_families(["status", "expiry"]))
    text = exposition.render()
    assert text == _reference(exposition)
    assert b"readiness_item_info" not in text and b"readiness_probe_runs" not in text
    assert b'readiness_item_expiry_timestamp_seconds{item="S-003"}' in text
    assert _unzipped(exposition, Format.TEXT) == text
    await engine.stop()


async def test_reload_drops_removed_items_and_adds_new_ones(tmp_path: Path) -> None:
    engine = _engine(tmp_path, CONFIG)
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    await engine.run_round()
    exposition.render()

    smaller = CONFIG.replace(
        "  - id: S-002\n    title: Missing file", "  - id: S-004\n    title: Renamed"
    )
    (tmp_path / "config.yaml").write_text(smaller)
    engine.reload(config.load(tmp_path / "config.yaml", {}))
    text = exposition.render()
    assert text == _reference(exposition)
    assert b'item="S-002"' not in text
    assert (
        b'readiness_item_status{category="security",item="S-004",priority="high",'
        b'status="pending"} 1.0' in text
    )
    await engine.stop()


async def test_reload_that_changes_an_items_labels_rewrites_its_lines(tmp_path: Path) -> None:
    """Same IDs in the same order, new labels: a changed value must not keep the old head."""
    engine = _engine(tmp_path, CONFIG)
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    await engine.run_round()
    exposition.render()
    changed = CONFIG.replace(
        "title: Missing file\n    priority: high", "title: Moved\n    priority: low"
    )
    (tmp_path / "config.yaml").write_text(changed)
    engine.reload(config.load(tmp_path / "config.yaml", {}))
    await engine.run_round(["S-002"])
    text = exposition.render()
    assert text == _reference(exposition)
    assert b'priority="high"' not in text.split(b'item="S-002"')[1].split(b"\n")[0]
    assert b'readiness_item_probe_duration_seconds{item="S-002"}' in text
    assert b'title="Moved"' in text and b'title="Missing file"' not in text
    await engine.stop()


async def test_text_parses_and_passes_promtool(tmp_path: Path) -> None:
    engine = _engine(tmp_path, CONFIG)
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(False, 1.0))
    await engine.run_round()
    text = exposition.render().decode()

    families = {f.name: f for f in text_string_to_metric_families(text)}
    status = {
        (s.labels["item"], s.labels["status"]): s.value
        for s in families["readiness_item_status"].samples
    }
    assert status[("S-001", "pass")] == 1.0
    assert status[("S-002", "fail")] == 1.0
    assert status[("O-001", "pending")] == 1.0
    assert status[("O-002", "na")] == 1.0
    runs = {s.labels["item"]: s.value for s in families["readiness_probe_runs"].samples}
    assert runs == {"S-001": 1.0, "S-002": 1.0, "S-003": 1.0, "O-003": 1.0}

    promtool = require("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


async def test_rows_across_several_blocks_stay_exact_when_some_items_change(tmp_path: Path) -> None:
    count = 3 * BLOCK + 5
    items = "\n".join(
        f"  - {{id: F-{n:03d}, title: file {n}, priority: high, "
        f"probe: {{file: {{path: f{n % 7}.txt}}}}}}"
        for n in range(count)
    )
    (tmp_path / "config.yaml").write_text(
        "checklist: {name: Blocks}\ncategories:\n"
        f"- id: files\n  title: Files\n  items:\n{items}\n"
    )
    for n in range(7):
        (tmp_path / f"f{n}.txt").write_text("x")
    engine = Engine(config.load(tmp_path / "config.yaml", {}))
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    await engine.run_round()
    assert exposition.render() == _reference(exposition)
    assert _unzipped(exposition, Format.OPENMETRICS) == exposition.render(Format.OPENMETRICS)

    (tmp_path / "f3.txt").unlink()  # items 3, 10, 17, ... fail, in every block
    await engine.run_round([f"F-{n:03d}" for n in range(BLOCK - 10, 2 * BLOCK + 10)])
    text = exposition.render()
    assert text == _reference(exposition)
    assert (
        b'readiness_item_status{category="files",item="F-129",priority="high",status="fail"} 1.0'
        in text
    )
    assert (
        b'readiness_item_status{category="files",item="F-003",priority="high",status="pass"} 1.0'
        in text
    )
    assert _unzipped(exposition, Format.OPENMETRICS) == exposition.render(Format.OPENMETRICS)
    await engine.stop()
