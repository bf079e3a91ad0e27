"""Composite probes: ``all`` and ``any`` over a list of probes of any kind, run concurrently.

Either takes a list of probes, or a mapping with the list under ``probes`` and, under
``control``, probes that show the others can be judged at all: a vantage point that reaches
the public address (a port that must be open) before "the database port is closed" means
anything. A control that does not pass makes the whole result "cannot judge" (a probe error),
never a verdict on the target.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yarl import URL

from .context import ProbeContext, run_probe
from .kind import Kind, ProbeReading
from .masking import clip
from .problems import show
from .result import Result, Status

SUBJECT_CAP = 80  # characters of a child's subject shown in a summary
SUBJECT_QUOTED = 40  # a summary holding this much of the subject names the child
# The spec attributes that name what a child looks at, in the order a summary prefers them.
SUBJECTS = ("query", "target", "url", "path", "glob", "name", "file", "prometheus", "argv")


KNOWN_ANY = ("control", "probes")


@dataclass(frozen=True)
class Child:
    kind: str
    spec: Any  # the child kind's Spec
    runs: Kind  # the kind as the registry the config was read with defines it

    # Derived from the spec once (every run names failing children), masked at each use.
    @functools.cached_property
    def looked_at(self) -> object:
        """The setting that names what the child looks at (None when it has none)."""
        request = getattr(self.spec, "request", None)
        value = getattr(request, "url", None) if request is not None else None
        for attr in SUBJECTS:
            if value is not None:
                break
            value = getattr(self.spec, attr, None)
        return value

    @functools.cached_property
    def subject_text(self) -> str:
        """``looked_at`` as one line of words, a URL without its user, before any cut."""
        value = self.looked_at
        if value is None:
            return ""
        if isinstance(value, Path):
            # A file is named by its last folder and name: the absolute path's start (the
            # config's folder) is the same for every child and would push the name out of a
            # cut summary.
            value = Path(*value.parts[-2:])
        text = " ".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
        return " ".join(map(_without_user, text.split()))


@dataclass(frozen=True)
class Spec:
    probes: tuple[Child, ...]
    controls: tuple[Child, ...] = ()  # must all pass for the probes' verdict to mean anything
    # all's ``partial: false``: some passing is FAIL, not PARTIAL's half credit, where one
    # failing probe already answers the question (a DEBUG level in the config or in the log)
    partial: bool = True


def parse_spec(raw: object, name: str, reading: ProbeReading) -> Spec:
    """Every child is read, with the registry this setting is read with, so each one's
    problems and variables are reported."""
    if isinstance(raw, Mapping):
        known = ("control", "probes", "partial") if name.split(".")[-1] == "all" else KNOWN_ANY
        for key in [str(k) for k in raw if k not in known]:
            reading.problems.add(f"{name}.{key} is not a known field (known: {', '.join(known)})")
        if "probes" not in raw:
            reading.problems.add(f"{name}.probes is required: the probes to judge")
        partial = raw.get("partial", True)
        if not isinstance(partial, bool):
            reading.problems.add(f"{name}.partial must be true or false (got {show(partial)})")
            partial = True
        return Spec(
            _children(raw.get("probes"), f"{name}.probes", reading) if "probes" in raw else (),
            _children(raw["control"], f"{name}.control", reading) if "control" in raw else (),
            partial,
        )
    return Spec(_children(raw, name, reading))


def written_children(body: object) -> list[object]:
    """The probes an ``all``/``any`` setting holds as written (either form), controls first:
    for tools that walk a config without reading it."""
    if isinstance(body, Mapping):
        return [*_listed(body.get("control")), *_listed(body.get("probes"))]
    return _listed(body)


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _children(raw: object, name: str, reading: ProbeReading) -> tuple[Child, ...]:
    if not isinstance(raw, list) or not raw:
        reading.problems.add(f"{name} must be a list of probes (got {show(raw)})")
        return ()
    children = []
    for i, entry in enumerate(raw):
        kind, spec = reading.kinds.parse_probe(entry, f"{name}[{i}]", reading)
        if kind:  # an unknown kind is a problem recorded: the spec will not be used
            children.append(Child(kind, spec, reading.kinds[kind]))
    return tuple(children)


def watched_files(spec: Spec) -> tuple[Path, ...]:
    """What the children watch (an attestation among the probes of an ``all``)."""
    every = (*spec.controls, *spec.probes)
    return tuple(path for c in every for path in c.runs.watched_files(c.spec))


def signed_files(spec: Spec) -> tuple[Path, ...]:
    """What the children have signed: an attestation beside a precondition probe
    (``all: [{file: ...}, {attestation: ...}]``) is signed as if it stood alone."""
    return tuple(
        path
        for c in (*spec.controls, *spec.probes)
        if c.runs.signed_files is not None
        for path in c.runs.signed_files(c.spec)
    )


async def run_children(children: tuple[Child, ...], ctx: ProbeContext) -> list[Result]:
    """Every child's result, each under the engine's rule for silence, within this deadline."""
    results = await asyncio.gather(
        *(run_probe(c.runs.probe, c.spec, ctx.child()) for c in children),
        return_exceptions=True,
    )
    # A child's bug fails the whole item as any probe's would, once every child has ended.
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, Result)]


def subject(child: Child, cap: int = SUBJECT_CAP) -> str:
    """What a child looks at, as its settings name it: a URL, a target, a query, a path."""
    return clip(child.subject_text, cap)


def _without_user(word: str) -> str:
    """A URL without the user and password written into it; any other word as it is (a query
    or an argv may hold both "://" and "@" without being one URL: clip masks their passwords)."""
    if "://" not in word or "@" not in word:
        return word
    try:
        url = URL(word)
        return str(url.with_user(None)) if url.is_absolute() else word
    except ValueError:  # not a URL yarl can read
        return word


def named(child: Child, result: Result) -> str:
    """A child's summary led by its kind and, unless the summary names it, its subject."""
    what = subject(child, cap=10_000)
    # A summary that quotes the subject, whole or cut (a long query), names the child already;
    # so does one that names a file the child looks at.
    value = child.looked_at
    quoted = what[:SUBJECT_QUOTED] in result.summary or (
        isinstance(value, Path) and value.name in result.summary
    )
    if what and not quoted:
        return f"{child.kind} {subject(child)}: {result.summary}"
    return f"{child.kind}: {result.summary}"


def _evidence(spec: Spec, controls: list[Result], results: list[Result]) -> dict[str, Any]:
    def entry(child: Child, result: Result, role: str) -> dict[str, Any]:
        shown = {"kind": child.kind, "subject": subject(child), "status": result.status.value}
        return {**shown, "summary": result.summary, **({"role": role} if role else {})}

    return {
        "probes": [
            *(entry(c, r, "control") for c, r in zip(spec.controls, controls, strict=True)),
            *(entry(c, r, "") for c, r in zip(spec.probes, results, strict=True)),
        ]
    }


def _expiry(results: list[Result]) -> float | None:
    times = [r.expires_at for r in results if r.expires_at is not None]
    return min(times) if times else None


def _failing(spec: Spec, results: list[Result]) -> str:
    return "; ".join(
        named(c, r)
        for c, r in zip(spec.probes, results, strict=True)
        if r.status is not Status.PASS
    )


async def _run(spec: Spec, ctx: ProbeContext) -> tuple[list[Result], list[Result], Result | None]:
    """The controls' and the probes' results, and the result to give when a control failed."""
    everything = await run_children((*spec.controls, *spec.probes), ctx)
    controls, results = everything[: len(spec.controls)], everything[len(spec.controls) :]
    for child, result in zip(spec.controls, controls, strict=True):
        if result.status is not Status.PASS:
            return (
                controls,
                results,
                Result(
                    Status.FAIL,
                    f"cannot judge: control failed, {named(child, result)}",
                    _evidence(spec, controls, results),
                    error=True,
                ),
            )
    return controls, results, None


def _controls_held(spec: Spec, controls: list[Result]) -> str:
    if not controls:
        return ""
    shown = "; ".join(named(c, r) for c, r in zip(spec.controls, controls, strict=True))
    return f" (control: {shown})"


async def probe_all(spec: Spec, ctx: ProbeContext) -> Result:
    """PASS when every probe passes, PARTIAL when some do (FAIL with ``partial: false``), FAIL
    when none does; cannot judge when the only probes not passing are those that could not
    judge."""
    controls, results, cannot = await _run(spec, ctx)
    if cannot is not None:
        return cannot
    passing = sum(r.status is Status.PASS for r in results)
    n = len(results)
    if passing == n:
        status = Status.PASS
        summary = f"all {n} probes pass: " + "; ".join(
            named(c, r) for c, r in zip(spec.probes, results, strict=True)
        )
    else:
        status = Status.PARTIAL if passing and spec.partial else Status.FAIL
        summary = f"{passing} of {n} probes pass; {_failing(spec, results)}"
    # A probe that could not judge might have passed: when it is the only one not passing, the
    # whole is not known to fall short (PARTIAL would be half a verdict), so it cannot judge.
    # One that did judge and fell short settles the whole: a FAIL, not "cannot judge" (P-005's
    # missing soak report beside a memory query without an hour of data is known to fail).
    unjudged = all(r.error for r in results if r.status is not Status.PASS)
    if passing and passing < n and unjudged:
        status = Status.FAIL
    return Result(
        status,
        summary + _controls_held(spec, controls),
        _evidence(spec, controls, results),
        _expiry(results),
        error=any(r.error for r in results) and unjudged,
    )


async def probe_any(spec: Spec, ctx: ProbeContext) -> Result:
    """PASS when at least one probe passes, FAIL when none does."""
    controls, results, cannot = await _run(spec, ctx)
    if cannot is not None:
        return cannot
    pairs = list(zip(spec.probes, results, strict=True))
    winners = [named(c, r) for c, r in pairs if r.status is Status.PASS]
    if winners:
        return Result(
            Status.PASS,
            f"{len(winners)} of {len(results)} probes pass: {'; '.join(winners)}"
            + _controls_held(spec, controls),
            _evidence(spec, controls, results),
            _expiry(results),
        )
    return Result(
        Status.FAIL,
        f"no probe passes; {_failing(spec, results)}" + _controls_held(spec, controls),
        _evidence(spec, controls, results),
        _expiry(results),
        error=all(r.error for r in results),
    )
