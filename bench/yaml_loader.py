"""YAML loading at 10,000 items: PyYAML's pure-Python loader against libyaml, with and without
the exporter's guards, and ``readiness-exporter validate`` end to end.

    .venv/bin/python -m bench.yaml_loader [--items 10000] [--runs 5] [--before DIR]

Each loader runs in a fresh process per run (so memory figures are not shared between them):
the time to load the config, the process's RSS before, at its peak and after the load (document
still held, garbage collected), in MB. The variants:

- ``pure``: ``yaml.SafeLoader``, PyYAML's pure-Python loader, no guards;
- ``pure+guards``: the pure-Python composer, then safeyaml's checks on the node graph (alias
  expansion, depth, duplicate keys) and construction: what main did, in cost;
- ``c``: ``yaml.CSafeLoader``, libyaml, no guards, collector on;
- ``safeyaml``: ``probes.safeyaml.load``: libyaml's events, the checks counted as the
  document is built, the collector paused. The parts timed beside it (compose, checks, build)
  are those of ``load_composed``, the node-graph way it takes for merge keys and tagged
  collections;
- ``config.load``: the whole config load (YAML and validation into items), the memory an
  exporter starts from; with ``--before DIR`` also from the other checkout.

``validate`` is timed as a user runs it (a subprocess, Python's start-up included), median of
``--runs``; ``--before DIR`` also times it from another checkout (``git worktree add /tmp/old
main``) for a before/after on the same machine. Numbers are printed, never judged.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .procstat import machine
from .targets import ROOT, checklist

VARIANTS = ("pure", "pure+guards", "c", "safeyaml", "config.load")

# Runs in a fresh interpreter: loads the config one way, prints JSON with times and RSS.
CHILD = r"""
import gc, json, resource, sys, time
import yaml
from probes import safeyaml

def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) / 1024 for l in fh if l.startswith("VmRSS:"))

variant, path = sys.argv[1], sys.argv[2]
if variant == "config.load":
    from exporter import config  # imported before the clock starts, as in validate
text = open(path, encoding="utf-8").read()
gc.collect()
before = rss()
parts = {}
started = time.perf_counter()
if variant == "pure":
    doc = yaml.load(text, Loader=yaml.SafeLoader)
elif variant == "c":
    doc = yaml.load(text, Loader=yaml.CSafeLoader)
elif variant == "config.load":
    doc = config.load(path, {})
elif variant == "pure+guards":
    loader = yaml.SafeLoader(text)
    root = loader.get_single_node()
    safeyaml.check_graph(root, loader)
    doc = loader.construct_document(root)
    loader.dispose()
else:
    doc = safeyaml.load(text)
elapsed = time.perf_counter() - started
gc.collect()
peak, after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss()
if variant == "safeyaml":  # the same load again in parts, timed (the collector off as in load)
    gc.disable()
    t0 = time.perf_counter()
    loader = safeyaml._Loader(text)
    root = loader.get_single_node()
    t1 = time.perf_counter()
    safeyaml.check_graph(root, loader)
    t2 = time.perf_counter()
    built = safeyaml._Builder(loader).build(root)
    t3 = time.perf_counter()
    loader.dispose()
    del loader, root, built
    gc.enable()
    parts = {"compose": t1 - t0, "checks": t2 - t1, "build": t3 - t2}
print(json.dumps({"seconds": elapsed, "before": before, "peak": peak, "after": after,
                  "parts": parts}))
"""


def items(n: int) -> list[dict]:
    """``n`` HTTP items as bench/scale.py writes them (each with its own probe mapping)."""
    priorities = ("critical", "high", "medium", "low")
    return [
        {
            "id": f"B-{k:05d}",
            "title": f"bench item {k}",
            "priority": priorities[k % 4],
            "probe": {"http": {"url": "http://127.0.0.1:9/health"}},
        }
        for k in range(n)
    ]


def load_in_child(variant: str, path: Path, tree: Path = ROOT) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, variant, str(path)],
        cwd=tree,  # python -c imports the exporter from the working directory
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout)


def validate_seconds(tree: Path, path: Path) -> float:
    venv = tree / ".venv" / "bin" / "python"
    python = str(venv if venv.exists() else sys.executable)
    started = time.perf_counter()
    out = subprocess.run(
        [python, "-m", "exporter", "validate", "--config.file", str(path)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"validate failed in {tree}: {out.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.yaml_loader", description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout to time validate from")
    args = parser.parse_args(argv)
    for key, value in machine().items():
        print(f"{key}: {value}")
    print(f"libyaml: {yaml.__with_libyaml__} (PyYAML {yaml.__version__})")
    work = Path(tempfile.mkdtemp(prefix="yaml-bench-"))
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(checklist(items(args.items), "60s", "5s")))
    print(f"\nconfig: {args.items:,} items, {path.stat().st_size / 1e6:.1f} MB of YAML")
    print(f"median of {args.runs} fresh processes each; RSS in MB (interpreter and yaml included)")
    print(f"{'loader':<12} {'load':>9} {'RSS before':>11} {'peak':>7} {'after':>7}  runs (s)")
    rows = [(v, ROOT) for v in VARIANTS]
    if args.before:
        rows.append(("config.load", args.before))
    for variant, tree in rows:
        runs = [load_in_child(variant, path, tree) for _ in range(args.runs)]

        def mid(key: str, runs: list[dict] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        times = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        label = variant if tree == ROOT else f"{variant} ({tree})"
        print(
            f"{label:<12} {mid('seconds') * 1000:7.0f}ms {mid('before'):11.1f} "
            f"{mid('peak'):7.1f} {mid('after'):7.1f}  {times}"
        )
        if runs[0]["parts"]:
            parts = {k: statistics.median(r["parts"][k] for r in runs) for k in runs[0]["parts"]}
            print("  parts: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items()))
    trees = [("this checkout", ROOT)] + ([("--before", args.before)] if args.before else [])
    for name, tree in trees:
        times_v = [validate_seconds(tree, path) for _ in range(args.runs)]
        print(
            f"validate ({name}, {tree}): median {statistics.median(times_v):.2f} s; runs "
            + ", ".join(f"{t:.2f}" for t in times_v)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
