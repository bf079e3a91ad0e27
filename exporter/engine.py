"""The probe engine: one timetable job per item, bounded concurrency, timeouts, isolation.

A probe that hangs, raises or times out changes only its own item (FAIL, counted as an error);
the schedule of every other item goes on. Results land in ``ItemState`` records; ``snapshot()``
hands out an immutable picture, rebuilt only when something changed since the last one.

Beside the probes the engine keeps the launch process current (exporter/launch.py): what people
recorded (``set_people``), the interval of each item in the current launch phase, post-launch
tasks judged from their probe's result and their due time, acceptances that expire. A one-shot
job wakes it at the next moment one of those changes by time alone (a phase boundary, an
expiry). Items that answer from the Sign-Off Sheet (``Item.from_sheet``) get the sheet in their
``ProbeContext`` and are judged again whenever the other items' statuses or the records change,
once every other item has its first result. What it observes goes to a ``Recorder`` (the
daemon's store): each status change, when an item was last PASS and a decision last held; a
restart starts from what the store remembers (``memory``) without letting any remembered status
count: every item starts PENDING.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from probes import masking
from probes.context import ProbeContext, Resources, run_probe
from probes.kind import Registry
from probes.registry import KINDS
from probes.result import Result, Status

from .config import Checklist, Item
from .formatting import rfc3339
from .launch import (
    NOBODY,
    IntervalPlan,
    People,
    acceptance_series,
    interval_at,
    launch_time,
    next_phase_change,
    remediation_of,
    task_due,
    task_status,
)
from .on_demand import OnDemand, Run
from .redact import LOGS, Redactor
from .scoring import Decision
from .slots import Slots
from .snapshot import Change, ItemRecords, ItemState, Snapshot, initial_state, take
from .store import StartState, StatusChange
from .timetable import Timetable

# Where the engine's observations go: status changes, when items were last PASS (item -> time)
# and when decisions last held (decision value -> time). The daemon hands them to the store.
Recorder = Callable[[Sequence[StatusChange], Mapping[str, float], Mapping[str, float]], None]

log = structlog.get_logger("readiness.engine")

START_TICK = 0.1  # seconds; scheduled starts are rounded down to a multiple of this
HISTORY = 50  # status changes kept per item for the status board
WATCH_INTERVAL = 2.0  # seconds between looks at watched files (``attest`` shows within this)
CLOCK_JOB = "__launch_clock__"  # wakes the engine when the launch process changes by time
WATCH_FILES_JOB = "__watched_files__"  # item IDs never start with an underscore


def _tick(seconds: float) -> float:
    """``seconds`` rounded down to a multiple of START_TICK."""
    return seconds // START_TICK * START_TICK


class Engine:
    """Runs every item's probe on its interval and keeps the latest results."""

    def __init__(
        self,
        checklist: Checklist,
        resources: Resources | None = None,
        kinds: Registry = KINDS,
        memory: StartState | None = None,
        recorder: Recorder | None = None,
    ):
        """``memory``: what the store remembers (history, last PASS and decision times, people's
        records); ``recorder``: where to send what the engine observes."""
        self.checklist = checklist
        LOGS.redactor = checklist.redactor
        self.resources = resources or Resources(checklist.sql_connections_per_dsn)
        self.resources.ca_file = checklist.ca_file
        self.kinds = kinds  # the registry the checklist was read with
        self.people: People = memory.people if memory is not None else NOBODY
        self._recorder = recorder
        self._held: dict[str, float] = dict(memory.decisions_held) if memory else {}
        # Each item's status as last recorded: a change is recorded only when it differs, so
        # the PENDING round after a restart adds nothing.
        self._stored: dict[str, Status] = (
            {i: h[-1].to_status for i, h in memory.history.items() if h} if memory else {}
        )
        self._seen: tuple[Decision, float] | None = None  # the last decision seen once ready
        self._launch = launch_time(checklist.launch_at, self.people.decision)
        now = time.time()
        self.states: dict[str, ItemState] = {}
        for item in checklist.items:
            history = memory.history.get(item.id, ()) if memory else ()
            last_pass = memory.last_pass.get(item.id) if memory else None
            self.states[item.id] = self._fresh_state(item, now, _changes(history), last_pass)
        self._slots = Slots(checklist.concurrency)  # scheduled runs; probe-now has its own
        self._on_demand = OnDemand(lambda item_id, debug: self.run_item(item_id, debug, False))
        self._timetable: Timetable | None = None  # set by start()
        self._version = 0
        self._snapshot: Snapshot | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # running a probe
        self._rounds: set[asyncio.Task[Any]] = set()  # first rounds (``_first_round``)
        self._watched_mtimes: dict[str, tuple[int | None, ...]] = {}
        self._watch_late = False
        self._ready = False
        self._others_judged = False  # every item but the sheet's has a first result
        self._rejudge_due = False  # a judging of the sheet's items is on its way
        # Benchmarks set this to get (planned start, lag) of each scheduled probe run, the lag
        # being the start (concurrency slot taken) minus the planned start. None costs nothing.
        self.on_lag: Callable[[float, float], None] | None = None
        self._planned: dict[str, float] = {}

    # -- running probes -------------------------------------------------------------------

    async def run_item(
        self, item_id: str, debug: list[str] | None = None, scheduled: bool = True
    ) -> ItemState:
        """Probe one item now and record its result.

        A scheduled run waits for one of the ``engine.concurrency`` slots; an unscheduled one
        (``probe_now``) is bounded by ``OnDemand`` instead, so clicks never delay the schedule.
        """
        item = self.states[item_id].item
        if not item.probed or (item.from_sheet and not self._sheet_readable()):
            return self.states[item_id]  # the sheet's items: once the others are judged
        # Every credential of the checklist, not only this item's: its output may show another's.
        redactor = self.checklist.redactor
        async with self._slots if scheduled else contextlib.nullcontext():
            if self.on_lag is not None:
                self._report_lag(item_id)
            started = time.monotonic()
            ctx = ProbeContext(
                self.resources,
                item.timeout,
                debug,
                item=item.id,
                attested=self.people.attestations.get(item.id),
                sheet=self.snapshot().launch.sheet if item.from_sheet else None,
            )
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
        observed = None
        shown = result
        if item.post_launch:  # the probe's result is the evidence the task is judged from
            if self._done(old, now):
                observed = old.observed
            else:  # stamped with when it was seen, unless it knows when it was made
                observed = (
                    result
                    if result.observed_at is not None
                    else dataclasses.replace(result, observed_at=now)
                )
            shown = self._task_result(item, observed, None, now)
        changed = shown.status is not old.status
        last_pass = now if shown.status is Status.PASS else old.records.last_pass
        new = dataclasses.replace(
            old,
            result=shown,
            changed_at=now if changed else old.changed_at,
            checked_at=now,
            duration=duration,
            runs=old.runs + 1,
            errors=old.errors + int(result.error),
            records=dataclasses.replace(old.records, last_pass=last_pass),
            observed=observed,
        )
        recorded = self._stored.get(item.id)  # before this result; None on a new store
        new = self._note_change(old, new, now)
        self.states[item.id] = new
        self._version += 1
        if (changed or old.checked_at is None) and not (item.from_sheet or item.post_launch):
            self._rejudge_sheet()  # the state signatures are checked against may have moved
        if changed:
            # A start is not a change: an item's first PASS, when it was PASS before the start
            # or never recorded, is told by the first round's one line ("first round done");
            # 10,000 such lines cost the first round 1.7 s of CPU. A first result that is not
            # PASS, or a PASS that was something else before a restart, is logged as a change.
            quiet = old.status is Status.PENDING and old.checked_at is None
            quiet = quiet and shown.status is Status.PASS and recorded in (None, Status.PASS)
            (log.debug if quiet else log.info)(
                "status changed",
                item=item.id,
                summary=shown.summary,
                **{"from": old.status.label, "to": shown.status.label},
            )
        return new

    def _note_change(self, old: ItemState, new: ItemState, now: float) -> ItemState:
        """``new`` with the change in its history, recorded, when its status differs from the
        one last recorded (not from the PENDING an item starts in)."""
        item_id = new.item.id
        previous = self._stored.get(item_id)
        if new.status is previous:
            return new
        self._stored[item_id] = new.status
        change = Change(now, previous or old.status, new.status, new.result.summary)
        passed = {}
        if old.status is Status.PASS and old.checked_at is not None:
            passed[item_id] = old.checked_at  # its last PASS run
        self._remember(
            [
                StatusChange(
                    item_id, previous, new.status, new.result.summary, now, new.result.evidence
                )
            ],
            passed,
        )
        if change.before is change.after:  # the first status seen: recorded, no change to show
            return new
        return dataclasses.replace(new, history=(*old.history[1 - HISTORY :], change))

    def _remember(
        self,
        changes: Sequence[StatusChange] = (),
        passed: Mapping[str, float] | None = None,
        held: Mapping[str, float] | None = None,
    ) -> None:
        if self._recorder is None:
            return
        try:
            self._recorder(changes, passed or {}, held or {})
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the probes
            log.error("could not record in the store", error=str(exc))

    def remember(self) -> None:
        """Record when PASS items were last PASS and the decision last held: at shutdown, so a
        restart knows them to the second."""
        now = time.time()
        passed = {
            i: s.checked_at
            for i, s in self.states.items()
            if s.status is Status.PASS and s.checked_at is not None
        }
        held = {}
        snap = self.snapshot()
        if snap.ready:
            held[snap.scores.decision.value] = now
        if passed or held:
            self._remember((), passed, held)

    # -- the launch process ---------------------------------------------------------------

    def _fresh_state(
        self,
        item: Item,
        now: float,
        history: tuple[Change, ...] = (),
        last_pass: float | None = None,
    ) -> ItemState:
        """An item as it starts: PENDING (or N/A), with what is remembered about it."""
        state = initial_state(item, now)
        if item.post_launch and item.applicable:
            state = dataclasses.replace(state, result=self._task_result(item, None, None, now))
        return dataclasses.replace(
            state,
            history=history,
            records=self._records_of(item, last_pass, now),
            interval=self._plan(item, now).seconds,
        )

    def _records_of(self, item: Item, last_pass: float | None, now: float) -> ItemRecords:
        acceptance = self.people.acceptances.get(item.id)
        risk = acceptance_series(acceptance, now)
        remediation = remediation_of(item.remediation, self.people.remediations.get(item.id))
        return ItemRecords(last_pass, acceptance if risk else None, risk, remediation)

    def _plan(self, item: Item, now: float) -> IntervalPlan:
        return interval_at(item.interval, item.intervals, self._launch.at, now)

    def _task_result(
        self, item: Item, observed: Result | None, checked_at: float | None, now: float
    ) -> Result:
        """A post-launch task's status: its probe's result counts as evidence only when it was
        made after the launch; without evidence it is PENDING until due, then FAIL."""
        assert item.phase is not None
        made_at = None
        if observed is not None:
            made_at = observed.observed_at if observed.observed_at is not None else checked_at
        verdict = task_status(
            item.phase,
            self._launch.at,
            now,
            observed.status if observed is not None else None,
            made_at,
        )
        detail = observed.summary if observed is not None else ""
        if observed is None and item.missing:
            detail = initial_state(item, now).result.summary
        evidence = dict(observed.evidence) if observed is not None else {}
        if verdict.due_at is not None:
            evidence["due"] = rfc3339(verdict.due_at)
        return Result(
            verdict.status,
            verdict.summary + (f"; probe: {detail}" if detail else ""),
            evidence,
            observed.expires_at if observed is not None else None,
            observed.error if observed is not None else False,
            observed.observed_at if observed is not None else None,
        )

    def _done(self, state: ItemState, now: float) -> bool:
        """Whether a post-launch task passed by its due time, which has come: it is done, and
        what its probe sees later does not undo it."""
        observed, item = state.observed, state.item
        if observed is None or item.phase is None or state.status is not Status.PASS:
            return False
        due = task_due(item.phase, self._launch.at)
        made = observed.observed_at if observed.observed_at is not None else state.checked_at
        return due is not None and made is not None and made <= due <= now

    def set_people(self, people: People) -> None:
        """Take the records people made (read again from the store after a write)."""
        before = self.people
        self.people = people
        self._launch = launch_time(self.checklist.launch_at, people.decision)
        self._refresh(time.time(), force=True)
        if self._running:
            for item_id, state in self.states.items():
                if state.item.probed and before.attestations.get(item_id) != (
                    people.attestations.get(item_id)
                ):
                    self._spawn(self._job(item_id))  # an attestation recorded: judge it now
        if (before.signoffs, before.decision) != (people.signoffs, people.decision):
            self._rejudge_sheet()

    def _sheet_readable(self) -> bool:
        """Whether every other item of the launch decision has its first result. Before, the
        state signatures are checked against is a round of PENDING: the sheet's items wait
        rather than show (and record) every signature as given for another state."""
        if not self._others_judged:
            self._others_judged = all(
                s.checked_at is not None
                for s in self.states.values()
                if s.item.probed and not (s.item.from_sheet or s.item.post_launch)
            )
        return self._others_judged

    def _rejudge_sheet(self) -> None:
        """Judge the sheet's items again, once for however many changes come in this turn."""
        if self._rejudge_due or not self._running or not self.checklist.sheet_ids:
            return
        self._rejudge_due = True
        self._spawn(self._rejudge())

    async def _rejudge(self) -> None:
        self._rejudge_due = False  # a change from here on asks for another judging
        await asyncio.gather(*(self._job(i) for i in self.checklist.sheet_ids))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _refresh(self, now: float, force: bool = False) -> None:
        """Bring every item's records, post-launch verdict and interval up to ``now``."""
        changed = force
        for item_id, state in list(self.states.items()):
            item = state.item
            new = state
            records = self._records_of(item, state.records.last_pass, now)
            if records != state.records:
                new = dataclasses.replace(new, records=records)
            if item.post_launch and item.applicable:
                result = self._task_result(item, state.observed, state.checked_at, now)
                if result != state.result:
                    moved = result.status is not state.status
                    new = dataclasses.replace(
                        new, result=result, changed_at=now if moved else state.changed_at
                    )
                    if state.checked_at is not None or moved:
                        new = self._note_change(state, new, now)
            seconds = self._plan(item, now).seconds
            if seconds != state.current_interval:
                new = dataclasses.replace(new, interval=seconds)
                self._reschedule(item, seconds)
            if new is not state:
                self.states[item_id] = new
                changed = True
        if changed:
            self._version += 1
        self._arm_clock(now)

    def _reschedule(self, item: Item, seconds: float) -> None:
        """A new interval from now on: the next run one new interval from now (a phase change
        does not probe every rescheduled item at once); its run in flight, if any, still
        counts, so the two do not overlap."""
        if self._timetable is None:
            return
        if self._timetable.reschedule(item.id, seconds, time.time() + seconds):
            log.info("interval changed with the launch phase", item=item.id, seconds=seconds)

    def _next_event(self, now: float) -> float | None:
        """The next moment the launch process changes by time alone: a phase boundary (an
        interval, a task falling due, the phase metric) or a risk acceptance expiring."""
        moments = [next_phase_change(self._launch.at, now)]
        moments += [
            a.expires_at
            for a in self.people.acceptances.values()
            if a.revoked_at is None and a.expires_at > now
        ]
        future = [m for m in moments if m is not None and m > now]
        return min(future) if future else None

    def _arm_clock(self, now: float) -> None:
        if not self._running:
            return
        assert self._timetable is not None
        at = self._next_event(now)
        if at is None:
            self._timetable.remove(CLOCK_JOB)
        else:  # a millisecond late: phase boundaries are inclusive of their start
            self._timetable.every(CLOCK_JOB, None, at + 0.001, self._on_clock)

    @property
    def _running(self) -> bool:
        """Whether probes run on their schedule: started and not stopped."""
        return self._timetable is not None and self._timetable.running

    async def _on_clock(self, _key: str) -> None:
        try:
            self._refresh(time.time(), force=True)
        except Exception as exc:  # noqa: BLE001 - exceptions escaping a job leak cycles
            log.error("launch clock failed", error=repr(exc))

    def _note_planned(self, item_id: str, planned: float) -> None:
        self._planned[item_id] = planned

    def _report_lag(self, item_id: str) -> None:
        planned = self._planned.pop(item_id, None)
        if planned is not None and self.on_lag is not None:
            self.on_lag(planned, time.time() - planned)

    async def run_round(
        self, item_ids: Iterable[str] | None = None, done: Callable[[str], None] | None = None
    ) -> Snapshot:
        """Probe the given items (default: all) once, concurrently within the bound; the
        sheet's items after the others, whose state they read. ``done`` hears of each item."""
        ids = list(item_ids) if item_ids is not None else list(self.states)
        sheet = self.checklist.sheet_ids

        async def one(item_id: str) -> None:
            await self.run_item(item_id)
            if done is not None:
                done(item_id)

        await asyncio.gather(*(one(i) for i in ids if i not in sheet))
        await asyncio.gather(*(one(i) for i in ids if i in sheet))
        return self.snapshot()

    # -- schedule -------------------------------------------------------------------------

    def start(self) -> None:
        """Run the first round at once and schedule every item's later runs."""
        self._timetable = Timetable()
        if self.on_lag is not None:
            self._timetable.on_start = self._note_planned
        self._schedule(self.checklist.items)
        self._watched_mtimes = {}  # the first look, at once, takes them
        self._timetable.every(WATCH_FILES_JOB, WATCH_INTERVAL, time.time(), self._watch_files)
        self._timetable.start()
        self._arm_clock(time.time())

    def _schedule(self, items: Iterable[Item], unprobed: Sequence[Item] = ()) -> None:
        """Probe ``items`` once now (``_first_round``), then each on its interval; and the
        ``unprobed`` ones, which keep the schedule they have, once now.

        /-/ready is the first round done, due within the longest timeout plus 10 s of the start
        (issue 14). It runs as fast as the concurrency bound lets it, as ``concurrency`` workers:
        the bound protects the targets as it does for scheduled runs, and no probe waits as a
        task of its own (10,000 scheduled first runs waiting for a slot held 30 MB). Later runs
        are spread evenly over each interval, one interval after the start, so that a burst at
        the start does not come back every interval; on ticks, so that one scheduler wake-up
        starts a batch.
        """
        assert self._timetable is not None
        probed = [i for i in items if i.probed]
        now = time.time()
        for n, item in enumerate(probed):
            interval = self.states[item.id].current_interval
            second = now + interval + _tick(interval * n / len(probed))
            self._timetable.every(item.id, interval, second, self._job)
        probed += [i for i in unprobed if i.probed]
        if probed:
            round_ = self._first_round([(i.id, self.states[i.id]) for i in probed])
            task = asyncio.get_running_loop().create_task(round_)
            self._rounds.add(task)
            task.add_done_callback(self._rounds.discard)

    async def _first_round(self, queued: list[tuple[str, ItemState]]) -> None:
        """Each item once, by ``concurrency`` workers, unless a result or a reload replaced
        the state it was queued with (a reload's own round probes a changed item)."""
        queue = iter(queued)
        started = time.monotonic()

        async def worker() -> None:
            for item_id, state in queue:
                if self.states.get(item_id) is state:
                    await self._job(item_id)

        await asyncio.gather(*(worker() for _ in range(self._slots.limit)))
        statuses = collections.Counter(
            self.states[i].status.value for i, _ in queued if i in self.states
        )
        log.info(
            "first round done",
            items=len(queued),
            seconds=round(time.monotonic() - started, 3),
            **{s.value: statuses[s.value] for s in Status if statuses[s.value]},
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

    async def _watch_files(self, _key: str) -> None:
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
        in_flight: set[asyncio.Task[Any]] = set()
        if self._timetable is not None:
            self._timetable.stop()
            in_flight = self._timetable.tasks  # the clock and the watched files' look too
        running = {*self._rounds, *self._tasks, *in_flight}
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=5)
        await self.resources.aclose()

    # -- reload ---------------------------------------------------------------------------

    def reload(self, checklist: Checklist, memory: StartState | None = None) -> None:
        """Switch to a new, already validated checklist.

        Removed items leave; new or changed items start PENDING and are probed at once;
        unchanged items keep their last result and their schedule. ``memory``: what the store
        remembers of items new to the engine (their history and last PASS).
        """
        now = time.time()
        if memory is not None:
            for item_id, history in memory.history.items():
                if history and item_id not in self.states:
                    self._stored[item_id] = history[-1].to_status
        old_states = self.states
        self._launch = launch_time(checklist.launch_at, self.people.decision)
        states: dict[str, ItemState] = {}
        fresh: list[Item] = []
        for item in checklist.items:
            old = old_states.get(item.id)
            if old is not None and old.item.schedule_key() == item.schedule_key():
                states[item.id] = dataclasses.replace(old, item=item)
            elif old is not None:
                # A changed item keeps its status changes and when it was last PASS.
                states[item.id] = self._fresh_state(item, now, old.history, old.records.last_pass)
                fresh.append(item)
            else:
                remembered = memory.history.get(item.id, ()) if memory is not None else ()
                states[item.id] = self._fresh_state(
                    item,
                    now,
                    _changes(remembered),
                    memory.last_pass.get(item.id) if memory is not None else None,
                )
                fresh.append(item)
        fresh_ids = {i.id for i in fresh}
        if self._timetable is not None:
            # Removed items leave; a changed item's job is replaced by _schedule below (a new
            # job, which does not wait on the old one's run in flight).
            for item_id in old_states.keys() - states.keys():
                self._timetable.remove(item_id)
        self._slots.resize(checklist.concurrency)  # runs in flight keep counting against it
        if checklist.sql_connections_per_dsn != self.checklist.sql_connections_per_dsn:
            self.resources.databases.resize(checklist.sql_connections_per_dsn)
        self.resources.ca_file = checklist.ca_file
        self.checklist = checklist
        LOGS.redactor = checklist.redactor
        self.states = states
        self._ready = False
        self._others_judged = False
        self._planned = {}
        self._version += 1
        if self._timetable is not None:
            # Unchanged items the running first round had not reached yet: that round skips
            # them now (their state was replaced), so this one runs them, or /-/ready would
            # wait up to an interval for their scheduled runs.
            waiting = [
                s.item
                for i, s in states.items()
                if i not in fresh_ids and s.item.probed and s.checked_at is None
            ]
            self._schedule(fresh, waiting)
        self._refresh(now)  # records and intervals of unchanged items (remediation, launch:)
        self._rejudge_sheet()  # roles, launch: and the items signatures are bound to may differ
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

    def probed_so_far(self) -> tuple[int, int]:
        """(probed items with a first result, probed items): /-/ready's answer while not
        ready, without the snapshot, which scores every item (a readiness check every 0.05 s
        rescored 10,000 items each time during the first round)."""
        probed = [s for s in self.states.values() if s.item.probed]
        return sum(s.checked_at is not None for s in probed), len(probed)

    def snapshot(self) -> Snapshot:
        """The current results; the same object until a result or the config changes."""
        if self._snapshot is None or self._snapshot.version != self._version:
            snap = take(
                self.checklist,
                self.states,
                self._version,
                self.ready,
                time.time(),
                self.people,
                self._held,
                self._launch,
            )
            if self._note_decision(snap):
                snap = dataclasses.replace(snap, decisions_remembered=dict(self._held))
            self._snapshot = snap
        return self._snapshot

    def _note_decision(self, snap: Snapshot) -> bool:
        """Record when decisions held, once every item has had its first run (the PENDING
        round after a start is no decision). True when something was recorded."""
        if not snap.ready:
            return False
        decision = snap.scores.decision
        seen = self._seen
        self._seen = (decision, snap.taken_at)
        if seen is not None and seen[0] is decision:
            return False
        held = {decision.value: snap.taken_at}  # it holds now: known even after a kill -9
        if seen is not None:
            held[seen[0].value] = seen[1]  # the old one held until the last look
        self._held.update(held)
        self._remember((), None, held)
        return True


def _changes(history: Iterable[StatusChange]) -> tuple[Change, ...]:
    """Stored status changes as the board lists them (the first one: from PENDING)."""
    return tuple(
        Change(c.at, c.from_status or Status.PENDING, c.to_status, c.summary) for c in history
    )


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
