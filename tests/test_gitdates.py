"""Freshness from git: real repositories with back-dated, future-dated and shallow history."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from probes.gitdates import FileTime, GitError, file_time, judge_freshness
from probes.result import Status

DAY = 86400.0
TIMEOUT = 30.0


def git(repo: Path, *args: str, when: float | None = None) -> str:
    """Run git in ``repo`` as a fixed test identity; ``when`` back-dates author and committer."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{int(when)} +0000"
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def commit(repo: Path, name: str, text: str, when: float) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"{name}", when=when)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def test_checkout_makes_the_file_look_new_but_the_commit_says_133_days(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "docs/dr-drills/2026-q2.md", "# Drill\nResult: passed\n", now - 133 * DAY)
    commit(repo, "README.md", "# App\n", now - 1 * DAY)
    # A fresh checkout writes every file now: the trap an mtime check falls into.
    drill = repo / "docs/dr-drills/2026-q2.md"
    drill.unlink()
    git(repo, "checkout", "--", "docs/dr-drills/2026-q2.md")
    assert now - drill.stat().st_mtime < DAY

    found = file_time(drill, TIMEOUT)
    assert found.source == "commit" and found.commit
    assert abs(found.timestamp - (now - 133 * DAY)) < 2
    status, summary = judge_freshness(found, 92 * DAY, now)
    assert status is Status.FAIL
    assert summary.startswith("2026-q2.md: last commit 133 days ago (")
    assert summary.endswith("), expected at most 92d")


def test_a_recent_commit_is_fresh(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "docs/drill.md", "# Drill\n", now - 20 * DAY)
    status, summary = judge_freshness(file_time(repo / "docs/drill.md", TIMEOUT), 92 * DAY, now)
    assert (status, summary) == (Status.PASS, "drill.md: last commit 20 days ago, at most 92d")


def test_a_future_dated_commit_is_a_wrong_clock_never_fresh(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "drill.md", "# Drill\n", now + 400 * DAY)
    found = file_time(repo / "drill.md", TIMEOUT)
    status, summary = judge_freshness(found, 92 * DAY, now)
    assert status is Status.FAIL
    assert "400d in the future: wrong clock" in summary


def test_a_small_clock_skew_is_tolerated(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "drill.md", "# Drill\n", now + 60)
    status, _ = judge_freshness(file_time(repo / "drill.md", TIMEOUT), 92 * DAY, now)
    assert status is Status.PASS


def test_the_author_date_can_be_asked_for(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    path = repo / "drill.md"
    path.write_text("x\n")
    git(repo, "add", "drill.md")
    env_when = f"@{int(now - 200 * DAY)} +0000"
    subprocess.run(
        ["git", "commit", "-q", "-m", "old work, merged today"],
        cwd=repo,
        check=True,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(repo.parent),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "T",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "GIT_AUTHOR_DATE": env_when,
        },
    )
    assert now - file_time(path, TIMEOUT).timestamp < DAY
    assert file_time(path, TIMEOUT, date="author").timestamp == pytest.approx(
        now - 200 * DAY, abs=2
    )


def test_uncommitted_changes_use_the_file_time_and_say_so(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "drill.md", "# Drill\n", now - 133 * DAY)
    (repo / "drill.md").write_text("# Drill\nedited, not committed\n")
    found = file_time(repo / "drill.md", TIMEOUT)
    assert found.source == "uncommitted"
    status, summary = judge_freshness(found, 92 * DAY, now)
    assert status is Status.PASS
    assert summary.startswith("drill.md: modified (uncommitted changes; file time) ")


def test_staged_changes_are_uncommitted_too(repo):
    commit(repo, "drill.md", "# Drill\n", time.time() - 133 * DAY)
    (repo / "drill.md").write_text("# Drill\nstaged\n")
    git(repo, "add", "drill.md")
    assert file_time(repo / "drill.md", TIMEOUT).source == "uncommitted"


def test_untracked_and_ignored_files_are_labelled(repo):
    commit(repo, ".gitignore", "*.log\n", time.time() - DAY)
    (repo / "new.md").write_text("new\n")
    (repo / "app.log").write_text("log\n")
    assert file_time(repo / "new.md", TIMEOUT).source == "untracked"
    assert file_time(repo / "app.log", TIMEOUT).source == "untracked"


def test_a_file_outside_any_repository_uses_its_file_time_labelled(tmp_path):
    # GIT_CEILING_DIRECTORIES is not passed to git (minimal environment), so make sure no
    # repository sits above tmp_path in this environment: /tmp is not one.
    path = tmp_path / "plain" / "notes.md"
    path.parent.mkdir()
    path.write_text("x\n")
    found = file_time(path, TIMEOUT)
    assert found.source == "not in git"
    _, summary = judge_freshness(found, DAY, time.time())
    assert "(not in a git repository; file time)" in summary


def test_a_file_name_with_pattern_characters_is_that_file(repo):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "notes[1].md", "a\n", now - 50 * DAY)
    commit(repo, "notes1.md", "b\n", now - 1 * DAY)
    found = file_time(repo / "notes[1].md", TIMEOUT)
    assert abs(found.timestamp - (now - 50 * DAY)) < 2


def test_a_shallow_clone_cannot_tell_when_an_old_file_changed(repo, tmp_path):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "docs/drill.md", "# Drill\n", now - 133 * DAY)
    commit(repo, "README.md", "# App\n", now - DAY)
    clone = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    with pytest.raises(GitError, match="shallow clone"):
        file_time(clone / "docs" / "drill.md", TIMEOUT)
    # Full history: the real date.
    full = tmp_path / "full"
    git(tmp_path, "clone", "-q", f"file://{repo}", str(full))
    assert file_time(full / "docs" / "drill.md", TIMEOUT).timestamp == pytest.approx(
        now - 133 * DAY, abs=2
    )


def test_a_shallow_clone_knows_files_changed_inside_its_history(repo, tmp_path):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    commit(repo, "docs/drill.md", "# Drill\n", now - 133 * DAY)
    commit(repo, "README.md", "# App\n", now - 10 * DAY)
    commit(repo, "docs/drill.md", "# Drill\nagain\n", now - DAY)
    clone = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{repo}", str(clone))
    found = file_time(clone / "docs" / "drill.md", TIMEOUT)
    assert found.timestamp == pytest.approx(now - DAY, abs=2)


def test_git_missing_is_an_error_not_a_date(repo, monkeypatch, tmp_path):
    commit(repo, "drill.md", "x\n", time.time())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(GitError, match="git is not installed"):
        file_time(repo / "drill.md", TIMEOUT)


def test_the_repository_config_cannot_run_a_program(repo, tmp_path):
    marker = tmp_path / "ran"
    commit(repo, "drill.md", "x\n", time.time() - DAY)
    git(repo, "config", "core.fsmonitor", f"touch {marker}; false")
    file_time(repo / "drill.md", TIMEOUT)
    assert not marker.exists()


def test_a_missing_file_is_file_not_found(repo):
    with pytest.raises(FileNotFoundError):
        file_time(repo / "nope.md", TIMEOUT)


def test_summary_words_per_source(tmp_path):
    now = float(int(time.time()))  # whole seconds, as commit dates are
    for source, words in (
        ("commit", "x.md: last commit 1 day ago"),
        ("untracked", "x.md: modified (not committed; file time) 1 day ago"),
    ):
        found = FileTime(tmp_path / "x.md", now - DAY, source)  # type: ignore[arg-type]
        assert judge_freshness(found, 2 * DAY, now)[1].startswith(words)
