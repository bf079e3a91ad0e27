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
from pathlib import Path


class NotRegularFile(OSError):
    """Raised when the path is a directory, FIFO, socket or device rather than a file."""


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
