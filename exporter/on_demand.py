"""Probe-now: runs a person asked for, kept apart from the schedule and bounded.

A click on "Probe now" (``POST /items/<ID>/probe``) runs the item at once, within these bounds,
so that a flood of clicks can neither starve the scheduled probes nor hammer a target:

- one run per item at a time: a click while one runs joins it and gets its result and debug
  lines (five clicks on a ``rate_limit`` item send one burst, not five);
- a new run of an item at most every ``ITEM_GAP`` seconds;
- across all items, ``BURST`` new runs at once, refilled at ``RATE`` per second;
- at most ``CONCURRENCY`` runs in flight; they do not take the engine's slots
  (``engine.concurrency``), so scheduled probes never wait for clicks.

Past a bound the click is refused with ``RateLimited``, which says how long to wait (the web
answers 429 with ``Retry-After``); a click is never queued behind a slow probe.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .snapshot import ItemState

ITEM_GAP = 5.0  # seconds between two runs of one item started by clicks
BURST = 60  # new runs at once across all items (a person walking the board never meets it)
RATE = 1.0  # and their refill, per second
CONCURRENCY = 4  # probe-now runs in flight at once


class RateLimited(Exception):
    """Raised when a probe-now run is refused for now; ``retry_after`` is in whole seconds."""

    def __init__(self, reason: str, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"{reason}; try again in {self.retry_after} s")


@dataclass(frozen=True)
class Run:
    """What a probe-now run found: the item's new state and the probe's debug lines."""

    state: ItemState
    debug: tuple[str, ...]


Runner = Callable[[str, list[str]], Awaitable[ItemState]]


class OnDemand:
    """Single-flight, rate-limited probe-now runs through ``runner(item_id, debug_lines)``."""

    def __init__(self, runner: Runner, clock: Callable[[], float] = time.monotonic):
        self._runner = runner
        self._clock = clock
        self._running: dict[str, asyncio.Future[Run]] = {}
        self._next_start: dict[str, float] = {}  # item -> earliest start of its next run
        self._tokens = float(BURST)
        self._refilled = clock()

    async def run(self, item_id: str) -> Run:
        """Run ``item_id`` now, or join its run in flight; raises RateLimited."""
        running = self._running.get(item_id)
        if running is None:
            self._admit(item_id)
            running = asyncio.ensure_future(self._run(item_id))
            self._running[item_id] = running
            running.add_done_callback(lambda _: self._running.pop(item_id, None))
        # Shielded: a client that hangs up must not cancel the run others are waiting for.
        return await asyncio.shield(running)

    async def _run(self, item_id: str) -> Run:
        debug: list[str] = []
        state = await self._runner(item_id, debug)
        return Run(state, tuple(debug))

    def _admit(self, item_id: str) -> None:
        now = self._clock()
        wait = self._next_start.get(item_id, now) - now
        if wait > 0:
            raise RateLimited(f"{item_id} was probed on request less than {ITEM_GAP:g} s ago", wait)
        if len(self._running) >= CONCURRENCY:
            raise RateLimited(f"{CONCURRENCY} probe-now runs are in flight", 1)
        self._tokens = min(BURST, self._tokens + (now - self._refilled) * RATE)
        self._refilled = now
        if self._tokens < 1:
            raise RateLimited("too many probe-now runs", (1 - self._tokens) / RATE)
        self._tokens -= 1
        self._next_start[item_id] = now + ITEM_GAP
