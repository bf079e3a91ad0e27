"""``check --format markdown``: the checklist document as a team reads it, filled in.

It follows the P020 layout: the legend, the summary statistics table (recomputed from the rows,
never copied), one table per category with the Status column filled in, the scores, the decision
per the matrix, and an evidence entry per item (what was checked, when, what was observed) in the
shape of the document's "Example Evidence Entry". This is the artifact the checklist calls
"Go/No-Go decision documented".
"""

from __future__ import annotations

import re

from probes.result import Status

from ..formatting import percent, threshold, when
from ..scoring import CRITICAL
from ..snapshot import ItemState, Snapshot
from .blockers import blockers
from .evidence import describe
from .marks import CRITICAL_MARKER, MARKS
from .untrusted import one_line

LEGEND = {
    Status.PASS: "Requirement fully met, validated, evidence documented",
    Status.PARTIAL: "In progress, expected completion before launch",
    Status.FAIL: "Not met, requires immediate attention",
    Status.PENDING: "Not yet validated",
    Status.NA: "Not applicable to this deployment",
}


# What Markdown would read as syntax or HTML: emphasis, code, links, tags, entities, cells.
# An underscore between two letters or digits is never emphasis (APP_URL stays as written).
SYNTAX = re.compile(r"[\\`*\[\]<>|~&]|(?<![^\W_])_|_(?![^\W_])")


def cell(text: object) -> str:
    """Text from a config or a target as Markdown shows it literally, on one line."""
    return SYNTAX.sub(lambda m: "\\" + m.group(0), one_line(text))


def _category_mark(states: list[ItemState]) -> str:
    """One status for a whole category: the worst of its applicable items."""
    statuses = [s.status for s in states if s.status is not Status.NA]
    if not statuses:
        return MARKS[Status.NA]
    for worst in (Status.FAIL, Status.PARTIAL, Status.PENDING):
        if worst in statuses:
            return MARKS[worst]
    return MARKS[Status.PASS]


def render(snap: Snapshot) -> str:
    sc = snap.scores
    out: list[str] = [
        f"# {cell(snap.checklist.name)}",
        "",
        f"**Checked**: {when(snap.taken_at)}  ",
        f"**Decision**: **{sc.decision.label}** — {cell(sc.reason)}",
        "",
        *blockers_section(snap),
        "---",
        "",
        "## Scoring System",
        "",
    ]
    out += [f"- {MARKS[s]}: {LEGEND[s]}" for s in Status]
    out += [
        "",
        f"Items marked with {CRITICAL_MARKER} **CRITICAL** are absolute blockers.",
        "",
        "## Summary Statistics",
        "",
        "| Category | Total Items | Critical | PASS | Score | Status |",
        "|----------|-------------|----------|------|-------|--------|",
    ]
    all_states = list(snap.states.values())
    for category in snap.checklist.categories:
        states = snap.by_category(category.id)
        tally = sc.categories.get(category.id)
        out.append(
            f"| {cell(category.title)} | {len(states)} | "
            f"{sum(s.item.priority == CRITICAL for s in states)} | "
            f"{tally.passed if tally else 0} | {percent(tally.score if tally else None)} | "
            f"{_category_mark(states)} |"
        )
    out.append(
        f"| **TOTAL** | **{len(all_states)}** | "
        f"**{sum(s.item.priority == CRITICAL for s in all_states)}** | **{sc.total.passed}** | "
        f"**{percent(sc.total.score)}** | **{_category_mark(all_states)}** |"
    )
    out.append("")
    for category in snap.checklist.categories:
        out += [
            "---",
            "",
            f"## {cell(category.title)}",
            "",
            "| # | Item | Priority | Status | Observed | Notes |",
            "|---|------|----------|--------|----------|-------|",
        ]
        for s in snap.by_category(category.id):
            marker = f"{CRITICAL_MARKER} " if s.item.priority == CRITICAL else ""
            out.append(
                f"| {cell(s.item.id)} | {marker}{cell(s.item.title)} | {s.item.priority.upper()} | "
                f"{MARKS[s.status]} | {cell(s.result.summary)} | {cell(s.item.notes)} |"
            )
        out.append("")
    out += [
        "---",
        "",
        "## Scoring & Decision",
        "",
        "| Score | Value | PASS | Applicable |",
        "|-------|-------|------|------------|",
        f"| Total Score | {percent(sc.total.score)} | {sc.total.passed} | {sc.total.applicable} |",
        f"| Critical Score | {percent(sc.critical.score)} | {sc.critical.passed} | "
        f"{sc.critical.applicable} |",
        "",
        f"**Go/No-Go Decision**: **{sc.decision.label}**  ",
        f"**Why**: {cell(sc.reason)}  ",
        f"**Thresholds**: GO needs every critical item PASS and a total score of at least "
        f"{threshold(snap.checklist.thresholds.go)}; GO WITH CAUTION at least "
        f"{threshold(snap.checklist.thresholds.caution)}.",
        "",
    ]
    out += ["---", "", "## Evidence", ""]
    for s in all_states:
        out += evidence_entry(s)
    return "\n".join(out).rstrip() + "\n"


def blockers_section(snap: Snapshot) -> list[str]:
    """The critical items that block a GO, before everything else: failing ones first."""
    found = blockers(snap)
    if not found:
        return []
    out = ["## Blockers", ""]
    if found.failing:
        out += [
            f"Critical items failing ({len(found.failing)}):",
            "",
            "| # | Item | Status | Observed |",
            "|---|------|--------|----------|",
        ]
        out += [
            f"| {cell(s.item.id)} | {cell(s.item.title)} | {MARKS[s.status]} | "
            f"{cell(s.result.summary)} |"
            for s in found.failing
        ]
        out.append("")
    if found.waiting:
        count = sum(len(items) for _, items in found.waiting)
        out += [f"Critical items not yet configured or attested ({count}):", ""]
        out += [
            f"- {cell(reason)} ({len(items)}): {', '.join(cell(s.item.id) for s in items)}"
            for reason, items in found.waiting
        ]
        out.append("")
    return out


def evidence_entry(s: ItemState) -> list[str]:
    """One item's entry, as the document's "Example Evidence Entry" lays it out."""
    lines = [
        f"### {cell(s.item.id)}: {cell(s.item.title)}",
        "",
        f"**Status**: {MARKS[s.status]}  ",
        f"**When**: {when(s.checked_at)}  ",
        f"**What**: {f'{s.item.kind} probe' if s.item.kind else 'not probed'}"
        + (f" — {cell(s.item.notes)}" if s.item.notes else "")
        + "  ",
        f"**Observed**: {cell(s.result.summary)}  ",
    ]
    pairs = describe(s.result.evidence)
    if pairs:
        lines.append("**Evidence**:")
        for label, value in pairs:
            if isinstance(value, list):
                lines.append(f"- {cell(label)}:")
                lines += [f"  - {cell(v)}" for v in value]
            else:
                lines.append(f"- {cell(label)}: {cell(value)}")
    lines.append("")
    return lines
