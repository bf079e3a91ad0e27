"""The shipped config.yaml as a user first runs it: time to ready, RSS, /metrics latency.

Variables the config reads are left unset, as on a first run: those items are PENDING (not
configured) and never probed, so readiness waits only for the items that need no variable.
"""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path

from support.procs import http_get

from exporter import config

from .procstat import median, percentile, rss_bytes, spread
from .report import Row
from .targets import ROOT, start_readiness


def _scrape_latencies(base: str, count: int) -> list[float]:
    """Seconds per /metrics request on one kept-alive connection, as Prometheus scrapes."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", "/metrics")
            conn.getresponse().read()
            latencies.append(time.perf_counter() - started)
    finally:
        conn.close()
    return latencies


def run(workdir: Path, runs: int = 3, scrapes: int = 300) -> list[Row]:
    workdir.mkdir(parents=True, exist_ok=True)
    shipped = ROOT / "config.yaml"
    checklist = config.load(shipped, os.environ)
    probed = [i for i in checklist.items if i.probed]
    longest = max((i.timeout for i in probed), default=0.0)
    ready_s: list[float] = []
    rss: list[float] = []
    latencies: list[float] = []
    for n in range(runs):
        started = time.monotonic()
        proc, base = start_readiness(shipped, workdir / f"exporter-{n}.log")
        try:
            while http_get(f"{base}/-/ready")[0] != 200:
                if time.monotonic() - started > longest + 60:
                    raise TimeoutError("the shipped config did not get ready")
                time.sleep(0.02)
            ready_s.append(time.monotonic() - started)
            rss.append(rss_bytes(proc.proc.pid))
            latencies += _scrape_latencies(base, scrapes)
        finally:
            proc.stop()
    where = (
        f"{len(checklist.items)} items, {len(probed)} probed (the rest wait for variables); "
        f"{runs} runs"
    )
    m50, m99 = percentile(latencies, 50), percentile(latencies, 99)
    return [
        Row(
            "Shipped config: start to /-/ready",
            f"≤ longest timeout + 1 s = {longest + 1:g} s",
            f"{median(ready_s):.2f} s",
            met=median(ready_s) <= longest + 1,
            note=f"median, runs {spread(ready_s)} s; {where}; includes Python start-up",
        ),
        Row(
            "Shipped config: RSS after the first round",
            "< 60 MB",
            f"{median(rss) / 1e6:.1f} MB",
            met=median(rss) < 60e6,
            note=f"median, runs {spread([r / 1e6 for r in rss])} MB",
        ),
        Row(
            "Shipped config: /metrics latency p50 / p99",
            "p99 < 5 ms",
            f"{m50 * 1000:.2f} ms / {m99 * 1000:.2f} ms",
            met=m99 < 0.005,
            note=f"{len(latencies)} scrapes back to back on a kept-alive connection",
        ),
    ]
