"""What a probe reports: the checklist's statuses and a result with its evidence."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
    """The checklist's five statuses, in the order the document's legend gives them."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    PARTIAL = "partial"
    FAIL = "fail"
    PENDING = "pending"
    NA = "na"

    @property
    def label(self) -> str:
        """The status as the checklist document writes it (PASS, N/A, ...)."""
        return "N/A" if self is Status.NA else self.name


@dataclass(frozen=True, slots=True)  # slots: one per item and run
class Result:
    """One probe's verdict: a status, a one-line summary (observed beside expected) and evidence."""

    status: Status
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    # Unix time when what was checked stops being valid (a certificate, an attestation).
    expires_at: float | None = None
    # True when the probe could not judge (timeout, exception): counted as a probe error.
    error: bool = False
    # Unix time the evidence itself was made (a signature's date), when the probe knows it and
    # it is not the probe run; a post-launch task counts evidence made after the launch only.
    observed_at: float | None = None


def passed(summary: str, **evidence: Any) -> Result:
    return Result(Status.PASS, summary, evidence)


def failed(summary: str, **evidence: Any) -> Result:
    return Result(Status.FAIL, summary, evidence)
