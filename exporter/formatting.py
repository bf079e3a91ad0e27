"""How every output writes times, durations, scores and percentages: one form for each.

Machine-read outputs (JSON, JUnit attributes) get RFC 3339 times in UTC with ``Z`` and plain
numbers; people-read ones (the table, Markdown, the board) get rounded percentages, minutes and
"5m ago". Scoring's reason sentence uses the same percentages as the pages that show it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from fractions import Fraction

Number = float | Fraction


def rfc3339(ts: float | None) -> str | None:
    """A Unix time as RFC 3339 in UTC, to the second: ``2026-11-27T23:10:05Z``."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# An ISO 8601 date and time with a UTC offset, as datetime.isoformat() writes it.
_ISO_WITH_OFFSET = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)", re.ASCII
)


def rfc3339_text(text: str) -> str:
    """``text`` in the one timestamp form when it is a date and time with an offset.

    Probes record some times as ``datetime.isoformat()`` gives them (``...+00:00``, a signer's
    own offset); JSON shows every time as ``...Z``. Anything else is returned unchanged.
    """
    if len(text) < 16 or text[4] != "-" or not _ISO_WITH_OFFSET.fullmatch(text):
        return text
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    utc = when.astimezone(dt.UTC)
    return (
        utc.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else "")
        + "Z"
    )


def when(ts: float | None) -> str:
    """A Unix time as the checklist writes dates: ``2026-11-27 23:10 UTC``; ``never``."""
    if ts is None:
        return "never"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(ts: float | None, now: float) -> str:
    """``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``; ``never`` before the first run."""
    if ts is None:
        return "never"
    seconds = max(0, int(now - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def milliseconds(seconds: float | None) -> str:
    """How long a probe run took, for people: ``850 ms``; empty before the first run."""
    return "" if seconds is None else f"{seconds * 1000:.0f} ms"


def seconds(value: float | None) -> str:
    """How long something took, for people, to a tenth of a second: ``12.3s``."""
    return "" if value is None else f"{value:.1f}s"


def percent(score: Number | None) -> str:
    """A score for people: ``33.3%``; ``n/a`` when undefined (no applicable items)."""
    return "n/a" if score is None else f"{float(score) * 100:.1f}%"


def threshold(ratio: float) -> str:
    """A decision threshold as configured: ``95%``, ``92.5%`` (never rounded to a whole)."""
    return f"{ratio * 100:.6g}%"


def rounded(value: Number | None) -> float | None:
    """A score or a duration in JSON: four decimals; null when undefined or not finite."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 4)


def ratio_text(score: Number | None) -> str:
    """A score in an attribute tools read: ``0.5``; ``NaN`` when undefined, as on /metrics."""
    return "NaN" if score is None else str(float(score))
