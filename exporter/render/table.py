"""The plain-text report ``check`` prints for terminals and CI logs.

The decision, the scores and the blockers come first, then every item, one line each, by
category, and the decision again as the last line (where a CI log's tail shows it). A probe
that could not judge shows as ``FAIL (cannot judge)``. Everything
from targets goes through ``one_line``, so no summary can draw on the terminal or print a line
that looks like the report's own. Colour only when asked (``check --color``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from probes.result import Status

from ..formatting import Number, percent
from ..scoring import Decision
from ..snapshot import ItemState, Snapshot
from .blockers import blockers, decision_reason
from .untrusted import one_line

# SGR codes: green, yellow, red, blue, dim; decisions in bold.
STATUS_COLOURS = {
    Status.PASS: "32",
    Status.PARTIAL: "33",
    Status.FAIL: "31",
    Status.PENDING: "34",
    Status.NA: "2",
}
DECISION_COLOURS = {Decision.GO: "1;32", Decision.GO_WITH_CAUTION: "1;33", Decision.NO_GO: "1;31"}
TITLE_WIDTH = 48
WRAP = 100

Paint = Callable[[str, str], str]


def _paint(color: bool) -> Paint:
    if not color:
        return lambda text, _code: text
    return lambda text, code: f"\x1b[{code}m{text}\x1b[0m"


def _pct(score: Number | None) -> str:
    return percent(score).rjust(6)


def _status(state: ItemState) -> str:
    """The status column: a probe that could not judge is marked, never read as a verdict."""
    return f"{state.status.label} (cannot judge)" if state.result.error else state.status.label


def _decision(snap: Snapshot, paint: Paint) -> str:
    sc = snap.scores
    label = paint(sc.decision.label, DECISION_COLOURS[sc.decision])
    return f"Decision        {label}: {one_line(decision_reason(snap))}"


def render(snap: Snapshot, color: bool = False) -> str:
    """The report; ``color`` adds ANSI colours to statuses and the decision."""
    paint = _paint(color)
    sc = snap.scores
    lines = [
        one_line(snap.checklist.name),
        "",
        _decision(snap, paint),
        f"Total score     {_pct(sc.total.score)}  "
        f"({sc.total.passed} of {sc.total.applicable} applicable items PASS)",
        f"Critical score  {_pct(sc.critical.score)}  "
        f"({sc.critical.passed} of {sc.critical.applicable} applicable critical items PASS)",
        "",
    ]
    width = max((len(one_line(s.item.id)) for s in snap.states.values()), default=4)
    status_width = max((len(_status(s)) for s in snap.states.values()), default=7)

    def row(s: ItemState) -> str:
        label = paint(f"{_status(s):<{status_width}}", STATUS_COLOURS[s.status])
        title = one_line(s.item.title)[:TITLE_WIDTH]
        return (
            f"  {one_line(s.item.id):<{width}}  {label}  {s.item.priority:<8}  "
            f"{title:<{TITLE_WIDTH}}  {one_line(s.result.summary)}"
        ).rstrip()

    found = blockers(snap)
    if found.failing:
        lines.append(f"Critical items failing ({len(found.failing)}):")
        lines += [row(s) for s in found.failing]
        lines.append("")
    if found.waiting:
        count = sum(len(items) for _, items in found.waiting)
        lines.append(f"Critical items not yet configured or attested ({count}):")
        for reason, items in found.waiting:
            lines += textwrap.wrap(
                f"{one_line(reason)} ({len(items)}): "
                + ", ".join(one_line(s.item.id) for s in items),
                WRAP,
                initial_indent="  ",
                subsequent_indent="      ",
                break_on_hyphens=False,
            )
        lines.append("")

    titles = {c.id: c.title for c in snap.checklist.categories}
    for cid, tally in sc.categories.items():
        lines.append(f"{one_line(titles.get(cid, cid))}  {_pct(tally.score)}")
        lines += [row(s) for s in snap.by_category(cid)]
        lines.append("")
    lines.append(_decision(snap, paint))
    return "\n".join(lines) + "\n"
