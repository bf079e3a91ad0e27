"""``attest``: record a person's attestation for an item in its evidence file, atomically.

The file is the one the item's ``attestation`` probe reads (see probes/attestation.py for the
format), and names the item it is for. It is written to a temporary file in the same folder and
renamed over the old one, so a crash leaves either the old file or the new one, never half of
either. It keeps the old file's permissions, or for a new file takes the folder's read access
(a folder others may read gets a file they may read: the exporter may run as another user). A
running exporter notices the new file within a few seconds (the engine watches attestation
files) without a reload.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from probes.attestation import FILE_CAP, STATUSES
from probes.fields import parse_duration
from probes.kind import Registry
from probes.registry import KINDS

from .config import Checklist
from .errors import UserError


class AttestError(UserError):
    """Raised when an attestation cannot be recorded; the message names the item and why."""


def evidence_file(checklist: Checklist, item_id: str, kinds: Registry = KINDS) -> Path:
    """The evidence file of ``item_id``; raises AttestError for unknown or non-attested items."""
    item = checklist.item(item_id)
    if item is None:
        raise AttestError(f"unknown item {item_id}: not in {checklist.path.name}")
    signed_files = kinds[item.kind].signed_files if item.kind in kinds else None
    if item.from_sheet:  # a sign-off or the decision: recorded with sign or decide
        raise AttestError(
            f"{item_id} answers from the Sign-Off Sheet (its probe is {item.kind}): record it "
            "with readiness-exporter sign ROLE --by NAME, or decide go|go_with_caution|no_go "
            "--by NAME --launch DATETIME"
        )
    if signed_files is None:
        kind = item.kind or "no probe"
        raise AttestError(
            f"{item_id} has no attestation probe in {checklist.path.name} "
            f"(its probe is {kind}): nothing to attest"
        )
    if item.missing:
        raise AttestError(
            f"{item_id}: its evidence file's path needs {', '.join(item.missing)}, which is not set"
        )
    # The attestation may sit beside a precondition probe: all: [{file: ...}, {attestation: ...}]
    files = signed_files(item.spec)
    if not files:
        raise AttestError(
            f"{item_id} has no attestation probe in {checklist.path.name} "
            f"(its probe is {item.kind}): nothing to attest"
        )
    if len(files) > 1:
        raise AttestError(
            f"{item_id} has {len(files)} attestation probes in {checklist.path.name}: "
            "cannot tell which one to write"
        )
    return Path(files[0])


def document(
    item_id: str,
    status: str,
    by: str,
    evidence: Sequence[str],
    notes: str = "",
    expires: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The evidence file's fields; raises AttestError for a bad status or expiry."""
    if status.lower() not in STATUSES:
        raise AttestError(f"--status must be one of {', '.join(STATUSES)} (got {status!r})")
    if not by.strip():
        raise AttestError("--by must name the person who validated the item")
    now = now or dt.datetime.now(dt.UTC)
    doc: dict[str, Any] = {
        "item": item_id,
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


def file_mode(path: Path) -> int:
    """The permissions to write ``path`` with: its own, or its folder's read access for others.

    mkstemp's 0600 would lock out an exporter that runs as another user (a container).
    """
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        folder = os.stat(path.parent).st_mode
        return 0o600 | (folder & (stat.S_IRGRP | stat.S_IROTH))


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
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
) -> tuple[Path, dict[str, Any]]:
    """Write the item's evidence file; returns its path and what was written."""
    path = evidence_file(checklist, item_id)
    doc = document(item_id, status, by, evidence, notes, expires)
    # The ID is in the ID alphabet (checked at load): nothing in it can end the comment.
    header = f"# Attestation for {item_id}, written by readiness-exporter attest.\n"
    text = header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    size = len(text.encode("utf-8"))
    if size > FILE_CAP:
        raise AttestError(
            f"{item_id}: the evidence file would be {size:,} bytes, more than the "
            f"{FILE_CAP:,} its probe reads: shorten --evidence or --notes"
        )
    write_atomically(path, text)
    return path, doc
