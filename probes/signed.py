"""An attestation recorded outside the evidence files: what the attestation probe needs of one.

The exporter keeps people's attestations in its store (``readiness-exporter attest``, or
``POST /api/v1/items/<ID>/attestation``) and hands the item's latest to its probe through the
``ProbeContext``; the probe weighs it against the evidence file (probes/attestation.py: the one
signed last counts). Probes never import the exporter, so the record is described here by what
it has, and exporter/launch.py's ``Attestation`` fits it.
"""

from __future__ import annotations

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
