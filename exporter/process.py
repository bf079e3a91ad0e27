"""The one way in for what people record: attestations, risk acceptances, sign-offs, the
Go/No-Go decision and remediation plans.

The command line (on the local store) and the HTTP API (through the running exporter) both call
these functions, so a record is checked the same way whichever way it comes: the item or role
must be in the config, the fields complete (``RecordError`` names the one that is not), and the
write is one audited transaction in the store (exporter/store.py). A signature and a decision
are stamped with the checklist's state at that moment: the daemon's live snapshot over HTTP, or
on the command line the latest status the store recorded for each item (``stored_state``); in
both, the items that answer from the Sign-Off Sheet count as given (snapshot.py's
``under_review``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from probes.attestation import STATUSES
from probes.fields import parse_duration
from probes.result import Status

from .attest import AttestError, evidence_file
from .config import Checklist
from .formatting import percent
from .launch import (
    Attestation,
    DecisionRecord,
    RecordError,
    Remediation,
    RiskAcceptance,
    SignOff,
    StateStamp,
    decision,
    level,
    parse_instant,
    resolve_role,
    when,
)
from .scoring import Decision, Scores
from .snapshot import under_review
from .store import Store

STALE_STORE = 86400.0  # a latest recorded change older than this: is an exporter running?


class NotFound(RecordError):
    """Raised when a record names an item or a role the config does not have."""


def _item(checklist: Checklist, item_id: str) -> str:
    if checklist.item(item_id) is None:
        raise NotFound(f"unknown item {item_id}: not in {checklist.path.name}")
    return item_id


def expiry(value: str | float, now: float) -> float:
    """``--expires``: a duration from now (``30d``) or a date-time (``2027-01-31``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_instant(text)
    except ValueError:
        raise RecordError(
            f"expires must be a duration such as 30d or a date such as 2027-01-31 (got {text!r})"
        ) from None


def launch_at(value: str | None, now: float) -> float | None:
    """``--launch``: a date-time (UTC unless it says otherwise) or ``now``."""
    if value is None or not str(value).strip():
        return None
    if str(value).strip().lower() == "now":
        return now
    try:
        return parse_instant(value)
    except ValueError:
        raise RecordError(
            f"launch must be a date-time such as 2026-12-01T14:00:00Z or now (got {value!r})"
        ) from None


# --- the records -------------------------------------------------------------------------------


def attest(
    store: Store,
    checklist: Checklist,
    item_id: str,
    status: str,
    by: str,
    user: str | None,
    evidence: Sequence[str],
    notes: str,
    expires: str | None,
    now: float,
) -> Attestation:
    """Record an attestation of an item whose probe is an attestation."""
    _item(checklist, item_id)
    try:
        evidence_file(checklist, item_id)  # the same items ``attest --file`` may sign
    except AttestError as exc:
        raise RecordError(str(exc)) from None
    if str(status).lower() not in STATUSES:
        raise RecordError(f"status must be one of {', '.join(STATUSES)} (got {status!r})")
    return store.record_attestation(
        Attestation(
            item_id,
            Status(str(status).lower()),
            by,
            now,
            tuple(evidence),
            notes,
            expiry(expires, now) if expires else None,
            user,
        )
    )


def accept_risk(
    store: Store,
    checklist: Checklist,
    item_id: str,
    by: str,
    user: str | None,
    impact: str,
    probability: str,
    mitigation: str,
    expires: str | float,
    notes: str,
    now: float,
) -> RiskAcceptance:
    """Record the decision to launch with an item's gap until ``expires``."""
    _item(checklist, item_id)
    return store.accept_risk(
        RiskAcceptance(
            item_id,
            by,
            user,
            level(impact, "impact"),
            level(probability, "probability"),
            mitigation,
            expiry(expires, now),
            now,
            notes,
        )
    )


def _person(by: str) -> str:
    """Who revokes, spaces tidied; RecordError when it names nobody."""
    if not by.strip():
        raise RecordError("by must name a person")
    return " ".join(by.split())


def _role(checklist: Checklist, role: str) -> str:
    """The role of ``signoff:`` that ``role`` names; NotFound when none does."""
    try:
        return resolve_role(role, checklist.roles)
    except RecordError as exc:
        raise NotFound(str(exc)) from None


def revoke_risk(
    store: Store, checklist: Checklist, item_id: str, by: str, user: str | None, now: float
) -> RiskAcceptance:
    """Revoke the item's acceptance; RecordError when it has none to revoke."""
    _item(checklist, item_id)
    revoked = store.revoke_acceptance(item_id, _person(by), user, now)
    if revoked is None:
        raise RecordError(f"{item_id} has no risk acceptance to revoke")
    return revoked


def sign(
    store: Store,
    checklist: Checklist,
    role: str,
    by: str,
    user: str | None,
    notes: str,
    stamp: StateStamp,
    now: float,
) -> SignOff:
    """Record a signature for the checklist's state ``stamp``."""
    return store.sign(SignOff(_role(checklist, role), by, user, now, stamp, notes))


def revoke_signoff(
    store: Store, checklist: Checklist, role: str, by: str, user: str | None, now: float
) -> SignOff:
    """Revoke the role's latest signature; RecordError when it has none that stands."""
    named = _role(checklist, role)
    revoked = store.revoke_signoff(named, _person(by), user, now)
    if revoked is None:
        raise RecordError(f"{named} has no signature to revoke")
    return revoked


def decide(
    store: Store,
    value: str,
    by: str,
    user: str | None,
    computed: Decision,
    launch: str | None,
    notes: str,
    now: float,
) -> DecisionRecord:
    """Record the decision maker's call beside the decision computed now (the sheet's own
    items counted as given, as for a signature)."""
    return store.record_decision(
        DecisionRecord(decision(value), by, user, now, computed, launch_at(launch, now), notes)
    )


def remediate(
    store: Store,
    checklist: Checklist,
    item_id: str,
    text: str,
    by: str,
    user: str | None,
    now: float,
) -> Remediation:
    """Record an item's remediation plan (a ticket link or text; empty clears it)."""
    _item(checklist, item_id)
    return store.remediate(Remediation(item_id, text, by, user, now))


# --- the checklist's state as the store last saw it ---------------------------------------------


@dataclass(frozen=True)
class StoredState:
    """The launch decision's state from each item's latest recorded status, the items that
    answer from the Sign-Off Sheet counted as given."""

    scores: Scores
    stamp: StateStamp
    latest_at: float | None  # the newest recorded change: how current this is
    unknown: int  # applicable items the store has no status for (PENDING here)
    given: tuple[str, ...] = ()  # the sheet's items, counted as given

    def describe(self) -> str:
        """What a signature or a decision is given for: ``NO-GO, total 87.6 %, ...``."""
        sc = self.scores
        given = (
            f" ({', '.join(self.given)} counted as given: they answer from the Sign-Off Sheet)"
            if self.given
            else ""
        )
        return (
            f"{sc.decision.label}, total {percent(sc.total.score)}, critical "
            f"{percent(sc.critical.score)}, {len(self.stamp.gaps)} "
            f"gap{'s' if len(self.stamp.gaps) != 1 else ''}{given}"
        )

    def warning(self, now: float) -> str | None:
        """Why this state may not be the exporter's current one, or None."""
        if self.latest_at is None:
            return (
                "the store has no status recorded: every item counts as PENDING. Is the "
                "exporter running with this store (--storage.path)?"
            )
        if now - self.latest_at > STALE_STORE:
            return (
                f"the latest status change recorded is from {when(self.latest_at)}: if no "
                "exporter is running with this store, the statuses may be out of date"
            )
        return None


def stored_state(store: Store, checklist: Checklist) -> StoredState:
    """The state the command line signs and decides on: each item's latest status recorded by
    the exporter (N/A from the config; PENDING when the store has none)."""
    items = checklist.launch_items
    latest = store.latest_statuses(i.id for i in items if i.applicable)
    statuses: dict[str, Status] = {}
    for item in items:
        if not item.applicable:
            statuses[item.id] = Status.NA
        else:
            change = latest.get(item.id)
            statuses[item.id] = change.to_status if change is not None else Status.PENDING
    scores, stamp = under_review(checklist, statuses)
    latest_at = max((c.at for c in latest.values()), default=None)
    unknown = sum(1 for i in items if i.applicable and i.id not in latest)
    given = tuple(i.id for i in items if i.from_sheet and i.applicable)
    return StoredState(scores, stamp, latest_at, unknown, given)
