"""The exporter as a user runs it: a subprocess on a free port, scraped, reloaded, stopped."""

from __future__ import annotations

import shutil
import signal
import subprocess
import textwrap
import urllib.request

import pytest
from support.cli import run_cli
from support.procs import http_get, served_samples, served_value, start_exporter, wait_until

CONFIG = """
checklist:
  name: E2E checklist
defaults:
  interval: 1s
  timeout: 500ms
categories:
  - id: security
    title: Security
    items:
      - {id: S-1, title: file present, priority: critical, probe: {file: {path: present.txt}}}
      - {id: S-2, title: needs a variable, priority: high,
         probe: {http: {url: "${APP_URL}/health"}}}
      - {id: S-3, title: slow command, priority: high, timeout: 3s, interval: 5s,
         probe: {command: {argv: [sleep, "2"]}}}
"""


@pytest.fixture
def exporter(tmp_path):
    (tmp_path / "present.txt").write_text("x")
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    proc, base = start_exporter(path, tmp_path / "exporter.log", env={"APP_URL": ""})
    yield proc, base, path
    proc.stop()


def test_ready_after_first_round_then_metrics_and_promtool(exporter):
    _proc, base, _ = exporter
    status, body = http_get(f"{base}/-/ready")
    # The slow command keeps the first round open for 2 s after start.
    assert status == 503 and body in (
        b"Not ready: 0 of 2 items probed\n",
        b"Not ready: 1 of 2 items probed\n",
    )
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 10, "ready")
    assert (
        served_value(
            base,
            "readiness_item_status",
            item="S-1",
            category="security",
            priority="critical",
            status="pass",
        )
        == 1
    )
    assert (
        served_value(
            base,
            "readiness_item_status",
            item="S-2",
            category="security",
            priority="high",
            status="pending",
        )
        == 1
    )
    assert served_value(base, "readiness_decision", decision="no_go") == 1
    assert served_value(base, "readiness_exporter_config_last_reload_successful") == 1

    status, body = http_get(f"{base}/metrics")
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/test.sh installs it as root)")
    done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, b"")


def test_items_keep_being_probed_on_their_interval(exporter):
    _, base, _ = exporter
    wait_until(
        lambda: (served_value(base, "readiness_probe_runs_total", item="S-1") or 0) >= 3,
        15,
        "three runs of S-1",
    )


def test_landing_page_and_health(exporter):
    _, base, _ = exporter
    assert http_get(f"{base}/-/healthy") == (200, b"Healthy\n")
    status, body = http_get(f"{base}/")
    assert status == 200
    assert b"E2E checklist" in body and b'href="/metrics"' in body and b"NO-GO" in body


def test_reload_by_post_and_sighup(exporter):
    proc, base, path = exporter
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 10, "ready")
    # A valid change: S-3 removed, S-4 added and probed at once.
    path.write_text(
        textwrap.dedent(CONFIG).replace(
            "      - {id: S-3, title: slow command, priority: high, timeout: 3s, interval: 5s,\n"
            '         probe: {command: {argv: [sleep, "2"]}}}\n',
            '      - {id: S-4, title: new, priority: medium, probe: {command: {argv: ["true"]}}}\n',
        )
    )
    request = urllib.request.Request(f"{base}/-/reload", method="POST")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200
    wait_until(
        lambda: (
            served_value(
                base,
                "readiness_item_status",
                item="S-4",
                category="security",
                priority="medium",
                status="pass",
            )
            == 1
        ),
        10,
        "S-4 probed after reload",
    )
    assert not any(dict(labels).get("item") == "S-3" for _, labels in served_samples(base))

    # An invalid change by SIGHUP: the running config stays, the reload gauge drops to 0.
    path.write_text("categories: [{id: a, items: [{id: X, priority: nope}]}]\n")
    proc.proc.send_signal(signal.SIGHUP)
    wait_until(
        lambda: served_value(base, "readiness_exporter_config_last_reload_successful") == 0,
        10,
        "failed reload reported",
    )
    assert (
        served_value(
            base,
            "readiness_item_status",
            item="S-4",
            category="security",
            priority="medium",
            status="pass",
        )
        == 1
    )
    assert "config reload failed; keeping the running config" in proc.log()
    assert "categories[0].items[0] (X)" in proc.log()

    # GET does not reload.
    assert http_get(f"{base}/-/reload")[0] == 405


def test_sigterm_stops_cleanly(exporter):
    proc, base, _ = exporter
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 10, "ready")
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(10) == 0
    assert 'msg="shutting down"' in proc.log()


def test_bad_config_at_start_exits_2(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("categories: []\n")
    done = run_cli("--config.file", str(path), "--web.listen-address", "127.0.0.1:0")
    assert done.returncode == 2
    assert (
        "config.yaml: categories: must be a list of categories with items (got a list)"
        in done.stderr
    )


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--web.external-url", "ops.example/readiness"],
            "--web.external-url must be an absolute http:// or https:// URL "
            "(got 'ops.example/readiness')",
        ),
        (
            ["--web.external-url", "https://ops.example/?x=1"],
            "--web.external-url must not have a query or fragment",
        ),
        (
            ["--web.route-prefix", "readiness"],
            "--web.route-prefix must be a path starting with / (got 'readiness')",
        ),
        (["--web.max-connections", "-5"], "must be a whole number, 0 for the default"),
    ],
)
def test_bad_web_flags_exit_2_naming_the_flag(tmp_path, flags, message):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    done = run_cli("--config.file", str(path), *flags)
    assert done.returncode == 2
    assert message in done.stderr


def test_external_url_defaults_to_the_hostname_and_port(exporter):
    import socket

    proc, base, _ = exporter
    port = base.rsplit(":", 1)[1]
    listening = next(line for line in proc.log().splitlines() if " msg=listening " in line)
    assert f" external_url=http://{socket.gethostname()}:{port}/ " in listening
    assert " max_connections=" in listening
