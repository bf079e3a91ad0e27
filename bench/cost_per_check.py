"""Cost of keeping N checks fresh: CPU seconds per check, ours beside blackbox_exporter's.

blackbox_exporter: a driver calls ``/probe`` for N targets once per interval, spread evenly, on
kept-alive connections, as Prometheus scrapes it. readiness-exporter: N items on the same
interval and one ``/metrics`` scrape per interval. Both run at the same time against the same
nginx, so the machine's noise falls on both; each window is one interval long, and the figure
is the median over the windows. Only the two exporters' own CPU (user + sys from /proc) counts.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp
import yaml
from support.procs import http_get, http_ok, wait_until

from .procstat import cpu_seconds, median, spread
from .report import Row
from .targets import Blackbox, Nginx, checklist, items_of, start_readiness

RUNS = re.compile(rb"^readiness_probe_runs_total\{[^}]*\} (\S+)$", re.M)
PASSING = re.compile(rb'^readiness_item_status\{[^}]*status="pass"\} 1\.0$', re.M)


class Driver:
    """Calls blackbox's /probe for ``n`` targets per ``interval``, evenly spread, until stopped."""

    def __init__(self, base: str, module: str, target: str, n: int, interval: float):
        self.url = f"{base}/probe"
        self.params = {"module": module, "target": target}
        self.n, self.interval = n, interval
        self.done = self.failed = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(limit=200)  # kept alive, like Prometheus's scrapes
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks: set[asyncio.Task[None]] = set()
            start = time.monotonic()
            k = 0
            while not self._stop.is_set():
                due = start + k * self.interval / self.n
                delay = due - time.monotonic()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._stop.wait(), delay)
                        break
                    except TimeoutError:
                        pass
                task = asyncio.create_task(self._probe(session))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                k += 1
            if tasks:
                await asyncio.wait(tasks)

    async def _probe(self, session: aiohttp.ClientSession) -> None:
        async with session.get(self.url, params=self.params) as resp:
            body = await resp.read()
        self.done += 1
        if resp.status != 200 or b"\nprobe_success 1\n" not in body:
            self.failed += 1

    def stop(self) -> None:
        self._stop.set()


async def _scrape(base: str) -> bytes:
    return (await asyncio.to_thread(http_get, f"{base}/metrics", 30))[1]


async def measure_kind(
    kind: str,
    n: int,
    interval: float,
    windows: int,
    nginx: Nginx,
    blackbox: Blackbox,
    workdir: Path,
) -> dict[str, list[float] | int]:
    """Per-window CPU per check of both exporters for one probe kind."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(checklist(items_of(kind, n, nginx), f"{interval:g}s", "5s")))
    proc, base = start_readiness(config, workdir / "exporter.log")
    target = nginx.tcp_target if kind == "tcp" else nginx.url(kind)
    driver = Driver(blackbox.base, Blackbox.MODULE[kind], target, n, interval)
    try:
        await asyncio.to_thread(wait_until, lambda: http_ok(f"{base}/-/ready"), 120, "first round")
        driving = asyncio.create_task(driver.run())
        await asyncio.sleep(2.0)  # blackbox's connections and Go runtime warm up
        ours: list[float] = []
        theirs: list[float] = []
        body = await _scrape(base)
        mark = (
            cpu_seconds(proc.proc.pid),
            sum(float(v) for v in RUNS.findall(body)),
            cpu_seconds(blackbox.proc.proc.pid),
            driver.done,
        )
        for _ in range(windows):
            await asyncio.sleep(interval)
            body = await _scrape(base)  # the one scrape per interval, counted in our CPU
            now = (
                cpu_seconds(proc.proc.pid),
                sum(float(v) for v in RUNS.findall(body)),
                cpu_seconds(blackbox.proc.proc.pid),
                driver.done,
            )
            ours.append((now[0] - mark[0]) / max(1.0, now[1] - mark[1]))
            theirs.append((now[2] - mark[2]) / max(1, now[3] - mark[3]))
            mark = now
        driver.stop()
        await driving
        passing = len(PASSING.findall(body))
    finally:
        driver.stop()
        proc.stop()
    return {
        "ours": ours,
        "blackbox": theirs,
        "passing": passing,
        "bb_failed": driver.failed,
        "bb_done": driver.done,
    }


def run(
    workdir: Path,
    n: int = 1000,
    interval: float = 15.0,
    windows: int = 3,
    kinds: tuple[str, ...] = ("http", "https", "tcp"),
) -> list[Row]:
    nginx = Nginx(workdir / "nginx").start()
    try:
        blackbox = Blackbox(workdir / "blackbox", nginx.ca_file).start()
    except BaseException:
        nginx.stop()
        raise
    rows = []
    try:
        for kind in kinds:
            got = asyncio.run(
                measure_kind(kind, n, interval, windows, nginx, blackbox, workdir / kind)
            )
            ours_ms, bb_ms = median(got["ours"]) * 1000, median(got["blackbox"]) * 1000
            ratio = ours_ms / bb_ms if bb_ms else float("inf")
            label = {"http": "HTTP", "https": "HTTPS (fresh TLS handshake)", "tcp": "TCP connect"}[
                kind
            ]
            rows.append(
                Row(
                    f"CPU per {label} check, N={n} every {interval:g} s",
                    "ratio ≤ 1.0",
                    f"{ours_ms:.3f} ms",
                    f"{bb_ms:.3f} ms",
                    f"{ratio:.2f}",
                    ratio <= 1.0,
                    f"median of {windows} windows of {interval:g} s; "
                    f"ours {spread([x * 1000 for x in got['ours']])} ms, "
                    f"blackbox {spread([x * 1000 for x in got['blackbox']])} ms; "
                    f"items passing {got['passing']}/{n}, "
                    f"blackbox failures {got['bb_failed']}/{got['bb_done']}",
                )
            )
            print(rows[-1], flush=True)
    finally:
        blackbox.stop()
        nginx.stop()
    return rows
