"""The JSON documents: ``check --format json``, ``/api/v1/status`` and ``/api/v1/items/<ID>``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..snapshot import ItemState, Snapshot


def _round(score: object) -> float | None:
    return None if score is None else round(float(score), 4)  # type: ignore[arg-type]


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


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
            {
                "id": cid,
                "title": titles.get(cid, cid),
                "score": _round(tally.score),
                "counts": {s.value: n for s, n in tally.counts.items()},
            }
            for cid, tally in snap.scores.categories.items()
        ],
        "items": [item_json(s) for s in snap.states.values()],
    }


def render(snap: Snapshot) -> str:
    """``check --format json``: the status document, indented."""
    return json.dumps(status_json(snap), indent=2, ensure_ascii=False) + "\n"
