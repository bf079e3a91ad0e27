"""Disk probe: the free share of the filesystem holding a path, from os.statvfs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .context import ProbeContext
from .fields import Fields
from .result import Result, Status

GIB = 1024**3


@dataclass(frozen=True)
class Spec:
    path: Path
    min_free_ratio: float = 0.5  # below: FAIL (the checklist's ">50% free")
    warn_free_ratio: float | None = None  # below (and above min): PARTIAL


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        path=f.path("path"),
        min_free_ratio=f.ratio("min_free_ratio"),
        warn_free_ratio=f.optional_ratio("warn_free_ratio"),
    )
    warn = spec.warn_free_ratio
    if warn is not None and warn < spec.min_free_ratio and f.usable("min_free_ratio"):
        f.problem(
            "warn_free_ratio",
            f"({warn:g}) must not be below min_free_ratio ({spec.min_free_ratio:g})",
        )
    return spec


def judge(spec: Spec) -> Result:
    try:
        st = os.statvfs(spec.path)
    except OSError as exc:
        return Result(
            Status.FAIL,
            f"{spec.path} cannot be examined ({exc.strerror or exc})",
            {"path": str(spec.path)},
        )
    # f_bavail: blocks an unprivileged user may use, as df reports them.
    total, free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
    ratio = free / total if total else 0.0
    evidence = {
        "path": str(spec.path),
        "free_bytes": free,
        "total_bytes": total,
        "free_ratio": round(ratio, 4),
    }
    seen = f"{spec.path}: {ratio:.0%} free ({free / GIB:.1f} of {total / GIB:.1f} GiB)"
    if ratio < spec.min_free_ratio:
        return Result(Status.FAIL, f"{seen}, expected at least {spec.min_free_ratio:.0%}", evidence)
    if spec.warn_free_ratio is not None and ratio < spec.warn_free_ratio:
        return Result(
            Status.PARTIAL, f"{seen}, expected at least {spec.warn_free_ratio:.0%}", evidence
        )
    return Result(Status.PASS, f"{seen}, at least {spec.min_free_ratio:.0%}", evidence)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"statvfs {spec.path}")
    # Off the loop: statvfs on a hung network mount blocks; the budget decides when to give up.
    return await ctx.blocking(ctx.resources.files, judge, spec, target=str(spec.path))
