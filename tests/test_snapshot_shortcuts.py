"""Shortcuts taken for large checklists keep their meaning: readiness and per-category tallies."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from support.waiting import until

from exporter import config
from exporter.engine import START_TICK, Engine
from exporter.scoring import Judged, score
from probes.result import Status

ONE = """
checklist: {name: Shortcuts}
categories:
- id: a
  title: A
  items:
  - {id: A-1, title: one, priority: high, probe: {file: {path: config.yaml}}}
"""

TWO = (
    ONE
    + """\
  - {id: A-2, title: two, priority: high, probe: {file: {path: config.yaml}}}
"""
)


async def test_ready_turns_false_when_a_reload_adds_an_item(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(ONE)
    engine = Engine(config.load(path, {}))
    assert not engine.ready
    await engine.run_round()
    assert engine.ready and engine.snapshot().ready

    path.write_text(TWO)
    engine.reload(config.load(path, {}))
    assert not engine.ready and not engine.snapshot().ready
    await engine.run_round(["A-2"])
    assert engine.ready and engine.snapshot().ready
    await engine.stop()


def test_categories_tally_items_listed_out_of_order() -> None:
    items = [
        Judged("1", "b", "high", Status.PASS),
        Judged("2", "a", "low", Status.FAIL),
        Judged("3", "b", "high", Status.NA),
        Judged("4", "a", "low", Status.PASS),
        Judged("5", "c", "critical", Status.PENDING),
    ]
    scores = score(items, categories=["a", "b"])
    assert list(scores.categories) == ["a", "b", "c"]
    assert scores.categories["a"].counts[Status.PASS] == 1
    assert scores.categories["a"].counts[Status.FAIL] == 1
    assert scores.categories["b"].applicable == 1 and scores.categories["b"].passed == 1
    assert scores.categories["c"].counts[Status.PENDING] == 1
    assert scores.blockers == ("5",)


async def test_first_round_runs_within_the_bound_and_later_runs_spread_over_the_interval(
    tmp_path: Path,
) -> None:
    """/-/ready comes after the first round, run at once by ``concurrency`` workers (no task per
    waiting probe: 10,000 of them held 30 MB); each item's next run is one interval later, at
    its own place in an even spread, so that the start's burst does not come back."""
    items = "".join(
        f"  - {{id: A-{n}, title: t{n}, priority: high, probe: {{file: {{path: config.yaml}}}}}}\n"
        for n in range(200)
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        "checklist: {name: S}\nengine: {concurrency: 4}\ndefaults: {interval: 60s}\n"
        "categories:\n- id: a\n  title: A\n  items:\n" + items
    )
    engine = Engine(config.load(path, {}))
    started = time.time()
    engine.start()
    most = 0
    give_up = time.monotonic() + 60  # bounded; each pass yields to the probes (threads here)
    while not engine.ready and time.monotonic() < give_up:
        most = max(most, len(asyncio.all_tasks()))
        await asyncio.sleep(0)
    assert engine.ready
    assert most <= 4 + 10, most  # the workers, the round itself, the loop's own; not 200
    assert engine._timetable is not None
    runs = [engine._timetable.due(f"A-{n}") for n in range(200)]
    await engine.stop()
    interval = 60.0
    assert all(r is not None and started + interval <= r <= started + 2 * interval for r in runs)
    assert len(set(runs)) == 200  # 0.3 s apart, on START_TICK ticks
    assert max(runs) - min(runs) >= interval - 1
    ordered = sorted(runs)
    ticks = [(b - a) / START_TICK for a, b in itertools.pairwise(ordered)]
    assert all(abs(t - round(t)) < 1e-3 for t in ticks), ticks  # wall-clock floats: ~1 µs


async def test_lag_hook_reports_each_scheduled_run(tmp_path: Path) -> None:
    """The first round is not scheduled: the runs one interval (1 s) later are."""
    path = tmp_path / "config.yaml"
    path.write_text(TWO.replace("checklist:", "defaults: {interval: 1s, timeout: 1s}\nchecklist:"))
    engine = Engine(config.load(path, {}))
    lags: list[tuple[float, float]] = []
    engine.on_lag = lambda planned, lag: lags.append((planned, lag))
    engine.start()
    try:
        await until(lambda: len(lags) >= 2 and engine.ready, "both items' first runs", 10)
    finally:
        await engine.stop()
    assert len(lags) == 2
    assert all(lag >= 0 for _, lag in lags)
    assert engine.snapshot().states["A-1"].runs == 2  # the first round's, then the scheduled
