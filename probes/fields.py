"""Typed readers for a probe's configuration that fail with located, readable messages.

A probe kind's ``parse_spec`` reads its mapping through ``Fields``; every mistake becomes a
``SpecError`` naming the field (``http.expect_status``) and what was expected, which the config
loader prefixes with the file and the item. Values that still hold an unset ``${VAR}`` arrive as
``Unresolved`` and are passed through unchecked: such an item is reported, not probed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .reading import read_capped

_MISSING: Any = object()

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
# A century: longer would overflow the scheduler's datetime arithmetic.
MAX_DURATION = 100 * 365 * 86400
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class SpecError(Exception):
    """Raised when a probe field is missing, unknown, or of the wrong shape."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Unresolved:
    """A configured value that needs environment variables which are not set."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(self.names)


# Field names read with Fields.secret(), in every kind: what displays of a probe's config mask.
SECRET_KEYS: set[str] = set()
# Shorter credentials are refused: masking them in output would mask ordinary words and numbers
# too ("status 200" becoming "status <secret>"), and so tell the value (exporter/redact.py).
MIN_CREDENTIAL = 8


class Secret:
    """A credential from the config (usually ``${VAR}``) or a ``*_file``; never shows its value.

    ``str()`` and ``repr()`` give ``<secret>``, so a secret that slips into a message, a log
    line or a page shows nothing. ``reveal()`` is the one way to the value: call it only where
    the value is sent to the target.
    """

    __slots__ = ("_value", "file")

    def __init__(self, value: str | None = None, file: Path | None = None):
        self._value = value
        self.file = file

    def reveal(self) -> str:
        """The value; a ``*_file`` is read at each call, so rotated credentials need no reload."""
        if self._value is not None:
            return self._value
        assert self.file is not None
        # Regular files only: a FIFO here would block whoever asks, perhaps the event loop.
        return read_capped(self.file, 64 * 1024).decode("utf-8").strip()

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self._value, self.file) == (other._value, other.file)

    def __hash__(self) -> int:
        return hash((self._value, self.file))


def credential(name: str, value: str) -> Secret:
    """A credential given in the config or a ``${VAR}``; raises SpecError when it is too short."""
    if len(value) < MIN_CREDENTIAL:
        raise SpecError(
            name,
            f"is shorter than {MIN_CREDENTIAL} characters: a credential this short cannot be "
            "masked in output without masking ordinary words and numbers too",
        )
    return Secret(value=value)


def show(value: Any) -> str:
    """A value as a config message quotes it: strings double-quoted, the rest as YAML writes it."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def parse_duration(value: Any) -> float:
    """Seconds in a duration such as ``90s``, ``5m``, ``1h30m``, ``90d`` or a bare number."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        if not 0 <= value <= MAX_DURATION:  # also refuses NaN (YAML .nan) and .inf
            raise ValueError
        return float(value)
    if not isinstance(value, str) or not value:
        raise ValueError
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            raise ValueError
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(value) or total > MAX_DURATION:
        raise ValueError
    return total


def format_duration(seconds: float) -> str:
    """The shortest duration text for a number of seconds (``90s`` -> ``1m30s``)."""
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:.0f}ms"
    parts, rest = [], round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


class Fields:
    """Reads one probe kind's mapping; call ``done()`` last so unknown keys are refused."""

    def __init__(self, raw: Any, prefix: str, base_dir: Path):
        if not isinstance(raw, Mapping):
            raise SpecError(prefix, f"must be a mapping (got {show(raw)})")
        self.raw = raw
        self.prefix = prefix
        self.base_dir = base_dir
        self._read: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def error(self, key: str, message: str) -> SpecError:
        return SpecError(self.name(key), message)

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key in self.raw and self.raw[key] is not None:
            return self.raw[key]
        if default is _MISSING:
            raise SpecError(self.name(key), "is required")
        return default

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def any(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default)

    def str(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(key, f"must be a string (got {show(value)})")
        value = str(value)
        if not value:
            raise self.error(key, "must not be empty")
        return value

    def choice(self, key: str, choices: Iterable[str], default: Any = _MISSING) -> Any:
        choices = tuple(choices)
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if str(value) not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)} (got {show(value)})")
        return str(value)

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if isinstance(value, Unresolved):
            return value
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false (got {show(value)})")
        return value

    def int(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer (got {show(value)})")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum} (got {value})")
        return value

    def number(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number (got {show(value)})")
        return float(value)

    def duration(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        try:
            return parse_duration(value)
        except ValueError:
            raise self.error(
                key, f"must be a duration such as 30s, 5m, 1h or 90d (got {show(value)})"
            ) from None

    def regex(self, key: str, default: Any = _MISSING) -> Any:
        value = self.str(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        try:
            return re.compile(value, re.MULTILINE)
        except re.error as exc:
            raise self.error(
                key, f"must be a valid regular expression ({exc}) (got {show(value)})"
            ) from None

    def int_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
        ):
            raise self.error(key, f"must be a list of integers (got {show(value)})")
        return tuple(value)

    def str_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if not isinstance(value, list) or not value:
            raise self.error(key, f"must be a non-empty list of strings (got {show(value)})")
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, (str, int, float, Unresolved)):
                raise SpecError(f"{self.name(key)}[{i}]", f"must be a string (got {show(v)})")
        return tuple(v if isinstance(v, Unresolved) else str(v) for v in value)

    def str_map(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, Mapping) or any(
            not isinstance(v, (str, int, float, Unresolved)) or isinstance(v, bool)
            for v in value.values()
        ):
            raise self.error(key, f"must be a mapping of names to strings (got {show(value)})")
        return {str(k): (v if isinstance(v, Unresolved) else str(v)) for k, v in value.items()}

    def path(self, key: str, default: Any = _MISSING) -> Any:
        """A filesystem path; relative paths are taken from the config file's folder."""
        value = self.str(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        return self.base_dir / Path(value).expanduser()

    def secret(self, key: str, default: Any = _MISSING) -> Any:
        """A credential given as ``key`` (e.g. ``${DB_PASSWORD}``) or as ``key_file`` (a path)."""
        SECRET_KEYS.update((key, f"{key}_file"))
        file_key = f"{key}_file"
        if self.has(key) and self.has(file_key):
            raise self.error(key, f"and {file_key} are both set: give only one")
        if self.has(file_key):
            self._read.add(key)
            path = self.path(file_key)
            return path if isinstance(path, Unresolved) else Secret(file=path)
        self._read.add(file_key)
        value = self._get(key, default)
        if value is default or isinstance(value, Unresolved):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            # Never quote the value: it is a credential.
            raise self.error(key, "must be a string")
        return credential(self.name(key), str(value))

    def done(self) -> None:
        unknown = [str(k) for k in self.raw if k not in self._read]
        if unknown:
            known = ", ".join(sorted(self._read))
            raise SpecError(self.name(unknown[0]), f"is not a known field (known: {known})")
