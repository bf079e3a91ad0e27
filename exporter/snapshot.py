"""An immutable picture of the checklist at one moment: each item's last result and the scores.

Everything that shows the checklist (``/metrics``, the status board, the JSON API, ``check``)
reads a ``Snapshot``: the checklist with its category titles, each item's state with its recent
status changes, the scores. The engine builds a new one when results change, never edits one in
place, so the web layer needs nothing else to draw a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from probes.result import Result, Status

from .config import Checklist, Item
from .scoring import Judged, Scores, score


@dataclass(frozen=True)
class Change:
    """One status change of an item, as the status board lists them."""

    at: float
    before: Status
    after: Status
    summary: str


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

    # What scoring needs of this item, made with the state: snapshots are taken often, and a
    # cached_property (which takes a lock on first access in Python 3.11) cost ~3 µs per new state.
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
class Snapshot:
    checklist: Checklist
    states: Mapping[str, ItemState]  # by item ID, in config order
    scores: Scores
    version: int
    ready: bool  # every probed item has a first result
    taken_at: float

    def by_category(self, category: str) -> list[ItemState]:
        return [s for s in self.states.values() if s.item.category == category]

    def category_title(self, category: str) -> str:
        """The category's title as the config writes it (its ID if it has none)."""
        return next((c.title for c in self.checklist.categories if c.id == category), category)


def take(
    checklist: Checklist, states: Mapping[str, ItemState], version: int, ready: bool, now: float
) -> Snapshot:
    judged = [s.judged for s in states.values()]
    scores = score(
        judged,
        checklist.thresholds.go,
        checklist.thresholds.caution,
        [c.id for c in checklist.categories],
    )
    return Snapshot(checklist, dict(states), scores, version, ready, now)
