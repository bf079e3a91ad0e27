"""SIGTERM with probes in flight, and the engine's global concurrency bound."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
import time
from pathlib import Path

from aiohttp import web
from support.faults import alive
from support.procs import start_exporter, wait_until

from exporter.config import load
from exporter.engine import Engine

SHUTDOWN_PROMISE = 5.0  # seconds from SIGTERM to exit, as docs/security.md promises

# A command that ignores SIGTERM and has children (one ignoring it too) holding its output.
STUBBORN = (
    "import os, signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "kids = [subprocess.Popen(['sleep', '120']), subprocess.Popen([sys.executable, '-c', "
    "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)'])]; "
    "open(r'{tmp}/pids', 'w').write(' '.join(str(p) for p in [os.getpid()] + "
    "[k.pid for k in kids])); time.sleep(120)"
)


def test_sigterm_cancels_probes_kills_children_and_exits_0(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        categories:
          - id: c
            title: C
            items:
              - id: LONG
                title: A command still running at shutdown
                priority: high
                interval: 10m
                timeout: 5m
                probe: {{command: {{argv: [{sys.executable}, -c,
                  "{STUBBORN.replace("{tmp}", str(tmp_path))}"]}}}}
    """)
    )
    proc, _base = start_exporter(config, tmp_path / "exporter.log")
    try:
        pids_file = tmp_path / "pids"
        wait_until(
            lambda: pids_file.exists() and len(pids_file.read_text().split()) == 3,
            30,
            "the command and its children running",
        )
        pids = [int(p) for p in pids_file.read_text().split()]
        assert all(alive(p) for p in pids)
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        code = proc.proc.wait(SHUTDOWN_PROMISE)  # raises TimeoutExpired past the promise
        took = time.monotonic() - started
    finally:
        proc.stop()
    print(f"\nSIGTERM to exit with a stubborn command in flight: {took:.2f}s")
    assert code == 0, proc.log_path.read_text()[-2000:]
    assert not [p for p in pids if alive(p)], "processes outlived the exporter"


async def test_concurrency_bound_holds_across_a_reload(tmp_path: Path):
    """Raising engine.concurrency from 2 to 3 mid-round: never more than 3 probes at once.

    The engine used to swap its semaphore on reload; runs holding the old one and runs taking
    the new one added up (5 at once here)."""
    in_flight = 0
    most = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def config(concurrency: int) -> Path:
        items = "\n".join(
            f"      - {{id: C-{n}, title: Slow {n}, priority: high, timeout: 30s, "
            f"probe: {{http: {{url: 'http://127.0.0.1:{port}/'}}}}}}"
            for n in range(16)
        )
        path = tmp_path / f"config-{concurrency}.yaml"
        path.write_text(
            f"engine: {{concurrency: {concurrency}}}\n"
            f"categories:\n  - id: c\n    title: C\n    items:\n{items}\n"
        )
        return path

    engine = Engine(load(config(2), {}))
    try:
        first = asyncio.ensure_future(engine.run_round([f"C-{n}" for n in range(8)]))
        while in_flight < 2:  # noqa: ASYNC110 - waiting on the target's count
            await asyncio.sleep(0.01)
        engine.reload(load(config(3), {}))
        second = asyncio.ensure_future(engine.run_round([f"C-{n}" for n in range(8, 16)]))
        await asyncio.gather(first, second)
    finally:
        await engine.stop()
        await runner.cleanup()
    assert most == 3
