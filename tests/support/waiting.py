"""Waiting on a condition inside the event loop, instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Return as soon as ``check()`` holds; raise TimeoutError naming ``what`` after ``timeout``.

    The bound only keeps a broken test from hanging; no assertion is made about speed.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:g}s")
        await asyncio.sleep(0.02)
