"""Attestation probe: a person's signed evidence for an item, with an expiry.

The evidence file holds the checklist's own evidence fields::

    item: T-001               # the item it is evidence for: must be the item's ID
    status: pass              # pass | partial | fail | na | pending
    validated_by: Jane Doe
    date: 2026-11-01          # when it was validated
    evidence:                 # what was checked: strings or links
      - Restore drill log https://wiki.example/dr-2026-11
    notes: Next drill in February
    expires: 2027-02-01       # optional

A missing file is PENDING; an expired one, or one older than ``max_age``, is FAIL. Evidence is
bound to its item: a file that names another item (a copy of another item's PASS) or none, a
symbolic link, or a signature dated in the future is FAIL, never a PASS.

People may also attest through the exporter (``readiness-exporter attest`` or the HTTP API),
which records the attestation in its store; the probe gets the item's latest through its
``ProbeContext`` and the one signed last counts (``judge``).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import safeyaml
from .context import ProbeContext
from .fields import Fields, format_age, format_duration
from .reading import NotRegularFile, read_capped
from .result import Result, Status
from .signed import Signed

FILE_CAP = 256 * 1024  # bytes; an evidence file is a short YAML document
STATUSES = {s.value: s for s in Status}
FIELDS = ("item", "status", "validated_by", "date", "evidence", "notes", "expires")
# How far a signature's time may run ahead of this machine's clock: the signer's clock drifts.
CLOCK_SKEW = 5 * 60
# A date without a time is a day that begins first at UTC+14: only once it has begun nowhere
# on Earth is it in the future.
EARLIEST_ZONE = dt.timedelta(hours=14)


@dataclass(frozen=True)
class Spec:
    file: Path
    max_age: float | None = None  # seconds a signature stays valid


def parse_spec(f: Fields) -> Spec:
    return Spec(file=f.path("file"), max_age=f.optional_duration("max_age"))


def watched_files(spec: Spec) -> tuple[Path, ...]:
    """The evidence file: the engine probes the item as soon as someone signs it."""
    return (spec.file,)


def signed_files(spec: Spec) -> tuple[Path, ...]:
    """The evidence file ``attest`` writes for the item."""
    return (spec.file,)


class EvidenceError(ValueError):
    """Raised when an evidence file cannot be read as the attestation format."""


@dataclass(frozen=True)
class Evidence:
    """An evidence file's fields, checked."""

    item: str | None  # None in files written before evidence named its item
    status: Status
    validated_by: str
    date: dt.datetime  # aware
    earliest: dt.datetime  # the earliest moment ``date`` can stand for (a day begins at UTC+14)
    evidence: list[str]
    notes: str
    expires: dt.datetime | None


def parse_when(value: Any, field: str) -> tuple[dt.datetime, bool]:
    """A date or timestamp from an evidence file as an aware datetime, and whether it is a day."""
    if isinstance(value, dt.datetime):
        when, day = value, False
    elif isinstance(value, dt.date):
        when, day = dt.datetime(value.year, value.month, value.day), True
    elif isinstance(value, str):
        text = value.strip().removesuffix("UTC").strip().replace("Z", "+00:00")
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise EvidenceError(
                f"{field} must be a date such as 2026-11-01 (got {value!r})"
            ) from None
        day = _is_day(text)
    else:
        raise EvidenceError(f"{field} must be a date such as 2026-11-01 (got {value!r})")
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)), day


def _is_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_evidence(path: Path) -> bytes:
    """The file's bytes, up to one more than the cap; a symbolic link is an EvidenceError.

    A link would let one item's evidence stand for another's. The one link accepted is the
    layout of a Kubernetes ConfigMap volume, where each file is ``NAME -> ..data/NAME``: the
    same name in the volume's current version, which Kubernetes swaps atomically on update.
    """
    try:
        return read_capped(path, FILE_CAP + 1, follow_symlinks=False)
    except OSError as exc:
        if exc.errno != errno.ELOOP or not path.is_symlink():
            raise
    if os.readlink(path) != f"..data/{path.name}":
        raise EvidenceError("is a symbolic link: evidence must be the item's own file")
    return read_capped(path.parent / "..data" / path.name, FILE_CAP + 1, follow_symlinks=False)


def load_evidence(path: Path) -> Evidence:
    """The evidence file's fields, checked; raises EvidenceError with a readable reason."""
    data = read_evidence(path)
    if len(data) > FILE_CAP:
        raise EvidenceError(f"is larger than {FILE_CAP // 1024} KiB")
    try:
        doc = safeyaml.load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise EvidenceError("is not UTF-8 text") from None
    except safeyaml.DocumentError as exc:
        raise EvidenceError(f"at {exc}" if exc.line else f"is {exc}") from None
    if not isinstance(doc, dict):
        raise EvidenceError("must be a mapping with item, status, validated_by, date and evidence")
    unknown = [k for k in doc if k not in FIELDS]
    if unknown:
        raise EvidenceError(f"has unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
    item = doc.get("item")
    if item is not None and not isinstance(item, str):
        # An ID such as 001 or 1.10 reads as a number unless it is quoted.
        raise EvidenceError(f'item must be text: quote the ID (item: "{item}")')
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
    date, day = parse_when(doc["date"], "date")
    return Evidence(
        item=item,
        status=STATUSES[str(status).lower()],
        validated_by=str(doc["validated_by"]),
        date=date,
        earliest=date - EARLIEST_ZONE if day else date - dt.timedelta(seconds=CLOCK_SKEW),
        evidence=[str(e) for e in evidence],
        notes=str(doc.get("notes") or ""),
        expires=parse_when(doc["expires"], "expires")[0] if doc.get("expires") else None,
    )


def judge(
    spec: Spec, item: str, now: float | None = None, recorded: Signed | None = None
) -> Result:
    """The verdict on the item with ID ``item``: its evidence file, or ``recorded`` (its latest
    attestation in the exporter's store) when that was signed later.

    The one rule for two ways of attesting: **the one signed last counts**. A file that is
    missing, cannot be read as evidence, names another item or is signed in the future has no
    signature that counts, so a recorded attestation wins over it; on a tie the recorded one
    wins (it carries the authenticated user). A recorded signature dated beyond CLOCK_SKEW in
    the future does not count either.
    """
    now = time.time() if now is None else now
    name = spec.file.name
    seen: dict[str, Any] = {"file": str(spec.file)}
    if not item:  # run without an item (not by the engine): nothing to bind the evidence to
        return Result(Status.FAIL, f"{name}: no item ID to check it against", seen, error=True)
    doc, refused = _file_evidence(spec.file, item, now, seen)
    if recorded is not None and recorded.signed_at > now + CLOCK_SKEW:
        recorded = None
    if recorded is not None and (doc is None or recorded.signed_at >= doc.date.timestamp()):
        return _verdict(spec, _from_store(item, recorded), {"source": "store"}, now)
    if doc is None:
        assert refused is not None
        return refused
    return _verdict(spec, doc, seen, now)


def _file_evidence(
    path: Path, item: str, now: float, seen: dict[str, Any]
) -> tuple[Evidence | None, Result | None]:
    """The evidence file's signature that counts, or the verdict on a file without one."""
    name = path.name
    try:
        doc = load_evidence(path)
    except FileNotFoundError:
        return None, Result(Status.PENDING, f"not attested yet: {name} does not exist", seen)
    except EvidenceError as exc:
        return None, Result(Status.FAIL, f"{name} {exc}", seen)
    except OSError as exc:
        # A FIFO or a directory is no evidence: a verdict. Permissions or I/O failing mean the
        # probe could not look: a probe error.
        return None, Result(
            Status.FAIL,
            f"{name} cannot be read ({exc.strerror or exc})",
            seen,
            error=not isinstance(exc, NotRegularFile),
        )
    if doc.item is None:
        return None, Result(
            Status.FAIL,
            f"{name} does not name its item: add item: {item} (see attestations/README.md)",
            seen,
        )
    if doc.item != item:
        return None, Result(
            Status.FAIL,
            f"{name} is evidence for {doc.item}, expected {item} (copied from another item?)",
            {**seen, "item": doc.item},
        )
    if doc.earliest.timestamp() > now:
        signed = f"signed by {doc.validated_by} on {doc.date:%Y-%m-%d}"
        return None, Result(Status.FAIL, f"signed in the future ({signed})", seen)
    return doc, None


def _from_store(item: str, recorded: Signed) -> Evidence:
    date = dt.datetime.fromtimestamp(recorded.signed_at, dt.UTC)
    by = recorded.by
    if recorded.user and recorded.user != recorded.by:
        by = f"{recorded.by} (user {recorded.user})"
    expires = recorded.expires_at
    return Evidence(
        item=item,
        status=recorded.status,
        validated_by=by,
        date=date,
        earliest=date,
        evidence=list(recorded.evidence),
        notes=recorded.notes,
        expires=None if expires is None else dt.datetime.fromtimestamp(expires, dt.UTC),
    )


def _verdict(spec: Spec, doc: Evidence, seen: dict[str, Any], now: float) -> Result:
    """The signature's verdict: its status while it holds, FAIL once expired or too old."""
    signed = f"signed by {doc.validated_by} on {doc.date:%Y-%m-%d}"
    if seen.get("source") == "store":
        signed += " (recorded in the store)"
    evidence: dict[str, Any] = {
        **seen,
        "validated_by": doc.validated_by,
        "date": doc.date.isoformat(),
        "evidence": doc.evidence,
        "notes": doc.notes,
    }
    deadlines = []
    if doc.expires is not None:
        deadlines.append(doc.expires.timestamp())
        evidence["expires"] = doc.expires.isoformat()
    if spec.max_age is not None:
        deadlines.append(doc.date.timestamp() + spec.max_age)
    expires_at = min(deadlines) if deadlines else None
    signed_at = doc.date.timestamp()

    if doc.expires is not None and doc.expires.timestamp() <= now:
        return Result(
            Status.FAIL,
            f"expired on {doc.expires:%Y-%m-%d} ({signed})",
            evidence,
            expires_at,
            observed_at=signed_at,
        )
    age = max(0.0, now - doc.date.timestamp())  # a day signed east of here may not have begun
    if spec.max_age is not None and age > spec.max_age:
        return Result(
            Status.FAIL,
            f"attestation is {format_age(age, spec.max_age)} old, expected at most "
            f"{format_duration(spec.max_age)} ({signed})",
            evidence,
            expires_at,
            observed_at=signed_at,
        )
    summary = f"{doc.status.label} attested, {signed}"
    if expires_at is not None:
        summary += f", valid until {dt.datetime.fromtimestamp(expires_at, dt.UTC):%Y-%m-%d}"
    return Result(doc.status, summary, evidence, expires_at, observed_at=signed_at)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"reading {spec.file}")
    if ctx.attested is not None:
        at = dt.datetime.fromtimestamp(ctx.attested.signed_at, dt.UTC)
        ctx.log(f"an attestation signed {at:%Y-%m-%d %H:%M:%S} UTC is recorded in the store")
    return await ctx.blocking(
        ctx.resources.evidence, judge, spec, ctx.item, None, ctx.attested, target=str(spec.file)
    )
