"""``check --format markdown``: the checklist document as a team reads it, filled in.

It follows the P020 layout: the legend, the summary statistics table (recomputed from the rows,
never copied), the owners, one table per category with the Status and Owner columns filled in,
the scores, the decision per the matrix, P020's Risk Assessment (every FAIL or PARTIAL item,
with its accepted risk or its remediation plan), the Post-Launch Validation tasks, the Sign-Off
Sheet with whether each signature still counts and the Go/No-Go decision record (those three
written by render/launch.py), and an evidence entry per item (what was checked, when, what was
observed) in the shape of the document's "Example Evidence Entry". This is the artifact the
checklist calls "Go/No-Go decision documented".
"""

from __future__ import annotations

import re

from probes.result import Status

from ..formatting import percent, threshold, when
from ..launch import POST_LAUNCH_PHASES
from ..scoring import CRITICAL
from ..snapshot import ItemState, Snapshot
from .blockers import blockers, decision_reason
from .evidence import describe
from .launch import ItemLine, LaunchSheet, go_no_go, risk_assessment, sign_off_sheet
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
        f"**Decision**: **{sc.decision.label}** — {cell(decision_reason(snap))}",
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
    all_states = [s for s in snap.states.values() if not s.item.post_launch]
    categories = [c for c in snap.checklist.categories if c.id in sc.categories]
    for category in categories:
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
    out += owners_section(all_states)
    for category in categories:
        out += [
            "---",
            "",
            f"## {cell(category.title)}",
            "",
            "| # | Item | Priority | Status | Owner | Observed | Notes |",
            "|---|------|----------|--------|-------|----------|-------|",
        ]
        for s in snap.by_category(category.id):
            if s.item.post_launch:
                continue
            marker = f"{CRITICAL_MARKER} " if s.item.priority == CRITICAL else ""
            out.append(
                f"| {cell(s.item.id)} | {marker}{cell(s.item.title)} | {s.item.priority.upper()} | "
                f"{MARKS[s.status]} | {cell(s.item.owner) or '—'} | {cell(s.result.summary)} | "
                f"{cell(s.item.notes)} |"
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
        f"**Why**: {cell(decision_reason(snap))}  ",
        f"**Thresholds**: GO needs every critical item PASS and a total score of at least "
        f"{threshold(snap.checklist.thresholds.go)}; GO WITH CAUTION at least "
        f"{threshold(snap.checklist.thresholds.caution)}.",
        "",
    ]
    out += process_sections(snap)
    out += ["---", "", "## Evidence", ""]
    for s in snap.states.values():
        out += evidence_entry(s)
    return "\n".join(out).rstrip() + "\n"


def owners_section(states: list[ItemState]) -> list[str]:
    """Who owns what (P020: "Assign Owners"), and how far each owner's items are."""
    owners: dict[str, list[ItemState]] = {}
    for s in states:
        owners.setdefault(s.item.owner or "", []).append(s)
    if set(owners) == {""}:
        return ["No item has an owner (owner: on items, categories or defaults).", ""]
    out = [
        "## Owners",
        "",
        "| Owner | Items | PASS | FAIL or PARTIAL | Critical not PASS |",
        "|-------|-------|------|-----------------|-------------------|",
    ]
    for owner in sorted(owners, key=lambda o: (o == "", o)):
        mine = owners[owner]
        gaps = [s for s in mine if s.status in (Status.FAIL, Status.PARTIAL)]
        blocking = [
            s
            for s in mine
            if s.item.priority == CRITICAL and s.status not in (Status.PASS, Status.NA)
        ]
        out.append(
            f"| {cell(owner) if owner else 'no owner'} | {len(mine)} | "
            f"{sum(s.status is Status.PASS for s in mine)} | {len(gaps)} | {len(blocking)} |"
        )
    return [*out, ""]


def sheet(snap: Snapshot) -> LaunchSheet:
    """What P020's process sections show, from the snapshot."""
    lines = [
        ItemLine(
            s.item.id,
            s.item.title,
            s.status,
            s.item.priority,
            s.item.owner or None,
            s.records.remediation,
        )
        for s in snap.states.values()
        if not s.item.post_launch
    ]
    picture = snap.launch
    return LaunchSheet(
        lines,
        snap.taken_at,
        picture.stamp,
        decision_reason(snap),
        picture.people.acceptances,
        picture.people.signoffs,
        snap.checklist.roles,
        picture.people.decision,
        picture.launch,
        snap.scores.decision,
    )


def process_sections(snap: Snapshot) -> list[str]:
    """Risk Assessment, Post-Launch Validation, then the Sign-Off Sheet and the decision record,
    in the document's order."""
    filled = sheet(snap)
    out = ["---", ""]
    out += risk_assessment(filled.items, filled.acceptances, filled.now)
    out += ["---", ""]
    out += tasks_section(snap)
    out += ["---", ""]
    out += sign_off_sheet(filled.roles, filled.signoffs, filled.state)
    out += go_no_go(
        filled.state, filled.reason, filled.decision, filled.launch, filled.now, filled.computed
    )
    return out


def tasks_section(snap: Snapshot) -> list[str]:
    """P020's Post-Launch Validation: each task of each phase, with its due time and status."""
    out = [
        "## Post-Launch Validation",
        "",
        "Each task is due at the end of its phase, counted from the launch; they are left out of "
        "the Go/No-Go scores.",
        "",
    ]
    tasks = snap.tasks
    if not tasks:
        return [*out, "No post-launch task in the config (phase: on items).", ""]
    for phase in POST_LAUNCH_PHASES:
        mine = [t for t in tasks if t.item.phase is phase]
        if not mine:
            continue
        out += [f"### {phase.label}", ""]
        for t in mine:
            box = "x" if t.status is Status.PASS else " "
            out.append(
                f"- [{box}] **{cell(t.item.id)}** {cell(t.item.title)}: {MARKS[t.status]} "
                f"— {cell(t.result.summary)}"
                + (f" (owner: {cell(t.item.owner)})" if t.item.owner else "")
            )
        out.append("")
    return out


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
