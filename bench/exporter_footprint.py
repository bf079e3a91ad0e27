"""What one exporter costs: resident memory, CPU while probing, CPU per scrape, series exported.

Runs the shipped config.yaml for a bounded window with its URL variables pointed at a loopback
server and its file variables at temp files. APP_REPO is not set here (unset it in your shell
too): its command probes run the app's own test suite, lint and type checks, a cost of the app
rather than of the exporter. The figures behind docs/scaling.md.

    .venv/bin/python bench/exporter_footprint.py [window, default 130 s] [scrapes, default 200]
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.procs import http_get, start_exporter

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 130.0
SCRAPES = int(sys.argv[2]) if len(sys.argv) > 2 else 200
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "success", "data": {}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "backups").mkdir()
        (folder / "backups" / "db.sql.gz").write_bytes(b"x")
        for name in ("restore.log", "app.log", "app.env"):
            (folder / name).write_text("ok\n")
        # Every URL variable at the loopback server; files in the temp folder. APP_DOMAIN (TLS,
        # DNS) and DATABASE_URL stay unset: they would measure a remote host, not the exporter.
        env = dict.fromkeys(
            (
                "APP_URL",
                "PUBLIC_SITE_URL",
                "STATUS_PAGE_URL",
                "STAGING_URL",
                "PMS_URL",
                "PROMETHEUS_URL",
                "ALERTMANAGER_URL",
                "GRAFANA_URL",
                "LOKI_URL",
            ),
            url,
        )
        env.update(
            PUBLIC_HOST="127.0.0.1",
            BACKUP_DIR=str(folder / "backups"),
            RESTORE_TEST_JUNIT=str(folder / "restore-junit.xml"),
            APP_IMAGE="registry.example/agente-api:1.4.2",
            LOAD_PEAK_RPS="50",
            APP_LOG_FILE=str(folder / "app.log"),
            APP_ENV_FILE=str(folder / "app.env"),
            JWT_SECRET="x" * 40,
        )
        proc, base = start_exporter(
            ROOT / "config.yaml", Path(tmp) / "exporter.log", env=env, extra=["--log.level", "warn"]
        )
        pid = proc.proc.pid
        try:
            started_cpu, started_rss = cpu_seconds(pid), rss_mib(pid)
            t0, peak = time.monotonic(), started_rss
            while time.monotonic() - t0 < WINDOW:
                time.sleep(2)
                peak = max(peak, rss_mib(pid))
            elapsed = time.monotonic() - t0
            peak = max(peak, rss_mib(pid))
            probing_cpu = cpu_seconds(pid) - started_cpu
            before = cpu_seconds(pid)
            for _ in range(SCRAPES):
                status, body = http_get(f"{base}/metrics")
                assert status == 200
            per_scrape = (cpu_seconds(pid) - before) / SCRAPES
            series = sum(
                1 for line in body.decode().splitlines() if line and not line.startswith("#")
            )
            print(f"start: {started_cpu:.2f} s CPU, {started_rss:.1f} MiB resident")
            print(
                f"probing for {elapsed:.0f} s: {probing_cpu:.2f} s CPU = "
                f"{100 * probing_cpu / elapsed:.2f} % "
                f"of one core; peak resident {peak:.1f} MiB"
            )
            print(
                f"scrape: {1000 * per_scrape:.2f} ms CPU each (mean of {SCRAPES}), "
                f"{len(body) / 1024:.0f} KiB, {series} series"
            )
        finally:
            proc.stop()
            server.shutdown()


if __name__ == "__main__":
    main()
