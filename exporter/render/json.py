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
from .blockers import decision_reason


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
        "owner": item.owner or None,
        "phase": item.phase.value if item.phase is not None else None,
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
        "reason": decision_reason(snap),
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
        "launch": launch_json(snap),
    }


def launch_json(snap: Snapshot) -> dict[str, Any]:
    """The process around the checklist: phase, launch, recorded decision, sign-offs."""
    picture = snap.launch
    record = picture.people.decision
    return {
        "phase": picture.phase.value,
        "launch_at": rfc3339(picture.launch.at),
        "recorded_decision": None
        if record is None
        else {
            "decision": record.decision.value,
            "computed": record.computed.value,
            "by": record.by,
            "user": record.user,
            "at": rfc3339(record.at),
        },
        "signoffs": [
            {
                "role": sig.role,
                "by": sig.signoff.by if sig.signoff else None,
                "at": rfc3339(sig.signoff.at) if sig.signoff else None,
                "counts": sig.counts,
                "reason": sig.check.reason if sig.check else "not signed",
            }
            for sig in picture.signatures
        ],
    }


def render(snap: Snapshot) -> str:
    """``check --format json``: the status document."""
    return dumps(status_json(snap))
