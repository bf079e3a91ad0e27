"""An immutable picture of the checklist at one moment: each item's last result and the scores.

Everything that shows the checklist (``/metrics``, the status board, the JSON API, ``check``)
reads a ``Snapshot``: the checklist with its category titles, each item's state with its recent
status changes and what people recorded about it, the scores, and the launch process around
them (``Snapshot.launch``: phase, sign-offs and whether each still counts, the recorded
decision). The engine builds a new one when results, records or the launch phase change, never
edits one in place, so the web layer needs nothing else to draw a page.

The scores are P020's over the checklist's items: post-launch tasks (items with a ``phase:``)
are left out of them (exporter/launch.py, ``in_launch_decision``). Signatures are given for, and
checked against, the state ``under_review``: the same items, with those that answer from the
Sign-Off Sheet counted as given.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from probes.result import Result, Status
from probes.signed import SheetDecision, SheetSignature

from .config import Checklist, Item
from .formatting import percent
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
    role_key,
)
from .scoring import Judged, Scores, score


@dataclass(frozen=True, slots=True)  # slots: one per item and state, 10,000s of them
class Change:
    """One status change of an item, as the status board lists them."""

    at: float
    before: Status
    after: Status
    summary: str


@dataclass(frozen=True, slots=True)
class ItemRecords:
    """What the store and people's records say about an item, beside its last result."""

    last_pass: float | None = None  # the last time it was seen PASS (now, or remembered)
    acceptance: RiskAcceptance | None = None  # its latest risk acceptance, unless revoked
    risk: AcceptanceSeries | None = None  # that acceptance's metric values when this was made
    remediation: str | None = None  # the latest recorded plan, else the config's


NO_RECORDS = ItemRecords()


@dataclass(frozen=True, slots=True)
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
    # The launch decision's state now, the sheet's own items counted as given (``under_review``):
    # what a signature or a decision is given for and checked against.
    stamp: StateStamp
    signatures: tuple[Signature, ...]  # one per configured role, in the config's order
    people: People
    decisions_held: Mapping[str, float]  # decision -> the last time it held (this run or stored)
    whole: bool = True  # the whole checklist (not a run of some items)

    @functools.cached_property
    def sheet(self) -> SignOffSheet:
        """The Sign-Off Sheet as the items that answer from it see it (probes/sheet.py)."""
        signatures = {}
        for signature in self.signatures:
            signoff, check = signature.signoff, signature.check
            if signoff is None or check is None:
                continue
            given = signoff.stamp
            signatures[role_key(signature.role)] = SheetSignature(
                signature.role,
                signoff.by,
                signoff.user,
                signoff.at,
                signoff.notes,
                f"{given.decision.label} (total {percent(given.total)}, critical "
                f"{percent(given.critical)})",
                check.counts,
                check.reason,
            )
        record = self.people.decision
        decision = None
        if record is not None:
            decision = SheetDecision(
                record.decision.value,
                record.decision.label,
                record.by,
                record.user,
                record.at,
                record.computed.value,
                record.computed.label,
                self.launch.at,
                self.launch.source == "config",
                record.notes,
            )
        return SignOffSheet(
            self.whole, self.stamp.decision.value, self.stamp.decision.label, decision, signatures
        )


@dataclass(frozen=True)
class SignOffSheet:
    """What the ``signoff`` and ``decision`` kinds read (probes/signed.py's ``Sheet``)."""

    whole: bool
    computed: str  # the decision under review now (a value)
    computed_label: str
    decision: SheetDecision | None
    signatures: Mapping[str, SheetSignature]  # by role_key

    def signature(self, role: str) -> SheetSignature | None:
        """The role's latest signature, the role matched as the config matches it."""
        return self.signatures.get(role_key(role))


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
        if self.checklist.sheet_ids:
            stamp = under_review(self.checklist, statuses)[1]
        else:  # nothing to count as given: the state is the scores' own
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
            self.checklist.whole,
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


def under_review(checklist: Checklist, statuses: Mapping[str, Status]) -> tuple[Scores, StateStamp]:
    """The state signatures and decisions are given for and checked against: each launch
    item's status in ``statuses``, with the items that answer from the Sign-Off Sheet counted as
    given (PASS; N/A stays N/A). Those items' status follows from the signatures: counted as
    they are, a sign-off turning PASS would change the state it was given for and void itself.
    The scores are those the checklist will have once its sheet is complete."""
    sheet = checklist.sheet_ids
    given = {
        i: Status.PASS if i in sheet and s is not Status.NA else s for i, s in statuses.items()
    }
    scores = launch_scores(
        checklist,
        (
            Judged(i.id, i.category, i.priority, given[i.id])
            for i in checklist.launch_items
            if i.id in given
        ),
    )
    return scores, StateStamp.of_scores(scores, given)


def _only_tasks(items: tuple[Item, ...]) -> bool:
    return all(i.post_launch for i in items)
