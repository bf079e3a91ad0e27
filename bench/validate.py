"""``readiness-exporter validate`` at 10,000 items, as a user runs it (issue 14: under 1 s).

The peer, measured in the same run on the same file: PyYAML's pure-Python loader reading the
YAML alone (in a fresh process, Python's start-up not counted), which is where ``validate``
spent most of its 4.5 s when the issue was filed. ``validate`` includes Python's start-up, the
imports, the YAML and every item's checks.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .procstat import median
from .report import Row
from .targets import ROOT, checklist
from .yaml_loader import items, load_in_child, validate_seconds


def run(workdir: Path, n: int = 10_000, runs: int = 5) -> list[Row]:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(checklist(items(n), "60s", "5s")))
    ours = [validate_seconds(ROOT, path) for _ in range(runs)]
    peer = [load_in_child("pure", path)["seconds"] for _ in range(runs)]
    return [
        Row(
            f"`validate`, {n} items (start-up included)",
            "< 1 s",
            f"{median(ours):.2f} s",
            f"PyYAML pure-Python load alone: {median(peer):.2f} s",
            f"{median(ours) / median(peer):.2f}",
            met=median(ours) < 1.0,
            note=f"median of {runs}; runs {', '.join(f'{t:.2f}' for t in ours)} s; peer "
            f"{', '.join(f'{t:.2f}' for t in peer)} s; {path.stat().st_size / 1e6:.1f} MB of YAML",
        )
    ]
