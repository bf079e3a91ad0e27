"""The status board's process sections (issue 13), kept apart from the item table's layout:

- the launch line: the phase, the launch time and where it comes from, the recorded decision
  beside the computed one;
- the Sign-Off Sheet: each role's latest signature and whether it still counts;
- risks: every accepted risk (in force or expired) and the FAIL items without a remediation plan;
- post-launch tasks: each with its phase, due time and status;
- the marks an item row carries (an accepted risk and its expiry, the remediation plan) and the
  item page's records.

Everything comes from the snapshot (``Snapshot.launch``, ``ItemState.records``); everything people
typed is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from probes.result import Status

from ..formatting import ago
from ..launch import AcceptanceState, Phase, acceptance_state, next_phase_change, span, when
from ..snapshot import ItemState, Snapshot
from . import urls as paths
from .urls import Urls

_URL_SCHEMES = ("https://", "http://")


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(status: Status) -> str:
    return f'<span class="status s-{status.value}">{e(status.label)}</span>'


def _item_link(urls: Urls, item_id: str) -> str:
    return f'<a href="{e(urls.link(paths.ITEM, item_id))}">{e(item_id)}</a>'


def plan(text: str) -> str:
    """A remediation plan: an http(s) link opens the ticket; anything else is text."""
    stripped = text.strip()
    if stripped.startswith(_URL_SCHEMES) and " " not in stripped:
        return f'<a class="plan" href="{e(stripped)}" rel="noreferrer">{e(stripped)}</a>'
    return f'<span class="plan">{e(stripped)}</span>'


# --- the marks of a row ---------------------------------------------------------------------


def item_marks(state: ItemState, now: float) -> str:
    """Under an item's status: its accepted risk (and expiry), its plan, or that it has none."""
    marks = []
    acceptance = state.records.acceptance
    if acceptance is not None:
        if acceptance_state(acceptance, now) is AcceptanceState.IN_FORCE:
            marks.append(
                f'<span class="mark risk" title="{e(acceptance.mitigation)}">risk accepted '
                f"until {e(when(acceptance.expires_at))}</span>"
            )
        else:
            marks.append(
                f'<span class="mark risk expired">risk acceptance expired '
                f"{e(when(acceptance.expires_at))}</span>"
            )
    if state.records.remediation:
        marks.append(f'<span class="mark">plan: {plan(state.records.remediation)}</span>')
    elif state.status is Status.FAIL:
        marks.append('<span class="mark no-plan">no remediation plan</span>')
    return "".join(f"<br>{m}" for m in marks)


# --- the launch line and the Sign-Off Sheet -------------------------------------------------


def launch_section(snap: Snapshot, now: float) -> str:
    """The phase, the launch time, the recorded decision beside the computed one."""
    picture = snap.launch
    launch = picture.launch
    if launch.at is None:
        when_text = "no launch time (readiness-exporter decide --launch, or launch: in the config)"
    else:
        source = " (from the config)" if launch.source == "config" else ""
        when_text = f"launch {when(launch.at)}{source}"
        if picture.phase is Phase.PRE_LAUNCH:
            when_text += f", in {span(launch.at - now)}"
        else:
            until = next_phase_change(launch.at, now)
            if until is not None:
                when_text += f"; until {when(until)}"
    record = picture.people.decision
    computed = snap.scores.decision
    if record is None:
        decided = "No decision recorded yet (readiness-exporter decide)."
        differs = ""
    else:
        decided = (
            f"Recorded decision <strong>{e(record.decision.label)}</strong> by "
            f"{e(_person(record.by, record.user))}, {e(when(record.at))} (computed then: "
            f"{e(record.computed.label)})."
        )
        differs = (
            f' <span class="mark differs">Computed now: {e(computed.label)}, not the recorded '
            f"{e(record.decision.label)}.</span>"
            if record.decision is not computed
            else ""
        )
    return (
        f'<section class="launch p-{picture.phase.value}" id="launch">'
        f'<p><span class="phase" id="phase">{e(picture.phase.label)}</span> '
        f"{e(when_text)}</p>"
        f'<p class="recorded" id="recorded-decision">{decided}{differs}</p></section>'
    )


def _person(by: str, user: str | None) -> str:
    return f"{by} (user {user})" if user and user != by else by


def signoff_section(snap: Snapshot) -> str:
    """P020's Sign-Off Sheet: one row per role, whether its signature still counts."""
    rows = []
    for signature in snap.launch.signatures:
        signoff, check = signature.signoff, signature.check
        if signoff is None or check is None:
            rows.append(
                f'<tr class="unsigned"><td>{e(signature.role)}</td><td></td>'
                '<td class="muted">not signed</td><td></td><td></td></tr>'
            )
            continue
        kind = "counts" if check.counts else "void"
        rows.append(
            f'<tr class="{kind}" data-role="{e(signature.role)}"><td>{e(signature.role)}</td>'
            f"<td>{e(_person(signoff.by, signoff.user))}</td>"
            f'<td><span class="mark {kind}">{"✓" if check.counts else "⚠"} '
            f"{e(check.reason)}</span></td>"
            f"<td>{e(when(signoff.at))}</td><td>{e(signoff.notes)}</td></tr>"
        )
    counting = sum(s.counts for s in snap.launch.signatures)
    return (
        f'<section class="signoffs" id="signoffs"><h2>Sign-Off Sheet ({counting} of '
        f"{len(snap.launch.signatures)} count)</h2>"
        '<table class="sheet"><thead><tr><th>Role</th><th>Name</th><th>Signature</th>'
        f"<th>Date</th><th>Notes</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


# --- risks and remediation ------------------------------------------------------------------


def risks_section(snap: Snapshot, urls: Urls, now: float) -> str:
    """Accepted risks (in force or expired), then FAIL items without a remediation plan."""
    accepted = [s for s in _launch_states(snap) if s.records.acceptance is not None]
    rows = []
    for state in accepted:
        a = state.records.acceptance
        assert a is not None
        in_force = acceptance_state(a, now) is AcceptanceState.IN_FORCE
        expiry = (
            f"until {when(a.expires_at)} (in {span(a.expires_at - now)})"
            if in_force
            else f"expired {when(a.expires_at)}"
        )
        rows.append(
            f'<tr class="{"in-force" if in_force else "expired"}" data-id="{e(state.item.id)}">'
            f"<td>{_item_link(urls, state.item.id)}</td><td>{_badge(state.status)}</td>"
            f"<td>{e(a.impact.value)}</td><td>{e(a.probability.value)}</td>"
            f"<td>{e(a.mitigation)}</td><td>{e(expiry)}</td>"
            f"<td>{e(_person(a.by, a.user))}</td></tr>"
        )
    table = (
        '<table class="risks"><thead><tr><th>Item</th><th>Status</th><th>Impact</th>'
        "<th>Probability</th><th>Mitigation</th><th>Expires</th><th>Accepted by</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="muted">No risk accepted (readiness-exporter accept-risk).</p>'
    )
    missing = [
        s for s in _launch_states(snap) if s.status is Status.FAIL and not s.records.remediation
    ]
    links = " ".join(_item_link(urls, s.item.id) for s in missing)
    without = (
        f'<p class="no-plan" id="without-plan"><strong>{len(missing)} FAIL '
        f"item{'s' if len(missing) != 1 else ''} without a remediation plan</strong> "
        f"(readiness-exporter remediate): {links}</p>"
        if missing
        else '<p class="muted" id="without-plan">Every FAIL item has a remediation plan.</p>'
    )
    return (
        f'<section class="risks" id="risks"><h2>Accepted risks ({len(rows)})</h2>'
        f"{table}{without}</section>"
    )


def _launch_states(snap: Snapshot) -> Iterable[ItemState]:
    return (s for s in snap.states.values() if not s.item.post_launch)


# --- post-launch tasks ----------------------------------------------------------------------


def tasks_section(snap: Snapshot, urls: Urls) -> str:
    """P020's Post-Launch Validation: each task with its phase, due time and status."""
    tasks = snap.tasks
    if not tasks:
        return ""
    rows = []
    for state in tasks:
        phase = state.item.phase
        due = state.result.evidence.get("due") or ""
        rows.append(
            f'<tr class="task s-{state.status.value}" data-id="{e(state.item.id)}">'
            f"<td>{_item_link(urls, state.item.id)}</td><td>{e(state.item.title)}</td>"
            f"<td>{e(phase.label if phase else '')}</td><td>{e(due)}</td>"
            f"<td>{_badge(state.status)}</td>"
            f'<td class="summary">{e(state.result.summary)}</td><td>{e(state.item.owner)}</td></tr>'
        )
    counts = {s: sum(t.status is s for t in tasks) for s in (Status.PASS, Status.FAIL)}
    return (
        f'<section class="tasks" id="tasks"><h2>Post-launch validation ({counts[Status.PASS]} '
        f"of {len(tasks)} done, {counts[Status.FAIL]} overdue or failing)</h2>"
        '<p class="muted">Left out of the Go/No-Go scores: each task is due at the end of its '
        "phase, counted from the launch.</p>"
        '<table class="tasks"><thead><tr><th>ID</th><th>Task</th><th>Phase</th><th>Due</th>'
        "<th>Status</th><th>Observed</th><th>Owner</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


# --- the item page --------------------------------------------------------------------------


def item_records(state: ItemState, now: float) -> str:
    """The item's records: owner, phase, last PASS, risk acceptance, remediation plan."""
    facts: list[tuple[str, str]] = []
    item, records = state.item, state.records
    facts.append(("Owner", e(item.owner) or '<span class="muted">none</span>'))
    if item.phase is not None:
        due = state.result.evidence.get("due")
        facts.append(("Post-launch task", e(item.phase.label + (f", due {due}" if due else ""))))
    if state.current_interval != item.interval:
        facts.append(("Interval now", e(f"{state.current_interval:g}s (by launch phase)")))
    if records.last_pass is not None:
        facts.append(("Last PASS", e(f"{when(records.last_pass)} ({ago(records.last_pass, now)})")))
    a = records.acceptance
    if a is not None:
        in_force = acceptance_state(a, now) is AcceptanceState.IN_FORCE
        facts.append(
            (
                "Risk accepted" if in_force else "Risk acceptance expired",
                e(
                    f"impact {a.impact.value}, probability {a.probability.value}; mitigation: "
                    f"{a.mitigation}; {'until' if in_force else 'expired'} {when(a.expires_at)}; "
                    f"by {_person(a.by, a.user)} on {when(a.recorded_at)}"
                    + (f"; notes: {a.notes}" if a.notes else "")
                ),
            )
        )
    if records.remediation:
        facts.append(("Remediation", plan(records.remediation)))
    elif state.status is Status.FAIL:
        facts.append(("Remediation", '<span class="mark no-plan">no remediation plan</span>'))
    body = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in facts)
    return f'<h2>Records</h2><dl class="facts records" id="records">{body}</dl>'
