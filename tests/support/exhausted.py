"""Run probes in a process whose descriptors have really run out (RLIMIT_NOFILE, then EMFILE).

``python -m support.exhausted CASES.json`` (in tests/) reads ``[{"name", "probe", "base_dir"}]``,
runs each probe through the engine twice, once as is and once with every descriptor taken, and
prints ``{name: [first, exhausted]}`` with each result as ``[status, error, summary]``. A probe
with ``"between_tls_handshakes": true`` runs out only after its first TLS handshake, just before
the connection that offers old protocol versions (the place where a refusal reads as a PASS).

It runs in a child process so that the limit and the descriptors it takes end with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from exporter.engine import Engine
from probes import tls
from probes.result import Result

from .probing import ITEM, checklist

HEADROOM = 64  # the limit is set this far above the descriptors open: a quick exhaustion


@contextlib.contextmanager
def exhausted() -> Iterator[None]:
    """Every descriptor this process may open is open (on /dev/null) within the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + HEADROOM, hard))
    held: list[int] = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    try:
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def shown(result: Result) -> list[Any]:
    return [result.status.value, result.error, result.summary]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def run_case(case: dict[str, Any]) -> list[list[Any]]:
    engine = Engine(checklist(case["probe"], Path(case["base_dir"]), timeout="3s"))
    try:
        # First as is: the verdict, and lazy imports and worker threads in place before the run
        # that has no descriptor to spare.
        first = await engine.run_item(ITEM)
        # sql items share pooled connections: the next run must open one, not reuse the first's.
        engine.resources.databases.close()
        with contextlib.ExitStack() as stack:
            if case.get("between_tls_handshakes"):
                baseline = open_descriptors()  # before the first handshake's connection
                stack.callback(setattr, tls, "offer_old", tls.offer_old)
                tls.offer_old = run_out_before(tls.offer_old, stack, baseline)
            else:
                stack.enter_context(exhausted())
            second = await engine.run_item(ITEM)
    finally:
        await engine.stop()
    return [shown(first.result), shown(second.result)]


def run_out_before(offer_old: Any, stack: contextlib.ExitStack, baseline: int) -> Any:
    """``offer_old`` (the hello with old versions) that first takes every descriptor."""

    async def wrapped(*args: Any) -> Any:
        # The first handshake's connection closes after a TLS shutdown: wait for its descriptor
        # to be free, or the old hello would simply take it.
        while open_descriptors() > baseline:  # noqa: ASYNC110 - no event tells it
            await asyncio.sleep(0.01)
        stack.enter_context(exhausted())
        return await offer_old(*args)

    return wrapped


async def main(path: str) -> None:
    cases = json.loads(Path(path).read_text())
    results = {case["name"]: await run_case(case) for case in cases}
    print(json.dumps(results))  # the last line, after any log lines


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
