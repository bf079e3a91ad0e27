"""In-process cost of a /metrics render and of a snapshot at 10,000 items, against the reference.

The reference is what the exporter did before: ``generate_latest`` over ``ReadinessCollector``
(kept as the definition of the output). A round of file probes fills every item; then a
quarter of the items is probed again (what changes between two scrapes 15 s apart at a 60 s
interval) and the next scrape's work is timed: the snapshot, then the render.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

import structlog
import yaml
from prometheus_client import generate_latest

from exporter import config
from exporter.engine import Engine
from exporter.metrics import Exposition, ReloadStatus

from .procstat import median
from .report import Row
from .targets import checklist


async def _measure(workdir: Path, n: int, changed: int, repeats: int) -> dict[str, list[float]]:
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
    engine = Engine(config.load(path, {}))
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


def run(workdir: Path, n: int = 10_000, changed: int = 2_500, repeats: int = 5) -> list[Row]:
    workdir.mkdir(parents=True, exist_ok=True)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    got = asyncio.run(_measure(workdir, n, changed, repeats))
    ours, ref = median(got["render"]) * 1000, median(got["reference"]) * 1000
    return [
        Row(
            f"/metrics render in-process, {n} items, {changed} changed since the last",
            "(diagnostic)",
            f"{ours:.1f} ms + snapshot {median(got['snapshot']) * 1000:.1f} ms",
            f"generate_latest: {ref:.0f} ms",
            f"{ours / ref:.2f}",
            note=f"median of {repeats}; output checked byte for byte against generate_latest; "
            f"the right-hand column is the reference renderer, not blackbox_exporter",
        )
    ]


if __name__ == "__main__":
    for row in run(Path(tempfile.mkdtemp(prefix="bench-render-"))):
        print(row)
