"""Composite probes: ``all`` and ``any`` over a list of probes of any kind, run concurrently."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import ProbeContext, run_probe
from .kind import Kind, ProbeReading
from .problems import show
from .result import Result, Status


@dataclass(frozen=True)
class Child:
    kind: str
    spec: Any  # the child kind's Spec
    runs: Kind  # the kind as the registry the config was read with defines it


@dataclass(frozen=True)
class Spec:
    probes: tuple[Child, ...]


def parse_spec(raw: object, name: str, reading: ProbeReading) -> Spec:
    """Every child is read, with the registry this setting is read with, so each one's
    problems and variables are reported."""
    if not isinstance(raw, list) or not raw:
        reading.problems.add(f"{name} must be a list of probes (got {show(raw)})")
        return Spec(())
    children = []
    for i, entry in enumerate(raw):
        kind, spec = reading.kinds.parse_probe(entry, f"{name}[{i}]", reading)
        if kind:  # an unknown kind is a problem recorded: the spec will not be used
            children.append(Child(kind, spec, reading.kinds[kind]))
    return Spec(tuple(children))


def watched_files(spec: Spec) -> tuple[Path, ...]:
    """What the children watch (an attestation among the probes of an ``all``)."""
    return tuple(path for c in spec.probes for path in c.runs.watched_files(c.spec))


def signed_files(spec: Spec) -> tuple[Path, ...]:
    """What the children have signed: an attestation beside a precondition probe
    (``all: [{file: ...}, {attestation: ...}]``) is signed as if it stood alone."""
    return tuple(
        path
        for c in spec.probes
        if c.runs.signed_files is not None
        for path in c.runs.signed_files(c.spec)
    )


async def run_children(spec: Spec, ctx: ProbeContext) -> list[Result]:
    """Every child's result, each under the engine's rule for silence, within this deadline."""
    results = await asyncio.gather(
        *(run_probe(c.runs.probe, c.spec, ctx.child()) for c in spec.probes),
        return_exceptions=True,
    )
    # A child's bug fails the whole item as any probe's would, once every child has ended.
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, Result)]


def _evidence(spec: Spec, results: list[Result]) -> dict[str, Any]:
    return {
        "probes": [
            {"kind": c.kind, "status": r.status.value, "summary": r.summary}
            for c, r in zip(spec.probes, results, strict=True)
        ]
    }


def _expiry(results: list[Result]) -> float | None:
    times = [r.expires_at for r in results if r.expires_at is not None]
    return min(times) if times else None


def _failing(spec: Spec, results: list[Result]) -> str:
    return "; ".join(
        f"{c.kind}: {r.summary}"
        for c, r in zip(spec.probes, results, strict=True)
        if r.status is not Status.PASS
    )


async def probe_all(spec: Spec, ctx: ProbeContext) -> Result:
    """PASS when every probe passes, PARTIAL when some do, FAIL when none does."""
    results = await run_children(spec, ctx)
    passing = sum(r.status is Status.PASS for r in results)
    n = len(results)
    if passing == n:
        status, summary = Status.PASS, f"all {n} probes pass"
    else:
        status = Status.PARTIAL if passing else Status.FAIL
        summary = f"{passing} of {n} probes pass; {_failing(spec, results)}"
    return Result(
        status,
        summary,
        _evidence(spec, results),
        _expiry(results),
        error=any(r.error for r in results) and passing == 0,
    )


async def probe_any(spec: Spec, ctx: ProbeContext) -> Result:
    """PASS when at least one probe passes, FAIL when none does."""
    results = await run_children(spec, ctx)
    winners = [c.kind for c, r in zip(spec.probes, results, strict=True) if r.status is Status.PASS]
    if winners:
        return Result(
            Status.PASS,
            f"{len(winners)} of {len(results)} probes pass",
            _evidence(spec, results),
            _expiry(results),
        )
    return Result(
        Status.FAIL,
        f"no probe passes; {_failing(spec, results)}",
        _evidence(spec, results),
        _expiry(results),
        error=all(r.error for r in results),
    )
