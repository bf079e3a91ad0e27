"""A glob that can be stopped: it counts the directory entries it visits and watches a deadline.

``glob.glob`` walks a whole tree before it returns (``**`` over a large repository, a stalled
mount) and nothing can stop it; a probe's worker thread would be gone for minutes. This walk
raises ``WalkStopped`` at either bound instead, so the probe can say it could not judge.

It matches as ``glob.glob(pattern, recursive=True)`` does: ``*``, ``?`` and ``[...]`` within
one path segment, ``**`` for any number of directories, and names starting with a dot only
where the pattern's segment starts with a dot. One difference: ``**`` does not descend into
symbolic links to directories (glob does, and a link to a parent loops until the path is too
long).
"""

from __future__ import annotations

import glob
import os
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import fnmatchcase
from pathlib import Path


class WalkStopped(Exception):
    """Raised when a walk reaches its bound on entries visited or its deadline."""

    def __init__(self, reason: str, visited: int):
        super().__init__(reason)
        self.reason = reason
        self.visited = visited


class _Walk:
    def __init__(self, max_visited: int, deadline: float):
        self.max_visited = max_visited
        self.deadline = deadline
        self.visited = 0

    def entries(self, directory: str) -> list[os.DirEntry[str]]:
        """The entries of ``directory`` (empty when it cannot be listed), each one counted."""
        found = []
        try:
            with os.scandir(directory or os.curdir) as it:
                for entry in it:
                    self.visited += 1
                    if self.visited > self.max_visited:
                        raise WalkStopped(
                            f"stopped after visiting {self.max_visited:,} entries", self.visited
                        )
                    if time.monotonic() > self.deadline:
                        raise WalkStopped(
                            f"stopped at the time limit after visiting {self.visited:,} entries",
                            self.visited,
                        )
                    found.append(entry)
        except OSError:
            return []
        return found


def _join(directory: str, name: str) -> str:
    return os.path.join(directory, name) if directory else name


def _hidden(name: str, segment: str) -> bool:
    return name.startswith(".") and not segment.startswith(".")


def _tree(walk: _Walk, top: str) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """``top`` and every directory below it that is not hidden, with its entries."""
    stack = [top]
    while stack:
        directory = stack.pop()
        entries = walk.entries(directory)
        yield directory, entries
        stack.extend(
            _join(directory, e.name)
            for e in entries
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
        )


def _expand(walk: _Walk, base: str, segments: list[str]) -> Iterator[str]:
    if not segments:
        yield base
        return
    segment, rest = segments[0], segments[1:]
    if segment == "**":
        for directory, entries in _tree(walk, base):
            if rest:
                yield from _expand_in(walk, directory, entries, rest)
            else:
                yield from (_join(directory, e.name) for e in entries if not _hidden(e.name, ""))
    elif not glob.has_magic(segment):
        path = _join(base, segment)
        if os.path.lexists(path):
            yield from _expand(walk, path, rest)
    else:
        yield from _expand_in(walk, base, walk.entries(base), segments)


def _expand_in(
    walk: _Walk, base: str, entries: list[os.DirEntry[str]], segments: list[str]
) -> Iterator[str]:
    """``_expand`` of ``segments`` below ``base``, whose entries are already listed."""
    segment, rest = segments[0], segments[1:]
    if segment == "**" or not glob.has_magic(segment):
        yield from _expand(walk, base, segments)
        return
    for entry in entries:
        if _hidden(entry.name, segment) or not fnmatchcase(entry.name, segment):
            continue
        if not rest:
            yield _join(base, entry.name)
        elif entry.is_dir():
            yield from _expand(walk, _join(base, entry.name), rest)


def bounded_glob(pattern: str, max_visited: int, deadline: float) -> list[str]:
    """The sorted paths matching ``pattern``; raises WalkStopped past either bound.

    ``deadline`` is a ``time.monotonic()`` value.
    """
    parts = pattern.split(os.sep)
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    if fixed == len(parts):  # no wildcard: the path itself, if it is there
        return [pattern] if os.path.lexists(pattern) else []
    base = os.sep.join(parts[:fixed])
    if not base and pattern.startswith(os.sep):
        base = os.sep
    walk = _Walk(max_visited, deadline)
    return sorted(set(_expand(walk, base, [p for p in parts[fixed:] if p])))


def regular_files(
    names: Iterable[str], exclude: Sequence[str]
) -> tuple[list[tuple[Path, os.stat_result]], list[str]]:
    """The regular files among a glob's matches whose name no ``exclude`` pattern matches, with
    their stat, and the names excluded. A name that is gone or cannot be stat()ed is left out."""
    files, excluded = [], []
    for name in names:
        path = Path(name)
        if any(fnmatchcase(path.name, x) for x in exclude):
            excluded.append(name)
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            files.append((path, st))
    return files, excluded
