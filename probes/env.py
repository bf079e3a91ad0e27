"""Env probe: a variable of the exporter's environment is set, long enough, not a placeholder.

The value never leaves the process: summaries and evidence give only its length and which rule
it broke, never the value or a part of it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .context import ProbeContext
from .fields import Fields
from .placeholders import is_placeholder
from .result import Result, Status


@dataclass(frozen=True)
class Spec:
    name: str
    min_length: int = 1
    reject_placeholders: bool = True

    def credential_variables(self) -> tuple[str, ...]:
        """The variable checked holds a credential: its value is masked in every output."""
        return (self.name,)


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        name=f.text("name"),
        min_length=f.integer("min_length", minimum=1),
        reject_placeholders=f.flag("reject_placeholders"),
    )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.name) and f.usable("name"):
        f.problem("name", f'must be a variable name such as JWT_SECRET (got "{spec.name}")')
    return spec


def judge(spec: Spec, environ: os._Environ[str] | dict[str, str]) -> Result:
    value = environ.get(spec.name)
    evidence: dict[str, object] = {"variable": spec.name, "min_length": spec.min_length}
    if value is None or not value.strip():
        return Result(
            Status.FAIL,
            f"{spec.name} is not set, expected a value of at least {spec.min_length} characters",
            {**evidence, "set": False},
        )
    evidence.update(set=True, length=len(value))
    if spec.reject_placeholders and is_placeholder(value):
        return Result(
            Status.FAIL,
            f"{spec.name} holds a placeholder value, expected a real one",
            {**evidence, "placeholder": True},
        )
    if len(value) < spec.min_length:
        return Result(
            Status.FAIL,
            f"{spec.name} has {len(value)} characters, expected at least {spec.min_length}",
            evidence,
        )
    return Result(
        Status.PASS,
        f"{spec.name} is set ({len(value)} characters, at least {spec.min_length})",
        evidence,
    )


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"reading ${spec.name} (the value is never shown)")
    return judge(spec, os.environ)
