"""How old a piece of evidence is, by the clock it carries, and the words a summary uses for it.

A report says when it was produced (JUnit's suite timestamp, coverage.py's timestamp, Trivy's
``CreatedAt``), a file in git says when it was committed; a file's modification time only says
when it was copied or checked out. ``Dated`` holds a time and the name of the clock it came from,
so a summary can say which clock judged the age. A time more than ``SKEW`` seconds in the future
is a wrong clock and FAILs: it is never fresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .fields import format_age, format_duration

SKEW = 300.0  # seconds a time may be "in the future" (clocks of two machines) before it is wrong


def utc(timestamp: float) -> str:
    """A Unix time as a summary shows it: ``2026-05-20 10:00 UTC``."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Dated:
    """When the evidence was produced, and by which clock: ``its suite timestamp``,
    ``its last commit``, ``file time (the time it was copied)``; empty for plain file time."""

    timestamp: float  # Unix seconds
    clock: str = ""

    def by(self) -> str:
        return f" by {self.clock}" if self.clock else ""


def age_problem(name: str, dated: Dated, max_age: float, now: float) -> str | None:
    """Why ``name`` is not fresh (older than ``max_age``, or dated in the future); None if it is."""
    if dated.timestamp > now + SKEW:
        ahead = format_duration(dated.timestamp - now)
        return (
            f"{name} is dated {utc(dated.timestamp)}{dated.by()}, {ahead} in the future: "
            "wrong clock, expected a time in the past"
        )
    age = now - dated.timestamp
    if age > max_age:
        when = f" ({utc(dated.timestamp)})" if dated.clock else ""
        return (
            f"{name} is {format_age(age, max_age)} old{dated.by()}{when}, "
            f"expected at most {format_duration(max_age)}"
        )
    return None


def age_words(dated: Dated, now: float) -> str:
    """``2 hours old by its suite timestamp``: how old the evidence is, for a summary that
    passes."""
    return f"{format_age(now - dated.timestamp)} old{dated.by()}"
