"""A stand-in for a hung network mount: a folder whose file-system calls never return.

``stat``, ``lstat``, ``open``, ``scandir`` and ``statvfs`` are patched to block for paths under
the folder only (until the test ends), so the probes' real code meets a real blocked call.
Import the fixture into a test module: ``from support.stalls import stalled_folder``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CALLS = ("stat", "lstat", "open", "scandir", "statvfs")


@pytest.fixture
def stalled_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder whose file-system calls never return until the test ends."""
    folder = tmp_path / "stalled-mount"
    release = threading.Event()

    def stalling(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(str(folder)):
                release.wait()
            return real(path, *args, **kwargs)

        return call

    for name in CALLS:
        monkeypatch.setattr(os, name, stalling(getattr(os, name)))
    yield folder
    release.set()  # the worker threads stuck in the calls above end with the test
