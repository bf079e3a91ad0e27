"""The attestation kind on files in tmp_path: a person's signed evidence, its statuses, its expiry,
and what a malformed file says. Binding evidence to its item is test_attestation_binding.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from support.probing import ITEM, run

from probes.result import Status


def attest(path: Path, **fields: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"item": ITEM, **fields}))


async def test_a_missing_file_is_pending(tmp_path):
    result = await run({"attestation": {"file": "att/T-001.yaml"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.PENDING,
        "not attested yet: T-001.yaml does not exist",
    )


async def test_a_pass_says_who_signed_when_and_until_when(tmp_path):
    today = dt.date.today()
    until = today + dt.timedelta(days=30)
    attest(
        tmp_path / "T-001.yaml",
        status="pass",
        validated_by="Jane Doe",
        date=today,
        evidence=["workshop 2026-11 slides"],
        expires=until,
    )
    result = await run({"attestation": {"file": "T-001.yaml"}}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary == (
        f"PASS attested, signed by Jane Doe on {today:%Y-%m-%d}, valid until {until:%Y-%m-%d}"
    )
    assert result.evidence["evidence"] == ["workshop 2026-11 slides"]
    assert result.expires_at == dt.datetime.combine(until, dt.time(), dt.UTC).timestamp()


async def test_an_expired_attestation_fails_and_says_who_signed(tmp_path):
    attest(
        tmp_path / "T-001.yaml",
        status="pass",
        validated_by="Jane Doe",
        date=dt.date(2026, 1, 5),
        expires=dt.date(2026, 4, 5),
    )
    result = await run({"attestation": {"file": "T-001.yaml"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "expired on 2026-04-05 (signed by Jane Doe on 2026-01-05)",
    )


async def test_a_signature_older_than_max_age_fails(tmp_path):
    signed = dt.date.today() - dt.timedelta(days=120)
    attest(tmp_path / "T-001.yaml", status="pass", validated_by="Ops", date=signed)
    result = await run({"attestation": {"file": "T-001.yaml", "max_age": "90d"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.startswith("attestation is 120 days")
    assert result.summary.endswith(
        f"old, expected at most 90d (signed by Ops on {signed:%Y-%m-%d})"
    )


@pytest.mark.parametrize(
    "content, summary",
    [
        (
            b"status: [",
            "T-001.yaml at line 2, column 1: invalid YAML: did not find expected node content",
        ),
        (
            b"- a list\n",
            "T-001.yaml must be a mapping with item, status, validated_by, date and evidence",
        ),
        (
            b"status: maybe\nvalidated_by: x\ndate: 2026-01-01\n",
            "T-001.yaml status must be one of pass, partial, fail, pending, na (got 'maybe')",
        ),
        (b"status: pass\ndate: 2026-01-01\n", "T-001.yaml validated_by is required: who signed it"),
        (
            b"status: pass\nvalidated_by: x\ndate: someday\n",
            "T-001.yaml date must be a date such as 2026-11-01 (got 'someday')",
        ),
        (b"\xff\xfe\x00", "T-001.yaml is not UTF-8 text"),
        (
            b"status: pass\nvalidated_by: x\ndate: 2026-01-01\nsigned: yes\n",
            "T-001.yaml has unknown field 'signed' "
            "(known: item, status, validated_by, date, evidence, notes, expires)",
        ),
    ],
)
async def test_a_malformed_file_fails_with_its_reason(tmp_path, content, summary):
    (tmp_path / "T-001.yaml").write_bytes(content)
    result = await run({"attestation": {"file": "T-001.yaml"}}, tmp_path)
    assert (result.status, result.summary) == (Status.FAIL, summary)


@pytest.mark.parametrize("status", [Status.PARTIAL, Status.NA, Status.FAIL])
async def test_the_status_signed_is_the_items(tmp_path, status):
    attest(tmp_path / "T-001.yaml", status=status.value, validated_by="x", date=dt.date.today())
    assert (await run({"attestation": {"file": "T-001.yaml"}}, tmp_path)).status is status
