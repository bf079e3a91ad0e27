"""An immutable picture of the checklist at one moment: each item's last result and the scores.

Everything that shows the checklist (``/metrics``, the status board, the JSON API, ``check``)
reads a ``Snapshot``: the checklist with its category titles, each item's state with its recent
status changes and what people recorded about it, the scores, and the launch process around
them (``Snapshot.launch``: phase, sign-offs and whether each still counts, the recorded
decision). The engine builds a new one when results, records or the launch phase change, never
edits one in place, so the web layer needs nothing else to draw a page.

The scores are P020's over the checklist's items: post-launch tasks (items with a ``phase:``)
are left out of them (exporter/launch.py, ``in_launch_decision``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from probes.result import Result, Status

from .config import Checklist, Item
from .launch import (
    NOBODY,
    AcceptanceSeries,
    LaunchTime,
    People,
    Phase,
    RiskAcceptance,
    SignatureCheck,
    SignOff,
    StateStamp,
    check_signature,
    phase_at,
)
from .scoring import Judged, Scores, score


@dataclass(frozen=True)
class Change:
    """One status change of an item, as the status board lists them."""

    at: float
    before: Status
    after: Status
    summary: str


@dataclass(frozen=True)
class ItemRecords:
    """What the store and people's records say about an item, beside its last result."""

    last_pass: float | None = None  # the last time it was seen PASS (now, or remembered)
    acceptance: RiskAcceptance | None = None  # its latest risk acceptance, unless revoked
    risk: AcceptanceSeries | None = None  # that acceptance's metric values when this was made
    remediation: str | None = None  # the latest recorded plan, else the config's


NO_RECORDS = ItemRecords()


@dataclass(frozen=True)
class ItemState:
    """An item's latest result, its counters and its recent status changes."""

    item: Item
    result: Result
    changed_at: float  # when the item entered its current status
    checked_at: float | None = None  # when the last probe run ended; None before the first
    duration: float | None = None  # seconds the last probe run took
    runs: int = 0
    errors: int = 0  # runs that could not judge (timeout, exception)
    history: tuple[Change, ...] = ()  # the latest status changes, oldest first
    records: ItemRecords = NO_RECORDS
    interval: float | None = None  # the interval in force (by launch phase); None: item.interval
    # A post-launch task's own probe result, the evidence its ``result`` is judged from.
    observed: Result | None = None

    # What scoring needs of this item, made with the state: snapshots are taken often, and a
    # cached_property takes a lock on first access in Python 3.11 (docs/performance.md).
    judged: Judged = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "judged",
            Judged(self.item.id, self.item.category, self.item.priority, self.result.status),
        )

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def current_interval(self) -> float:
        """Seconds between two probe runs now (the item's ``intervals:`` for the phase)."""
        return self.item.interval if self.interval is None else self.interval


def initial_state(item: Item, now: float) -> ItemState:
    """The state of an item nobody has probed yet: N/A, not configured, or waiting."""
    if not item.applicable:
        result = Result(Status.NA, "not applicable")
    elif item.missing:
        names = ", ".join(item.missing)
        result = Result(
            Status.PENDING,
            f"not configured: {names} {'is' if len(item.missing) == 1 else 'are'} not set",
            {"missing_variables": list(item.missing)},
        )
    else:
        result = Result(Status.PENDING, "not probed yet")
    return ItemState(item, result, changed_at=now)


@dataclass(frozen=True)
class Signature:
    """A role's latest signature and whether it counts for the checklist as it is now."""

    role: str  # as the config names it
    signoff: SignOff | None
    check: SignatureCheck | None  # None when unsigned

    @property
    def counts(self) -> bool:
        return self.check is not None and self.check.counts


@dataclass(frozen=True)
class LaunchPicture:
    """The process around the checklist at the snapshot's time: launch time and phase, each
    role's signature and whether it counts, the recorded decision beside the computed one."""

    launch: LaunchTime
    phase: Phase
    stamp: StateStamp  # the launch decision's state now: what a signature is checked against
    signatures: tuple[Signature, ...]  # one per configured role, in the config's order
    people: People
    decisions_held: Mapping[str, float]  # decision -> the last time it held (this run or stored)


@dataclass(frozen=True)
class Snapshot:
    checklist: Checklist
    states: Mapping[str, ItemState]  # by item ID, in config order
    scores: Scores  # over the checklist's items; post-launch tasks are left out
    version: int
    ready: bool  # every probed item has a first result
    taken_at: float
    people: People = NOBODY
    # When each decision last held, as remembered from earlier runs (the current one: now).
    decisions_remembered: Mapping[str, float] = field(default_factory=dict)
    launch_time: LaunchTime = field(default_factory=lambda: LaunchTime(None, "none"))

    def by_category(self, category: str) -> list[ItemState]:
        return [s for s in self.states.values() if s.item.category == category]

    def category_title(self, category: str) -> str:
        """The category's title as the config writes it (its ID if it has none)."""
        return next((c.title for c in self.checklist.categories if c.id == category), category)

    @property
    def tasks(self) -> list[ItemState]:
        """The post-launch tasks, in config order."""
        return [s for s in self.states.values() if s.item.post_launch]

    @functools.cached_property
    def launch(self) -> LaunchPicture:
        """The launch process at ``taken_at`` (computed once per snapshot, when first asked)."""
        statuses = {i: s.status for i, s in self.states.items() if not s.item.post_launch}
        stamp = StateStamp.of_scores(self.scores, statuses)
        signatures = []
        for role in self.checklist.roles:
            signoff = self.people.signoff(role)
            check = None if signoff is None else check_signature(signoff, stamp)
            signatures.append(Signature(role, signoff, check))
        held = dict(self.decisions_remembered)
        if self.ready:
            held[self.scores.decision.value] = self.taken_at
        return LaunchPicture(
            self.launch_time,
            phase_at(self.launch_time.at, self.taken_at),
            stamp,
            tuple(signatures),
            self.people,
            held,
        )


def take(
    checklist: Checklist,
    states: Mapping[str, ItemState],
    version: int,
    ready: bool,
    now: float,
    people: People = NOBODY,
    decisions_remembered: Mapping[str, float] | None = None,
    launch_time: LaunchTime | None = None,
) -> Snapshot:
    scores = launch_scores(checklist, [s.judged for s in states.values()])
    return Snapshot(
        checklist,
        dict(states),
        scores,
        version,
        ready,
        now,
        people,
        dict(decisions_remembered or {}),
        launch_time or LaunchTime(checklist.launch_at, "config" if checklist.launch_at else "none"),
    )


def launch_scores(checklist: Checklist, judged: Iterable[Judged]) -> Scores:
    """P020's scores and decision over the checklist's items (post-launch tasks left out)."""
    tasks = checklist.task_ids
    return score(
        [j for j in judged if j.id not in tasks],
        checklist.thresholds.go,
        checklist.thresholds.caution,
        [c.id for c in checklist.categories if not c.items or not _only_tasks(c.items)],
    )


def _only_tasks(items: tuple[Item, ...]) -> bool:
    return all(i.post_launch for i in items)
