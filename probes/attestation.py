"""Attestation probe: a person's signed evidence for an item, with an expiry.

The evidence file holds the checklist's own evidence fields::

    status: pass              # pass | partial | fail | na | pending
    validated_by: Jane Doe
    date: 2026-11-01          # when it was validated
    evidence:                 # what was checked: strings or links
      - Restore drill log https://wiki.example/dr-2026-11
    notes: Next drill in February
    expires: 2027-02-01       # optional

A missing file is PENDING; an expired one, or one older than ``max_age``, is FAIL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import safeyaml
from .context import ProbeContext
from .fields import Fields, format_duration
from .reading import read_capped
from .result import Result, Status

FILE_CAP = 256 * 1024  # bytes; an evidence file is a short YAML document
STATUSES = {s.value: s for s in Status}
FIELDS = ("status", "validated_by", "date", "evidence", "notes", "expires")


@dataclass(frozen=True)
class Spec:
    file: Path
    max_age: float | None = None  # seconds a signature stays valid


def parse_spec(f: Fields) -> Spec:
    spec = Spec(file=f.path("file"), max_age=f.duration("max_age", None))
    f.done()
    return spec


class EvidenceError(ValueError):
    """Raised when an evidence file cannot be read as the attestation format."""


def parse_when(value: Any, field: str) -> dt.datetime:
    """A date or timestamp from an evidence file, as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip().removesuffix("UTC").strip().replace("Z", "+00:00")
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise EvidenceError(
                f"{field} must be a date such as 2026-11-01 (got {value!r})"
            ) from None
    else:
        raise EvidenceError(f"{field} must be a date such as 2026-11-01 (got {value!r})")
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def load_evidence(path: Path) -> dict[str, Any]:
    """The evidence file's fields, checked; raises EvidenceError with a readable reason."""
    data = read_capped(path, FILE_CAP + 1)
    if len(data) > FILE_CAP:
        raise EvidenceError(f"is larger than {FILE_CAP // 1024} KiB")
    try:
        doc = safeyaml.load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise EvidenceError("is not UTF-8 text") from None
    except safeyaml.DocumentError as exc:
        raise EvidenceError(f"at {exc}" if exc.line else f"is {exc}") from None
    if not isinstance(doc, dict):
        raise EvidenceError("must be a mapping with status, validated_by, date and evidence")
    unknown = [k for k in doc if k not in FIELDS]
    if unknown:
        raise EvidenceError(f"has unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
    status = doc.get("status")
    if str(status).lower() not in STATUSES:
        raise EvidenceError(f"status must be one of {', '.join(STATUSES)} (got {status!r})")
    if not doc.get("validated_by"):
        raise EvidenceError("validated_by is required: who signed it")
    if doc.get("date") is None:
        raise EvidenceError("date is required: when it was validated")
    evidence = doc.get("evidence") or []
    if isinstance(evidence, str):
        evidence = [evidence]
    if not isinstance(evidence, list) or any(isinstance(e, (list, dict)) for e in evidence):
        raise EvidenceError("evidence must be a list of strings or links")
    return {
        "status": STATUSES[str(status).lower()],
        "validated_by": str(doc["validated_by"]),
        "date": parse_when(doc["date"], "date"),
        "evidence": [str(e) for e in evidence],
        "notes": str(doc.get("notes") or ""),
        "expires": parse_when(doc["expires"], "expires") if doc.get("expires") else None,
    }


def judge(spec: Spec, now: float | None = None) -> Result:
    now = time.time() if now is None else now
    name = spec.file.name
    try:
        doc = load_evidence(spec.file)
    except FileNotFoundError:
        return Result(
            Status.PENDING, f"not attested yet: {name} does not exist", {"file": str(spec.file)}
        )
    except (OSError, EvidenceError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Result(
            Status.FAIL,
            f"{name} {reason}"
            if isinstance(exc, EvidenceError)
            else f"{name} cannot be read ({reason})",
            {"file": str(spec.file)},
        )
    signed = f"signed by {doc['validated_by']} on {doc['date']:%Y-%m-%d}"
    evidence = {
        "file": str(spec.file),
        "validated_by": doc["validated_by"],
        "date": doc["date"].isoformat(),
        "evidence": doc["evidence"],
        "notes": doc["notes"],
    }
    deadlines = []
    if doc["expires"] is not None:
        deadlines.append(doc["expires"].timestamp())
        evidence["expires"] = doc["expires"].isoformat()
    if spec.max_age is not None:
        deadlines.append(doc["date"].timestamp() + spec.max_age)
    expires_at = min(deadlines) if deadlines else None

    if doc["expires"] is not None and doc["expires"].timestamp() <= now:
        return Result(
            Status.FAIL, f"expired on {doc['expires']:%Y-%m-%d} ({signed})", evidence, expires_at
        )
    age = now - doc["date"].timestamp()
    if spec.max_age is not None and age > spec.max_age:
        return Result(
            Status.FAIL,
            f"attestation is {format_duration(age)} old, expected at most "
            f"{format_duration(spec.max_age)} ({signed})",
            evidence,
            expires_at,
        )
    summary = f"{doc['status'].label} attested, {signed}"
    if expires_at is not None:
        summary += f", valid until {dt.datetime.fromtimestamp(expires_at, dt.UTC):%Y-%m-%d}"
    return Result(doc["status"], summary, evidence, expires_at)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"reading {spec.file}")
    return await asyncio.to_thread(judge, spec)
