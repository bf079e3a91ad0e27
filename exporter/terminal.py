"""What ``check`` shows a person at a terminal: colour when wanted, and progress while it runs.

Colour follows ``--color`` (auto: only when standard output is a terminal, and never when
``NO_COLOR`` is set and not empty, https://no-color.org). Progress goes to standard error and
only when that is a terminal: a pipe or a CI log gets the report and nothing else.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterable, Mapping
from typing import TextIO

from .formatting import seconds
from .snapshot import Snapshot

COLOR_MODES = ("auto", "always", "never")
TICK = 0.25  # seconds between two redraws of the progress line
CLEAR = "\r\x1b[K"  # back to the start of the line, and clear it
SLOWEST = 3  # items named in the closing line


def use_color(mode: str, stream: TextIO, env: Mapping[str, str]) -> bool:
    """Whether to colour what goes to ``stream`` under ``--color=mode``."""
    if mode != "auto":
        return mode == "always"
    if env.get("NO_COLOR"):
        return False
    return stream.isatty() and env.get("TERM") != "dumb"


class Progress:
    """A one-line count of items done, redrawn on ``stream``, naming the items still running."""

    def __init__(self, stream: TextIO, ids: Iterable[str]):
        self.stream = stream
        self.running = dict.fromkeys(ids)  # not done yet, in config order
        self.total = len(self.running)
        self.started = time.monotonic()

    def done(self, item_id: str) -> None:
        self.running.pop(item_id, None)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        text = f"checking: {self.total - len(self.running)}/{self.total} items done, {elapsed:.0f}s"
        if self.running:
            waiting = list(self.running)
            more = f" and {len(waiting) - SLOWEST} more" if len(waiting) > SLOWEST else ""
            text += f"; waiting for {', '.join(waiting[:SLOWEST])}{more}"
        width = shutil.get_terminal_size().columns - 1
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    async def show(self) -> None:
        """Redraw the line until cancelled."""
        while True:
            self.stream.write(CLEAR + self.line())
            self.stream.flush()
            await asyncio.sleep(TICK)

    def finish(self, snap: Snapshot) -> None:
        """Clear the line; say how long it took and which items took longest."""
        ran = sorted(
            (s for s in snap.states.values() if s.duration is not None),
            key=lambda s: s.duration or 0.0,
            reverse=True,
        )[:SLOWEST]
        slowest = ", ".join(f"{s.item.id} {seconds(s.duration)}" for s in ran)
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"{CLEAR}checked {self.total} items in {seconds(elapsed)}"
            + (f"; slowest: {slowest}" if slowest else "")
            + "\n"
        )
        self.stream.flush()
