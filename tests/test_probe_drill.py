"""Drill probe on notes under tmp_path and in real git repositories: the note's own date and
result, the commit that added a note without a date (renames followed)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

from support.probing import config_error, run

from probes.drill import note_date, note_result
from probes.result import Status


def git(repo, *argv: str, date: str = "2026-01-01T00:00:00+00:00") -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *argv], cwd=repo, env=env, check=True, timeout=60)


def test_the_date_line_is_parsed_and_a_placeholder_is_no_date():
    assert note_date("Date: 2025-11-03\n") == dt.datetime(2025, 11, 3, tzinfo=dt.UTC).timestamp()
    assert note_date("- **Drill date**: 2025-11-03 14:30 UTC\n") == (
        dt.datetime(2025, 11, 3, 14, 30, tzinfo=dt.UTC).timestamp()
    )
    assert note_date("Date: <YYYY-MM-DD>\n") is None
    assert note_date("Date: 2025-13-45\n") is None
    assert note_date("# Drill 2025-11-03\n\nNo date line.\n") is None


def test_the_result_line_must_say_passed_and_nothing_of_failure():
    assert note_result("Result: passed\n") == ("passed", True)
    assert note_result("**Outcome:** Success, 14 min to fail over\n")[1] is True
    assert note_result("Result: failed (replica lag)\n") == ("failed (replica lag)", False)
    assert note_result("Result: pass / fail\n") == (None, False)
    assert note_result("Result: <pass|fail>\n") == (None, False)
    assert note_result("Result:\n") == (None, False)
    assert note_result("Passed the drill.\n") == (None, False)


async def test_a_renamed_note_without_a_date_keeps_the_date_it_was_added(tmp_path):
    notes = tmp_path / "drills"
    notes.mkdir()
    (notes / "q1.md").write_text("# Drill\n\nResult: passed\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "drill", date="2025-01-10T10:00:00+00:00")
    git(tmp_path, "mv", "drills/q1.md", "drills/2025-q1.md")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    git(tmp_path, "commit", "-q", "-m", "rename", date=now)
    result = await run({"drill": {"glob": "drills/*.md", "max_age": "92d"}}, tmp_path)
    assert result.status is Status.FAIL, result.summary
    assert "by the commit that added it (no Date line) (2025-01-10" in result.summary


async def test_no_note_fails_and_a_bad_setting_is_located(tmp_path):
    result = await run({"drill": {"glob": "drills/*.md"}}, tmp_path)
    assert result.status is Status.FAIL and result.summary == "no drill note matches " + str(
        tmp_path / "drills/*.md"
    )
    error = config_error({"drill": {"glob": "d/*.md", "max_age": "quarterly"}}, tmp_path)
    assert "drill.max_age" in error, error
