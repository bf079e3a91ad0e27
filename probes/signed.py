"""People's records as probes see them: an attestation recorded outside the evidence files, and
the Sign-Off Sheet (signatures and the Go/No-Go decision).

The exporter keeps people's attestations in its store (``readiness-exporter attest``, or
``POST /api/v1/items/<ID>/attestation``) and hands the item's latest to its probe through the
``ProbeContext``; the probe weighs it against the evidence file (probes/attestation.py: the one
signed last counts). It hands the ``signoff`` and ``decision`` kinds the Sign-Off Sheet the same
way (``ProbeContext.sheet``). Probes never import the exporter, so the records are described here
by what they have: exporter/launch.py's ``Attestation`` fits ``Signed``, and the exporter builds
the sheet's plain records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .result import Status


class Signed(Protocol):
    """A person's signed statement of an item's status, recorded at ``signed_at``."""

    @property
    def status(self) -> Status: ...
    @property
    def by(self) -> str: ...  # the name the person gave
    @property
    def user(self) -> str | None: ...  # the authenticated user who sent it, if any
    @property
    def signed_at(self) -> float: ...
    @property
    def evidence(self) -> tuple[str, ...]: ...
    @property
    def notes(self) -> str: ...
    @property
    def expires_at(self) -> float | None: ...


# --- The Sign-Off Sheet ---------------------------------------------------------------------
#
# The ``signoff`` and ``decision`` kinds (probes/sheet.py) answer from the Sign-Off Sheet: the
# signatures people gave for a state of the checklist, and the Go/No-Go decision they recorded.
# The engine hands them the sheet as it stands when the probe runs, with each signature already
# checked against the checklist's state (exporter/launch.py's ``check_signature``: that rule is
# the exporter's, written once there).


@dataclass(frozen=True)
class SheetSignature:
    """A role's latest signature, and whether it counts for the checklist as it is now."""

    role: str  # as the config names it
    by: str  # the name the person gave
    user: str | None  # the authenticated user who sent it, if any
    signed_at: float
    notes: str
    given_for: str  # the state it was given for, in words: "GO (total 96.6 %, critical 100 %)"
    counts: bool
    reason: str  # why it counts or not: "given for another state: decision was GO, now NO-GO"


@dataclass(frozen=True)
class SheetDecision:
    """The latest Go/No-Go decision recorded, and the launch time in force."""

    decision: str  # go | go_with_caution | no_go
    label: str  # GO | GO WITH CAUTION | NO-GO
    by: str  # the decision maker, as given
    user: str | None
    decided_at: float
    computed_then: str  # the decision the checklist computed when it was recorded (a value)
    computed_then_label: str
    launch_at: float | None  # the launch time in force: the record's, else the config's
    launch_from_config: bool  # the launch time is the config's launch:, not the record's
    notes: str = ""


class Sheet(Protocol):
    """The Sign-Off Sheet as the exporter knows it when the probe runs."""

    @property
    def whole(self) -> bool: ...  # False in a run of some items: signatures bind the whole list
    @property
    def computed(self) -> str: ...  # the decision computed now (a value), as signatures see it
    @property
    def computed_label(self) -> str: ...
    @property
    def decision(self) -> SheetDecision | None: ...
    def signature(self, role: str) -> SheetSignature | None: ...  # matched as the config does
