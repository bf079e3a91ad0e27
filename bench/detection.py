"""Detection latency: break a target, time until /metrics shows the item FAIL.

One HTTP item against a private nginx. Each run waits for PASS, waits a random part of the
interval (a break does not know the schedule), breaks nginx and polls /metrics every 50 ms.
Two ways to break it: "error" (nginx reloaded to answer 503) and "hang" (nginx frozen with
SIGSTOP: connections are accepted by the kernel and never answered, so only the probe's
timeout can tell). Goal: at most interval + timeout.
"""

from __future__ import annotations

import random
import re
import signal
import time
from pathlib import Path

import yaml
from support.procs import http_get, wait_until

from .procstat import median
from .report import Row
from .targets import Nginx, checklist, items_of, start_readiness


def _status(base: str) -> str | None:
    body = http_get(f"{base}/metrics")[1].decode()
    m = re.search(r'^readiness_item_status\{[^}]*status="(\w+)"\} 1\.0$', body, re.M)
    return m.group(1) if m else None


def _set_answer(nginx: Nginx, code: int) -> None:
    conf = nginx.workdir / "nginx.conf"
    text = conf.read_text()
    text = re.sub(r"location / \{ return \d+", f"location / {{ return {code}", text)
    conf.write_text(text)
    nginx.proc.proc.send_signal(signal.SIGHUP)  # the master reloads the config


def run(
    workdir: Path, interval: float = 10.0, timeout: float = 3.0, runs: int = 3, seed: int = 7
) -> list[Row]:
    rng = random.Random(seed)
    nginx = Nginx(workdir / "nginx").start()
    config = workdir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            checklist(items_of("http", 1, nginx), f"{interval:g}s", f"{timeout:g}s", categories=1)
        )
    )
    try:
        proc, base = start_readiness(config, workdir / "exporter.log")
    except BaseException:
        nginx.stop()
        raise
    found: dict[str, list[float]] = {"error": [], "hang": []}
    try:
        for _ in range(runs):
            for mode in ("error", "hang"):
                wait_until(
                    lambda: _status(base) == "pass", 3 * interval, "item PASS before the break"
                )
                time.sleep(rng.uniform(0, interval))
                broken = time.monotonic()
                if mode == "error":
                    _set_answer(nginx, 503)
                else:
                    nginx.pause()
                try:
                    wait_until(
                        lambda: _status(base) == "fail",
                        3 * (interval + timeout),
                        f"FAIL after the break ({mode})",
                    )
                    found[mode].append(time.monotonic() - broken)
                finally:
                    if mode == "error":
                        _set_answer(nginx, 200)
                    else:
                        nginx.resume()
    finally:
        proc.stop()
        nginx.stop()
    bound = interval + timeout
    rows = []
    for mode, what in (
        ("error", "target answers 503"),
        ("hang", "target accepts and never answers"),
    ):
        got = found[mode]
        rows.append(
            Row(
                f"Detection latency, {what} (interval {interval:g} s, timeout {timeout:g} s)",
                f"≤ interval + timeout = {bound:g} s",
                f"median {median(got):.2f} s, max {max(got):.2f} s",
                met=max(got) <= bound,
                note=f"{len(got)} breaks at random points of the interval; "
                "/metrics polled every 50 ms",
            )
        )
    return rows
