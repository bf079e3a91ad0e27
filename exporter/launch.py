"""The launch process around the checklist, as pure functions of records and a time.

P020's "Checklist Execution", "Risk Assessment", "Post-Launch Validation" and "Sign-Off Sheet"
are a process: owners, accepted risks with an expiry, signatures given for a state of the
checklist, a recorded Go/No-Go call with a launch time, post-launch tasks due by the end of
their phase, remediation plans for FAIL items. This module says what those records mean at a
time; it does no I/O and reads no clock (every function takes ``now``). ``exporter/store.py``
keeps the records; the daemon, the board and the reports ask this module about them.

The rules, each written once here (docs/process.md explains why):

- Phases run from launch: ``first_48h`` is [launch, +48 h), ``first_week`` [+48 h, +7 d),
  ``first_month`` [+7 d, +30 d), ``steady`` from +30 d; before launch, or with no launch time,
  ``pre_launch``. Each start is inclusive, each end exclusive.
- A post-launch task is due at the end of its phase: PENDING before, FAIL from the due time
  without evidence, PASS with evidence recorded at or after the launch.
- A risk acceptance is in force from when it was recorded until (excluding) its expiry, unless
  revoked; the latest acceptance of an item replaces earlier ones.
- A signature counts while the computed decision is the one it was given for and no item that
  was PASS then is not PASS now (a new gap). Items that improved do not void it.
- People's records beat config defaults (launch time, remediation). Between a file attestation
  and one recorded in the store, the one signed later counts: probes/attestation.py applies
  that rule, where both are read.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TypeVar

from probes.result import Status

from .scoring import Decision, Scores

HOUR = 3600.0
DAY = 86400.0

# A person's words are kept as given, within these bounds (the store stays small, a report
# stays readable); renderers escape them.
MAX_NAME = 200
MAX_TEXT = 4000
# A clock this far ahead of ours is skew; further ahead, a signature date is wrong, not fresh.
CLOCK_SKEW = 300.0

T = TypeVar("T")

DEFAULT_ROLES = ("Engineering Lead", "Operations Lead", "Security Lead", "Product Lead", "CTO")


class RecordError(ValueError):
    """Raised when a record a person gives is incomplete or inconsistent; says which field.

    Records check themselves in ``validated()``, called before they are recorded, never when
    they are read back: a rule tightened later must not make a stored record unreadable.
    """


def _name(value: str, field: str) -> str:
    text = " ".join(str(value).split())
    if not text:
        raise RecordError(f"{field} must name a person")
    if len(text) > MAX_NAME:
        raise RecordError(f"{field} is longer than {MAX_NAME} characters")
    return text


def _item(value: str) -> str:
    text = value.strip()
    if not text:
        raise RecordError("item must name a checklist item")
    return text


def _text(value: str, field: str, required: bool = False) -> str:
    text = str(value).strip()
    if required and not text:
        raise RecordError(f"{field} must not be empty")
    if len(text) > MAX_TEXT:
        raise RecordError(f"{field} is longer than {MAX_TEXT} characters")
    return text


def when(ts: float | None) -> str:
    """A Unix time as the checklist writes dates: ``2026-11-27 23:10 UTC``."""
    if ts is None:
        return "never"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_instant(value: object) -> float:
    """A date-time as people write one (ISO 8601; ``Z`` or ``UTC`` or an offset; none is UTC;
    a date alone is its midnight UTC) or as YAML reads one, as a Unix time; raises ValueError."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        text = text[:-3].strip() if text.upper().endswith("UTC") else text
        text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"must be a date-time such as 2026-12-01T14:00:00Z (got {value!r})"
            ) from None
    else:
        raise ValueError(f"must be a date-time such as 2026-12-01T14:00:00Z (got {value!r})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def span(seconds: float) -> str:
    """A duration in the largest whole unit people use for deadlines: ``3d``, ``5h``, ``12m``."""
    seconds = abs(seconds)
    for unit, size in (("d", DAY), ("h", HOUR), ("m", 60.0)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


# --- Owners ---------------------------------------------------------------------------------


def resolve_owner(item: str | None, category: str | None, default: str | None) -> str | None:
    """The owner of an item: its own, else its category's, else the config's default."""
    for owner in (item, category, default):
        if owner and owner.strip():
            return owner.strip()
    return None


# --- Launch phases --------------------------------------------------------------------------


class Phase(str, enum.Enum):
    PRE_LAUNCH = "pre_launch"
    FIRST_48H = "first_48h"
    FIRST_WEEK = "first_week"
    FIRST_MONTH = "first_month"
    STEADY = "steady"

    @property
    def label(self) -> str:
        """The phase as P020's "Post-Launch Validation" names it."""
        return {
            "pre_launch": "Pre-launch",
            "first_48h": "First 48 Hours",
            "first_week": "First Week",
            "first_month": "First Month",
            "steady": "Steady state",
        }[self.value]


# When each phase ends, counted from the launch time. A phase starts where the one before ends.
PHASE_ENDS: Mapping[Phase, float] = {
    Phase.FIRST_48H: 48 * HOUR,
    Phase.FIRST_WEEK: 7 * DAY,
    Phase.FIRST_MONTH: 30 * DAY,
}
POST_LAUNCH_PHASES = tuple(PHASE_ENDS)  # the phases that have tasks
PHASES = tuple(Phase)


def phase_start(phase: Phase, launch_at: float) -> float | None:
    """When ``phase`` starts (inclusive); None for pre_launch, which has no start."""
    if phase is Phase.PRE_LAUNCH:
        return None
    if phase is Phase.FIRST_48H:
        return launch_at
    before = PHASES[PHASES.index(phase) - 1]
    return launch_at + PHASE_ENDS[before]


def phase_end(phase: Phase, launch_at: float) -> float | None:
    """When ``phase`` ends (exclusive); None for steady, which does not end."""
    if phase is Phase.PRE_LAUNCH:
        return launch_at
    if phase is Phase.STEADY:
        return None
    return launch_at + PHASE_ENDS[phase]


def phase_at(launch_at: float | None, now: float) -> Phase:
    """The launch phase at ``now``; pre_launch without a launch time or before it."""
    if launch_at is None or now < launch_at:
        return Phase.PRE_LAUNCH
    for phase in POST_LAUNCH_PHASES:
        if now < launch_at + PHASE_ENDS[phase]:
            return phase
    return Phase.STEADY


def next_phase_change(launch_at: float | None, now: float) -> float | None:
    """When the phase next changes after ``now``; None when it never will (no launch, steady)."""
    if launch_at is None:
        return None
    return phase_end(phase_at(launch_at, now), launch_at)


@dataclass(frozen=True)
class IntervalPlan:
    """The probe interval in force at a time, and until when it stays in force."""

    seconds: float
    phase: Phase
    until: float | None  # when the interval next changes; None: not while the launch time stands


def interval_at(
    base: float, overrides: Mapping[Phase, float], launch_at: float | None, now: float
) -> IntervalPlan:
    """The interval of an item with ``intervals:`` overrides by phase, at ``now``.

    ``until`` skips boundaries where the interval stays the same, so a scheduler reschedules
    only when the cadence really changes (and must re-ask when a launch time is recorded).
    """
    phase = phase_at(launch_at, now)
    seconds = overrides.get(phase, base)
    if launch_at is None:
        return IntervalPlan(seconds, phase, None)
    for later in PHASES[PHASES.index(phase) + 1 :]:
        if overrides.get(later, base) != seconds:
            return IntervalPlan(seconds, phase, phase_start(later, launch_at))
    return IntervalPlan(seconds, phase, None)


# --- Post-launch tasks ----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskVerdict:
    status: Status
    summary: str
    due_at: float | None


def task_due(phase: Phase, launch_at: float | None) -> float | None:
    """When a task of ``phase`` is due: the end of its phase; None without a launch time."""
    if phase not in POST_LAUNCH_PHASES:
        raise ValueError(f"post-launch tasks belong to {', '.join(POST_LAUNCH_PHASES)}: {phase}")
    return None if launch_at is None else launch_at + PHASE_ENDS[phase]


def task_status(
    phase: Phase,
    launch_at: float | None,
    now: float,
    evidence: Status | None = None,
    evidence_at: float | None = None,
) -> TaskVerdict:
    """A post-launch task's status at ``now`` from its evidence (a probe or attestation result).

    Evidence counts only when it was recorded at or after the launch and not after ``now``: a
    load test run before launch is not the first week's load test in production. A PASS after
    the due time is still PASS (late, and the summary says so); FAIL or PARTIAL evidence is
    what it says; no evidence is PENDING until due and FAIL from then on.
    """
    due = task_due(phase, launch_at)
    if launch_at is None or due is None:
        after = span(PHASE_ENDS[phase])
        return TaskVerdict(
            Status.PENDING, f"not due: no launch time recorded (due {after} after launch)", None
        )
    counted = (
        evidence not in (None, Status.PENDING)
        and evidence_at is not None
        and launch_at <= evidence_at <= now
    )
    if counted and evidence is not None and evidence_at is not None:
        done = f"{evidence.label} recorded {when(evidence_at)}"
        late = f", {span(evidence_at - due)} after it was due" if evidence_at > due else ""
        return TaskVerdict(evidence, f"{done}{late} (due {when(due)})", due)
    stale = (
        f"; evidence of {when(evidence_at)} is from before the launch and does not count"
        if evidence_at is not None and evidence_at < launch_at
        else ""
    )
    if now < launch_at:
        return TaskVerdict(
            Status.PENDING, f"not due: launch is planned for {when(launch_at)}{stale}", due
        )
    if now < due:
        return TaskVerdict(
            Status.PENDING,
            f"due by {when(due)} (in {span(due - now)}), no evidence yet{stale}",
            due,
        )
    return TaskVerdict(
        Status.FAIL,
        f"overdue since {when(due)} ({span(now - due)}): no evidence recorded{stale}",
        due,
    )


def in_launch_decision(phase: Phase | None) -> bool:
    """Whether an item counts in the Go/No-Go scores: only items without a post-launch phase.

    P020's formula is over its checklist items; the post-launch tasks are a separate list that
    cannot be done before launch. Counting them would make every launch NO-GO (PENDING counts as
    not passed) and a late retrospective would turn a launched service NO-GO.
    """
    return phase is None or phase is Phase.PRE_LAUNCH


# --- Risk acceptances -----------------------------------------------------------------------


class Level(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def level(value: str, field: str) -> Level:
    if isinstance(value, Level):
        return value
    try:
        return Level(str(value).strip().lower())
    except ValueError:
        raise RecordError(f"{field} must be one of low, medium, high (got {value!r})") from None


@dataclass(frozen=True)
class RiskAcceptance:
    """A decision to launch with a FAIL or PARTIAL item, until a date (P020's Risk Assessment)."""

    item: str
    by: str  # the name given
    user: str | None  # the authenticated user who recorded it, when there was one
    impact: Level
    probability: Level
    mitigation: str
    expires_at: float
    recorded_at: float
    notes: str = ""
    revoked_at: float | None = None
    revoked_by: str | None = None
    revoked_user: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "impact", level(self.impact, "impact"))
        object.__setattr__(self, "probability", level(self.probability, "probability"))

    def validated(self) -> RiskAcceptance:
        """This record, once it is complete enough to be recorded; raises RecordError."""
        if self.expires_at <= self.recorded_at:
            raise RecordError(
                f"expires ({when(self.expires_at)}) must be after the time it is recorded "
                f"({when(self.recorded_at)}): an acceptance needs an expiry in the future"
            )
        return replace(
            self,
            item=_item(self.item),
            by=_name(self.by, "by"),
            mitigation=_text(self.mitigation, "mitigation", required=True),
            notes=_text(self.notes, "notes"),
        )


class AcceptanceState(str, enum.Enum):
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    REVOKED = "revoked"


def acceptance_state(acceptance: RiskAcceptance, now: float) -> AcceptanceState:
    """In force from recording until (excluding) expiry; revoked wins over both."""
    if acceptance.revoked_at is not None and acceptance.revoked_at <= now:
        return AcceptanceState.REVOKED
    if now >= acceptance.expires_at:
        return AcceptanceState.EXPIRED
    return AcceptanceState.IN_FORCE


def latest(records: Iterable[T]) -> T | None:
    """The record made last (by its time, then by the store's order)."""
    best: T | None = None
    for record in records:
        if best is None or _order(record) > _order(best):
            best = record
    return best


def _order(record: object) -> tuple[float, int]:
    at = getattr(record, "recorded_at", None)
    if at is None:
        at = getattr(record, "at", None)
    return (float(at or 0.0), getattr(record, "id", None) or 0)


@dataclass(frozen=True)
class AcceptanceSeries:
    """What /metrics exports for an item's current acceptance."""

    accepted: int  # readiness_item_risk_accepted: 1 while in force
    expiry: float  # readiness_item_risk_acceptance_expiry_timestamp_seconds


def acceptance_series(acceptance: RiskAcceptance | None, now: float) -> AcceptanceSeries | None:
    """The item's series: kept after expiry (so the expiry alert can fire), gone once revoked."""
    if acceptance is None:
        return None
    state = acceptance_state(acceptance, now)
    if state is AcceptanceState.REVOKED:
        return None
    return AcceptanceSeries(int(state is AcceptanceState.IN_FORCE), acceptance.expires_at)


# --- Sign-offs bound to a state -------------------------------------------------------------


def state_digest(statuses: Mapping[str, Status]) -> str:
    """A digest of every item's status, independent of config order: ``sha256:<hex>``."""
    lines = "".join(f"{item}={Status(status).value}\n" for item, status in sorted(statuses.items()))
    return "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()


def gaps_of(statuses: Mapping[str, Status]) -> frozenset[str]:
    """Applicable items that are not PASS: what a signer accepted as not done."""
    return frozenset(i for i, s in statuses.items() if s not in (Status.PASS, Status.NA))


@dataclass(frozen=True)
class StateStamp:
    """The state of the checklist a signature was given for."""

    decision: Decision
    total: Fraction | None
    critical: Fraction | None
    digest: str  # state_digest of every item's status
    gaps: frozenset[str]  # applicable items not PASS

    @classmethod
    def of(
        cls,
        decision: Decision,
        total: Fraction | None,
        critical: Fraction | None,
        statuses: Mapping[str, Status],
    ) -> StateStamp:
        return cls(decision, total, critical, state_digest(statuses), gaps_of(statuses))

    @classmethod
    def of_scores(cls, scores: Scores, statuses: Mapping[str, Status]) -> StateStamp:
        return cls.of(scores.decision, scores.total.score, scores.critical.score, statuses)


def role_key(role: str) -> str:
    """Roles match without regard to case or spacing: ``security lead`` is ``Security Lead``."""
    return " ".join(role.split()).casefold()


def resolve_role(given: str, roles: Iterable[str]) -> str:
    """The configured role that ``given`` names; raises RecordError naming the roles."""
    roles = list(roles)
    for role in roles:
        if role_key(role) == role_key(given):
            return role
    raise RecordError(f"unknown role {given!r}: the sign-off roles are {', '.join(roles)}")


@dataclass(frozen=True)
class SignOff:
    role: str
    by: str
    user: str | None
    at: float
    stamp: StateStamp
    notes: str = ""
    id: int | None = None
    # Withdrawn by a person (``revoke-signoff``): it no longer counts, whatever the state.
    revoked_at: float | None = None
    revoked_by: str | None = None
    revoked_user: str | None = None

    def validated(self) -> SignOff:
        """This record, once it is complete enough to be recorded; raises RecordError."""
        if not self.role.strip():
            raise RecordError("role must name a sign-off role")
        return replace(self, by=_name(self.by, "by"), notes=_text(self.notes, "notes"))


@dataclass(frozen=True)
class SignatureCheck:
    counts: bool
    same_state: bool  # nothing changed at all since it was given
    reason: str
    new_gaps: tuple[str, ...] = ()


def check_signature(signoff: SignOff, now: StateStamp) -> SignatureCheck:
    """Whether a signature still counts for the checklist as it is now.

    It no longer counts once revoked, when the computed decision differs from the one it was
    given for, or when an item that was PASS (or N/A) then is an applicable non-PASS item now:
    the signer did not see that gap. Items that improved, or gaps that changed between FAIL,
    PARTIAL and PENDING, leave it counting: the signer accepted those items as not done.
    """
    given = signoff.stamp
    new_gaps = tuple(sorted(now.gaps - given.gaps))
    if signoff.revoked_at is not None:
        return SignatureCheck(
            False, False, f"revoked by {signoff.revoked_by} on {when(signoff.revoked_at)}"
        )
    if now.decision is not given.decision:
        return SignatureCheck(
            False,
            False,
            f"given for another state: decision was {given.decision.label}, "
            f"now {now.decision.label}",
            new_gaps,
        )
    if new_gaps:
        shown = ", ".join(new_gaps[:5]) + (
            f" and {len(new_gaps) - 5} more" if len(new_gaps) > 5 else ""
        )
        return SignatureCheck(
            False, False, f"given for another state: not PASS since signing: {shown}", new_gaps
        )
    if now.digest == given.digest:
        return SignatureCheck(True, True, f"counts: given for this state ({given.decision.label})")
    fixed = len(given.gaps - now.gaps)
    return SignatureCheck(
        True,
        False,
        f"counts: same decision ({given.decision.label}), no new gaps"
        + (f", {fixed} item{'s' if fixed != 1 else ''} fixed since" if fixed else ""),
    )


# --- The decision record and the launch time ------------------------------------------------


def decision(value: str) -> Decision:
    """A decision as people type it: ``go``, ``go-with-caution``, ``NO-GO``, ``no go``."""
    key = "_".join(str(value).strip().lower().replace("-", " ").split())
    try:
        return Decision(key)
    except ValueError:
        raise RecordError(
            f"decision must be one of go, go_with_caution, no_go (got {value!r})"
        ) from None


@dataclass(frozen=True)
class DecisionRecord:
    """The decision maker's call, beside the decision the checklist computed at that moment."""

    decision: Decision
    by: str
    user: str | None
    at: float
    computed: Decision
    launch_at: float | None = None
    notes: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "decision", Decision(self.decision))
        object.__setattr__(self, "computed", Decision(self.computed))

    def validated(self) -> DecisionRecord:
        """This record, once it is complete enough to be recorded; raises RecordError."""
        return replace(self, by=_name(self.by, "by"), notes=_text(self.notes, "notes"))


@dataclass(frozen=True)
class LaunchTime:
    at: float | None
    source: str  # "decision" (recorded by a person), "config", or "none"


def launch_time(config_launch: float | None, record: DecisionRecord | None) -> LaunchTime:
    """The launch time in force: the latest decision's, else the config's ``launch:``.

    A person's record wins over the config's default because it says who and when, and because
    the config may be read-only where the exporter runs. A later decision without a launch
    time falls back to the config's.
    """
    if record is not None and record.launch_at is not None:
        return LaunchTime(record.launch_at, "decision")
    if config_launch is not None:
        return LaunchTime(config_launch, "config")
    return LaunchTime(None, "none")


# --- Remediation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Remediation:
    """A FAIL item's remediation plan: a ticket link or text. Empty text clears it."""

    item: str
    text: str
    by: str
    user: str | None
    at: float
    id: int | None = None

    def validated(self) -> Remediation:
        """This record, once it is complete enough to be recorded; raises RecordError."""
        return replace(
            self,
            item=_item(self.item),
            by=_name(self.by, "by"),
            text=_text(self.text, "remediation"),
        )


def remediation_of(config_text: str | None, record: Remediation | None) -> str | None:
    """An item's remediation: the latest recorded one (empty clears), else the config's."""
    if record is not None:
        return record.text or None
    return config_text.strip() if config_text and config_text.strip() else None


def without_remediation(
    statuses: Mapping[str, Status], remediations: Mapping[str, str | None]
) -> list[str]:
    """FAIL items that have no remediation plan (P020: "Document any FAIL items with
    remediation plan"), in the order given."""
    return [i for i, s in statuses.items() if s is Status.FAIL and not remediations.get(i)]


# --- Attestations from files and from the store ---------------------------------------------


@dataclass(frozen=True)
class Attestation:
    """A person's signed statement of an item's status, from a file or recorded in the store."""

    item: str
    status: Status
    by: str
    signed_at: float
    evidence: tuple[str, ...] = ()
    notes: str = ""
    expires_at: float | None = None
    user: str | None = None  # authenticated user; files have none
    source: str = "store"  # "store" or "file"
    recorded_at: float | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "evidence", tuple(str(e) for e in self.evidence))

    def validated(self) -> Attestation:
        """This record, once it is complete enough to be recorded; raises RecordError."""
        if sum(len(e) for e in self.evidence) > MAX_TEXT:
            raise RecordError(f"evidence is longer than {MAX_TEXT} characters in all")
        if self.expires_at is not None and self.expires_at <= self.signed_at:
            raise RecordError("expires must be after the date it was signed")
        return replace(
            self, item=_item(self.item), by=_name(self.by, "by"), notes=_text(self.notes, "notes")
        )


@dataclass(frozen=True)
class People:
    """What people have recorded, the latest of each kind: what the board, the metrics and the
    reports read beside the probes' results."""

    attestations: Mapping[str, Attestation] = field(default_factory=dict)  # item -> latest
    acceptances: Mapping[str, RiskAcceptance] = field(default_factory=dict)  # item -> latest
    signoffs: Mapping[str, SignOff] = field(default_factory=dict)  # role as recorded -> latest
    decision: DecisionRecord | None = None  # the latest recorded decision
    remediations: Mapping[str, Remediation] = field(default_factory=dict)  # item -> latest

    def signoff(self, role: str) -> SignOff | None:
        """The latest signature of ``role`` (matched as ``role_key`` does)."""
        key = role_key(role)
        return next((s for r, s in self.signoffs.items() if role_key(r) == key), None)


NOBODY = People()
