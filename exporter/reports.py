"""Renderings of a snapshot for people and machines: the JSON status document and a text table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .snapshot import ItemState, Snapshot


def _round(score: object) -> float | None:
    return None if score is None else round(float(score), 4)  # type: ignore[arg-type]


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


def item_json(state: ItemState) -> dict[str, Any]:
    item = state.item
    return {
        "id": item.id,
        "title": item.title,
        "category": item.category,
        "priority": item.priority,
        "status": state.status.value,
        "summary": state.result.summary,
        "duration_seconds": None if state.duration is None else round(state.duration, 4),
        "checked_at": _when(state.checked_at),
    }


def status_json(snap: Snapshot) -> dict[str, Any]:
    """The document ``check --format json`` prints and ``/api/v1/status`` serves."""
    titles = {c.id: c.title for c in snap.checklist.categories}
    return {
        "checklist": snap.checklist.name,
        "decision": snap.scores.decision.value,
        "reason": snap.scores.reason,
        "total_score": _round(snap.scores.total.score),
        "critical_score": _round(snap.scores.critical.score),
        "categories": [
            {"id": cid, "title": titles.get(cid, cid), "score": _round(tally.score),
             "counts": {s.value: n for s, n in tally.counts.items()}}
            for cid, tally in snap.scores.categories.items()
        ],
        "items": [item_json(s) for s in snap.states.values()],
    }


def _pct(score: object) -> str:
    return "  n/a" if score is None else f"{float(score) * 100:5.1f}%"  # type: ignore[arg-type]


def table(snap: Snapshot) -> str:
    """A plain-text report for terminals and CI logs."""
    lines = [snap.checklist.name, ""]
    width = max((len(s.item.id) for s in snap.states.values()), default=4)
    titles = {c.id: c.title for c in snap.checklist.categories}
    for cid, tally in snap.scores.categories.items():
        lines.append(f"{titles.get(cid, cid)}  {_pct(tally.score)}")
        for s in snap.by_category(cid):
            lines.append(f"  {s.item.id:<{width}}  {s.status.label:<7}  {s.item.priority:<8}  "
                         f"{s.item.title[:48]:<48}  {s.result.summary}")
        lines.append("")
    sc = snap.scores
    lines.append(f"Total score     {_pct(sc.total.score)}  ({sc.total.passed} of {sc.total.applicable} applicable items PASS)")
    lines.append(f"Critical score  {_pct(sc.critical.score)}  ({sc.critical.passed} of {sc.critical.applicable} applicable critical items PASS)")
    lines.append(f"Decision        {sc.decision.label}: {sc.reason}")
    return "\n".join(lines) + "\n"
