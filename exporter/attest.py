"""``attest``: record a person's attestation for an item in its evidence file, atomically.

The file is the one the item's ``attestation`` probe reads (see probes/attestation.py for the
format). It is written to a temporary file in the same folder and renamed over the old one, so a
crash leaves either the old file or the new one, never half of either. A running exporter notices
the new file within a few seconds (the engine watches attestation files) without a reload.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from probes.attestation import STATUSES
from probes.composite import leaves
from probes.fields import parse_duration

from .config import Checklist


class AttestError(Exception):
    """Raised when an attestation cannot be recorded; the message names the item and why."""


def evidence_file(checklist: Checklist, item_id: str) -> Path:
    """The evidence file of ``item_id``; raises AttestError for unknown or non-attested items."""
    item = checklist.item(item_id)
    if item is None:
        raise AttestError(f"unknown item {item_id}: not in {checklist.path.name}")
    # The attestation may sit beside a precondition probe: all: [{file: ...}, {attestation: ...}]
    files = [spec.file for kind, spec in leaves(item.kind, item.spec) if kind == "attestation"]
    if not files:
        kind = item.kind or "no probe"
        raise AttestError(
            f"{item_id} has no attestation probe in {checklist.path.name} "
            f"(its probe is {kind}): nothing to attest"
        )
    if len(files) > 1:
        raise AttestError(
            f"{item_id} has {len(files)} attestation probes in {checklist.path.name}: "
            "cannot tell which one to write"
        )
    return Path(files[0])


def document(
    status: str,
    by: str,
    evidence: Sequence[str],
    notes: str = "",
    expires: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """The evidence file's fields; raises AttestError for a bad status or expiry."""
    if status.lower() not in STATUSES:
        raise AttestError(f"--status must be one of {', '.join(STATUSES)} (got {status!r})")
    if not by.strip():
        raise AttestError("--by must name the person who validated the item")
    now = now or dt.datetime.now(dt.UTC)
    doc: dict = {
        "status": status.lower(),
        "validated_by": by.strip(),
        "date": now.replace(microsecond=0).isoformat(),
        "evidence": list(evidence),
    }
    if notes:
        doc["notes"] = notes
    if expires:
        try:
            seconds = parse_duration(expires)
        except ValueError:
            raise AttestError(
                f"--expires must be a duration such as 30d or 12h (got {expires!r})"
            ) from None
        doc["expires"] = (now + dt.timedelta(seconds=seconds)).replace(microsecond=0).isoformat()
    return doc


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def attest(
    checklist: Checklist,
    item_id: str,
    status: str,
    by: str,
    evidence: Sequence[str],
    notes: str = "",
    expires: str | None = None,
) -> tuple[Path, dict]:
    """Write the item's evidence file; returns its path and what was written."""
    path = evidence_file(checklist, item_id)
    doc = document(status, by, evidence, notes, expires)
    header = f"# Attestation for {item_id}, written by readiness-exporter attest.\n"
    write_atomically(path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path, doc
