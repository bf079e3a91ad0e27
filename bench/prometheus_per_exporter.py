"""What one exporter costs Prometheus: head series, memory and CPU per scraped exporter.

Starts one exporter on the shipped config.yaml and Debian's Prometheus scraping it as N targets
(the same address under N ``copy`` labels: to Prometheus, N exporters of this checklist),
then as 1 target, and compares the two. Bounded: two runs of ``seconds`` each.

    .venv/bin/python bench/prometheus_per_exporter.py [targets, default 20] [seconds, default 60]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from exporter_footprint import cpu_seconds
from support.procs import http_get, start_exporter, start_prometheus

TARGETS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
SCRAPE = "1s"  # fast scrapes fill the head quickly; per-sample costs scale with the interval


def own_metric(prom: str, name: str) -> float:
    _, body = http_get(f"{prom}/metrics")
    line = next(x for x in body.decode().splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


def run(workdir: Path, instance: str, copies: int) -> dict[str, float]:
    config = {
        "global": {"scrape_interval": SCRAPE},
        "scrape_configs": [
            {
                "job_name": "readiness",
                "static_configs": [
                    {"targets": [instance], "labels": {"copy": str(i)}} for i in range(copies)
                ],
            }
        ],
    }
    prom, url = start_prometheus(workdir, yaml.safe_dump(config))
    try:
        time.sleep(5)
        cpu0, t0 = cpu_seconds(prom.proc.pid), time.monotonic()
        time.sleep(SECONDS)
        cpu = (cpu_seconds(prom.proc.pid) - cpu0) / (time.monotonic() - t0)
        return {
            "series": own_metric(url, "prometheus_tsdb_head_series"),
            # Prometheus does not scrape itself here: read its own gauge from its /metrics.
            "heap": own_metric(url, "go_memstats_heap_inuse_bytes"),
            "rss": int(Path(f"/proc/{prom.proc.pid}/statm").read_text().split()[1])
            * os.sysconf("SC_PAGE_SIZE"),
            "cpu": cpu,
        }
    finally:
        prom.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        exporter, base = start_exporter(
            ROOT / "config.yaml", Path(tmp) / "exporter.log", extra=["--log.level", "warn"]
        )
        try:
            one = run(Path(tmp) / "one", base.removeprefix("http://"), 1)
            many = run(Path(tmp) / "many", base.removeprefix("http://"), TARGETS)
        finally:
            exporter.stop()
    n = TARGETS - 1
    print(
        f"1 target: {one['series']:.0f} head series, RSS {one['rss'] / 2**20:.0f} MiB, "
        f"CPU {100 * one['cpu']:.1f} % of a core"
    )
    print(
        f"{TARGETS} targets: {many['series']:.0f} head series, RSS {many['rss'] / 2**20:.0f} MiB, "
        f"CPU {100 * many['cpu']:.1f} % of a core"
    )
    print(
        f"per extra exporter at a {SCRAPE} scrape, after {SECONDS:.0f} s: "
        f"{(many['series'] - one['series']) / n:.0f} series, "
        f"{(many['heap'] - one['heap']) / n / 2**20:.2f} MiB Go heap in use, "
        f"{(many['rss'] - one['rss']) / n / 2**20:.2f} MiB RSS, "
        f"{100 * (many['cpu'] - one['cpu']) / n:.2f} % of a core"
    )


if __name__ == "__main__":
    main()
