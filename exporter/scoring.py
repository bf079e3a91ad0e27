"""The checklist's scoring formula and Go/No-Go matrix, as pure functions.

    Total score    = PASS items / applicable items
    Critical score = PASS critical items / applicable critical items

PARTIAL, FAIL and PENDING count as not passed; N/A items are left out of every score. The
decision: any critical item not PASS is NO-GO; otherwise a total score of at least ``go`` (0.95)
is GO, at least ``caution`` (0.90) is GO WITH CAUTION, anything lower is NO-GO. Exactly 95 % is
GO: the matrix's "95-99 %" row includes it (the document's ">95 %" line says otherwise; the
matrix is the more precise of the two).

Edge cases: a score over no applicable items is undefined (``None``; NaN on /metrics). No
applicable items at all is NO-GO (nothing was shown ready); no applicable critical items means
nothing blocks on the critical rule.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from operator import itemgetter
from typing import NamedTuple

from probes.result import Status

from .formatting import percent, threshold

CRITICAL = "critical"


class Decision(str, enum.Enum):
    GO = "go"
    GO_WITH_CAUTION = "go_with_caution"
    NO_GO = "no_go"

    @property
    def label(self) -> str:
        """The decision as the checklist writes it."""
        return {"go": "GO", "go_with_caution": "GO WITH CAUTION", "no_go": "NO-GO"}[self.value]


class Judged(NamedTuple):
    """What scoring needs to know about one item.

    A NamedTuple rather than a frozen dataclass: a snapshot builds one per item, and the
    dataclass constructor was a large part of a snapshot's time (docs/performance.md).
    """

    id: str
    category: str
    priority: str
    status: Status


_STATUS = itemgetter(3)  # Judged.status
_CATEGORY_STATUS = itemgetter(1, 3)  # (Judged.category, Judged.status)


@dataclass(frozen=True)
class Tally:
    """Counts by status over a set of items, and the score they give."""

    counts: Mapping[Status, int]

    @property
    def applicable(self) -> int:
        return sum(n for s, n in self.counts.items() if s is not Status.NA)

    @property
    def passed(self) -> int:
        return self.counts.get(Status.PASS, 0)

    @property
    def score(self) -> Fraction | None:
        """PASS over applicable items; None when no item is applicable."""
        return Fraction(self.passed, self.applicable) if self.applicable else None


@dataclass(frozen=True)
class Scores:
    total: Tally
    critical: Tally
    categories: Mapping[str, Tally]
    decision: Decision
    blockers: tuple[str, ...]  # applicable critical items that are not PASS
    reason: str


def tally(counted: Mapping[Status, int]) -> Tally:
    """A Tally over every status, from counts that may leave some statuses out."""
    return Tally({s: counted.get(s, 0) for s in Status})


def decide(
    total: Fraction | None, critical: Fraction | None, go: float = 0.95, caution: float = 0.90
) -> Decision:
    """The decision matrix. Thresholds compare exactly: 19 of 20 is 0.95, and 0.95 is GO."""
    if total is None:
        return Decision.NO_GO
    if critical is not None and critical < 1:
        return Decision.NO_GO
    if total >= Fraction(str(go)):
        return Decision.GO
    if total >= Fraction(str(caution)):
        return Decision.GO_WITH_CAUTION
    return Decision.NO_GO


def score(
    items: Iterable[Judged], go: float = 0.95, caution: float = 0.90, categories: Iterable[str] = ()
) -> Scores:
    """Scores and decision for a set of judged items; ``categories`` fixes their order."""
    items = list(items)
    # Counted by Counter over itemgetters, in C: a snapshot scores every item, and Python loops
    # over them were a large part of each /metrics render at scale (docs/performance.md).
    total = tally(Counter(map(_STATUS, items)))
    critical_items = [i for i in items if i.priority == CRITICAL]
    critical = tally(Counter(map(_STATUS, critical_items)))
    pairs = Counter(map(_CATEGORY_STATUS, items))
    order = dict.fromkeys([*categories, *(category for category, _ in pairs)])
    per_category = {c: tally({s: pairs.get((c, s), 0) for s in Status}) for c in order}
    blockers = tuple(i.id for i in critical_items if i.status not in (Status.PASS, Status.NA))
    decision = decide(total.score, critical.score, go, caution)
    return Scores(
        total,
        critical,
        per_category,
        decision,
        blockers,
        _reason(decision, total, critical, blockers, go, caution),
    )


def _reason(
    decision: Decision,
    total: Tally,
    critical: Tally,
    blockers: tuple[str, ...],
    go: float,
    caution: float,
) -> str:
    if total.score is None:
        return "no applicable items: nothing has been shown ready"
    if blockers:
        shown = ", ".join(blockers[:10]) + (
            f" and {len(blockers) - 10} more" if len(blockers) > 10 else ""
        )
        return f"{len(blockers)} critical item{'s' if len(blockers) != 1 else ''} not PASS: {shown}"
    critical_ok = (
        "all critical items PASS" if critical.score is not None else "no applicable critical items"
    )
    if decision is Decision.GO:
        return f"{critical_ok} and total score {percent(total.score)} >= {threshold(go)}"
    if decision is Decision.GO_WITH_CAUTION:
        return f"{critical_ok}; total score {percent(total.score)} is below {threshold(go)}"
    return f"total score {percent(total.score)} is below {threshold(caution)}"
