"""In-process cost of /metrics at 145 and 10,000 items: render, scrape and bytes, plain and gzip.

The reference is ``generate_latest`` over ``ReadinessCollector``, derived from the same family
declarations as the fast renderer. A round of file probes fills every item; then a quarter of
the items is probed again (what changes between two scrapes 15 s apart at a 60 s interval) and
the next scrape's work is timed: the snapshot, then the render. The scrape figures time what
the exporter does for one request after its once-a-second refresh (the daemon's loop): text,
gzipped text and gzipped OpenMetrics, with the bytes each sends; and what keeping the gzip
blocks costs the refresh.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
import zlib
from pathlib import Path

import structlog
import yaml
from prometheus_client import generate_latest

from exporter import config
from exporter.engine import Engine
from exporter.metrics import Exposition, Format, ReloadStatus

from .procstat import median
from .report import Row
from .targets import ROOT, checklist

# What a scrape asks for: plain text (curl), gzipped text, gzipped OpenMetrics (Prometheus).
VARIANTS = {"text": (Format.TEXT, False), "gzip": (Format.TEXT, True)}
VARIANTS["OpenMetrics gzip"] = (Format.OPENMETRICS, True)


def _engine(workdir: Path, n: int) -> Engine:
    (workdir / "evidence.txt").write_text("ok\n")
    items = [
        {
            "id": f"R-{k:05d}",
            "title": f"render item {k}",
            "priority": "high",
            "probe": {"file": {"path": "evidence.txt"}},
        }
        for k in range(n)
    ]
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(checklist(items, "60s", "5s")))
    return Engine(config.load(path, {}))


async def _measure(workdir: Path, n: int, changed: int, repeats: int) -> dict[str, list[float]]:
    engine = _engine(workdir, n)
    exposition = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    ids = list(engine.states)
    await engine.run_round()
    exposition.render()
    got: dict[str, list[float]] = {"snapshot": [], "render": [], "reference": []}
    for r in range(repeats):
        start = (r * changed) % n
        # run_item, not run_round: run_round takes the snapshot this loop means to time.
        await asyncio.gather(*(engine.run_item(i) for i in ids[start : start + changed]))
        t0 = time.perf_counter()
        engine.snapshot()
        t1 = time.perf_counter()
        exposition.render()
        t2 = time.perf_counter()
        reference = generate_latest(exposition.registry)
        t3 = time.perf_counter()
        got["snapshot"].append(t1 - t0)
        got["render"].append(t2 - t1)
        got["reference"].append(t3 - t2)
        assert reference == exposition.render(), "the cached text differs from generate_latest"
    await engine.stop()
    return got


async def _scrapes(engine: Engine, changed: int, repeats: int) -> dict[str, list[float]]:
    """Per variant: scrape times and bytes; refresh times with and without gzip blocks kept."""
    plain = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    zipped = Exposition(engine.snapshot, lambda: ReloadStatus(True, 1.0))
    await engine.run_round()
    plain.scrape()
    zipped.scrape()  # every row written; what is timed next is the compression alone
    t0 = time.perf_counter()
    zipped.scrape(gzip=True)  # the first gzip request compresses every block once
    got: dict[str, list[float]] = {"first gzip": [time.perf_counter() - t0]}
    ids = list(engine.states)
    for r in range(repeats):
        start = (r * changed) % len(ids)
        await asyncio.gather(*(engine.run_item(i) for i in ids[start : start + changed]))
        engine.snapshot()
        for name, expo in (("refresh", plain), ("refresh keeping gzip", zipped)):
            t0 = time.perf_counter()
            expo.refresh()
            got.setdefault(name, []).append(time.perf_counter() - t0)
        for name, (fmt, gz) in VARIANTS.items():
            t0 = time.perf_counter()
            body = zipped.scrape(fmt, gz)
            got.setdefault(name, []).append(time.perf_counter() - t0)
            got.setdefault(f"{name} bytes", []).append(len(body))
    # For comparison, what the blocks avoid: compressing the whole text in one stream.
    text = zipped.render()
    for level in (1, 6):
        t0 = time.perf_counter()
        size = len(zlib.compress(text, level))
        got[f"whole level {level}"] = [time.perf_counter() - t0]
        got[f"whole level {level} bytes"] = [size]
    return got


def _scrape_rows(label: str, got: dict[str, list[float]], repeats: int) -> list[Row]:
    def ms(name: str) -> str:
        return f"{median(got[name]) * 1000:.2f} ms"

    def size(name: str) -> str:
        return f"{median(got[f'{name} bytes']) / 1000:,.0f} KB"

    return [
        Row(
            f"/metrics bytes, {label}: text / gzip / OpenMetrics gzip",
            "(diagnostic)",
            " / ".join(size(v) for v in VARIANTS),
            note="what one scrape sends",
        ),
        Row(
            f"/metrics scrape in-process, {label}, after a refresh: text / gzip / OM gzip",
            "(diagnostic)",
            " / ".join(ms(v) for v in VARIANTS),
            note=f"median of {repeats}; the exporter's side of a request, before sending; "
            f"first gzip request (every block compressed once) {ms('first gzip')}",
        ),
        Row(
            f"/metrics text compressed whole, {label}: level 6 / level 1 (not done; comparison)",
            "(diagnostic)",
            f"{size('whole level 6')} in {ms('whole level 6')} / "
            f"{size('whole level 1')} in {ms('whole level 1')}",
            note="what one stream per change would cost, against the blocks above",
        ),
        Row(
            f"/metrics refresh, {label}: plain / keeping gzip blocks",
            "(diagnostic)",
            f"{ms('refresh')} / {ms('refresh keeping gzip')}",
            note=f"median of {repeats}; the daemon's once-a-second write of changed items",
        ),
    ]


def run(workdir: Path, n: int = 10_000, changed: int = 2_500, repeats: int = 5) -> list[Row]:
    workdir.mkdir(parents=True, exist_ok=True)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    got = asyncio.run(_measure(workdir, n, changed, repeats))
    ours, ref = median(got["render"]) * 1000, median(got["reference"]) * 1000

    async def scrapes() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        shipped = Engine(config.load(ROOT / "config.yaml", {}))
        big = _engine(workdir, n)
        try:
            return (
                await _scrapes(shipped, 36, repeats),
                await _scrapes(big, changed, repeats),
            )
        finally:
            await shipped.stop()
            await big.stop()

    small, large = asyncio.run(scrapes())
    return [
        Row(
            f"/metrics render in-process, {n} items, {changed} changed since the last",
            "(diagnostic)",
            f"{ours:.1f} ms + snapshot {median(got['snapshot']) * 1000:.1f} ms",
            f"generate_latest: {ref:.0f} ms",
            f"{ours / ref:.2f}",
            note=f"median of {repeats}; output checked byte for byte against generate_latest; "
            f"the right-hand column is the reference renderer, not blackbox_exporter",
        ),
        *_scrape_rows("shipped config (145 items)", small, repeats),
        *_scrape_rows(f"{n:,} items, {changed:,} changed since the last", large, repeats),
    ]


if __name__ == "__main__":
    for row in run(Path(tempfile.mkdtemp(prefix="bench-render-"))):
        print(row)
