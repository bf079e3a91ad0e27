"""An attestation beside a precondition probe (``all: [{file: ...}, {attestation: ...}]``).

Items whose question only a person can answer, but whose evidence must at least exist, combine
a probe with an attestation (S-001, O-003, DOC-009, DOC-010 in the shipped config). ``attest``
writes their evidence file, and the engine watches it, as for a plain attestation item.
"""

from __future__ import annotations

import pytest

from exporter import config
from exporter.attest import AttestError, attest
from exporter.engine import Engine
from probes.result import Status

CONFIG = """\
categories:
- id: docs
  title: Documentation
  items:
  - id: DOC-9
    title: Handover documentation complete
    priority: medium
    probe:
      all:
      - file: {path: HANDOVER.md, min_size: 10}
      - attestation: {file: evidence/DOC-9.yaml, max_age: 90d}
  - id: DOC-10
    title: Two signatures
    priority: medium
    probe:
      any:
      - attestation: {file: evidence/a.yaml}
      - attestation: {file: evidence/b.yaml}
"""


async def test_attest_writes_the_evidence_beside_a_precondition(write_config):
    path = write_config(CONFIG)
    (path.parent / "HANDOVER.md").write_text("# Handover\n\nContacts, systems, access.\n")
    checklist = config.load(path, env={})
    engine = Engine(checklist)
    try:
        # Watched, so a new signature shows within seconds rather than at the next interval.
        assert engine._watched_files()["DOC-9"] == (path.parent / "evidence" / "DOC-9.yaml",)
        before = (await engine.run_item("DOC-9")).result
        assert before.status is Status.PARTIAL
        assert "attestation: not attested yet" in before.summary

        written, _ = attest(checklist, "DOC-9", "pass", "Jane Doe", ["read it"], expires="30d")
        assert written == path.parent / "evidence" / "DOC-9.yaml"
        after = (await engine.run_item("DOC-9")).result
        assert after.status is Status.PASS, after.summary
    finally:
        await engine.resources.aclose()


async def test_a_signature_does_not_pass_a_failing_precondition(write_config):
    path = write_config(CONFIG)
    (path.parent / "HANDOVER.md").write_text("TODO")
    checklist = config.load(path, env={})
    attest(checklist, "DOC-9", "pass", "Jane Doe", ["read it"])
    engine = Engine(checklist)
    try:
        result = (await engine.run_item("DOC-9")).result
    finally:
        await engine.resources.aclose()
    assert result.status is Status.PARTIAL
    assert "HANDOVER.md 4 bytes, expected at least 10" in result.summary


def test_two_attestations_in_one_item_are_refused_by_attest(write_config):
    checklist = config.load(write_config(CONFIG), env={})
    with pytest.raises(AttestError, match=r"DOC-10 has 2 attestation probes in config\.yaml"):
        attest(checklist, "DOC-10", "pass", "Jane Doe", [])
