"""What blocks a GO, in the order people act on it: failing critical items first, then the ones
still waiting for configuration or a person's attestation, grouped by what they wait for."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from probes.kind import Registry
from probes.registry import KINDS
from probes.result import Status

from ..attest import AttestError, evidence_file
from ..snapshot import ItemState, Snapshot


@dataclass(frozen=True)
class Blockers:
    failing: tuple[ItemState, ...]  # FAIL, then PARTIAL: something is wrong
    waiting: tuple[tuple[str, tuple[ItemState, ...]], ...]  # (what for, items): PENDING
    # The PENDING ones again, split by what ends the wait:
    # setting these variables (the largest group first) ...
    unconfigured: tuple[tuple[tuple[str, ...], tuple[ItemState, ...]], ...] = ()
    # ... a person running ``attest`` (probed, and the file it reads is not there), or ``sign``
    # or ``decide`` for the items that answer from the Sign-Off Sheet ...
    unsigned: tuple[ItemState, ...] = ()
    # ... or something else, by what it waits for (``not probed yet`` after a start or reload).
    others: tuple[tuple[str, tuple[ItemState, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.failing or self.waiting)


def waits_for(state: ItemState) -> str:
    """``needs APP_URL``, ``not attested yet``: what a PENDING item waits for, shared by many."""
    if state.item.missing:
        return "needs " + ", ".join(state.item.missing)
    return state.result.summary.partition(":")[0]


K = TypeVar("K", bound=Hashable)


def _grouped(pairs: Iterable[tuple[K, ItemState]]) -> dict[K, list[ItemState]]:
    groups: dict[K, list[ItemState]] = {}
    for key, state in pairs:
        groups.setdefault(key, []).append(state)
    return groups


def signed_by_a_person(snap: Snapshot, state: ItemState, kinds: Registry = KINDS) -> bool:
    """Whether ``attest`` records this item's evidence (its probe reads a file a person signs)."""
    try:
        evidence_file(snap.checklist, state.item.id, kinds)
    except AttestError:
        return False
    return True


def blockers(snap: Snapshot, kinds: Registry = KINDS) -> Blockers:
    states = [snap.states[i] for i in snap.scores.blockers]
    pending = [s for s in states if s.status is Status.PENDING]
    unconfigured: list[ItemState] = []
    unsigned: list[ItemState] = []
    others: list[ItemState] = []
    for s in pending:
        if s.item.missing:
            unconfigured.append(s)
        elif s.checked_at is not None and (s.item.from_sheet or signed_by_a_person(snap, s, kinds)):
            unsigned.append(s)
        else:
            others.append(s)
    by_variables = _grouped((s.item.missing, s) for s in unconfigured)
    return Blockers(
        # sorted() is stable: the config's order among the FAILs, and among the PARTIALs.
        failing=tuple(
            sorted(
                (s for s in states if s.status is not Status.PENDING),
                key=lambda s: s.status is not Status.FAIL,
            )
        ),
        waiting=_by_reason(pending),
        # Groups of the same size keep the config's order.
        unconfigured=tuple(
            (names, tuple(items))
            for names, items in sorted(by_variables.items(), key=lambda kv: -len(kv[1]))
        ),
        unsigned=tuple(unsigned),
        others=_by_reason(others),
    )


def _by_reason(states: list[ItemState]) -> tuple[tuple[str, tuple[ItemState, ...]], ...]:
    return tuple(
        (reason, tuple(items))
        for reason, items in _grouped((waits_for(s), s) for s in states).items()
    )


def sentence(found: Blockers) -> str:
    """What blocks, counted by kind: ``6 critical items fail; 70 are not configured yet; ...``.

    The counts are of different items: together they are every critical item that is not PASS.
    """
    fail = sum(s.status is Status.FAIL for s in found.failing)
    counts = [
        (fail, "fails", "fail"),
        (len(found.failing) - fail, "passes only in part", "pass only in part"),
        (
            sum(len(items) for _, items in found.unconfigured),
            "is not configured yet",
            "are not configured yet",
        ),
        (len(found.unsigned), "waits for a signature", "wait for a signature"),
        *(
            (len(items), f"is pending ({reason})", f"are pending ({reason})")
            for reason, items in found.others
        ),
    ]
    parts: list[str] = []
    for n, one, many in (c for c in counts if c[0]):
        # The first count names what is counted: "6 critical items fail; 70 are ...".
        noun = "" if parts else (" critical item" if n == 1 else " critical items")
        parts.append(f"{n}{noun} {one if n == 1 else many}")
    return "; ".join(parts) + "." if parts else ""


def decision_reason(snap: Snapshot, found: Blockers | None = None, kinds: Registry = KINDS) -> str:
    """Why the decision is what it is, as every output says it: what blocks a GO counted by
    kind (``sentence``) when critical items do, else the scores' reason (total score, no
    applicable items). "12 critical items not PASS" hid that 10 of them only wait."""
    return sentence(found if found is not None else blockers(snap, kinds)) or snap.scores.reason
