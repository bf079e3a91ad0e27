"""Run every benchmark, print the table and write it into docs/performance.md.

    .venv/bin/python -m bench [--only cost,scale,validate,shipped,detection,render] [--quick]
                              [--no-write]

``--quick`` shortens every run (fewer windows, 2,000 items for scale) to check that the
benchmarks work; its numbers are not the ones docs/performance.md reports.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import tempfile
import time
from pathlib import Path

from . import cost_per_check, detection, procstat, render, scale, shipped_config, validate
from .report import Row, section, table, write_into
from .targets import ROOT

BENCHES = ("cost", "scale", "validate", "shipped", "detection", "render")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="short runs, to check the benchmarks work"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave docs/performance.md"
    )
    args = parser.parse_args(argv)
    chosen = [b for b in args.only.split(",") if b]
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        parser.error(
            f"unknown benchmark {', '.join(sorted(unknown))}: expected some of {', '.join(BENCHES)}"
        )

    # Start-up as a user has it: pip writes every module's bytecode when it installs a package,
    # but an editable install here, under PYTHONDONTWRITEBYTECODE=1 (set on the machines these
    # runs were made on), compiled every module of ours from source at each start: 0.7 s of
    # `validate`'s 2.5 s at 10,000 items. The children inherit the environment without it.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for package in ("exporter", "probes", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = procstat.loadavg()
    machine = procstat.machine()
    for k, v in machine.items():
        print(f"{k}: {v}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="readiness-bench-"))
    rows: list[Row] = []
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        began = time.monotonic()
        if name == "cost":
            got = cost_per_check.run(work / name, windows=2 if args.quick else 4)
        elif name == "scale":
            got = (
                scale.run(work / name, n=2000, interval=20, window=30, runs=1)
                if args.quick
                else scale.run(work / name)
            )
        elif name == "validate":
            got = validate.run(
                work / name, n=2000 if args.quick else 10_000, runs=1 if args.quick else 5
            )
        elif name == "shipped":
            got = shipped_config.run(work / name, runs=1 if args.quick else 3)
        elif name == "detection":
            got = detection.run(work / name, runs=1 if args.quick else 3)
        else:
            got = (
                render.run(work / name, n=2000, changed=500)
                if args.quick
                else render.run(work / name)
            )
        rows += got
        print(table(got), flush=True)
        print(f"({time.monotonic() - began:.0f} s)", flush=True)

    command = (
        "make bench"
        if not args.quick and args.only == ",".join(BENCHES)
        else "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    text = section(rows, machine, command, started, (load_before, procstat.loadavg()))
    print("\n" + text)
    if not args.no_write and not args.quick:
        write_into(ROOT / "docs" / "performance.md", text)
        print("\nwritten to docs/performance.md")
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
