"""A concurrency bound whose limit a reload can change while runs hold it.

``asyncio.Semaphore`` has a fixed size, and swapping it for a new one on reload let the runs
that held or waited on the old one add to the new one's: with ``engine.concurrency: 2`` raised
to 3, five probes ran at once. ``Slots`` keeps one count of runs in flight and one queue of
waiters, so the bound holds across a reload: a higher limit lets waiters in at once, a lower one
takes effect as runs finish (a run in flight is never cancelled for it).
"""

from __future__ import annotations

import asyncio
import collections
from types import TracebackType


class Slots:
    """At most ``limit`` holders at once, first come first served; ``resize`` changes the limit."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"a concurrency limit must be at least 1 (got {limit})")
        self.limit = limit
        self.held = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.held < self.limit and not self._waiters:
            self.held += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # _wake counted the slot as held before waking us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # woken and cancelled at once: pass the slot on
            elif waiter in self._waiters:  # (_wake drops cancelled waiters itself)
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.held -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a concurrency limit must be at least 1 (got {limit})")
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.held < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.held += 1
                waiter.set_result(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
