"""Disk probe: the free share of the filesystem holding a path, from os.statvfs, as df shows it.

"Disk space adequate (>50% free)" is read the way a person reads ``df``: the space the
application (an unprivileged writer, such as the database's user) can still write, against the
space it could ever use. Blocks ext4 reserves for root (5 % by default, sometimes far more) are
neither: counted as used, as ``f_bavail / f_blocks`` counts them, a volume with 78 GB available
and 24 % used read as "31 % free" (issue 11, I-003). So::

    available = f_bavail                      (blocks an unprivileged writer may still use)
    usable    = f_blocks - f_bfree + f_bavail (used blocks plus available ones: df's Size less
                                               the reserved blocks)
    free      = available / usable            (100 % less df's Use%)

The summary names the reserved space it left out.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from .context import ProbeContext
from .fields import Fields, format_bytes
from .result import Result, Status


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


@dataclass(frozen=True)
class FreeSpace:
    """A filesystem's space as df shows it, in bytes."""

    available: int  # what an unprivileged writer may still write (f_bavail)
    usable: int  # used plus available: the size less the blocks reserved for root
    reserved: int  # free blocks only root may use (f_bfree - f_bavail)
    size: int  # all data blocks (f_blocks)

    @property
    def ratio(self) -> float:
        """The free share: 100 % less df's Use%."""
        return self.available / self.usable


def free_space(st: os.statvfs_result) -> FreeSpace:
    block = st.f_frsize
    used = st.f_blocks - st.f_bfree
    return FreeSpace(
        available=st.f_bavail * block,
        usable=(used + st.f_bavail) * block,
        reserved=max(0, st.f_bfree - st.f_bavail) * block,
        size=st.f_blocks * block,
    )


def judge(spec: Spec) -> Result:
    try:
        space = free_space(os.statvfs(spec.path))
    except OSError as exc:
        return Result(
            Status.FAIL,
            f"{spec.path} cannot be examined ({exc.strerror or exc})",
            {"path": str(spec.path)},
        )
    evidence = {
        "path": str(spec.path),
        "available_bytes": space.available,
        "usable_bytes": space.usable,
        "reserved_bytes": space.reserved,
        "size_bytes": space.size,
    }
    if space.usable <= 0:
        return Result(
            Status.FAIL,
            f"{spec.path}: the filesystem reports no usable blocks, cannot judge its free space",
            evidence,
            error=True,
        )
    ratio = space.ratio
    evidence["free_ratio"] = round(ratio, 4)
    reserved = (
        f"; {format_bytes(space.reserved)} reserved for root left out" if space.reserved else ""
    )
    # Rounded down, as df rounds Use% up: 49.6 % free is "49%", never a "50%" that fails ">= 50%".
    percent = math.floor(ratio * 100)
    seen = (
        f"{spec.path}: {percent}% free as df counts it ({format_bytes(space.available)} of "
        f"{format_bytes(space.usable)} available to unprivileged writers{reserved})"
    )
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
