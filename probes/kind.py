"""What a probe kind is to the rest of the exporter, and a registry of kinds by name.

A ``Kind`` says how to read its config, how to run it, and what it needs from the engine (files
to watch, the file a person signs). The engine and the config loader ask a ``Registry`` that is
handed to them; neither names a kind. This module imports no kind, so a kind that holds other
kinds (``all``/``any``) can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import ProbeContext
from .fields import SpecError, show
from .result import Result


def _nothing_to_watch(spec: Any) -> tuple[Path, ...]:
    return ()


@dataclass(frozen=True)
class Kind:
    """One probe kind: its config reader, its probe, and its hooks for the engine."""

    # (raw value, field prefix, config folder, the registry children are read with) -> spec;
    # raises SpecError.
    parse: Callable[[Any, str, Path, Registry], Any]
    probe: Callable[[Any, ProbeContext], Awaitable[Result]]
    # Files whose change is probed at once rather than at the next interval (evidence a
    # person edits, so the board follows ``attest`` within seconds).
    watched_files: Callable[[Any], tuple[Path, ...]] = _nothing_to_watch
    # The evidence file a person signs for an item of this kind (``attest`` writes it);
    # None for kinds nobody signs.
    signed_file: Callable[[Any], Path] | None = None


class Registry(Mapping[str, Kind]):
    """The probe kinds a config may name, by name: the one list of what can be probed."""

    def __init__(self, kinds: Mapping[str, Kind]):
        self._kinds = dict(kinds)

    def __getitem__(self, name: str) -> Kind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def with_kinds(self, **kinds: Kind) -> Registry:
        """This registry plus (or with replaced) ``kinds``: for tests and embedders."""
        return Registry({**self._kinds, **kinds})

    def parse_probe(self, raw: Any, prefix: str, base_dir: Path) -> tuple[str, Any]:
        """The kind and parsed spec of a ``{kind: {...}}`` mapping; raises SpecError."""
        if not isinstance(raw, Mapping) or len(raw) != 1:
            got = ", ".join(map(str, raw)) if isinstance(raw, Mapping) and raw else show(raw)
            raise SpecError(
                prefix,
                f"must have exactly one key, the probe kind: one of {', '.join(self)} (got {got})",
            )
        ((kind, body),) = raw.items()
        if kind not in self._kinds:
            raise SpecError(
                prefix, f"kind {show(str(kind))} is unknown: expected one of {', '.join(self)}"
            )
        name = f"{prefix}.{kind}" if prefix else str(kind)
        return str(kind), self._kinds[kind].parse(body, name, base_dir, self)
