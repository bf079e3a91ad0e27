"""Table probe: a duration in a Markdown table, found by its column's header and its row's first
cell, within a bound: "RTO targets defined (Tier 1: 1h)" read from the plan's tier table.

A pattern over the raw text cannot tell a table's columns apart: in
``| Tier 1 | API | 4 h | 1 h |`` under ``| Tier | Service | RTO | RPO |`` the "1 h" is the RPO,
and the RTO is 4 hours. The document is parsed (probes/markdown.py, a CommonMark parser with
GFM tables): the column is the one whose header names it (``RTO``, ``RTO (target)``,
``Recovery time (RTO)``; a header that is exactly the name wins over one that only contains
it), the row is the one whose first cell names the key (``Tier 1``, ``**Tier 1** (booking)``;
``Tier 10`` is not ``Tier 1``), in every table of the document that has that column. Each such
cell must hold a duration (``15 min``, ``1 h``, ``1 hour``, ``RTO 90 minutes``; when a cell
holds several, the longest is judged) of at most the bound: ``TBD`` is no target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import markdown
from .context import ProbeContext
from .fields import Fields, format_duration, to_duration
from .problems import SpecError, show
from .reading import OwnStoreFile, read_capped
from .result import Result, Status, failed, passed

READ_CAP = 1024 * 1024  # bytes of the document read: a plan, not a log
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_UNITS |= {"h": 3600, "hr": 3600, "hour": 3600, "d": 86400, "day": 86400}
_DURATION = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b",
    re.I,
)


@dataclass(frozen=True)
class Spec:
    path: Path
    column: str  # the header of the column judged: RTO
    # row key (its first cell) -> the longest duration allowed there, in seconds
    at_most: Mapping[str, float] = field(default_factory=dict)


def to_bounds(value: object, where: str) -> dict[str, float]:
    """``{Tier 1: 1h}``: row keys and the longest duration each row's cell may hold."""
    if not isinstance(value, Mapping) or not value:
        raise SpecError(
            where, f"must map row names to durations, such as {{Tier 1: 1h}} (got {show(value)})"
        )
    out = {}
    for key, bound in value.items():
        if not isinstance(key, str) or not key.strip():
            raise SpecError(where, f"row names must be text, such as Tier 1 (got {show(key)})")
        out[" ".join(key.split())] = to_duration(bound, f"{where}.{key}")
    return out


def parse_spec(f: Fields) -> Spec:
    return Spec(
        path=f.path("path"),
        column=" ".join(f.text("column").split()),
        at_most=f.parsed("at_most", to_bounds, {}),
    )


def _words(name: str) -> re.Pattern[str]:
    """``Tier 1`` as a pattern: its words in order, any space between, not part of a longer word."""
    return re.compile(r"(?<!\w)" + r"\s*".join(map(re.escape, name.split())) + r"(?!\w)", re.I)


def column_of(headers: tuple[str, ...], name: str) -> int | None:
    """The index of the column ``name`` names: the header that is exactly it, else the first that
    contains it as words."""
    key = markdown.normalize(name)
    exact = [i for i, h in enumerate(headers) if markdown.normalize(h) == key]
    if exact:
        return exact[0]
    pattern = _words(name)
    return next((i for i, h in enumerate(headers) if pattern.search(h)), None)


def longest(cell: str) -> float | None:
    """The longest duration written in a table cell, in seconds; None when there is none."""
    found = [
        float(n.replace(",", ".")) * _UNITS[unit.lower().rstrip("s") or "s"]
        for n, unit in _DURATION.findall(cell)
    ]
    return max(found) if found else None


def judge(spec: Spec) -> Result:
    path, name = spec.path, spec.path.name
    evidence: dict[str, object] = {"path": str(path), "column": spec.column}
    try:
        # Regular files only, opened without blocking: a FIFO must not hang a worker thread.
        text = read_capped(path, READ_CAP).decode("utf-8", "replace")
    except FileNotFoundError:
        return failed(f"{path} does not exist", **evidence)
    except OwnStoreFile:
        return Result(Status.FAIL, f"{name} is the exporter's own store", evidence, error=True)
    except OSError as exc:
        return failed(f"{path} cannot be read ({exc.strerror or exc})", **evidence)
    found = [(t, column_of(t.headers, spec.column)) for t in markdown.tables(text)]
    with_column = [(t, i) for t, i in found if i is not None]
    if not with_column:
        return failed(
            f"{name}: no table has a column {spec.column} (tables read: {len(found)}), "
            f"expected a table of {spec.column} targets",
            **evidence,
        )
    problems, held = [], []
    for key, bound in spec.at_most.items():
        pattern = _words(key)
        cells = [
            (row, row.cells[i] if i < len(row.cells) else "")
            for table, i in with_column
            for row in table.rows
            if row.cells and pattern.search(row.cells[0])
        ]
        if not cells:
            problems.append(f"no {key} row in a table with a column {spec.column}")
        for row, cell in cells:
            said = f"{key} {spec.column} {cell or 'empty'} (line {row.line})"
            value = longest(cell)
            if value is None:
                problems.append(f"{said}, expected a duration of at most {format_duration(bound)}")
            elif value > bound:
                problems.append(f"{said}, expected at most {format_duration(bound)}")
            else:
                held.append(f"{said}, at most {format_duration(bound)}")
    if problems:
        return failed(f"{name}: " + "; ".join(problems), **evidence)
    return passed(f"{name}: " + "; ".join(held), **evidence)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"checking {spec.path}")
    return await ctx.blocking(ctx.resources.files, judge, spec, target=str(spec.path))
