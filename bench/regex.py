"""``.*END`` over a one-line body without END: Python's ``re`` against RE2 (why patterns use RE2).

Python's backtracking engine tries ``.*`` from every starting point, so the time grows with the
square of the text; RE2's grows linearly. ``re`` is timed on 16 to 128 KiB (each doubling about
quadruples it) and its 1 MiB time is extrapolated from the largest; ``--full`` times the real
1 MiB match too (minutes). RE2 is timed on 1 MiB directly, through ``probes.patterns``, as the
http probe's ``body_regex`` runs it.

    .venv/bin/python bench/regex.py [--full]
"""

from __future__ import annotations

import re
import statistics
import sys
import time

from probes.patterns import compile_pattern

PATTERN = ".*END"
MIB = 2**20


def timed(search, text: str, runs: int) -> float:
    """The median of ``runs`` searches, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        assert search(text) is None
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(full: bool) -> None:
    backtracking = re.compile(PATTERN).search
    linear = compile_pattern(PATTERN).search
    print(f"/{PATTERN}/ over one line of 'x' (no match), median of runs")
    print(f"{'size':>8}  {'re':>12}  {'RE2':>10}")
    largest = 0.0
    for kib in (16, 32, 64, 128):
        text = "x" * (kib * 1024)
        largest = timed(backtracking, text, 3)
        print(f"{kib:>5} KiB  {largest * 1000:>9.1f} ms  {timed(linear, text, 5) * 1000:>7.2f} ms")
    text = "x" * MIB
    estimate = largest * (MIB / (128 * 1024)) ** 2
    re_mib = f"{timed(backtracking, text, 1):.0f} s" if full else f"~{estimate:.0f} s (estimated)"
    print(f"{1024:>5} KiB  {re_mib:>12}  {timed(linear, text, 5) * 1000:>7.2f} ms")


if __name__ == "__main__":
    main("--full" in sys.argv[1:])
