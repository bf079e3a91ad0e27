"""The probe engine: one APScheduler job per item, bounded concurrency, timeouts, isolation.

A probe that hangs, raises or times out changes only its own item (FAIL, counted as an error);
the schedule of every other item goes on. Results land in ``ItemState`` records; ``snapshot()``
hands out an immutable picture, rebuilt only when something changed since the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from probes import masking
from probes.context import ProbeContext, Resources, run_probe
from probes.kind import Registry
from probes.registry import KINDS
from probes.result import Result, Status

from .config import Checklist, Item
from .on_demand import OnDemand, Run
from .redact import LOGS, Redactor
from .slots import Slots
from .snapshot import Change, ItemState, Snapshot, initial_state, take

log = structlog.get_logger("readiness.engine")

FIRST_ROUND_SPREAD = 2.0  # seconds over which the first round's probes start
# Most first-round starts per second. Each item keeps the phase of its first run, so a big
# checklist started within 2 s would burst every interval: 10,000 items queued ~10 s behind their
# slots (docs/performance.md). Spreading at this rate keeps the load even.
FIRST_ROUND_RATE = 250.0
START_TICK = 0.1  # seconds; first-round starts are rounded down to a multiple of this
HISTORY = 50  # status changes kept per item for the status board
WATCH_INTERVAL = 2.0  # seconds between looks at watched files (``attest`` shows within this)


def first_round_window(probed: int, shortest_interval: float) -> float:
    """Seconds over which the first round's starts are spread: 2 s, longer for big checklists."""
    return min(shortest_interval, max(FIRST_ROUND_SPREAD, probed / FIRST_ROUND_RATE))


class Engine:
    """Runs every item's probe on its interval and keeps the latest results."""

    def __init__(
        self, checklist: Checklist, resources: Resources | None = None, kinds: Registry = KINDS
    ):
        self.checklist = checklist
        LOGS.redactor = checklist.redactor
        self.resources = resources or Resources(checklist.sql_connections_per_dsn)
        self.kinds = kinds  # the registry the checklist was read with
        now = time.time()
        self.states: dict[str, ItemState] = {i.id: initial_state(i, now) for i in checklist.items}
        self._slots = Slots(checklist.concurrency)  # scheduled runs; probe-now has its own
        self._on_demand = OnDemand(lambda item_id, debug: self.run_item(item_id, debug, False))
        self._scheduler: AsyncIOScheduler | None = None
        self._version = 0
        self._snapshot: Snapshot | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watched_mtimes: dict[str, tuple[int | None, ...]] = {}
        self._watch_late = False
        self._ready = False
        # Benchmarks set this to get (planned start, lag) of each scheduled probe run, the lag
        # being the start (concurrency slot taken) minus the planned start. None costs nothing.
        self.on_lag: Callable[[float, float], None] | None = None
        self._planned: dict[str, float] = {}
        # Job IDs carry a reload generation: a changed item's new job must not count the old
        # job's run still in flight against max_instances (it would be pushed an interval back).
        self._generation = 0
        self._job_ids: dict[str, str] = {}

    # -- running probes -------------------------------------------------------------------

    async def run_item(
        self, item_id: str, debug: list[str] | None = None, scheduled: bool = True
    ) -> ItemState:
        """Probe one item now and record its result.

        A scheduled run waits for one of the ``engine.concurrency`` slots; an unscheduled one
        (``probe_now``) is bounded by ``OnDemand`` instead, so clicks never delay the schedule.
        """
        item = self.states[item_id].item
        if not item.probed:
            return self.states[item_id]
        # Every credential of the checklist, not only this item's: its output may show another's.
        redactor = self.checklist.redactor
        async with self._slots if scheduled else contextlib.nullcontext():
            if self.on_lag is not None:
                self._report_lag(item_id)
            started = time.monotonic()
            ctx = ProbeContext(self.resources, item.timeout, debug, item=item.id)
            with masking.using(redactor.text):  # what probes cut, they mask first
                result = redactor.result(await self._probe(item, ctx, redactor))
            duration = time.monotonic() - started
        if debug is not None:
            redactor.lines(debug)
            debug.append(f"{duration:7.3f}s result {result.status.label}: {result.summary}")
        return self._record(item, result, duration)

    async def probe_now(self, item_id: str) -> Run:
        """Run an item because a person asked: single-flight, rate-limited (``on_demand.py``).

        Raises ``RateLimited`` when refused for now.
        """
        return await self._on_demand.run(item_id)

    async def _probe(self, item: Item, ctx: ProbeContext, redactor: Redactor) -> Result:
        try:
            return await run_probe(self.kinds[item.kind].probe, item.spec, ctx, item.timeout)
        except Exception as exc:  # noqa: BLE001 - one probe's bug must not touch other items
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            reason = redactor.text(reason)  # exception texts quote URLs with passwords
            ctx.log(f"probe raised {reason}")
            log.warning("probe raised", item=item.id, kind=item.kind, error=reason)
            return Result(Status.FAIL, f"probe error: {reason}", {"error": reason}, error=True)

    def _record(self, item: Item, result: Result, duration: float) -> ItemState:
        old = self.states.get(item.id)
        if old is None or old.item.schedule_key() != item.schedule_key():
            return initial_state(item, time.time())  # removed or changed by a reload meanwhile
        now = time.time()
        changed = result.status is not old.status
        new = ItemState(
            item=old.item,
            result=result,
            changed_at=now if changed else old.changed_at,
            checked_at=now,
            duration=duration,
            runs=old.runs + 1,
            errors=old.errors + int(result.error),
            history=old.history,
        )
        if changed:
            change = Change(now, old.status, result.status, result.summary)
            new = dataclasses.replace(new, history=(*old.history[1 - HISTORY :], change))
        self.states[item.id] = new
        self._version += 1
        if changed:
            log.info(
                "status changed",
                item=item.id,
                summary=result.summary,
                **{"from": old.status.label, "to": result.status.label},
            )
        return new

    def _note_planned(self, event: JobSubmissionEvent) -> None:
        # With coalescing a late job lists every slot it missed; the latest is the one it runs for.
        item_id = event.job_id.rpartition("@")[0]
        self._planned[item_id] = event.scheduled_run_times[-1].timestamp()

    def _report_lag(self, item_id: str) -> None:
        planned = self._planned.pop(item_id, None)
        if planned is not None and self.on_lag is not None:
            self.on_lag(planned, time.time() - planned)

    async def run_round(self, item_ids: Iterable[str] | None = None) -> Snapshot:
        """Probe the given items (default: all) once, concurrently within the bound."""
        ids = list(item_ids) if item_ids is not None else list(self.states)
        await asyncio.gather(*(self.run_item(i) for i in ids))
        return self.snapshot()

    # -- schedule -------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule every item; the first round starts at once, spread over a second or two."""
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                # Run late rather than skip when the loop was busy; one run at a time per item.
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        if self.on_lag is not None:
            self._scheduler.add_listener(self._note_planned, EVENT_JOB_SUBMITTED)
        self._schedule(self.checklist.items, spread=True)
        self._watched_mtimes = {}  # the first look, at once, takes them
        self._scheduler.add_job(
            self._watch_files,
            IntervalTrigger(seconds=WATCH_INTERVAL),
            id="__watched_files__",
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    def _schedule(self, items: Iterable[Item], spread: bool) -> None:
        assert self._scheduler is not None
        probed = [i for i in items if i.probed]
        now = datetime.now(UTC)
        window = (
            first_round_window(len(probed), min(i.interval for i in probed))
            if spread and probed
            else 0
        )
        for n, item in enumerate(probed):
            # Starts land on ticks: one scheduler wake-up then starts a batch, not a single probe.
            first = now + timedelta(seconds=(window * n / len(probed)) // START_TICK * START_TICK)
            job_id = self._job_ids[item.id] = f"{item.id}@{self._generation}"
            self._scheduler.add_job(
                self._job,
                IntervalTrigger(seconds=item.interval, start_date=first, timezone=UTC),
                args=[item.id],
                id=job_id,
                next_run_time=first,
                replace_existing=True,
            )

    async def _job(self, item_id: str) -> None:
        if item_id not in self.states:
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self.run_item(item_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - exceptions escaping a job leak cycles
            error = self.checklist.redactor.text(repr(exc))
            log.error("probe job failed", item=item_id, error=error)
        finally:
            if task is not None:
                self._tasks.discard(task)

    def _watched_files(self) -> dict[str, tuple[Path, ...]]:
        """The files each probed item's kind asks to be watched (attestation evidence)."""
        watched = {}
        for item_id, state in self.states.items():
            if state.item.probed:
                files = self.kinds[state.item.kind].watched_files(state.item.spec)
                if files:
                    watched[item_id] = files
        return watched

    async def _watch_files(self) -> None:
        """Probe an item as soon as a file its kind watches changes, not at its interval."""
        # stat() on the evidence workers: evidence may sit on a slow network mount. A look
        # that does not end before the next one is due is given up, not stacked.
        look = self.resources.evidence.submit(modification_times, self._watched_files())
        try:
            current = await asyncio.wait_for(asyncio.wrap_future(look), WATCH_INTERVAL / 2)
        except TimeoutError:
            if not self._watch_late:  # once, not every two seconds while a mount hangs
                log.warning("watched files not examined in time", seconds=WATCH_INTERVAL / 2)
            self._watch_late = True
            return
        self._watch_late = False
        seen, self._watched_mtimes = self._watched_mtimes, current
        for item_id, mtime in current.items():
            if item_id in seen and seen[item_id] != mtime:
                await self._job(item_id)

    async def stop(self) -> None:
        """Stop scheduling, cancel probes in flight, close shared clients."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self.resources.aclose()

    # -- reload ---------------------------------------------------------------------------

    def reload(self, checklist: Checklist) -> None:
        """Switch to a new, already validated checklist.

        Removed items leave; new or changed items start PENDING and are probed at once;
        unchanged items keep their last result and their schedule.
        """
        now = time.time()
        old_states = self.states
        states: dict[str, ItemState] = {}
        fresh: list[Item] = []
        for item in checklist.items:
            old = old_states.get(item.id)
            if old is not None and old.item.schedule_key() == item.schedule_key():
                states[item.id] = dataclasses.replace(old, item=item)
            else:
                states[item.id] = initial_state(item, now)
                if old is not None:  # a changed item keeps its status changes
                    states[item.id] = dataclasses.replace(states[item.id], history=old.history)
                fresh.append(item)
        fresh_ids = {i.id for i in fresh}
        if self._scheduler is not None:
            for item_id in old_states:
                job_id = self._job_ids.get(item_id)
                if job_id is not None and (item_id not in states or item_id in fresh_ids):
                    del self._job_ids[item_id]
                    try:
                        self._scheduler.remove_job(job_id)
                    except JobLookupError:
                        pass
        self._slots.resize(checklist.concurrency)  # runs in flight keep counting against it
        if checklist.sql_connections_per_dsn != self.checklist.sql_connections_per_dsn:
            self.resources.databases.resize(checklist.sql_connections_per_dsn)
        self.checklist = checklist
        LOGS.redactor = checklist.redactor
        self.states = states
        self._ready = False
        self._planned = {}
        self._version += 1
        self._generation += 1
        if self._scheduler is not None:
            self._schedule(fresh, spread=False)
        log.info(
            "config reloaded",
            items=len(states),
            new_or_changed=len(fresh),
            removed=len(set(old_states) - set(states)),
        )

    # -- reading --------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether every probed item has had its first run."""
        if not self._ready:  # once true, stays true until a reload brings new items
            self._ready = all(
                s.checked_at is not None for s in self.states.values() if s.item.probed
            )
        return self._ready

    def snapshot(self) -> Snapshot:
        """The current results; the same object until a result or the config changes."""
        if self._snapshot is None or self._snapshot.version != self._version:
            self._snapshot = take(
                self.checklist, self.states, self._version, self.ready, time.time()
            )
        return self._snapshot


def modification_times(
    files: dict[str, tuple[Path, ...]],
) -> dict[str, tuple[int | None, ...]]:
    """Each file's modification time in nanoseconds, None where it is missing or unreadable."""
    return {key: tuple(map(_mtime, paths)) for key, paths in files.items()}


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
