"""P020's process sections in Markdown: Risk Assessment, Sign-Off Sheet, Go/No-Go Decision.

Pure functions of plain data (the records of exporter/launch.py and a minimal item list), so
the Markdown report can append them and the board can reuse the wording. Everything people
typed (names, notes, mitigations, remediation text) goes through ``text``: Markdown and HTML
are escaped and control characters removed, so a note cannot break a table, inject HTML into a
page that renders the report, or reorder a line with bidirectional controls.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from probes.result import Status

from ..formatting import percent
from ..launch import (
    DEFAULT_ROLES,
    AcceptanceState,
    DecisionRecord,
    LaunchTime,
    Phase,
    RiskAcceptance,
    SignOff,
    StateStamp,
    acceptance_state,
    check_signature,
    next_phase_change,
    phase_at,
    role_key,
    span,
    when,
)
from ..scoring import Decision
from .marks import CRITICAL_MARKER, MARKS

CHECKED, UNCHECKED = "☑", "⬜"
NONE = "—"


@dataclass(frozen=True)
class ItemLine:
    """What the sections need of an item."""

    id: str
    title: str
    status: Status
    priority: str = "medium"
    owner: str | None = None
    remediation: str | None = None  # resolved: the latest recorded, else the config's


@dataclass(frozen=True)
class LaunchSheet:
    """Everything the three sections show, at one time."""

    items: Sequence[ItemLine]
    now: float
    # The checklist now, as signatures are checked against it (the Sign-Off Sheet's own items
    # counted as given: snapshot.py's under_review).
    state: StateStamp
    reason: str = ""  # why the computed decision is what it is
    acceptances: Mapping[str, RiskAcceptance] = field(default_factory=dict)  # latest per item
    signoffs: Mapping[str, SignOff] = field(default_factory=dict)  # latest per role
    roles: Sequence[str] = DEFAULT_ROLES
    decision: DecisionRecord | None = None  # the latest recorded
    launch: LaunchTime = field(default_factory=lambda: LaunchTime(None, "none"))
    computed: Decision | None = None  # the decision computed now; None: the state's


# --- escaping -------------------------------------------------------------------------------

_KEEP_FORMAT = {"\u200d"}  # zero-width joiner: part of emoji sequences
_MARKDOWN = re.compile(r"([\\`*_\[\]|~#!])")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+\Z")


def text(value: object) -> str:
    """People's text, safe inline in Markdown (a table cell or after a label) and in HTML.

    Control and format characters go (tabs and line breaks become spaces; bidirectional
    overrides are dropped), whitespace collapses to single spaces, ``& < >`` become entities and
    Markdown's inline punctuation is backslash-escaped.
    """
    kept = []
    for ch in str(value):
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f" or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category == "Cc" or (category == "Cf" and ch not in _KEEP_FORMAT):
            continue
        else:
            kept.append(ch)
    one_line = " ".join("".join(kept).split())
    html = one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", html)


def link_or_text(value: str) -> str:
    """A remediation: an http(s) URL becomes an autolink, anything else escaped text."""
    stripped = value.strip()
    if _URL.match(stripped) and "|" not in stripped:
        return f"<{stripped}>"
    return text(stripped)


def person(by: str, user: str | None) -> str:
    """The name given, with the authenticated user when there was one and it differs."""
    if user and user != by:
        return f"{text(by)} (user: {text(user)})"
    return text(by)


def _item(line: ItemLine) -> str:
    marker = f"{CRITICAL_MARKER} " if line.priority == "critical" else ""
    return f"{marker}{text(line.title)}"


# --- Risk Assessment ------------------------------------------------------------------------


def risk_assessment(
    items: Sequence[ItemLine], acceptances: Mapping[str, RiskAcceptance], now: float
) -> list[str]:
    """P020's Risk Assessment: impact, probability, mitigation and accept/resolve for each FAIL
    or PARTIAL item, then the FAIL items that have no remediation plan."""
    gaps = [i for i in items if i.status in (Status.FAIL, Status.PARTIAL)]
    out = [
        "## Risk Assessment",
        "",
        "For each FAIL or PARTIAL item: what happens if we launch with this gap (impact), how "
        "likely it is to manifest (probability), what reduces the risk (mitigation), and the "
        "decision to accept the risk or resolve the gap before launch. An accepted risk does not "
        "make an item PASS.",
        "",
    ]
    if not gaps:
        return [*out, "No item is FAIL or PARTIAL.", ""]
    out += [
        "| # | Item | Status | Owner | Impact | Probability | Mitigation | Accept/Resolve "
        "| Expires | Decided by |",
        "|---|------|--------|-------|--------|-------------|------------|----------------"
        "|---------|------------|",
    ]
    for line in gaps:
        out.append(_risk_row(line, acceptances.get(line.id), now))
    out.append("")
    out += without_remediation_section(items)
    return out


def _risk_row(line: ItemLine, acceptance: RiskAcceptance | None, now: float) -> str:
    owner = text(line.owner) if line.owner else NONE
    plan = f"plan: {link_or_text(line.remediation)}" if line.remediation else "no remediation plan"
    head = f"| {text(line.id)} | {_item(line)} | {MARKS[line.status]} | {owner} "
    if acceptance is None:
        unassessed = f"| not assessed | not assessed | {NONE} "
        return f"{head}{unassessed}| **Resolve** ({plan}) | {NONE} | {NONE} |"
    state = acceptance_state(acceptance, now)
    if state is AcceptanceState.IN_FORCE:
        decided = "**Accept**"
        expires = f"{when(acceptance.expires_at)} (in {span(acceptance.expires_at - now)})"
    elif state is AcceptanceState.EXPIRED:
        decided = f"**Resolve**: the acceptance expired; renew it or fix the item ({plan})"
        expires = f"{when(acceptance.expires_at)} (expired)"
    else:
        who = person(acceptance.revoked_by or "someone", acceptance.revoked_user)
        decided = (
            f"**Resolve**: the acceptance was revoked by {who} on "
            f"{when(acceptance.revoked_at)} ({plan})"
        )
        expires = NONE
    mitigation = text(acceptance.mitigation)
    if acceptance.notes:
        mitigation += f" (notes: {text(acceptance.notes)})"
    by = f"{person(acceptance.by, acceptance.user)}, {when(acceptance.recorded_at)}"
    return (
        f"{head}| {acceptance.impact.value.upper()} | {acceptance.probability.value.upper()} "
        f"| {mitigation} | {decided} | {expires} | {by} |"
    )


def without_remediation_section(items: Sequence[ItemLine]) -> list[str]:
    """P020: "Document any FAIL items with remediation plan": the ones still without one."""
    missing = [i for i in items if i.status is Status.FAIL and not i.remediation]
    out = ["### FAIL items without a remediation plan", ""]
    if not missing:
        return [*out, "None: every FAIL item has a remediation plan.", ""]
    for line in missing:
        owner = f" (owner: {text(line.owner)})" if line.owner else ""
        out.append(f"- **{text(line.id)}** {_item(line)}{owner}: no remediation plan")
    return [*out, ""]


# --- Sign-Off Sheet -------------------------------------------------------------------------


def sign_off_sheet(
    roles: Sequence[str], signoffs: Mapping[str, SignOff], state: StateStamp
) -> list[str]:
    """P020's Sign-Off Sheet: one row per role, and whether its signature still counts."""
    by_key = {role_key(role): s for role, s in signoffs.items()}
    out = [
        "## Sign-Off Sheet",
        "",
        "A signature counts while the decision is the one it was given for and no item that "
        "passed then has stopped passing.",
        "",
        "| Role | Name | Signature | Date | Notes |",
        "|------|------|-----------|------|-------|",
    ]
    for role in roles:
        signoff = by_key.pop(role_key(role), None)
        if signoff is None:
            out.append(f"| **{text(role)}** | | {UNCHECKED} not signed | | |")
            continue
        out.append(_signoff_row(role, signoff, state))
    out.append("")
    if by_key:
        out += ["Also recorded, for roles no longer in the config:", ""]
        out += [
            f"- {_signoff_row(s.role, s, state).strip('|').replace(' | ', ', ').strip()}"
            for s in by_key.values()
        ]
        out.append("")
    return out


def _signoff_row(role: str, signoff: SignOff, state: StateStamp) -> str:
    check = check_signature(signoff, state)
    given = signoff.stamp
    scores = f"total {percent(given.total)}, critical {percent(given.critical)}"
    if check.counts:
        signature = f"{CHECKED} counts: given at {given.decision.label} ({scores})"
    else:
        signature = f"⚠️ does not count: {check.reason} (given at {scores})"
    return (
        f"| **{text(role)}** | {person(signoff.by, signoff.user)} | {signature} "
        f"| {when(signoff.at)} | {text(signoff.notes)} |"
    )


# --- Go/No-Go Decision ----------------------------------------------------------------------


def _boxes(decision: Decision | None) -> str:
    return "  ".join(
        f"{CHECKED if d is decision else UNCHECKED} {d.label}"
        for d in (Decision.GO, Decision.GO_WITH_CAUTION, Decision.NO_GO)
    )


def go_no_go(
    state: StateStamp,
    reason: str,
    record: DecisionRecord | None,
    launch: LaunchTime,
    now: float,
    computed: Decision | None = None,
) -> list[str]:
    """The block under P020's Sign-Off Sheet: the recorded call beside the computed one, who
    made it and when, and the launch date and time (UTC) with the phase it puts us in.

    ``computed`` is the checklist's decision now, when it differs from ``state``'s (which
    counts the sheet's own items as given)."""
    now_decision = state.decision if computed is None else computed
    computed_text = f"**{now_decision.label}**" + (f": {text(reason)}" if reason else "")
    out = [
        f"**Go/No-Go Decision**: {_boxes(record.decision if record else None)}  ",
        f"**Computed now**: {computed_text}  ",
    ]
    if record is None:
        out += ["**Decision Maker**: not recorded yet  ", "**Date**: —  "]
    else:
        signed = (
            f"recorded by authenticated user {text(record.user)}"
            if record.user
            else "recorded without an authenticated user (command line)"
        )
        out += [
            f"**Decision Maker**: {text(record.by)}  ",
            f"**Date**: {when(record.at)}  ",
            f"**Signature**: {signed}  ",
            f"**Computed when recorded**: {record.computed.label}  ",
        ]
        if record.notes:
            out.append(f"**Notes**: {text(record.notes)}  ")
    out += _launch_lines(launch, now)
    if record is not None and record.decision is not now_decision:
        out += [
            "",
            f"> ⚠️ The recorded decision ({record.decision.label}) differs from the decision "
            f"computed now ({now_decision.label}).",
        ]
    return [*out, ""]


def _launch_lines(launch: LaunchTime, now: float) -> list[str]:
    if launch.at is None:
        return ["**Launch Date**: not set  ", "**Launch Time**: not set  "]
    stamp = when(launch.at)  # "2026-12-01 14:00 UTC"
    day, clock = stamp.split(" ", 1)
    source = " (from the config)" if launch.source == "config" else ""
    phase = phase_at(launch.at, now)
    until = next_phase_change(launch.at, now)
    phase_text = phase.label + (f" until {when(until)}" if until is not None else "")
    if phase is Phase.PRE_LAUNCH:
        phase_text = f"{phase.label}, launch in {span(launch.at - now)}"
    return [
        f"**Launch Date**: {day}{source}  ",
        f"**Launch Time**: {clock}  ",
        f"**Launch Phase**: {phase_text}  ",
    ]


def render(sheet: LaunchSheet) -> str:
    """The three sections, in the document's order, as one Markdown text."""
    out = risk_assessment(sheet.items, sheet.acceptances, sheet.now)
    out += ["---", ""]
    out += sign_off_sheet(sheet.roles, sheet.signoffs, sheet.state)
    out += go_no_go(
        sheet.state, sheet.reason, sheet.decision, sheet.launch, sheet.now, sheet.computed
    )
    return "\n".join(out).rstrip() + "\n"
