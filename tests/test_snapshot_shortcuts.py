"""Shortcuts taken for large checklists keep their meaning: readiness and per-category tallies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger

from exporter import config
from exporter.engine import Engine, _PhasedInterval, first_round_window
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


def test_first_round_spreads_big_checklists_within_5_s_and_the_shortest_interval() -> None:
    assert first_round_window(145, 60.0) == 2.0
    assert first_round_window(1_000, 60.0) == 4.0
    assert first_round_window(10_000, 60.0) == 5.0
    assert first_round_window(10_000, 3.0) == 3.0
    assert first_round_window(3, 1.0) == 1.0


def test_later_runs_keep_their_place_in_the_interval_not_the_first_runs() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = _PhasedInterval(seconds=60, start_date=start + timedelta(seconds=90), timezone=UTC)
    first = start + timedelta(seconds=3)  # the packed first round
    assert trigger.get_next_fire_time(first, first) == start + timedelta(seconds=90)
    second = start + timedelta(seconds=90)
    assert trigger.get_next_fire_time(second, second) == start + timedelta(seconds=150)
    # A plain interval trigger would have kept the first run's phase: a burst every interval.
    plain = IntervalTrigger(seconds=60, start_date=first, timezone=UTC)
    assert plain.get_next_fire_time(first, first) == start + timedelta(seconds=63)


async def test_lag_hook_reports_each_scheduled_run(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(TWO)
    engine = Engine(config.load(path, {}))
    lags: list[tuple[float, float]] = []
    engine.on_lag = lambda planned, lag: lags.append((planned, lag))
    engine.start()
    for _ in range(200):  # bounded: 10 s at most
        if len(lags) >= 2 and engine.ready:
            break
        await asyncio.sleep(0.05)
    await engine.stop()
    assert len(lags) == 2
    assert all(lag >= 0 for _, lag in lags)
    assert engine.snapshot().states["A-1"].runs == 1
