"""How old a file really is: the last commit that touched it, when it is in a git repository.

A file's modification time is when it was copied or checked out: after ``git clone`` or
``git checkout``, a drill note written 133 days ago reads as "modified 3 s ago". The commit
that last touched the file carries the evidence's own clock. This module asks git for it, for
the file kind's ``freshness: git`` and for the secrets kind's list of tracked files.

What the time is, by the state of the file (``FileTime.source``):

- ``commit``: committed and unchanged since: the **committer** date of the last commit that
  touched it (``git log -1 --format=%ct -- FILE``). The committer date is when the change
  entered the history (a rebase or cherry-pick renews it); ``date="author"`` asks for the
  author date instead, which is when the change was first written and can be set at will.
- ``uncommitted``: tracked, with changes that are not committed: the file's own modification
  time, labelled so. Those changes are newer than any commit, and the file time is the only
  clock they have.
- ``untracked``: in a repository but never committed (new or ignored): the modification time,
  labelled so.
- ``not in git``: no repository around it: the modification time, labelled so.

A time in the future is not fresh: ``judge_freshness`` calls it a wrong clock and FAILs (beyond
``SKEW`` seconds, the clock difference tolerated between the committer's machine and this one).
A shallow clone (CI's ``fetch-depth: 1``) does not know when a file last changed if the commit
it finds is the clone's boundary: that is a ``GitError`` (the probe could not judge), never the
boundary's date.

git runs read-only (``--no-optional-locks``: no index refresh), with a minimal environment (no
``GIT_DIR``/``GIT_WORK_TREE`` or other ``GIT_*`` of the exporter's own, replace refs ignored, no
prompts, no lazy fetch where git knows that switch) and ``core.fsmonitor`` off so a repository's
config cannot make a status run a program; it is killed with its process group after
``timeout`` seconds. Why the git program rather than a library: it is the reference
implementation (shallow clones, worktrees, packed refs, commit-graph with changed-path filters
for a fast ``log -- FILE``); dulwich walks history in pure Python (far slower on a long
history) and pygit2 brings libgit2, a second implementation to keep in step. The container
image must add git for this, as it must for the command items.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .clock import SKEW
from .clock import utc as _day
from .fields import format_age, format_duration
from .result import Status

OUTPUT_CAP = 64 * 1024 * 1024  # bytes of git output read at most
TIMEOUT = 60.0  # seconds for git when the probe has no deadline (direct calls)


def time_left(deadline: float) -> float:
    """Seconds git may take before ``deadline`` (monotonic; inf: ``TIMEOUT``); <= 0 when none."""
    return deadline - time.monotonic() if deadline != math.inf else TIMEOUT


Source = Literal["commit", "uncommitted", "untracked", "not in git"]


class GitError(Exception):
    """Raised when git could not tell (not installed, refused the repository, timed out, shallow
    history): the probe cannot judge."""


@dataclass(frozen=True)
class FileTime:
    """When a file's content was last changed, and what that time is based on."""

    path: Path
    timestamp: float  # Unix seconds
    source: Source
    commit: str | None = None  # the commit's hash when source == "commit"

    @property
    def what(self) -> str:
        """The time's name in a summary: 'last commit', or 'modified ... (file time: why)'."""
        return {
            "commit": "last commit",
            "uncommitted": "modified (uncommitted changes; file time)",
            "untracked": "modified (not committed; file time)",
            "not in git": "modified (not in a git repository; file time)",
        }[self.source]


def git_env() -> dict[str, str]:
    """The environment git runs with: the exporter's PATH and HOME (where an operator's
    ``safe.directory`` lives), and switches that keep the run read-only and offline."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LC_ALL": "C",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_NO_LAZY_FETCH": "1",  # git >= 2.44; older versions ignore it
        "GIT_PAGER": "cat",
    }
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    return env


def run_git(args: list[str], cwd: Path, timeout: float) -> bytes:
    """git's standard output for ``args`` run in ``cwd``; raises GitError on any failure."""
    # Literal pathspecs: a file named "notes[1].md" or "*.md" means that file, not a pattern.
    argv = ["git", "--no-optional-locks", "--literal-pathspecs", "-c", "core.fsmonitor=false"]
    argv += args
    try:
        proc = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell
            argv,
            cwd=cwd,
            env=git_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to read commit dates)") from None
    except OSError as exc:
        raise GitError(f"git could not start ({exc.strerror or exc})") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise GitError(f"git {args[0]} took longer than {format_duration(timeout)}") from None
    if proc.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        reason = lines[0] if lines else f"exit code {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {reason.removeprefix('fatal: ')}")
    return out[:OUTPUT_CAP]


def repository_root(folder: Path, timeout: float) -> Path | None:
    """The top folder of the work tree holding ``folder``, or None when there is none."""
    try:
        out = run_git(["rev-parse", "--show-toplevel"], folder, timeout)
    except GitError as exc:
        if "not a git repository" in str(exc):
            return None
        raise
    return Path(out.decode("utf-8", "surrogateescape").strip())


def _shallow_boundary(folder: Path, timeout: float) -> set[str]:
    """Hashes of the commits a shallow clone was cut at (empty for a full clone)."""
    shallow = run_git(["rev-parse", "--is-shallow-repository"], folder, timeout).strip()
    if shallow != b"true":
        return set()
    path = run_git(["rev-parse", "--git-path", "shallow"], folder, timeout).decode().strip()
    try:
        return set((folder / path).read_text().split())
    except OSError as exc:
        raise GitError(f"shallow clone, and its boundary cannot be read ({exc.strerror})") from None


def file_time(
    path: Path, timeout: float, date: Literal["committer", "author"] = "committer"
) -> FileTime:
    """When ``path`` last changed, by git when it is in a repository (see the module doc).

    Raises FileNotFoundError when the file is missing, GitError when git cannot tell.
    """
    mtime = path.stat().st_mtime  # FileNotFoundError first: a missing file is not a git matter
    folder, name = path.parent, path.name
    if repository_root(folder, timeout) is None:
        return FileTime(path, mtime, "not in git")
    status = run_git(
        ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored", "--", name],
        folder,
        timeout,
    )
    if status[:2] in (b"??", b"!!"):
        return FileTime(path, mtime, "untracked")
    if status:
        return FileTime(path, mtime, "uncommitted")
    fmt = "%H %ct" if date == "committer" else "%H %at"
    found = run_git(["log", "-1", f"--format={fmt}", "--", name], folder, timeout).split()
    if not found:
        return FileTime(path, mtime, "untracked")
    commit, stamp = found[0].decode(), float(found[1])
    if commit in _shallow_boundary(folder, timeout):
        raise GitError(
            f"shallow clone: the last commit that touched {name} is older than the clone's "
            f"history (fetch the full history, e.g. fetch-depth: 0)"
        )
    return FileTime(path, stamp, "commit", commit)


def judge_freshness(
    found: FileTime, max_age: float, now: float, skew: float = SKEW
) -> tuple[Status, str]:
    """PASS when the file changed at most ``max_age`` seconds ago; FAIL when older, or when its
    time is more than ``skew`` seconds in the future (a wrong clock is never fresh)."""
    name, what = found.path.name, found.what
    if found.timestamp > now + skew:
        ahead = format_duration(found.timestamp - now)
        return (
            Status.FAIL,
            f"{name}: {what} is dated {_day(found.timestamp)}, {ahead} in the future: "
            f"wrong clock, expected a time in the past",
        )
    age = format_age(now - found.timestamp, max_age)
    if now - found.timestamp > max_age:
        return (
            Status.FAIL,
            f"{name}: {what} {age} ago ({_day(found.timestamp)}), "
            f"expected at most {format_duration(max_age)}",
        )
    return Status.PASS, f"{name}: {what} {age} ago, at most {format_duration(max_age)}"


def added_time(path: Path, timeout: float) -> FileTime:
    """When ``path`` was first committed (its rename history followed), for evidence whose later
    commits are edits (a typo fixed in a drill note is no new drill); the file time, labelled
    so, when it is not committed. Raises like ``file_time``."""
    mtime = path.stat().st_mtime
    folder, name = path.parent, path.name
    if repository_root(folder, timeout) is None:
        return FileTime(path, mtime, "not in git")
    out = run_git(
        ["log", "--follow", "--diff-filter=A", "--format=%H %ct", "--", name], folder, timeout
    ).split()
    if not out:
        return FileTime(path, mtime, "untracked")
    commit, stamp = out[-2].decode(), float(out[-1])  # the oldest: git log lists newest first
    if commit in _shallow_boundary(folder, timeout):
        raise GitError(
            f"shallow clone: the commit that added {name} may be older than the clone's "
            f"history (fetch the full history, e.g. fetch-depth: 0)"
        )
    return FileTime(path, stamp, "commit", commit)
