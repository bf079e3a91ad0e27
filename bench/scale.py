"""Scale: 10,000 HTTP items at a 60 s interval on one core, scraped every 15 s.

The exporter is pinned to core 0 (``taskset -c 0``); nginx and this script to core 1, so the
probed server does not eat into the exporter's core. From the start: the time to /-/ready
(issue 14: within the longest timeout plus 10 s). Measured over ``window`` seconds from one
interval after the start, when the scheduled runs begin (the first round runs at once):
scheduling lag (probe start minus planned start, from the engine's lag hook via
``bench.lag_recorder``), CPU share of core 0, and /metrics latency (request sent to last byte
read) of the scrapes, gzipped as Prometheus asks. Peak RSS is the kernel's high-water mark
(VmHWM) at the end of the window: start-up, first round and scrapes included (issue 14: under
100 MB). One plain-text scrape after that gives the bytes and time gzip is compared with. Three
runs, each with a fresh exporter; medians across them.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import yaml
from support.procs import http_ok, wait_until

from .procstat import cpu_seconds, median, peak_rss_bytes, percentile, rss_bytes
from .report import Row
from .targets import Nginx, checklist, items_of, start_readiness

TIMEOUT = 5.0  # seconds, every item's; /-/ready is due within it plus 10 s


def timed_get(url: str, gzip: bool = False) -> tuple[float, int]:
    """Seconds from request to last byte, and the body's size (as sent)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip else {})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as resp:
        size = len(resp.read())
    return time.perf_counter() - started, size


def measure(workdir: Path, n: int, interval: float, window: float, scrape_every: float) -> dict:
    """One run: start the exporter on ``n`` items, wait for the first round, measure ``window``."""
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
        server_cpus, exporter_cpus = "1", "0"
    else:
        server_cpus = exporter_cpus = None
    workdir.mkdir(parents=True, exist_ok=True)
    nginx = Nginx(workdir / "nginx", cpus=server_cpus).start()
    try:
        config = workdir / "config.yaml"
        config.write_text(
            yaml.safe_dump(checklist(items_of("http", n, nginx), f"{interval:g}s", f"{TIMEOUT:g}s"))
        )
        lags_file = workdir / "lags.json"
        started = time.time()
        proc, base = start_readiness(
            config, workdir / "exporter.log", cpus=exporter_cpus, lags=lags_file
        )
    except BaseException:
        nginx.stop()
        raise
    try:
        wait_until(lambda: http_ok(f"{base}/-/ready"), 600, "first round of 10,000 items")
        ready_after = time.time() - started
        rss_ready = rss_bytes(proc.proc.pid)
        # Prometheus would have scraped during the first round: the window's first scrape
        # should not be the one that writes all 10,000 items' lines for the first time.
        timed_get(f"{base}/metrics", gzip=True)
        # The scheduled runs begin one interval after the start (the first round is not
        # scheduled): the window measures them, not the quiet time before them.
        time.sleep(max(0.0, started + interval - time.time()))
        latencies: list[float] = []
        size = 0
        window_start = time.time()
        cpu0 = cpu_seconds(proc.proc.pid)
        next_scrape = time.monotonic()
        while time.time() - window_start < window:
            time.sleep(max(0.0, next_scrape - time.monotonic()))
            next_scrape += scrape_every
            latency, size = timed_get(f"{base}/metrics", gzip=True)
            latencies.append(latency)
        elapsed = time.time() - window_start
        cpu_share = (cpu_seconds(proc.proc.pid) - cpu0) / elapsed
        window_end = time.time()
        rss_peak = peak_rss_bytes(proc.proc.pid)
        plain_latency, plain_size = timed_get(f"{base}/metrics")  # after the peak is read
    finally:
        proc.stop(timeout=30)
        nginx.stop()
    lags = json.loads(lags_file.read_text())
    steady = [lag for planned, lag in lags if window_start <= planned <= window_end]
    return {
        "steady": steady,
        "per_s": len(steady) / (window_end - window_start),
        "ready_after": ready_after,
        "rss_ready": rss_ready,
        "rss_peak": rss_peak,
        "cpu_share": cpu_share,
        "latencies": latencies,
        "size": size,
        "plain": (plain_latency, plain_size),
    }


def run(
    workdir: Path,
    n: int = 10_000,
    interval: float = 60.0,
    window: float = 120.0,
    scrape_every: float = 15.0,
    runs: int = 3,
) -> list[Row]:
    """``runs`` separate runs (a fresh exporter each); medians across runs, with their spread."""
    got = [measure(workdir / f"run{i}", n, interval, window, scrape_every) for i in range(runs)]

    def spread(values: list[float], fmt: str) -> str:
        return ", ".join(fmt.format(v) for v in values)

    lag50 = [percentile(g["steady"], 50) for g in got]
    lag99 = [percentile(g["steady"], 99) for g in got]
    cpu = [g["cpu_share"] for g in got]
    rss = [g["rss_peak"] for g in got]
    ready = [g["ready_after"] for g in got]
    latencies = [x for g in got for x in g["latencies"]]
    m50, m99 = percentile(latencies, 50), percentile(latencies, 99)
    where = f"median of {runs} runs, each a {window:g} s window from one interval after the start"
    return [
        Row(
            f"Scale: scheduling lag p50 / p99 ({n} items every {interval:g} s, one core)",
            "p99 < 1 s",
            f"{median(lag50) * 1000:.1f} ms / {median(lag99) * 1000:.1f} ms",
            met=max(lag99) < 1.0,
            note=f"{where}; p99 per run {spread([x * 1000 for x in lag99], '{:.1f}')} ms; "
            f"{sum(len(g['steady']) for g in got)} runs "
            f"({median([g['per_s'] for g in got]):.0f}/s); "
            f"ready after {spread(ready, '{:.1f}')} s",
        ),
        Row(
            f"Scale: start to /-/ready ({n} items, timeout {TIMEOUT:g} s)",
            f"≤ longest timeout + 10 s = {TIMEOUT + 10:g} s",
            f"{median(ready):.1f} s",
            met=max(ready) <= TIMEOUT + 10,
            note=f"median of {runs} runs, each from the exporter's start (Python start-up and "
            f"config load included) to the first 200; per run {spread(ready, '{:.1f}')} s",
        ),
        Row(
            "Scale: CPU share of one core",
            "< 25 %",
            f"{median(cpu) * 100:.1f} %",
            met=max(cpu) < 0.25,
            note=f"{where}; per run {spread([c * 100 for c in cpu], '{:.1f}')} %",
        ),
        Row(
            "Scale: peak RSS",
            "< 100 MB",
            f"{median(rss) / 1e6:.0f} MB",
            met=max(rss) < 100e6,
            note=f"VmHWM after the window (start-up, first round, gzip scrapes), median of "
            f"{runs} runs; per run {spread([r / 1e6 for r in rss], '{:.0f}')} MB; when ready "
            f"{spread([g['rss_ready'] / 1e6 for g in got], '{:.0f}')} MB",
        ),
        Row(
            "Scale: /metrics latency p50 / p99, gzip, one scrape per 15 s",
            "p99 < 50 ms",
            f"{m50 * 1000:.1f} ms / {m99 * 1000:.1f} ms",
            f"plain text: {median([g['plain'][0] for g in got]) * 1000:.0f} ms, "
            f"{got[-1]['plain'][1] / 1e6:.1f} MB",
            met=m99 < 0.05,
            note=f"{len(latencies)} scrapes over {runs} runs, of {got[-1]['size'] / 1e3:.0f} KB "
            f"gzipped; each: {', '.join(f'{x * 1000:.0f}' for x in latencies)} ms; the plain "
            "scrape (the peer, median of one per run) comes after the peak RSS is read",
        ),
    ]
