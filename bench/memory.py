"""Where the exporter's memory goes at 10,000 items: tracemalloc snapshots at ready and later.

    .venv/bin/python -m bench.memory [--items 10000] [--interval 60] [--after 150]
                                     [--frames 1] [--no-trace] [--out DIR]

Not part of ``make bench``. Starts nginx and the exporter (``serve`` as it runs, on core 0 like
``scale.py``) on ``--items`` HTTP items, scrapes ``/metrics`` every 15 s as Prometheus does
(gzip; ``--plain`` for the text the scale benchmark asks for), and has the exporter write a
tracemalloc snapshot when ready and ``--after`` seconds later: the top allocation sites, by
line and by file, are printed. ``--no-trace`` runs without tracemalloc (whose own bookkeeping
adds to RSS) and prints only RSS and the time to ready.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from .procstat import loadavg, peak_rss_bytes, rss_bytes
from .scale import timed_get
from .targets import ROOT, Nginx, checklist, items_of


def _rss_self() -> int:
    return rss_bytes(os.getpid())


def _report(label: str, snap: tracemalloc.Snapshot, out: Path, top: int) -> None:
    snap = snap.filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    )
    lines = [f"== {label}: traced {sum(s.size for s in snap.statistics('filename')) / 1e6:.1f} MB"]
    lines.append("-- by file")
    for stat in snap.statistics("filename")[:top]:
        lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9d}  {stat.traceback[0].filename}")
    lines.append("-- by line")
    for stat in snap.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9d}  {frame.filename}:{frame.lineno}")
    if snap.traceback_limit > 1:
        lines.append("-- by traceback")
        for stat in snap.statistics("traceback")[: top // 2]:
            lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9d}")
            lines += ["      " + line for line in stat.traceback.format(limit=snap.traceback_limit)]
    text = "\n".join(lines)
    print(text, flush=True)
    (out / f"{label}.txt").write_text(text + "\n")


async def _serve(config: str, listen: str, out: Path, after: float, top: int) -> None:
    """The exporter as ``serve`` runs it, writing snapshots when ready and ``after`` s later."""
    from exporter.daemon import Daemon
    from exporter.web.app import build_app

    started = time.monotonic()
    daemon = Daemon(config)

    async def watch() -> None:
        while not daemon.engine.ready:  # noqa: ASYNC110 - the engine signals readiness to no one
            await asyncio.sleep(0.1)
        ready = time.monotonic() - started
        rss = _rss_self()
        (out / "ready.txt").write_text(f"{ready:.2f} {rss}\n")
        print(f"ready after {ready:.1f} s (in process), RSS {rss / 1e6:.1f} MB", flush=True)
        if tracemalloc.is_tracing():
            _report("ready", tracemalloc.take_snapshot(), out, top)
        await asyncio.sleep(after)
        gc.collect()
        rss = _rss_self()
        print(f"after {after:g} s more: RSS {rss / 1e6:.1f} MB", flush=True)
        if tracemalloc.is_tracing():
            _report("later", tracemalloc.take_snapshot(), out, top)
        (out / "done").write_text(f"{rss}\n")

    task = asyncio.ensure_future(watch())
    try:
        await daemon.serve(listen, build_app(daemon))
    finally:
        task.cancel()
        daemon.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--after", type=float, default=150.0, help="seconds after ready")
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc frames per trace")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--plain", action="store_true", help="scrape without gzip")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--serve", nargs=3, metavar=("CONFIG", "LISTEN", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve:
        from exporter import logs

        if not args.no_trace:
            tracemalloc.start(args.frames)
        logs.setup("warning", "json")
        asyncio.run(_serve(args.serve[0], args.serve[1], Path(args.serve[2]), args.after, args.top))
        return 0

    sys.path.insert(0, str(ROOT / "tests"))
    from support.procs import Process, free_port, http_ok, wait_until

    out = args.out or Path(tempfile.mkdtemp(prefix="readiness-memory-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {loadavg()}; output in {out}", flush=True)
    two = (os.cpu_count() or 1) >= 2
    if two:
        os.sched_setaffinity(0, {1})
    nginx = Nginx(out / "nginx", cpus="1" if two else None).start()
    try:
        config = out / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                checklist(items_of("http", args.items, nginx), f"{args.interval:g}s", "5s")
            )
        )
        listen = f"127.0.0.1:{free_port()}"
        child = [sys.executable, "-m", "bench.memory", "--serve", str(config), listen, str(out)]
        child += ["--after", str(args.after), "--frames", str(args.frames), "--top", str(args.top)]
        if args.no_trace:
            child.append("--no-trace")
        if two:
            child = ["taskset", "-c", "0", *child]
        started = time.monotonic()
        proc = Process(child, out / "exporter.log", env={**os.environ, "PYTHONPATH": str(ROOT)})
        base = f"http://{listen}"
        try:
            wait_until(lambda: http_ok(f"{base}/-/healthy"), 120, "exporter healthy")
            peak = 0
            next_scrape = time.monotonic()
            ready_at = None
            while not (out / "done").exists():
                if proc.proc.poll() is not None:
                    raise RuntimeError(proc.log())
                if ready_at is None and http_ok(f"{base}/-/ready"):
                    ready_at = time.monotonic() - started
                if time.monotonic() >= next_scrape:
                    next_scrape += 15
                    timed_get(f"{base}/metrics", gzip=not args.plain)
                peak = peak_rss_bytes(proc.proc.pid)
                time.sleep(0.2)
            peak = peak_rss_bytes(proc.proc.pid)
            in_process, ready_rss = (out / "ready.txt").read_text().split()
            print(
                f"/-/ready after {ready_at:.1f} s from the start "
                f"(in process {float(in_process):.1f} s); "
                f"RSS when ready {int(ready_rss) / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB "
                f"(VmHWM); load average at end: {loadavg()}",
                flush=True,
            )
        finally:
            proc.stop(timeout=30)
    finally:
        nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
