"""``attest`` writes the evidence file the attestation probe reads, atomically; refuses the rest."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from support.cli import run_cli
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
  - {id: O-3, title: Drill, priority: high,
     probe: {attestation: {file: "${EVIDENCE_DIR}/O-3.yaml"}}}
  - {id: O-4, title: Ops sign-off, priority: high, probe: {signoff: {role: Operations Lead}}}
"""


def run(path, *args):
    return run_cli("attest", "--config.file", str(path), "--file", *args, unset=["EVIDENCE_DIR"])


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
    assert doc["item"] == "O-1"
    assert doc["evidence"] == ["Runbook v3", "https://wiki/runbook"]
    assert doc["notes"] == "reviewed with ops"
    verdict = judge(Spec(file, max_age=90 * 86400), "O-1")
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
            ["O-4", "--status", "pass", "--by", "X"],
            "O-4 answers from the Sign-Off Sheet (its probe is signoff): record it with "
            "readiness-exporter sign ROLE --by NAME, or decide go|go_with_caution|no_go --by NAME "
            "--launch DATETIME",
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
        (
            ["O-3", "--status", "pass", "--by", "X"],
            "O-3: its evidence file's path needs EVIDENCE_DIR, which is not set",
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
    assert document("O-1", "PASS", "Jane", ["log"], expires="90d", now=now) == {
        "item": "O-1",
        "status": "pass",
        "validated_by": "Jane",
        "date": "2026-11-01T12:00:30+00:00",
        "evidence": ["log"],
        "expires": "2027-01-30T12:00:30+00:00",
    }
    with pytest.raises(AttestError):
        document("O-1", "maybe", "Jane", [])


def test_attest_refuses_to_write_more_than_its_probe_reads(write_config):
    path = write_config(CONFIG)
    checklist = config.load(path, env={})
    lines = ["x" * 1000] * 262  # 262 KB of evidence; the probe reads 256 KiB
    with pytest.raises(
        AttestError,
        match=r"^O-1: the evidence file would be 26\d,\d{3} bytes, more than the 262,144 its "
        r"probe reads: shorten --evidence or --notes$",
    ):
        attest(checklist, "O-1", "pass", "Jane", lines)
    assert not (path.parent / "evidence").exists()
    attest(checklist, "O-1", "pass", "Jane", lines[:200])  # 200 KB is fine, and passes
    verdict = judge(Spec(path.parent / "evidence" / "O-1.yaml"), "O-1")
    assert verdict.status is Status.PASS, verdict.summary


def test_unknown_item_via_the_api(write_config):
    checklist = config.load(write_config(CONFIG), env={})
    with pytest.raises(AttestError, match="unknown item"):
        attest(checklist, "nope", "pass", "x", [])


# -- file mode: the exporter may run as another user ------------------------------------------


@pytest.mark.parametrize(
    "folder_mode, file_mode",
    [(0o755, 0o644), (0o750, 0o640), (0o700, 0o600), (0o705, 0o604)],
)
def test_a_new_file_takes_the_folders_read_access(tmp_path, folder_mode, file_mode):
    folder = tmp_path / "evidence"
    folder.mkdir()
    folder.chmod(folder_mode)
    write_atomically(folder / "O-1.yaml", "status: pass\n")
    assert stat.S_IMODE((folder / "O-1.yaml").stat().st_mode) == file_mode


def test_replacing_keeps_the_files_mode(tmp_path):
    target = tmp_path / "O-1.yaml"
    target.write_text("status: fail\n")
    target.chmod(0o640)
    write_atomically(target, "status: pass\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text() == "status: pass\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to read as another user")
def test_an_exporter_running_as_another_user_reads_what_attest_wrote(write_config):
    """README's container deployment: attest runs as the operator, the exporter as nobody."""
    folder = Path(tempfile.mkdtemp(prefix="attest-mode-"))  # pytest's tmp_path is 0700
    try:
        folder.chmod(0o755)
        config = folder / "config.yaml"
        config.write_text(CONFIG)
        config.chmod(0o644)
        assert run(config, "O-1", "--status", "pass", "--by", "Jane").returncode == 0
        read_as_nobody = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from probes.attestation import Spec, judge; "
                "print(judge(Spec(Path(sys.argv[1])), 'O-1').summary)",
                str(folder / "evidence" / "O-1.yaml"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert read_as_nobody.stdout.startswith("PASS attested, signed by Jane"), (
            read_as_nobody.stdout + read_as_nobody.stderr
        )
    finally:
        shutil.rmtree(folder)
