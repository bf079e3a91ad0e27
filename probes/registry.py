"""The standard probe kinds, by the name a config uses for them: the one list of what can be probed.

The config loader and the engine take a ``Registry`` (``KINDS`` unless told otherwise); tests and
embedders pass their own (``KINDS.with_kinds(...)``) instead of patching this module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
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
    sql,
    tcp,
    tls,
)
from .fields import Fields
from .kind import Kind, Registry

__all__ = ["KINDS", "Kind", "Registry"]


def _fields(parse_spec: Callable[[Fields], Any]) -> Callable[[Any, str, Path, Registry], Any]:
    return lambda raw, prefix, base_dir, kinds: parse_spec(Fields(raw, prefix, base_dir))


KINDS = Registry(
    {
        "http": Kind(_fields(http.parse_spec), http.probe),
        "tcp": Kind(_fields(tcp.parse_spec), tcp.probe),
        "file": Kind(_fields(file.parse_spec), file.probe),
        "command": Kind(_fields(command.parse_spec), command.probe),
        "attestation": Kind(
            _fields(attestation.parse_spec),
            attestation.probe,
            watched_files=attestation.watched_files,
            signed_file=attestation.signed_file,
        ),
        "tls": Kind(_fields(tls.parse_spec), tls.probe),
        "dns": Kind(_fields(dns.parse_spec), dns.probe),
        "promql": Kind(_fields(promql.parse_spec), promql.probe),
        "sql": Kind(_fields(sql.parse_spec), sql.probe),
        "report": Kind(_fields(report.parse_spec), report.probe),
        "env": Kind(_fields(env.parse_spec), env.probe),
        "disk": Kind(_fields(disk.parse_spec), disk.probe),
        "all": Kind(composite.parse_spec, composite.probe_all, composite.watched_files),
        "any": Kind(composite.parse_spec, composite.probe_any, composite.watched_files),
    }
)
