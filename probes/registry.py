"""The standard probe kinds, by the name a config uses for them: the one list of what can be probed.

The config loader and the engine take a ``Registry`` (``KINDS`` unless told otherwise); tests and
embedders pass their own (``KINDS.with_kinds(...)``) instead of patching this module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import (
    alerting,
    attestation,
    command,
    composite,
    disk,
    dns,
    drill,
    env,
    file,
    http,
    promql,
    report,
    secrets,
    sheet,
    sql,
    table,
    tcp,
    tls,
)
from .fields import Fields, Reading
from .kind import Kind, Probe, Registry
from .problems import Problems

__all__ = ["KINDS", "Kind", "Probe", "Registry", "read_probe"]


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
            signed_files=attestation.signed_files,
        ),
        "tls": Kind(_fields(tls.parse_spec), tls.probe),
        "dns": Kind(_fields(dns.parse_spec), dns.probe),
        "promql": Kind(_fields(promql.parse_spec), promql.probe),
        "sql": Kind(_fields(sql.parse_spec), sql.probe),
        "report": Kind(_fields(report.parse_spec), report.probe),
        "drill": Kind(_fields(drill.parse_spec), drill.probe),
        "table": Kind(_fields(table.parse_spec), table.probe),
        "env": Kind(_fields(env.parse_spec), env.probe),
        "disk": Kind(_fields(disk.parse_spec), disk.probe),
        "secrets": Kind(_fields(secrets.parse_spec), secrets.probe),
        "alerting": Kind(_fields(alerting.parse_spec), alerting.probe),
        "signoff": Kind(sheet.parse_signoff, sheet.probe_signoff, sheet_roles=sheet.signoff_roles),
        "decision": Kind(sheet.parse_decision, sheet.probe_decision, sheet_roles=sheet.no_roles),
        "all": Kind(
            composite.parse_spec,
            composite.probe_all,
            composite.watched_files,
            composite.signed_files,
        ),
        "any": Kind(
            composite.parse_spec,
            composite.probe_any,
            composite.watched_files,
            composite.signed_files,
        ),
    }
)


def read_probe(raw: object, base_dir: Path, problems: Problems) -> Probe | None:
    """An item's probe setting read with the standard kinds (``Registry.read_probe``)."""
    return KINDS.read_probe(raw, base_dir, problems)
