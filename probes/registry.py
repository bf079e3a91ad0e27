"""The probe kinds, by the name a config uses for them: the one list of what can be probed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import (
    alerting,
    attestation,
    command,
    composite,
    disk,
    dns,
    env,
    file,
    http,
    promql,
    report,
    secrets,
    sql,
    tcp,
    tls,
)
from .context import ProbeContext
from .fields import Fields, Reading
from .problems import Problems, show
from .result import Result


@dataclass(frozen=True)
class Kind:
    """How to read a kind's settings (raw value, field name, reading) and how to run it."""

    parse: Callable[[object, str, Reading], object]
    probe: Callable[[Any, ProbeContext], Awaitable[Result]]


def _fields(parse_spec: Callable[[Fields], object]) -> Callable[[object, str, Reading], object]:
    """A kind whose settings are a mapping, read by ``parse_spec`` through ``Fields``."""

    def parse(raw: object, name: str, reading: Reading) -> object:
        fields = reading.mapping(raw, name)
        if fields is None:
            return None
        spec = parse_spec(fields)
        fields.done()
        return spec

    return parse


KINDS: Mapping[str, Kind] = {
    "http": Kind(_fields(http.parse_spec), http.probe),
    "tcp": Kind(_fields(tcp.parse_spec), tcp.probe),
    "file": Kind(_fields(file.parse_spec), file.probe),
    "command": Kind(_fields(command.parse_spec), command.probe),
    "attestation": Kind(_fields(attestation.parse_spec), attestation.probe),
    "tls": Kind(_fields(tls.parse_spec), tls.probe),
    "dns": Kind(_fields(dns.parse_spec), dns.probe),
    "promql": Kind(_fields(promql.parse_spec), promql.probe),
    "sql": Kind(_fields(sql.parse_spec), sql.probe),
    "report": Kind(_fields(report.parse_spec), report.probe),
    "env": Kind(_fields(env.parse_spec), env.probe),
    "disk": Kind(_fields(disk.parse_spec), disk.probe),
    "secrets": Kind(_fields(secrets.parse_spec), secrets.probe),
    "alerting": Kind(_fields(alerting.parse_spec), alerting.probe),
    "all": Kind(composite.parse_spec, composite.probe_all),
    "any": Kind(composite.parse_spec, composite.probe_any),
}


@dataclass(frozen=True)
class Probe:
    """An item's ``probe:`` setting, read: its kind and either a spec or the variables it needs."""

    kind: str
    spec: object  # the kind's Spec, built from real values only; None while waiting
    waiting: tuple[str, ...] = ()  # unset variables: the item is PENDING, not probed


def parse_probe(raw: object, prefix: str, reading: Reading) -> tuple[str, object]:
    """The kind and spec of a ``{kind: {...}}`` mapping, problems going to ``reading``.

    The spec may hold stand-ins for values that are wrong or unset: only ``read_probe``'s
    answer, given when the reading found neither, is a spec to use.
    """
    if not isinstance(raw, Mapping) or len(raw) != 1:
        got = ", ".join(map(str, raw)) if isinstance(raw, Mapping) and raw else show(raw)
        reading.problems.add(
            f"{prefix or 'probe'} must have exactly one key, the probe kind: "
            f"one of {', '.join(KINDS)} (got {got})"
        )
        return "", None
    ((kind, body),) = raw.items()
    if kind not in KINDS:
        reading.problems.add(
            f"{prefix or 'probe'} kind {show(str(kind))} is unknown: "
            f"expected one of {', '.join(KINDS)}"
        )
        return "", None
    name = f"{prefix}.{kind}" if prefix else str(kind)
    return str(kind), KINDS[kind].parse(body, name, reading)


def read_probe(raw: object, base_dir: Path, problems: Problems) -> Probe | None:
    """An item's probe setting, or None when it has problems (each recorded in ``problems``).

    Every field is checked that can be: a field that needs an unset variable is not, the
    others are, so a typo in an item that is not configured yet is still an error.
    """
    reading = Reading(base_dir, problems)
    before = len(problems)
    kind, spec = parse_probe(raw, "", reading)
    if len(problems) > before:
        return None
    if reading.waiting:
        return Probe(kind, None, tuple(reading.waiting))
    return Probe(kind, spec)
