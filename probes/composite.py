"""Composite probes: ``all`` and ``any`` over a list of probes of any kind, run concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import ProbeContext
from .fields import SpecError, show
from .result import Result, Status


@dataclass(frozen=True)
class Child:
    kind: str
    spec: Any


@dataclass(frozen=True)
class Spec:
    probes: tuple[Child, ...]


def leaves(kind: str, spec: Any) -> Iterator[tuple[str, Any]]:
    """The kind and spec of every probe that is not a composite, in ``all``/``any`` trees too.

    How the engine and ``attest`` find the evidence file of an item whose attestation sits
    beside a precondition probe (``all: [{file: ...}, {attestation: ...}]``).
    """
    if isinstance(spec, Spec):
        for child in spec.probes:
            yield from leaves(child.kind, child.spec)
    else:
        yield kind, spec


def parse_spec(raw: Any, prefix: str, base_dir: Path) -> Spec:
    from . import registry  # the registry imports this module

    if not isinstance(raw, list) or not raw:
        raise SpecError(prefix, f"must be a list of probes (got {show(raw)})")
    children = []
    for i, entry in enumerate(raw):
        kind, spec = registry.parse_probe(entry, f"{prefix}[{i}]", base_dir)
        children.append(Child(kind, spec))
    return Spec(tuple(children))


async def run_children(spec: Spec, ctx: ProbeContext) -> list[Result]:
    from . import registry

    async def one(child: Child) -> Result:
        try:
            return await asyncio.wait_for(
                registry.KINDS[child.kind].probe(child.spec, ctx.child()), ctx.remaining()
            )
        except TimeoutError:
            return Result(Status.FAIL, f"{child.kind} timed out", error=True)

    return list(await asyncio.gather(*(one(c) for c in spec.probes)))


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
