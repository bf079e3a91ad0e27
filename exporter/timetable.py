"""When each scheduled job runs next: one heap of planned times, woken by one loop timer.

It replaced APScheduler, whose job and trigger objects cost about 0.9 KB per item (9 MB at
10,000 items, issue 14's memory goal) and whose import another 10 MB; the engine used only
what this keeps. Its rules are those the engine had from APScheduler's job defaults:

- A job runs on a fixed grid, ``first + k * interval``, in wall-clock time.
- A late run is one run (coalesced), planned for the latest grid time already passed, and the
  next comes on the grid after it, never in a burst to catch up.
- While a job's run is in flight, its next planned run is skipped (one run at a time per job);
  replacing the job (``every`` again) starts a new job that does not wait on the old run.
- A job with no interval runs once, at ``first``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger("readiness.timetable")

Run = Callable[[str], Coroutine[Any, Any, Any]]


class _Job:
    __slots__ = ("due", "interval", "run", "running", "seq")

    def __init__(self, run: Run, interval: float | None, due: float, seq: int):
        self.run = run
        self.interval = interval
        self.due = due  # wall-clock time of the next planned run
        self.seq = seq  # which heap entry is current; older ones are skipped when popped
        self.running = False


class Timetable:
    """Jobs by key, each run as a task of its own when due."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.running = False
        # Told (key, planned time) as each run starts: the benchmarks' scheduling lag.
        self.on_start: Callable[[str, float], None] | None = None

    def start(self) -> None:
        self.running = True
        self._wake()

    def stop(self) -> None:
        """No run starts from now on; runs in flight are the caller's to cancel."""
        self.running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def every(self, key: str, interval: float | None, first: float, run: Run) -> None:
        """Run ``run(key)`` at ``first`` (wall-clock) and every ``interval`` seconds after;
        once if ``interval`` is None. Replaces the job of that key, if any."""
        if interval is not None:
            _positive(interval)
        seq = next(self._seq)
        self._jobs[key] = _Job(run, interval, first, seq)
        self._plan(first, seq, key)

    def reschedule(self, key: str, interval: float, first: float) -> bool:
        """A new grid for the job of ``key`` (its run in flight still counts); False if none."""
        _positive(interval)
        job = self._jobs.get(key)
        if job is None:
            return False
        job.interval, job.due, job.seq = interval, first, next(self._seq)
        self._plan(first, job.seq, key)
        return True

    def remove(self, key: str) -> None:
        self._jobs.pop(key, None)

    def due(self, key: str) -> float | None:
        """When the job of ``key`` runs next (wall-clock), or None when there is no such job."""
        job = self._jobs.get(key)
        return None if job is None else job.due

    def interval(self, key: str) -> float | None:
        job = self._jobs.get(key)
        return None if job is None else job.interval

    def keys(self) -> list[str]:
        return list(self._jobs)

    @property
    def tasks(self) -> set[asyncio.Task[Any]]:
        """The runs in flight (``stop`` leaves them to the caller to cancel)."""
        return set(self._tasks)

    def _plan(self, due: float, seq: int, key: str) -> None:
        heapq.heappush(self._heap, (due, seq, key))
        if len(self._heap) > 2 * len(self._jobs) + 64:
            # Replaced and removed jobs leave their entries until these come due, which for
            # the launch clock may be weeks away: drop them before they pile up.
            self._heap = [(j.due, j.seq, k) for k, j in self._jobs.items()]
            heapq.heapify(self._heap)
        if self.running and self._heap[0][1] == seq:
            self._wake()  # earlier than the timer was set for

    def _wake(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.running or not self._heap:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._heap[0][0] - time.time())
        self._timer = loop.call_at(loop.time() + delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        try:
            self._start_due(time.time())
        finally:
            self._wake()  # whatever happened to one job, the others keep their schedule

    def _start_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, seq, key = heapq.heappop(heap)
            job = self._jobs.get(key)
            if job is None or job.seq != seq:
                continue  # removed, replaced or rescheduled since this entry was planned
            if job.interval is None:
                del self._jobs[key]
                planned = due
            else:
                planned = due + math.floor((now - due) / job.interval) * job.interval
                if planned + job.interval <= now:  # the division's rounding, a slot short
                    planned += job.interval
                job.due = planned + job.interval
                job.seq = next(self._seq)
                heapq.heappush(heap, (job.due, job.seq, key))
            if job.running:
                log.warning("previous run still in flight; this one skipped", job=key)
                continue
            self._launch(job, key, planned)

    def _launch(self, job: _Job, key: str, planned: float) -> None:
        job.running = True
        if self.on_start is not None:
            self.on_start(key, planned)
        task = asyncio.get_running_loop().create_task(job.run(key))
        self._tasks.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            job.running = False
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("scheduled job failed", job=key, error=repr(task.exception()))

        task.add_done_callback(done)


def _positive(interval: float) -> None:
    if not interval > 0:  # NaN too
        raise ValueError(f"a job's interval must be positive (got {interval})")
