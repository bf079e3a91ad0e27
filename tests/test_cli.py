"""The command line: check's exit codes and formats, validate's report, flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def items_config(write_config, statuses: list[tuple[str, bool]]) -> Path:
    """A config whose items pass or fail as told (a command that exits 0 or 1)."""
    lines = ["categories:", "  - id: a", "    title: A", "    items:"]
    for n, (priority, ok) in enumerate(statuses):
        lines.append(
            f"      - {{id: X-{n:02}, title: item {n}, priority: {priority}, "
            f'probe: {{command: {{argv: ["{"true" if ok else "false"}"]}}}}}}'
        )
    return write_config("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "statuses,code",
    [
        ([("critical", True)] * 20, 0),  # GO
        ([("critical", True)] * 19 + [("high", False)], 0),  # exactly 95 %: GO
        ([("critical", True)] * 9 + [("high", False)], 3),  # 90 %: GO WITH CAUTION
        ([("critical", True)] * 8 + [("high", False)] * 2, 1),  # 80 %: NO-GO
        ([("critical", False)] + [("high", True)] * 19, 1),  # a critical item fails: NO-GO
    ],
    ids=["go", "go-at-95", "caution", "no-go-total", "no-go-critical"],
)
def test_check_exit_code_is_the_decision(write_config, statuses, code):
    done = cli("check", "--config.file", str(items_config(write_config, statuses)))
    assert done.returncode == code, done.stdout + done.stderr


def test_check_json_document(write_config):
    path = items_config(write_config, [("critical", True), ("high", False)])
    done = cli("check", "--config.file", str(path), "--format", "json")
    doc = json.loads(done.stdout)
    assert set(doc) >= {
        "checklist",
        "decision",
        "total_score",
        "critical_score",
        "categories",
        "items",
    }
    assert (doc["decision"], doc["total_score"], doc["critical_score"]) == ("no_go", 0.5, 1.0)
    assert doc["categories"] == [
        {
            "id": "a",
            "title": "A",
            "score": 0.5,
            "counts": {"pass": 1, "partial": 0, "fail": 1, "pending": 0, "na": 0},
        }
    ]
    first = doc["items"][0]
    assert set(first) == {
        "id",
        "title",
        "category",
        "priority",
        "status",
        "summary",
        "duration_seconds",
        "checked_at",
    }
    assert (first["id"], first["status"], first["summary"]) == ("X-00", "pass", "exit code 0")


def test_check_table_shows_decision_and_reason(write_config):
    path = items_config(write_config, [("critical", False), ("high", True)])
    done = cli("check", "--config.file", str(path))
    assert done.returncode == 1
    assert "Decision        NO-GO: 1 critical item not PASS: X-00" in done.stdout


def test_check_selected_items_only(write_config):
    path = items_config(write_config, [("critical", False), ("high", True)])
    done = cli("check", "--config.file", str(path), "--item", "X-01", "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == 0
    assert [i["id"] for i in doc["items"]] == ["X-01"]


def test_check_unknown_item_is_a_usage_error(write_config):
    path = items_config(write_config, [("high", True)])
    done = cli("check", "--config.file", str(path), "--item", "NOPE-1")
    assert done.returncode == 2
    assert "unknown item NOPE-1" in done.stderr


def test_check_bad_config_exits_2_with_located_errors(write_config):
    path = write_config(
        "categories:\n  - id: a\n    items:\n"
        "      - {id: A-1, title: t, priority: nope, probe: {command: {argv: [x]}}}\n"
    )
    done = cli("check", "--config.file", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "config.yaml: categories[0].items[0] (A-1): priority must be one of "
        'critical, high, medium, low (got "nope")'
    )


def test_validate_lists_unconfigured_items_and_their_variables(write_config):
    path = write_config("""
        categories:
          - id: a
            items:
              - {id: A-1, title: t, priority: high, probe: {http: {url: "${APP_URL}/health"}}}
              - {id: A-2, title: t, priority: high,
                 probe: {command: {argv: ["${TOOL}", "${APP_REPO}"]}}}
              - {id: A-3, title: t, priority: high, probe: {command: {argv: ["true"]}}}
    """)
    done = cli("validate", "--config.file", str(path), env={"APP_URL": ""})
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "config.yaml: valid: 3 items in 1 categories",
        "2 items are not configured (PENDING until these variables are set):",
        "  A-1: APP_URL",
        "  A-2: TOOL, APP_REPO",
        "variables needed: APP_REPO, APP_URL, TOOL",
    ]


def test_validate_lists_every_error(write_config):
    path = write_config("""
        categories:
          - id: a
            items:
              - {id: A-1, title: t, priority: nope, probe: {command: {argv: ["x"]}}}
              - {id: A-1, title: t, priority: high, probe: {command: {argv: ["x"]}}}
    """)
    done = cli("validate", "--config.file", str(path))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 2


def test_shipped_config_validates():
    done = cli("validate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("config.yaml: valid: 145 items in 12 categories")


def test_bad_listen_address_is_a_usage_error():
    done = cli("--web.listen-address", "localhost")
    assert done.returncode == 2
    assert "--web.listen-address must be HOST:PORT or :PORT (got 'localhost')" in done.stderr


def test_version_flag():
    from exporter import __version__

    done = cli("--version")
    assert done.stdout.strip() == f"readiness-exporter {__version__}"


def test_item_families_flag(write_config, tmp_path):
    from support.procs import http_get, start_exporter

    path = items_config(write_config, [("high", True)])
    done = cli("--config.file", str(path), "--metrics.item-families", "status,runs")
    assert done.returncode == 2
    assert "--metrics.item-families: unknown family runs (expected some of status, info" in (
        done.stderr
    )
    proc, base = start_exporter(
        path, tmp_path / "exporter.log", extra=["--metrics.item-families", "status,probe_runs"]
    )
    try:
        text = http_get(f"{base}/metrics")[1].decode()
    finally:
        proc.stop()
    assert 'readiness_probe_runs_total{item="X-00"}' in text
    assert 'readiness_item_status{category="a",item="X-00"' in text
    assert "readiness_item_info" not in text and "readiness_item_interval_seconds" not in text
