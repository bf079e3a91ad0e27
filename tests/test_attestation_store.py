"""An attestation recorded in the store beside the item's evidence file: the one signed last
counts, whichever way it was recorded; one that cannot count (signed in the future, expired,
too old) is never a PASS."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import yaml

from exporter.launch import DAY, HOUR, Attestation
from probes.attestation import CLOCK_SKEW, Spec, judge, probe
from probes.context import ProbeContext, Resources
from probes.result import Status

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC).timestamp()


def sign_file(path: Path, status: str, date: str, item: str = "T-001") -> Path:
    doc = {"item": item, "status": status, "validated_by": "File Signer", "date": date}
    path.write_text(yaml.safe_dump(doc))
    return path


def recorded(status: Status, signed_at: float, **kw) -> Attestation:
    return Attestation(
        "T-001", status, "Store Signer", signed_at, ("drill log",), user="ssigner", **kw
    ).validated()


def test_the_store_s_attestation_counts_when_signed_after_the_file(tmp_path):
    spec = Spec(sign_file(tmp_path / "T-001.yaml", "fail", "2026-11-10T09:00:00Z"))
    result = judge(spec, "T-001", NOW, recorded(Status.PASS, NOW - DAY))
    assert result.status is Status.PASS
    assert result.summary == (
        "PASS attested, signed by Store Signer (user ssigner) on 2026-11-19 (recorded in the store)"
    )
    assert result.evidence["source"] == "store"
    assert result.evidence["evidence"] == ["drill log"]
    assert result.observed_at == NOW - DAY


def test_the_file_counts_when_signed_after_the_store_s(tmp_path):
    spec = Spec(sign_file(tmp_path / "T-001.yaml", "fail", "2026-11-20T09:00:00Z"))
    result = judge(spec, "T-001", NOW, recorded(Status.PASS, NOW - DAY))
    assert result.status is Status.FAIL
    assert result.summary == "FAIL attested, signed by File Signer on 2026-11-20"
    assert result.evidence["file"] == str(spec.file)


def test_on_a_tie_the_store_s_counts(tmp_path):
    spec = Spec(sign_file(tmp_path / "T-001.yaml", "fail", "2026-11-20T00:00:00Z"))
    midnight = dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp()
    assert judge(spec, "T-001", NOW, recorded(Status.PASS, midnight)).status is Status.PASS


def test_a_file_dated_by_day_loses_to_a_store_record_of_the_same_day(tmp_path):
    spec = Spec(sign_file(tmp_path / "T-001.yaml", "fail", "2026-11-20"))
    assert judge(spec, "T-001", NOW, recorded(Status.PASS, NOW - HOUR)).status is Status.PASS


def test_without_a_file_the_store_s_attestation_counts(tmp_path):
    spec = Spec(tmp_path / "T-001.yaml")
    assert judge(spec, "T-001", NOW).status is Status.PENDING
    assert judge(spec, "T-001", NOW, recorded(Status.PARTIAL, NOW - HOUR)).status is Status.PARTIAL


def test_a_file_that_cannot_count_leaves_the_store_s_to_count(tmp_path):
    copied = Spec(sign_file(tmp_path / "T-001.yaml", "pass", "2026-11-20", item="T-002"))
    assert judge(copied, "T-001", NOW).status is Status.FAIL
    result = judge(copied, "T-001", NOW, recorded(Status.FAIL, NOW - 10 * DAY))
    assert (result.status, result.evidence["source"]) == (Status.FAIL, "store")
    future = Spec(sign_file(tmp_path / "T-001.yaml", "pass", "2026-12-24"))
    assert judge(future, "T-001", NOW).summary.startswith("signed in the future")
    result = judge(future, "T-001", NOW, recorded(Status.FAIL, NOW - 10 * DAY))
    assert (result.status, result.evidence["source"]) == (Status.FAIL, "store")


def test_a_store_signature_dated_in_the_future_does_not_count(tmp_path):
    spec = Spec(sign_file(tmp_path / "T-001.yaml", "fail", "2026-11-10"))
    ahead = recorded(Status.PASS, NOW + CLOCK_SKEW + 60)
    assert judge(spec, "T-001", NOW, ahead).status is Status.FAIL  # the file's, not a PASS
    skewed = recorded(Status.PASS, NOW + CLOCK_SKEW - 60)
    assert judge(spec, "T-001", NOW, skewed).status is Status.PASS  # a few minutes: skew


def test_an_expired_store_attestation_is_a_fail_not_a_pass(tmp_path):
    spec = Spec(tmp_path / "T-001.yaml")
    old = recorded(Status.PASS, NOW - 10 * DAY, expires_at=NOW - DAY)
    result = judge(spec, "T-001", NOW, old)
    assert result.status is Status.FAIL
    assert result.summary.startswith("expired on 2026-11-19 (signed by Store Signer")
    assert result.expires_at == NOW - DAY


def test_max_age_holds_for_a_store_attestation_too(tmp_path):
    spec = Spec(tmp_path / "T-001.yaml", max_age=7 * DAY)
    result = judge(spec, "T-001", NOW, recorded(Status.PASS, NOW - 8 * DAY))
    assert result.status is Status.FAIL
    assert result.summary.startswith("attestation is 8 days old, expected at most 7d")


def test_the_probe_reads_the_store_s_attestation_from_its_context(tmp_path):
    spec = Spec(tmp_path / "T-001.yaml")
    resources = Resources()

    async def run(attested):
        ctx = ProbeContext(resources, 5.0, item="T-001", attested=attested)
        return await probe(spec, ctx), await probe(spec, ctx.child())

    async def both():
        try:
            return await run(recorded(Status.PASS, time.time() - HOUR)), await run(None)
        finally:
            await resources.aclose()

    (alone, child), (unrecorded, _) = asyncio.run(both())
    assert alone.status is child.status is Status.PASS
    assert unrecorded.status is Status.PENDING
