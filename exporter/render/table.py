"""The plain-text table ``check`` prints for terminals and CI logs."""

from __future__ import annotations

from ..formatting import Number, percent
from ..snapshot import Snapshot


def _pct(score: Number | None) -> str:
    return percent(score).rjust(6)


def render(snap: Snapshot) -> str:
    """A plain-text report for terminals and CI logs."""
    lines = [snap.checklist.name, ""]
    width = max((len(s.item.id) for s in snap.states.values()), default=4)
    titles = {c.id: c.title for c in snap.checklist.categories}
    for cid, tally in snap.scores.categories.items():
        lines.append(f"{titles.get(cid, cid)}  {_pct(tally.score)}")
        for s in snap.by_category(cid):
            lines.append(
                f"  {s.item.id:<{width}}  {s.status.label:<7}  {s.item.priority:<8}  "
                f"{s.item.title[:48]:<48}  {s.result.summary}"
            )
        lines.append("")
    sc = snap.scores
    lines.append(
        f"Total score     {_pct(sc.total.score)}  "
        f"({sc.total.passed} of {sc.total.applicable} applicable items PASS)"
    )
    lines.append(
        f"Critical score  {_pct(sc.critical.score)}  "
        f"({sc.critical.passed} of {sc.critical.applicable} applicable critical items PASS)"
    )
    lines.append(f"Decision        {sc.decision.label}: {sc.reason}")
    return "\n".join(lines) + "\n"
