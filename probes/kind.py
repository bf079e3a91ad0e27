"""What a probe kind is to the rest of the exporter, and a registry of kinds by name.

A ``Kind`` says how to read its config, how to run it, and what it needs from the engine (files
to watch, the file a person signs, the Sign-Off Sheet). The engine and the config loader ask a
``Registry`` that is handed to them; neither names a kind. This module imports no kind, so a
kind that holds other kinds (``all``/``any``) can use it without an import cycle: it reads its
children with the registry its own setting is read with (``ProbeReading.kinds``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .context import ProbeContext
from .fields import Reading
from .problems import Problems, show
from .result import Result


def _nothing_to_watch(spec: Any) -> tuple[Path, ...]:
    return ()


@dataclass
class ProbeReading(Reading):
    """An item's ``probe:`` setting being read: a ``Reading`` that also knows the kinds the
    setting may name, so ``all``/``any`` read their children with the same registry."""

    kinds: Registry = field(kw_only=True)


@dataclass(frozen=True)
class Kind:
    """One probe kind: its config reader, its probe, and its hooks for the engine."""

    # (raw value, field name, reading) -> spec; problems and unset variables go to the reading.
    parse: Callable[[object, str, ProbeReading], object]
    probe: Callable[[Any, ProbeContext], Awaitable[Result]]
    # Files whose change is probed at once rather than at the next interval (evidence a
    # person edits, so the board follows ``attest`` within seconds).
    watched_files: Callable[[Any], tuple[Path, ...]] = _nothing_to_watch
    # The evidence files a person signs for an item of this kind (``attest`` writes the one
    # there is); None for kinds nobody signs. ``all``/``any`` give their children's, so an
    # attestation beside a precondition probe is signed like one alone.
    signed_files: Callable[[Any], tuple[Path, ...]] | None = None
    # For kinds that answer from the Sign-Off Sheet (signatures, the recorded decision) rather
    # than from a target: the roles whose signature an item of this kind reads (none for the
    # decision). The engine hands such items the sheet and judges them again whenever it or the
    # checklist's state changes; the state a signature is bound to counts them as given, so
    # that their own PASS cannot void the signatures they read. None for every other kind.
    sheet_roles: Callable[[Any], tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Probe:
    """An item's ``probe:`` setting, read: its kind and either a spec or the variables it needs."""

    kind: str
    spec: object  # the kind's Spec, built from real values only; None while waiting
    waiting: tuple[str, ...] = ()  # unset variables: the item is PENDING, not probed


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

    def parse_probe(self, raw: object, prefix: str, reading: ProbeReading) -> tuple[str, object]:
        """The kind and spec of a ``{kind: {...}}`` mapping, problems going to ``reading``.

        The spec may hold stand-ins for values that are wrong or unset: only ``read_probe``'s
        answer, given when the reading found neither, is a spec to use.
        """
        if not isinstance(raw, Mapping) or len(raw) != 1:
            got = ", ".join(map(str, raw)) if isinstance(raw, Mapping) and raw else show(raw)
            reading.problems.add(
                f"{prefix or 'probe'} must have exactly one key, the probe kind: "
                f"one of {', '.join(self)} (got {got})"
            )
            return "", None
        ((kind, body),) = raw.items()
        if kind not in self._kinds:
            reading.problems.add(
                f"{prefix or 'probe'} kind {show(str(kind))} is unknown: "
                f"expected one of {', '.join(self)}"
            )
            return "", None
        name = f"{prefix}.{kind}" if prefix else str(kind)
        return str(kind), self._kinds[kind].parse(body, name, reading)

    def read_probe(self, raw: object, base_dir: Path, problems: Problems) -> Probe | None:
        """An item's probe setting, or None when it has problems (each recorded in ``problems``).

        Every field is checked that can be: a field that needs an unset variable is not, the
        others are, so a typo in an item that is not configured yet is still an error.
        """
        reading = ProbeReading(base_dir, problems, kinds=self)
        before = len(problems)
        kind, spec = self.parse_probe(raw, "", reading)
        if len(problems) > before:
            return None
        if reading.waiting:
            return Probe(kind, None, tuple(reading.waiting))
        return Probe(kind, spec)
