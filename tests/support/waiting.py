"""Waiting on a condition inside the event loop, instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], bool] | Callable[[], Awaitable[bool]],
    what: str,
    timeout: float = 30.0,
    every: float = 0.02,
) -> None:
    """Return as soon as ``check()`` holds (it may be a coroutine function); raise TimeoutError
    naming ``what`` after ``timeout``, asking every ``every`` seconds (longer for a check that
    queries a server).

    The bound only keeps a broken test from hanging; no assertion is made about speed.
    """
    deadline = time.monotonic() + timeout
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:g}s")
        await asyncio.sleep(every)
