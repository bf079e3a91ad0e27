"""Drill probe: the newest drill note (a Markdown file per DR drill) says the drill passed, and it
is recent by the date the note gives.

"DR procedures tested (quarterly drill)" asks when the last drill ran and how it ended. A drill
note answers both in its own words::

    Date: 2026-11-03
    Result: passed

The note's **Date line** dates the drill (``2026-11-03``, ``2026-11-03 14:00``, ISO 8601). A
commit is no drill: the last commit that touched the note is the day someone fixed a typo in it.
When the note has no date (none, or a placeholder such as ``<YYYY-MM-DD>``), the commit that
first added it dates it, and the summary says so; a note that is not committed is dated by its
file time, said so too.

The **Result line** must say the drill passed (``passed``, ``pass``, ``success``, ``succeeded``,
``ok``) at its start; a choice left open, ``pass / fail`` (the template's words), is no
result. A note without a result line, or with a placeholder there, is not a drill (a stub
committed yesterday): it is left out and counted. Among the notes with a result, the newest by
date decides: a failed drill after a passed one is FAIL, since the procedure did not work the
last time it was tried.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

from . import gitdates
from .clock import Dated, age_problem, age_words
from .context import ProbeContext
from .fields import Fields, format_duration
from .file import to_name_patterns
from .reading import read_capped
from .result import Result, Status, failed, passed
from .walk import WalkStopped, bounded_glob, regular_files

READ_CAP = 256 * 1024  # bytes of a note read: a drill note is a page, not a log
MAX_VISITED = 50_000  # directory entries the glob's walk may visit
MAX_NOTES = 200  # notes dated at most (git is asked once per note without a Date line)

# "Date: 2026-11-03", "**Date**: 2026-11-03 14:00 UTC", "- date - 2026-11-03"
_DATE_LINE = re.compile(r"^\W*(?:drill\s+)?date\W*?[:\-|]\s*(?P<value>.*)$", re.I | re.M)
_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")
_RESULT_LINE = re.compile(r"^\W*(?:result|outcome|status)\W*?[:\-|]\s*(?P<value>.*)$", re.I | re.M)
_PASS_WORD = re.compile(r"^\W*(passed|pass|success|successful|succeeded|ok)\b", re.I)
# The words and choice marks of a Result line, to tell the template's "pass / fail" from a result
# (a pattern with two runs of non-words around the mark was quadratic in a run of |).
_TOKEN = re.compile(r"\w+|[/|]")
# A placeholder left in the Result line: <pass/fail>, TBD (a bracket ends at the next < or >, so a
# run of < is read once).
_PLACEHOLDER = re.compile(r"<[^<>]*>|\b(tbd|todo)\b", re.I)


@dataclass(frozen=True)
class Spec:
    glob: str
    max_age: float = 92 * 86400.0  # a quarter and a day: "quarterly"
    exclude: tuple[str, ...] = ()  # file names left out (a README, the template)


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    glob = f.path("glob")
    return Spec(
        glob=str(glob),
        max_age=f.duration("max_age"),
        exclude=f.parsed("exclude", to_name_patterns, ()),
    )


@dataclass(frozen=True)
class Note:
    """One drill note read: its date, the clock that date came from, and its result."""

    path: Path
    when: Dated
    result: str | None  # the Result line's text; None when there is none or a placeholder
    passed: bool


def note_date(text: str) -> float | None:
    """The Unix time of the note's Date line (UTC when it names no zone); None when it has no
    date line or only a placeholder (``<YYYY-MM-DD>``, ``TBD``)."""
    for line in _DATE_LINE.finditer(text):
        day = _DAY.search(line.group("value"))
        if day is None:
            continue
        year, month, mday, hour, minute = day.groups()
        try:
            when = dt.datetime(
                int(year), int(month), int(mday), int(hour or 0), int(minute or 0), tzinfo=dt.UTC
            )
        except ValueError:  # 2026-13-45: no date
            continue
        return when.timestamp()
    return None


def is_choice(value: str) -> bool:
    """``pass / fail``, ``passed or failed``: the template's choice, not made (a failover is no
    choice)."""
    first = [m.group().lower() for m in itertools.islice(_TOKEN.finditer(value), 3)]
    return (
        len(first) == 3
        and first[0] in ("pass", "passed", "success")
        and first[1] in ("/", "|", "or")
        and first[2] in ("fail", "failed")
    )


def note_result(text: str) -> tuple[str | None, bool]:
    """The Result line's words (None when absent or a placeholder) and whether they say passed."""
    for line in _RESULT_LINE.finditer(text):
        value = " ".join(line.group("value").replace("*", "").split())
        if not re.search(r"[^\W_]", value) or _PLACEHOLDER.search(value):
            continue
        if is_choice(value):
            continue
        return value[:60], bool(_PASS_WORD.search(value))
    return None, False


def read_note(path: Path, deadline: float) -> Note:
    """A note's date and result; raises gitdates.GitError or OSError when it cannot be dated."""
    text = read_capped(path, READ_CAP).decode("utf-8", "replace")  # regular files, no FIFO hang
    result, ok = note_result(text)
    stamp = note_date(text)
    if stamp is not None:
        return Note(path, Dated(stamp, "its Date line"), result, ok)
    left = gitdates.time_left(deadline)
    if left <= 0:
        raise gitdates.GitError("the time limit came before git told when it was added")
    found = gitdates.added_time(path, timeout=left)
    clock = {
        "commit": "the commit that added it (no Date line)",
        "untracked": "file time (no Date line, not committed)",
        "not in git": "file time (no Date line, not in a git repository)",
        "uncommitted": "file time (no Date line)",
    }[found.source]
    return Note(path, Dated(found.timestamp, clock), result, ok)


def _notes(n: int) -> str:
    return "1 drill note" if n == 1 else f"{n} drill notes"


def judge(spec: Spec, deadline: float = math.inf) -> Result:
    evidence: dict[str, object] = {"glob": spec.glob}
    try:
        names = bounded_glob(spec.glob, MAX_VISITED, deadline)
    except WalkStopped as stop:
        return Result(
            Status.FAIL, f"{spec.glob}: {stop.reason}, cannot judge", evidence, error=True
        )
    paths = [path for path, _ in regular_files(names, spec.exclude)[0]]
    evidence["notes"] = len(paths)
    if not paths:
        return failed(f"no drill note matches {spec.glob}", **evidence)
    if len(paths) > MAX_NOTES:
        return Result(
            Status.FAIL,
            f"{len(paths)} notes match {spec.glob}, at most {MAX_NOTES} are read: cannot judge",
            evidence,
            error=True,
        )
    notes: list[Note] = []
    for path in paths:
        try:
            notes.append(read_note(path, deadline))
        except (gitdates.GitError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            return Result(Status.FAIL, f"{path.name}: {reason}, cannot judge", evidence, error=True)
    drills = [n for n in notes if n.result is not None]
    stubs = len(notes) - len(drills)
    left_out = f" ({stubs} without a result left out)" if stubs else ""
    if not drills:
        return failed(
            f"{_notes(len(notes))}, none with a result (a Result line such as "
            "'Result: passed'), expected a drill that passed",
            **evidence,
        )
    newest = max(drills, key=lambda n: n.when.timestamp)
    now = time.time()
    day = dt.datetime.fromtimestamp(newest.when.timestamp, dt.UTC).strftime("%Y-%m-%d")
    evidence.update(
        newest=str(newest.path),
        date=day,
        clock=newest.when.clock,
        result=newest.result,
        age_seconds=round(now - newest.when.timestamp),
    )
    stale = age_problem(f"newest drill {newest.path.name}", newest.when, spec.max_age, now)
    if stale is not None:
        return failed(stale + left_out, **evidence)
    if not newest.passed:
        return failed(
            f"newest drill {newest.path.name} ({day}) Result: {newest.result!r}, "
            f"expected passed{left_out}",
            **evidence,
        )
    return passed(
        f"newest drill {newest.path.name} dated {day}, Result: {newest.result}, "
        f"{age_words(newest.when, now)}, at most {format_duration(spec.max_age)}{left_out}",
        **evidence,
    )


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"checking {spec.glob}")
    return await ctx.blocking(ctx.resources.files, judge, spec, ctx.deadline, target=spec.glob)
