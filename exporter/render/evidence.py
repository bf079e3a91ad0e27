"""An item's evidence as people read it: labelled lines.

Probes put what they observed in ``Result.evidence`` (a URL and status code, an exit code and
output tail, who signed an attestation). The Markdown report, JUnit output and the status board
all show it through ``describe``, so it reads the same everywhere. Evidence arrives here already
masked: the engine passes every result through the item's ``Redactor`` (by value) before it is
stored, so nothing here masks again (masking by key name hid evidence such as ``cookies``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Attestation fields first, under the names the checklist's "Evidence Requirements" use.
LABELS = {
    "validated_by": "Validated by",
    "date": "Date",
    "evidence": "Evidence",
    "notes": "Notes",
    "expires": "Expires",
}
MAX_TEXT = 400  # characters of one value; command output tails can be long


def show_value(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def describe(evidence: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) pairs; list values (attestation evidence) stay lists of strings."""
    keys = [k for k in LABELS if k in evidence] + [k for k in evidence if k not in LABELS]
    pairs: list[tuple[str, Any]] = []
    for key in keys:
        value = evidence[key]
        if value in (None, "", [], {}):
            continue
        label = LABELS.get(key) or key.replace("_", " ").capitalize()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            pairs.append((label, [show_value(v) for v in value]))
        else:
            pairs.append((label, show_value(value)))
    return pairs
