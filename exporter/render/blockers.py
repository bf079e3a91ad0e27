"""What blocks a GO, in the order people act on it: failing critical items first, then the ones
still waiting for configuration or a person's attestation, grouped by what they wait for."""

from __future__ import annotations

from dataclasses import dataclass

from probes.result import Status

from ..snapshot import ItemState, Snapshot


@dataclass(frozen=True)
class Blockers:
    failing: tuple[ItemState, ...]  # FAIL or PARTIAL: something is wrong
    waiting: tuple[tuple[str, tuple[ItemState, ...]], ...]  # (what for, items): PENDING

    def __bool__(self) -> bool:
        return bool(self.failing or self.waiting)


def waits_for(state: ItemState) -> str:
    """``needs APP_URL``, ``not attested yet``: what a PENDING item waits for, shared by many."""
    if state.item.missing:
        return "needs " + ", ".join(state.item.missing)
    return state.result.summary.partition(":")[0]


def blockers(snap: Snapshot) -> Blockers:
    states = [snap.states[i] for i in snap.scores.blockers]
    groups: dict[str, list[ItemState]] = {}
    for s in states:
        if s.status is Status.PENDING:
            groups.setdefault(waits_for(s), []).append(s)
    return Blockers(
        tuple(s for s in states if s.status is not Status.PENDING),
        tuple((reason, tuple(items)) for reason, items in groups.items()),
    )
