"""Sign-Off Sheet probes: ``signoff`` (a role's signature counts for the checklist as it is) and
``decision`` (the Go/No-Go decision is documented).

P020's Final Validation asks for four sign-offs (F-006..F-009) and a documented Go/No-Go
decision (F-010); its Sign-Off Sheet is where people give them. People record both with
``readiness-exporter sign`` and ``decide`` (or the HTTP API), and these kinds answer from those
records, which the engine hands them (``ProbeContext.sheet``): a signature is written once, in
the store, and the item, the board's Sign-Off Sheet and ``readiness_signoff`` all read it::

    probe: {signoff: {role: Engineering Lead, max_age: 90d}}   # a role of the config's signoff:
    probe: {decision: {max_age: 90d}}

``signoff``: PENDING while the role has no signature; PASS while its latest signature counts for
the checklist's state (exporter/launch.py, ``check_signature``: the decision it was given for is
the one computed now, and nothing that passed then has stopped passing); FAIL when it was given
for another state or revoked (``check_signature`` says which), when it names nobody, when it is
dated in the future, or when it is older than ``max_age`` (optional: a sign-off from last
quarter is not this launch's).

``decision``: PENDING while none is recorded; PASS for a GO or GO WITH CAUTION recorded by a
named person for the state the checklist is in (the decision the checklist computed when it was
recorded is the one it computes now) with a launch time (the record's, else the config's
``launch:``): P020's sheet asks the decision maker, the date and the launch date and time. A GO
without a launch time is PARTIAL. A recorded NO-GO is FAIL: the decision is documented, but it
is "do not launch", and an item of a launch checklist passes only when it lets the launch go
(counted PASS, a NO-GO would raise the very score that argues for going). A decision for another
state, naming nobody, dated in the future or older than ``max_age`` is FAIL.

The state both are judged against counts the sheet's own items as given (docs/process.md): their
PASS would otherwise change the very state their signatures were given for. So each must be an
item's whole probe, never a part of ``all``/``any``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from .attestation import CLOCK_SKEW
from .clock import utc
from .context import ProbeContext
from .fields import Reading, format_duration
from .result import Result, Status
from .signed import Sheet, SheetDecision, SheetSignature

SIGNOFF = "signoff"
DECISION = "decision"
NEEDS_LAUNCH = ("go", "go_with_caution")  # decisions that need a launch date and time


@dataclass(frozen=True)
class SignoffSpec:
    role: str  # a role of the config's signoff: (matched without regard to case or spacing)
    max_age: float | None = None  # seconds a signature counts after it was given


@dataclass(frozen=True)
class DecisionSpec:
    max_age: float | None = None  # seconds a decision counts after it was recorded


def _whole_probe(kind: str, name: str, reading: Reading) -> None:
    if name != kind:  # nested in all/any: the item's status would mix the sheet with a target
        reading.problems.add(
            f"{name} must be the item's whole probe, not a part of all/any: the state a "
            f"signature is bound to counts the sheet's items as given"
        )


def parse_signoff(raw: object, name: str, reading: Reading) -> SignoffSpec | None:
    _whole_probe(SIGNOFF, name, reading)
    fields = reading.mapping(raw, name)
    if fields is None:
        return None
    role = " ".join(fields.text("role").split())
    if not role and fields.usable("role"):
        fields.problem("role", 'must name a role of signoff: such as "Engineering Lead"')
    max_age = fields.optional_duration("max_age")
    fields.done()
    return SignoffSpec(role, max_age)


def parse_decision(raw: object, name: str, reading: Reading) -> DecisionSpec | None:
    _whole_probe(DECISION, name, reading)
    if raw is None:  # `decision:` with nothing after it
        return DecisionSpec()
    fields = reading.mapping(raw, name)
    if fields is None:
        return None
    max_age = fields.optional_duration("max_age")
    fields.done()
    return DecisionSpec(max_age)


def signoff_roles(spec: SignoffSpec) -> tuple[str, ...]:
    """The role whose signature the item reads: the config checks it is one of ``signoff:``."""
    return (spec.role,)


def no_roles(spec: Any) -> tuple[str, ...]:
    """The decision reads no role's signature."""
    return ()


def _person(by: str, user: str | None) -> str:
    return f"{by} (user {user})" if user and user != by else by


def _unreadable(ctx: ProbeContext) -> Result | Sheet:
    """The sheet, or the probe error of a run that has none or sees part of the checklist."""
    if ctx.sheet is None:
        return Result(
            Status.FAIL,
            "no Sign-Off Sheet to read: only the exporter's engine hands one to this probe",
            error=True,
        )
    if not ctx.sheet.whole:
        return Result(
            Status.FAIL,
            "cannot judge in a run of some items: signatures and the decision are bound to "
            "the whole checklist's state (run check without --item or --owner)",
            error=True,
        )
    return ctx.sheet


def judge_signoff(spec: SignoffSpec, sheet: Sheet, now: float) -> Result:
    """The verdict on the role's latest signature, as the sheet stands at ``now``."""
    signature = sheet.signature(spec.role)
    if signature is None:
        return Result(
            Status.PENDING,
            f'not signed yet: no signature of {spec.role} (readiness-exporter sign "{spec.role}" '
            "--by NAME)",
            {"role": spec.role},
        )
    evidence = _signature_evidence(signature)
    if not signature.by.strip():
        return Result(
            Status.FAIL,
            f"a signature of {signature.role} recorded without a name does not count",
            evidence,
        )
    signed = f"signed by {_person(signature.by, signature.user)} on {utc(signature.signed_at)}"
    if signature.signed_at > now + CLOCK_SKEW:
        return Result(
            Status.FAIL,
            f"{signed}, in the future: a date ahead of this machine's clock is wrong, not fresh",
            evidence,
        )
    too_old = _too_old(spec.max_age, signature.signed_at, now)
    if too_old:
        return Result(
            Status.FAIL, f"{signed}: {too_old}", evidence, observed_at=signature.signed_at
        )
    summary = f"{signed} for {signature.given_for}; {signature.reason}"
    status = Status.PASS if signature.counts else Status.FAIL
    return Result(status, summary, evidence, observed_at=signature.signed_at)


def _signature_evidence(s: SheetSignature) -> dict[str, Any]:
    return {
        "role": s.role,
        "by": s.by,
        "user": s.user,
        "signed_at": dt.datetime.fromtimestamp(s.signed_at, dt.UTC).isoformat(),
        "given_for": s.given_for,
        "counts": s.counts,
        "reason": s.reason,
        "notes": s.notes,
    }


def _too_old(max_age: float | None, at: float, now: float) -> str:
    """Why a record older than ``max_age`` no longer counts ("" while it does)."""
    if max_age is None or now - at <= max_age:
        return ""
    return (
        f"{format_duration(now - at)} old, more than max_age {format_duration(max_age)}: "
        "given for an earlier round of this checklist, record it again"
    )


def judge_decision(spec: DecisionSpec, sheet: Sheet, now: float) -> Result:
    """Whether the Go/No-Go decision is documented for the checklist as it is at ``now``."""
    record = sheet.decision
    if record is None:
        return Result(
            Status.PENDING,
            "not decided yet: no Go/No-Go decision recorded (readiness-exporter decide "
            "go|go_with_caution|no_go --by NAME --launch DATETIME)",
        )
    evidence = _decision_evidence(record)
    if not record.by.strip():
        return Result(
            Status.FAIL,
            f"a {record.label} decision recorded without a name does not count",
            evidence,
        )
    decided = (
        f"{record.label} decided by {_person(record.by, record.user)} on {utc(record.decided_at)}"
    )
    if record.decided_at > now + CLOCK_SKEW:
        return Result(
            Status.FAIL,
            f"{decided}, in the future: a date ahead of this machine's clock is wrong, not fresh",
            evidence,
        )
    too_old = _too_old(spec.max_age, record.decided_at, now)
    if too_old:
        return Result(Status.FAIL, f"{decided}: {too_old}", evidence, observed_at=record.decided_at)
    if record.computed_then != sheet.computed:
        return Result(
            Status.FAIL,
            f"{decided} when the checklist computed {record.computed_then_label}; it now "
            f"computes {sheet.computed_label}: the decision was made for another state, record "
            "it again (readiness-exporter decide)",
            evidence,
            observed_at=record.decided_at,
        )
    against = (
        f", against the computed {record.computed_then_label}"
        if record.decision != record.computed_then
        else ""
    )
    if record.decision not in NEEDS_LAUNCH:  # NO-GO: documented, and it says do not launch
        return Result(
            Status.FAIL,
            f"{decided}{against}: the launch is not approved",
            evidence,
            observed_at=record.decided_at,
        )
    if record.launch_at is None:
        return Result(
            Status.PARTIAL,
            f"{decided}{against}, with no launch date and time: record them "
            "(readiness-exporter decide --launch DATETIME) or set launch: in the config",
            evidence,
            observed_at=record.decided_at,
        )
    source = " (the config's launch:)" if record.launch_from_config else ""
    return Result(
        Status.PASS,
        f"{decided}{against}, launch {utc(record.launch_at)}{source}",
        evidence,
        observed_at=record.decided_at,
    )


def _decision_evidence(d: SheetDecision) -> dict[str, Any]:
    return {
        "decision": d.decision,
        "by": d.by,
        "user": d.user,
        "decided_at": dt.datetime.fromtimestamp(d.decided_at, dt.UTC).isoformat(),
        "computed_then": d.computed_then,
        "launch_at": (
            None
            if d.launch_at is None
            else dt.datetime.fromtimestamp(d.launch_at, dt.UTC).isoformat()
        ),
        "launch_from_config": d.launch_from_config,
        "notes": d.notes,
    }


async def probe_signoff(spec: SignoffSpec, ctx: ProbeContext) -> Result:
    sheet = _unreadable(ctx)
    if isinstance(sheet, Result):
        return sheet
    ctx.log(f"reading the signature of {spec.role} from the Sign-Off Sheet")
    return judge_signoff(spec, sheet, time.time())


async def probe_decision(spec: DecisionSpec, ctx: ProbeContext) -> Result:
    sheet = _unreadable(ctx)
    if isinstance(sheet, Result):
        return sheet
    ctx.log("reading the recorded Go/No-Go decision from the Sign-Off Sheet")
    return judge_decision(spec, sheet, time.time())
