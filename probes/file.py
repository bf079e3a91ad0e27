"""File probe: a file exists, is fresh enough, and its content matches a pattern."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Pattern

from .context import ProbeContext
from .fields import Fields, format_duration
from .reading import read_capped
from .result import Result, failed, passed

READ_CAP = 4 * 1024 * 1024  # bytes read for a content check


@dataclass(frozen=True)
class Spec:
    path: Path
    max_age: float | None = None          # seconds since last modification
    content_regex: Pattern[str] | None = None


def parse_spec(f: Fields) -> Spec:
    spec = Spec(
        path=f.path("path"),
        max_age=f.duration("max_age", None),
        content_regex=f.regex("content_regex", None),
    )
    f.done()
    return spec


def _check(spec: Spec) -> Result:
    path = spec.path
    try:
        stat = path.stat()
    except FileNotFoundError:
        return failed(f"{path} does not exist", path=str(path))
    except OSError as exc:
        return failed(f"{path} cannot be read ({exc.strerror})", path=str(path))
    age = time.time() - stat.st_mtime
    evidence = {"path": str(path), "bytes": stat.st_size, "age_seconds": round(age)}
    if spec.max_age is not None and age > spec.max_age:
        return failed(f"{path.name} is {format_duration(age)} old, "
                      f"expected at most {format_duration(spec.max_age)}", **evidence)
    if spec.content_regex is not None:
        try:
            text = read_capped(path, READ_CAP).decode("utf-8", "replace")
        except OSError as exc:
            return failed(f"{path} cannot be read ({exc.strerror})", **evidence)
        if not spec.content_regex.search(text):
            return failed(f"{path.name} does not match /{spec.content_regex.pattern}/", **evidence)
    return passed(f"{path.name} present ({stat.st_size} bytes, "
                  f"modified {format_duration(age)} ago)", **evidence)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"checking {spec.path}")
    # Off the event loop: a slow or huge file must not stall other probes or /metrics.
    return await asyncio.to_thread(_check, spec)
