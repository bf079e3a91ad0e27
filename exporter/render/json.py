"""The JSON documents: ``check --format json``, ``/api/v1/status`` and ``/api/v1/items/<ID>``.

Every JSON output goes through ``dumps``: one encoder, so every document writes times one way
(RFC 3339 in UTC with ``Z``, whatever form a probe recorded them in), undefined or non-finite
numbers as ``null`` (never the ``NaN`` that JSON parsers refuse), and anything else as text.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ..formatting import rfc3339, rfc3339_text, rounded
from ..snapshot import ItemState, Snapshot


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it, in the forms described above."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return rfc3339_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Fraction):
        return rounded(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return rfc3339_text(aware.isoformat())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=str)
    return str(value)


def dumps(doc: Any) -> str:
    """The one JSON encoder: indented, UTF-8 as is, ending with a newline."""
    return json.dumps(plain(doc), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def item_json(state: ItemState) -> dict[str, Any]:
    item = state.item
    return {
        "id": item.id,
        "title": item.title,
        "category": item.category,
        "priority": item.priority,
        "status": state.status.value,
        "summary": state.result.summary,
        "duration_seconds": rounded(state.duration),
        "checked_at": rfc3339(state.checked_at),
        # True when the probe could not judge (FAIL without a verdict on the target).
        "error": state.result.error,
        "evidence": dict(state.result.evidence),  # masked by value in the engine
    }


def status_json(snap: Snapshot) -> dict[str, Any]:
    """The document ``check --format json`` prints and ``/api/v1/status`` serves."""
    titles = {c.id: c.title for c in snap.checklist.categories}
    return {
        "checklist": snap.checklist.name,
        "decision": snap.scores.decision.value,
        "reason": snap.scores.reason,
        "total_score": rounded(snap.scores.total.score),
        "critical_score": rounded(snap.scores.critical.score),
        "categories": [
            {
                "id": cid,
                "title": titles.get(cid, cid),
                "score": rounded(tally.score),
                "counts": {s.value: n for s, n in tally.counts.items()},
            }
            for cid, tally in snap.scores.categories.items()
        ],
        "items": [item_json(s) for s in snap.states.values()],
    }


def render(snap: Snapshot) -> str:
    """``check --format json``: the status document."""
    return dumps(status_json(snap))
