"""``attest`` writes the evidence file the attestation probe reads, atomically; refuses the rest."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
import yaml
from support.procs import ROOT

from exporter import config
from exporter.attest import AttestError, attest, document, write_atomically
from probes.attestation import Spec, judge
from probes.result import Status

CONFIG = """\
categories:
- id: ops
  title: Operations
  items:
  - {id: O-1, title: Runbook, priority: high,
     probe: {attestation: {file: evidence/O-1.yaml, max_age: 90d}}}
  - {id: O-2, title: Pager, priority: high, probe: {tcp: {target: "127.0.0.1:9"}}}
"""


def run(path, *args):
    return subprocess.run(
        [sys.executable, "-m", "exporter", "attest", "--config.file", str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_attest_writes_what_the_probe_reads(write_config):
    path = write_config(CONFIG)
    result = run(
        path,
        "O-1",
        "--status",
        "pass",
        "--by",
        "Jane Doe",
        "--evidence",
        "Runbook v3",
        "--evidence",
        "https://wiki/runbook",
        "--notes",
        "reviewed with ops",
        "--expires",
        "30d",
    )
    assert result.returncode == 0, result.stderr
    file = path.parent / "evidence" / "O-1.yaml"
    assert f"O-1: pass attested by Jane Doe in {file}, expires " in result.stdout
    doc = yaml.safe_load(file.read_text())
    assert doc["evidence"] == ["Runbook v3", "https://wiki/runbook"]
    assert doc["notes"] == "reviewed with ops"
    verdict = judge(Spec(file, max_age=90 * 86400))
    assert verdict.status is Status.PASS
    assert verdict.summary.startswith("PASS attested, signed by Jane Doe on ")
    days_left = (verdict.expires_at - dt.datetime.now(dt.UTC).timestamp()) / 86400
    assert 29 < days_left <= 30


@pytest.mark.parametrize(
    "args, message",
    [
        (["O-9", "--status", "pass", "--by", "X"], "unknown item O-9: not in config.yaml"),
        (
            ["O-2", "--status", "pass", "--by", "X"],
            "O-2 has no attestation probe in config.yaml (its probe is tcp): nothing to attest",
        ),
        (
            ["O-1", "--status", "done", "--by", "X"],
            "--status must be one of pass, partial, fail, pending, na (got 'done')",
        ),
        (
            ["O-1", "--status", "pass", "--by", "X", "--expires", "soon"],
            "--expires must be a duration such as 30d or 12h (got 'soon')",
        ),
        (
            ["O-1", "--status", "pass", "--by", " "],
            "--by must name the person who validated the item",
        ),
    ],
)
def test_attest_refuses_with_a_reason_and_writes_nothing(write_config, args, message):
    path = write_config(CONFIG)
    result = run(path, *args)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert not (path.parent / "evidence").exists()


def test_replacing_leaves_no_temporary_files_and_never_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "O-1.yaml"
    write_atomically(target, "status: pass\n")
    write_atomically(target, "status: fail\n")
    assert target.read_text() == "status: fail\n"

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomically(target, "status: partial\n")
    assert target.read_text() == "status: fail\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["O-1.yaml"]


def test_document_fields_match_the_attestation_format():
    now = dt.datetime(2026, 11, 1, 12, 0, 30, 999, tzinfo=dt.UTC)
    assert document("PASS", "Jane", ["log"], expires="90d", now=now) == {
        "status": "pass",
        "validated_by": "Jane",
        "date": "2026-11-01T12:00:30+00:00",
        "evidence": ["log"],
        "expires": "2027-01-30T12:00:30+00:00",
    }
    with pytest.raises(AttestError):
        document("maybe", "Jane", [])


def test_unknown_item_via_the_api(write_config):
    checklist = config.load(write_config(CONFIG), env={})
    with pytest.raises(AttestError, match="unknown item"):
        attest(checklist, "nope", "pass", "x", [])
