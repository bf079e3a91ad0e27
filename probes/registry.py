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
from .fields import Fields, SpecError, show
from .result import Result


@dataclass(frozen=True)
class Kind:
    """How to read a kind's config (raw value, field prefix, config folder) and how to run it."""

    parse: Callable[[Any, str, Path], Any]
    probe: Callable[[Any, ProbeContext], Awaitable[Result]]


def _fields(parse_spec: Callable[[Fields], Any]) -> Callable[[Any, str, Path], Any]:
    return lambda raw, prefix, base_dir: parse_spec(Fields(raw, prefix, base_dir))


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


def parse_probe(raw: Any, prefix: str, base_dir: Path) -> tuple[str, Any]:
    """The kind and parsed spec of a ``{kind: {...}}`` mapping; raises SpecError."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        got = ", ".join(map(str, raw)) if isinstance(raw, Mapping) and raw else show(raw)
        raise SpecError(
            prefix,
            f"must have exactly one key, the probe kind: one of {', '.join(KINDS)} (got {got})",
        )
    ((kind, body),) = raw.items()
    if kind not in KINDS:
        raise SpecError(
            prefix, f"kind {show(str(kind))} is unknown: expected one of {', '.join(KINDS)}"
        )
    name = f"{prefix}.{kind}" if prefix else str(kind)
    return str(kind), KINDS[kind].parse(body, name, base_dir)
