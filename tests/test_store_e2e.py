"""The store with real exporter processes: a restart brings history and last PASS back at once
while nothing stale counts; the command line and a running exporter write at once and lose
nothing; kill -9 while both write leaves the store intact; an exporter starts on a store
written by the first schema; a damaged store stops the start with exit 2."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.procs import ROOT, http_get, served_samples, served_value, start_exporter, wait_until

from exporter.store import DB_NAME, Store

FIXTURES = Path(__file__).parent / "data"


class Target:
    """An HTTP server on loopback: answers ``status``; while ``gate`` is clear, holds every
    request until it is set; with ``flap``, alternates 200 and 503 on each path."""

    def __init__(self) -> None:
        self.status = 200
        self.flap = False
        self.gate = threading.Event()
        self.gate.set()
        self._counts: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.gate.wait(60)
                count = owner._counts[self.path] = owner._counts.get(self.path, 0) + 1
                status = (200 if count % 2 else 503) if owner.flap else owner.status
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


def config(tmp_path: Path, target: Target, interval: str = "1s", items: int = 1) -> Path:
    lines = [
        "checklist: {name: Store end to end}",
        f"defaults: {{interval: {interval}, timeout: {interval}}}",
        "categories:",
        "- id: a",
        "  owner: platform",
        "  items:",
        "  - {id: A-2, title: signed, priority: high, probe: {attestation: {file: att/A-2.yaml}}}",
    ]
    for n in range(1, items + 1):
        lines.append(
            f"  - {{id: A-{n:03}, title: up {n}, priority: critical, "
            f'probe: {{http: {{url: "{target.url}/health?n={n}"}}}}}}'
        )
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def item_status(base: str, item: str) -> str:
    return json.loads(http_get(f"{base}/api/v1/items/{item}")[1])["status"]


def cli(config_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args, "--config.file", str(config_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_restart_brings_history_and_last_pass_back_and_counts_nothing_stale(tmp_path, target):
    path = config(tmp_path, target)
    proc, base = start_exporter(path, tmp_path / "first.log")
    try:
        wait_until(lambda: item_status(base, "A-001") == "pass", 30, "A-001 PASS")
        first_pass = served_value(base, "readiness_item_last_pass_timestamp_seconds", item="A-001")
        assert first_pass is not None
    finally:
        assert proc.stop() == 0
    # Down while the exporter is stopped; the next probe waits at the gate.
    target.status = 503
    target.gate.clear()
    proc, base = start_exporter(path, tmp_path / "second.log")
    try:
        # At once, before any probe has answered: the history and the last PASS are back...
        remembered = served_value(base, "readiness_item_last_pass_timestamp_seconds", item="A-001")
        assert remembered is not None and remembered >= first_pass
        doc = json.loads(http_get(f"{base}/api/v1/items/A-001")[1])
        assert [(h["before"], h["after"]) for h in doc["history"]] == [("pending", "pass")]
        # ...but the remembered PASS counts for nothing: PENDING, score 0, NO-GO.
        assert doc["status"] == "pending"
        assert served_value(base, "readiness_total_score_ratio") == 0
        assert served_value(base, "readiness_decision", decision="no_go") == 1
        assert http_get(f"{base}/-/ready")[0] == 503
        target.gate.set()
        wait_until(lambda: item_status(base, "A-001") == "fail", 30, "A-001 FAIL")
        doc = json.loads(http_get(f"{base}/api/v1/items/A-001")[1])
        assert [(h["before"], h["after"]) for h in doc["history"]] == [
            ("pending", "pass"),
            ("pass", "fail"),
        ]
        # Was PASS before the restart: what the regression alerts ask.
        assert served_value(base, "readiness_item_last_pass_timestamp_seconds", item="A-001") == (
            remembered
        )
    finally:
        assert proc.stop() == 0


def post_json(base: str, path: str, body: dict) -> int:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_command_line_and_a_running_exporter_write_at_once_and_lose_nothing(tmp_path, target):
    target.flap = True  # every probe run is a status change the exporter records
    path = config(tmp_path, target, interval="200ms", items=4)
    proc, base = start_exporter(path, tmp_path / "exporter.log", extra=["--web.enable-write-api"])
    cli_runs, api_posts = 12, 12
    try:
        wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 30, "ready")

        def by_cli(n: int) -> int:
            done = cli(path, "remediate", "A-001", "--text", f"cli plan {n}", "--by", f"CLI {n}")
            assert done.returncode == 0, done.stderr
            return n

        def by_api(n: int) -> int:
            return post_json(
                base, "/api/v1/items/A-002/remediation", {"by": f"API {n}", "text": f"api {n}"}
            )

        with ThreadPoolExecutor(4) as pool:
            cli_done = pool.map(by_cli, range(cli_runs))
            api_done = pool.map(by_api, range(api_posts))
            assert sorted(cli_done) == list(range(cli_runs))
            assert list(api_done) == [201] * api_posts
        accepted = cli(
            path,
            "accept-risk",
            "A-003",
            "--by",
            "Sam Sec",
            "--impact",
            "low",
            "--probability",
            "low",
            "--mitigation",
            "retry",
            "--expires",
            "7d",
        )
        assert accepted.returncode == 0, accepted.stderr
        # The running exporter picks the command line's write up (it polls the store).
        wait_until(
            lambda: served_value(base, "readiness_item_risk_accepted", item="A-003") == 1,
            20,
            "the CLI's acceptance on /metrics",
        )
        changes_seen = sum(
            len(json.loads(http_get(f"{base}/api/v1/items/A-{n:03}")[1])["history"])
            for n in range(1, 5)
        )
    finally:
        assert proc.stop() == 0
    log = (tmp_path / "exporter.log").read_text()
    assert "could not record" not in log
    with Store.open(tmp_path / "data") as store:
        rows = store._conn.execute("SELECT by_name FROM remediations").fetchall()
        audited = [e for e in store.audit_log(100_000) if e.action == "remediate"]
        changes = store.count("status_changes")
    assert sorted(r[0] for r in rows) == sorted(
        [f"CLI {n}" for n in range(cli_runs)] + [f"API {n}" for n in range(api_posts)]
    )
    assert len(audited) == cli_runs + api_posts
    # Every change the exporter showed was recorded (and the first status of each item).
    assert changes >= changes_seen > 10


WRITER = """
import sys, time
from pathlib import Path
from exporter.launch import Remediation
from exporter.store import Store
store = Store.open(Path(sys.argv[1]), clean=False)
n = 0
while True:
    n += 1
    store.remediate(Remediation("A-002", f"plan {n}", "Writer", None, time.time()))
    print("committed", n, flush=True)
"""


def test_kill_9_while_the_exporter_and_a_writer_write_leaves_the_store_intact(tmp_path, target):
    target.flap = True
    path = config(tmp_path, target, interval="100ms", items=6)
    proc, base = start_exporter(path, tmp_path / "exporter.log")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "data")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    try:

        def busy() -> bool:
            conn = sqlite3.connect(tmp_path / "data" / DB_NAME, timeout=10)
            try:
                return conn.execute("SELECT count(*) FROM status_changes").fetchone()[0] > 60
            finally:
                conn.close()

        wait_until(busy, 60, "the exporter recording status changes")
        committed = 0
        while committed < 50:
            committed = int(writer.stdout.readline().split()[1])
    finally:
        proc.proc.send_signal(signal.SIGKILL)  # the exporter, mid-write
        writer.send_signal(signal.SIGKILL)
        proc.proc.wait(30)
        writer.wait(30)
        proc.stop()
    for line in writer.stdout.read().splitlines():
        committed = max(committed, int(line.split()[1]))
    with Store.open(tmp_path / "data") as store:  # quick_check passes: the file is intact
        plans = store.count("remediations")
        changes = store.count("status_changes")
        audited = len([e for e in store.audit_log(100_000) if e.action == "remediate"])
    assert committed <= plans <= committed + 1  # each the writer reported, maybe one more
    assert audited == plans
    assert changes > 60
    # And an exporter starts on it with its history.
    proc, base = start_exporter(path, tmp_path / "again.log")
    try:
        doc = json.loads(http_get(f"{base}/api/v1/items/A-001")[1])
        assert len(doc["history"]) >= 2
    finally:
        assert proc.stop() == 0


def test_an_exporter_starts_on_a_store_written_by_the_first_schema(tmp_path):
    (tmp_path / "data").mkdir()
    conn = sqlite3.connect(tmp_path / "data" / DB_NAME)
    conn.executescript((FIXTURES / "store-v1.sql").read_text())
    conn.close()
    path = tmp_path / "config.yaml"
    path.write_text(
        "categories:\n- id: a\n  items:\n"
        "  - {id: S-011, title: tls, priority: critical, applicable: false}\n"
        "  - {id: T-001, title: training, priority: high, applicable: false}\n"
    )
    proc, base = start_exporter(path, tmp_path / "exporter.log")
    try:
        found = served_samples(base)
        assert (
            "readiness_item_risk_acceptance_expiry_timestamp_seconds",
            frozenset({("item", "S-011")}),
        ) in found
        assert (
            served_value(base, "readiness_signoff_timestamp_seconds", role="Security Lead")
            is not None
        )
        assert (
            served_value(base, "readiness_item_last_pass_timestamp_seconds", item="S-011")
            is not None
        )
        doc = json.loads(http_get(f"{base}/api/v1/items/S-011")[1])
        assert [h["summary"] for h in doc["history"]] == [
            "TLS 1.2 only",
            "TLS 1.0 accepted, expected at least 1.2",
        ]
    finally:
        assert proc.stop() == 0


def test_a_damaged_store_stops_the_start_with_what_to_do(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "categories:\n- id: a\n  items:\n  - {id: A, title: a, priority: high, applicable: false}\n"
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DB_NAME).write_bytes(b"this is not a database" * 100)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "--config.file",
            str(path),
            "--web.listen-address",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"the store {tmp_path / 'data' / DB_NAME} is damaged" in done.stderr
    assert "move readiness.db and its -wal and -shm files aside (keep them)" in done.stderr
    assert (tmp_path / "data" / DB_NAME).read_bytes() == b"this is not a database" * 100
