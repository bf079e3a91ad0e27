"""Reading the files probes are pointed at without hanging: regular files only, up to a cap.

Opening a FIFO for reading blocks until a writer appears, and a device can be endless; a
probe runs such a read on a worker thread that the engine's timeout cannot stop, so one FIFO
where a file was expected would take a worker thread for good at every run. The file is
opened non-blocking and checked to be a regular file before a byte is read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path


class NotRegularFile(OSError):
    """Raised when the path is a directory, FIFO, socket or device rather than a file."""


class OwnStoreFile(OSError):
    """Raised when the path is one of the exporter's own store files (see ``keep_out``)."""


# (st_dev, st_ino) of the files of the stores this process has open. A probe must never open
# one: fcntl locks belong to the process, and closing *any* descriptor of a file drops all of
# the process's locks on it, SQLite's included. Another process that opens the store then
# believes itself alone, truncates the shared-memory (-shm) file that this process has mapped,
# and this process dies of SIGBUS at its next access (seen: a secrets scan of the config folder).
_OWN: set[tuple[int, int]] = set()


def keep_out(paths: Iterable[Path]) -> None:
    """Never let a probe read these files (a store's database, -wal and -shm) from now on."""
    _OWN.update(_identity(p) for p in paths if os.path.exists(p))


def let_in(paths: Iterable[Path]) -> None:
    """Undo ``keep_out`` once the store is closed."""
    for path in paths:
        if os.path.exists(path):
            _OWN.discard(_identity(path))


def is_own_store(path: Path) -> bool:
    """Whether ``path`` (or what a link there points to) is a file ``keep_out`` named."""
    if not _OWN:
        return False
    try:
        return _identity(path) in _OWN
    except OSError:
        return False


def refuse_own_store(path: Path) -> None:
    """Raise OwnStoreFile before ``path`` is opened when it is the exporter's own store."""
    if is_own_store(path):
        raise OwnStoreFile(
            errno.EACCES,
            "is the exporter's own store: probes never read it (opening it from the exporter "
            "would release SQLite's locks on it)",
        )


def _identity(path: Path | str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def kind_of(mode: int) -> str:
    """What a file mode stands for, in words: 'a directory', 'a FIFO', ..."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_capped(path: Path, cap: int, *, follow_symlinks: bool = True) -> bytes:
    """Up to ``cap`` bytes of a regular file; raises OSError (NotRegularFile for the others).

    With ``follow_symlinks=False`` a symbolic link as the last part of ``path`` is refused
    (OSError with errno ELOOP).
    """
    refuse_own_store(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow_symlinks else flags | os.O_NOFOLLOW)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"is {kind_of(mode)}, expected a regular file")
        chunks, left = [], cap
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
