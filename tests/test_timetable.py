"""The engine's timetable: grid times, late runs coalesced, one run at a time per job."""

from __future__ import annotations

import asyncio
import time

import pytest

from exporter.timetable import Timetable


class Runs:
    """Records each run's key and start; a run lasts ``hold`` seconds."""

    def __init__(self, hold: float = 0.0):
        self.hold = hold
        self.started: list[tuple[str, float]] = []

    async def __call__(self, key: str) -> None:
        self.started.append((key, time.time()))
        await asyncio.sleep(self.hold)


def recording() -> tuple[Timetable, Runs, list[float]]:
    """A timetable, its runs, and the planned time of each run as it started."""
    table, runs, planned = Timetable(), Runs(), []
    table.on_start = lambda key, at: planned.append(at)
    return table, runs, planned


async def test_runs_on_the_grid_from_first():
    table, runs, planned = recording()
    first = time.time() + 0.05
    table.every("a", 0.2, first, runs)
    table.start()
    await asyncio.sleep(0.75)  # runs at 0.05, 0.25, 0.45 and 0.65; the next at 0.85
    table.stop()
    assert len(runs.started) == 4
    assert planned == pytest.approx([first + k * 0.2 for k in range(4)])
    assert all(start >= at for (_, start), at in zip(runs.started, planned, strict=True))


async def test_a_late_run_is_one_run_for_the_latest_missed_time_and_the_grid_goes_on():
    table, runs, planned = recording()
    first = time.time() + 0.02
    table.every("a", 0.1, first, runs)
    table.start()
    time.sleep(0.36)  # the loop is busy past four planned times: first, +0.1, +0.2, +0.3
    await asyncio.sleep(0.01)
    assert len(runs.started) == 1
    assert planned == [pytest.approx(first + 0.3)]
    assert table.due("a") == pytest.approx(first + 0.4)
    table.stop()


async def test_a_run_in_flight_makes_the_next_one_skip():
    table, runs = Timetable(), Runs(hold=0.5)
    first = time.time()
    table.every("a", 0.2, first, runs)
    table.start()
    await asyncio.sleep(0.9)  # runs at 0 (until 0.5) and 0.6 (until 1.1); 0.2, 0.4, 0.8 skipped
    table.stop()
    starts = [at - first for _, at in runs.started]
    assert len(starts) == 2 and starts[1] == pytest.approx(0.6, abs=0.1), starts


async def test_a_replaced_job_does_not_wait_on_the_old_run_but_a_rescheduled_one_does():
    table, runs = Timetable(), Runs(hold=0.3)
    table.every("a", 10, time.time(), runs)
    table.every("b", 10, time.time(), runs)
    table.start()
    await asyncio.sleep(0.05)
    table.every("a", 10, time.time(), runs)  # a new job: runs beside the old one's run
    assert table.reschedule("b", 10, time.time())  # the same job: its run is still in flight
    await asyncio.sleep(0.05)
    table.stop()
    assert [key for key, _ in runs.started] == ["a", "b", "a"]
    assert not table.reschedule("gone", 1, time.time())


async def test_once_removed_and_stopped():
    table, runs = Timetable(), Runs()
    table.every("once", None, time.time() + 0.02, runs)
    table.every("removed", 0.05, time.time() + 0.02, runs)
    table.remove("removed")
    table.every("late", 0.05, time.time() + 0.2, runs)
    table.start()
    await asyncio.sleep(0.1)
    assert [key for key, _ in runs.started] == ["once"]
    assert table.due("once") is None and table.keys() == ["late"]
    table.stop()
    await asyncio.sleep(0.2)
    assert [key for key, _ in runs.started] == ["once"]  # "late" never started


async def test_an_earlier_job_wakes_the_table_sooner():
    table, runs = Timetable(), Runs()
    table.every("later", 5, time.time() + 5, runs)
    table.start()
    table.every("sooner", 5, time.time() + 0.02, runs)
    await asyncio.sleep(0.1)
    table.stop()
    assert [key for key, _ in runs.started] == ["sooner"]


def test_an_interval_must_be_positive():
    with pytest.raises(ValueError, match="must be positive"):
        Timetable().every("a", 0, time.time(), Runs())


async def test_a_job_replaced_again_and_again_leaves_no_pile_of_entries():
    """The launch clock is re-armed at every refresh for a moment that may be weeks away."""
    table, runs = Timetable(), Runs()
    table.every("item", 60, time.time() + 60, runs)
    table.start()
    for _ in range(10_000):
        table.every("clock", None, time.time() + 86400, runs)
    assert len(table._heap) <= 2 * 2 + 64
    assert table.due("clock") is not None and table.due("item") is not None
    table.stop()


async def test_a_job_that_raises_at_its_start_does_not_stop_the_others():
    table, runs = Timetable(), Runs()
    broke = []

    def hook(key: str, at: float) -> None:
        if key == "bad" and not broke:
            broke.append(key)
            raise RuntimeError("the hook failed")

    table.on_start = hook
    table.every("bad", None, time.time(), runs)
    table.every("good", 0.1, time.time() + 0.05, runs)
    table.start()
    await asyncio.sleep(0.3)
    table.stop()
    assert broke == ["bad"] and [k for k, _ in runs.started].count("good") >= 2


def test_a_new_grid_must_have_a_positive_interval():
    table = Timetable()
    table.every("a", 1, time.time(), Runs())
    with pytest.raises(ValueError, match="must be positive"):
        table.reschedule("a", 0, time.time())
