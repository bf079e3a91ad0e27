"""Typed readers for a probe's settings, reporting every mistake with its place.

A probe kind's ``parse_spec`` reads its mapping through ``Fields``. Each getter returns what its
type says: ``text`` a ``str``, ``optional_text`` a ``str`` or None, and so on. A field that is
absent takes the default written on the kind's ``Spec`` dataclass (``defaults_from``); one
without a default is required.

A getter never raises for a bad value. It records the problem (``http.expect_status must be a
list of integers (got "200")``) and returns the field's default, or a stand-in of its type, so
the other fields are still checked and ``validate`` lists every mistake at once. A value that
needs an unset ``${VAR}`` is not checked: the getter notes the variable and returns the same
fallback. Either way the spec being built is thrown away (``registry.read_probe``): a spec that
is used was built from real, checked values only. ``Unresolved``, the config loader's mark for
an unset variable, is looked at here and in no probe module.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import TypeVar

from .address import HostPort, parse_target
from .masking import embedded_passwords
from .patterns import SYNTAX_URL, Pattern, PatternError, compile_pattern
from .problems import Problems, SpecError, show
from .reading import read_capped

T = TypeVar("T")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
# A century: no schedule means more, and times this far out no longer fit a datetime, which
# the outputs format them as.
MAX_DURATION = 100 * 365 * 86400
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Unresolved:
    """A configured value that needs environment variables which are not set."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(self.names)


def unset_variables(value: object) -> list[str]:
    """The unset variables anywhere in ``value`` (a string, or a mapping or list of them)."""
    if isinstance(value, Unresolved):
        return list(value.names)
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in unset_variables(v)]
    if isinstance(value, list):
        return [n for v in value for n in unset_variables(v)]
    return []


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


_TOO_SHORT = (
    f"shorter than {MIN_CREDENTIAL} characters: a credential this short cannot be masked in "
    "output without masking ordinary words and numbers too"
)


def credential(where: str, value: str) -> Secret:
    """A credential given in the config or a ``${VAR}``; raises SpecError when it, or a password
    inside it (a DSN's), is too short."""
    if len(value) < MIN_CREDENTIAL:
        raise SpecError(where, f"is {_TOO_SHORT}")
    no_short_password(where, value)
    return Secret(value=value)


def no_short_password(where: str, text: str) -> None:
    """Raises SpecError when a URL's user-info or a DSN in ``text`` holds a short password:
    the redactor masks those passwords on their own (exporter/redact.py), as it masks any
    credential, so they are held to the same length."""
    if any(0 < len(p) < MIN_CREDENTIAL for p in embedded_passwords(text)):
        raise SpecError(where, f"has a password {_TOO_SHORT}")


def parse_duration(value: object) -> float:
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
    while pos < len(value):
        # Anchored at pos: a search (finditer) tried again from every digit of a long number
        # that ends in no unit, quadratic in its length.
        match = _DURATION_PART.match(value, pos)
        if match is None:
            raise ValueError
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if total > MAX_DURATION:
        raise ValueError
    return total


def significant(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits, never in exponent form."""
    if value == 0:
        return "0"
    if abs(value) >= 10 ** (digits - 1):
        return str(round(value))  # 1234567, not 1.23e+06; 1000, not 1e+03
    return f"{value:.{digits}g}"


def format_bytes(value: float, digits: int = 3) -> str:
    """``63.2 MiB``, ``1.5 TiB``: binary prefixes, ``digits`` significant digits."""
    scaled, prefix = value, ""
    for prefix in ("", "Ki", "Mi", "Gi", "Ti", "Pi"):
        if abs(scaled) < 1024 or prefix == "Pi":
            break
        scaled /= 1024
    return f"{significant(scaled, digits)} {prefix}B"


_AGE_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _words(parts: list[tuple[int, str]]) -> str:
    return " ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts)


def format_age(seconds: float, bound: float | None = None) -> str:
    """How old something is, as a person says it: ``40 seconds``, ``3 minutes 20 seconds``,
    ``1 day 6 hours``, ``133 days``.

    Rounded down to the largest unit and the next (the next left out from 10 of the largest
    on: ``15 hours``, ``133 days``). When ``bound`` (the age allowed) is given and the rounded
    words would not show the age beyond it, every unit is written: ``1 day 2 hours 30 minutes``
    against at most 1d2h, never a ``1 day 2 hours`` that reads as within it.
    """
    rest = max(0, int(seconds))
    if seconds < 1:
        if bound is not None and seconds > bound:  # a bound under a second: 200ms
            return f"{round(seconds * 1000)} milliseconds"
        return "under a second"
    parts: list[tuple[int, str]] = []
    for unit, size in _AGE_UNITS:
        if rest >= size:
            parts.append((rest // size, unit))
            rest %= size
        elif parts:
            parts.append((0, unit))
    short = parts[:1] if parts[0][0] >= 10 else parts[:2]
    short = [p for p in short if p[0]]
    shown = sum(n * dict(_AGE_UNITS)[unit] for n, unit in short)
    if bound is not None and seconds > bound >= shown:
        return _words([p for p in parts if p[0]])
    return _words(short)


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


# -- converters: the raw YAML value to a typed one, or SpecError naming ``where`` ------------------


def to_text(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(where, f"must be a string (got {show(value)})")
    text = str(value)
    if not text:
        raise SpecError(where, "must not be empty")
    return text


def to_url(value: object, where: str) -> str:
    url = to_text(value, where)
    if not url.startswith(("http://", "https://")):
        raise SpecError(where, f'must start with http:// or https:// (got "{url}")')
    no_short_password(where, url)
    return url


def to_flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(where, f"must be true or false (got {show(value)})")
    return value


def to_integer(value: object, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(where, f"must be an integer (got {show(value)})")
    if minimum is not None and value < minimum:
        raise SpecError(where, f"must be at least {minimum} (got {value})")
    return value


def to_number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(where, f"must be a number (got {show(value)})")
    return float(value)


def to_ratio(value: object, where: str) -> float:
    number = to_number(value, where)
    if not 0 <= number <= 1:
        raise SpecError(where, f"must be a ratio between 0 and 1 (got {number:g})")
    return number


def to_duration(value: object, where: str) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise SpecError(
            where, f"must be a duration such as 30s, 5m, 1h or 90d (got {show(value)})"
        ) from None


def to_regex(value: object, where: str) -> Pattern:
    """An operator's pattern, compiled by RE2 (linear-time matching; probes/patterns.py):
    the pattern as a string, or ``{name: what it finds, pattern: ...}``."""
    name = ""
    if isinstance(value, Mapping):
        unknown = [str(k) for k in value if k not in ("name", "pattern")]
        if unknown:
            raise SpecError(f"{where}.{unknown[0]}", "is not a known field (known: name, pattern)")
        if "pattern" not in value:
            raise SpecError(f"{where}.pattern", "is required")
        name = " ".join(to_text(value.get("name"), f"{where}.name").split())
        if not name:
            raise SpecError(f"{where}.name", "must say what the pattern finds")
        where, value = f"{where}.pattern", value["pattern"]
    text = to_text(value, where)
    try:
        return compile_pattern(text, name)
    except PatternError as exc:
        raise SpecError(
            where,
            f"must be a regular expression in RE2 syntax ({exc}; no lookaround or "
            f"backreferences, see {SYNTAX_URL}) (got {show(text)})",
        ) from None


def to_texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SpecError(where, f"must be a non-empty list of strings (got {show(value)})")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise SpecError(f"{where}[{i}]", f"must be a string (got {show(item)})")
    return tuple(str(item) for item in value)


def to_regexes(value: object, where: str) -> tuple[Pattern, ...]:
    """Patterns, each a string or ``{name, pattern}``."""
    if not isinstance(value, list) or not value:
        raise SpecError(
            where, f"must be a non-empty list of patterns or {{name, pattern}} (got {show(value)})"
        )
    return tuple(to_regex(item, f"{where}[{i}]") for i, item in enumerate(value))


def to_integers(value: object, where: str) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        raise SpecError(where, f"must be a list of integers (got {show(value)})")
    return tuple(value)


def to_text_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or any(
        isinstance(v, bool) or not isinstance(v, (str, int, float)) for v in value.values()
    ):
        raise SpecError(where, f"must be a mapping of names to strings (got {show(value)})")
    return {str(k): str(v) for k, v in value.items()}


def to_regex_map(value: object, where: str) -> dict[str, Pattern]:
    return {k: to_regex(v, f"{where}.{k}") for k, v in to_text_map(value, where).items()}


def to_host_port(value: object, where: str) -> HostPort:
    return parse_target(to_text(value, where), where)


def to_secret(value: object, where: str) -> Secret:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(where, "must be a string")  # never quote the value: it is a credential
    return credential(where, str(value))


def to_secret_map(value: object, where: str) -> dict[str, Secret]:
    if not isinstance(value, Mapping) or any(
        isinstance(v, bool) or not isinstance(v, (str, int, float)) for v in value.values()
    ):
        # Never quote the values: they are credentials.
        raise SpecError(where, "must be a mapping of header names to values such as ${API_KEY}")
    return {str(k): credential(f"{where}.{k}", str(v)) for k, v in value.items()}


# -- reading a probe's settings ----------------------------------------------------------------


class _Unread(enum.Enum):
    ABSENT = "not given"
    WAITING = "needs a variable that is not set"


@dataclass
class Reading:
    """One item's probe settings being read: where relative paths start, where problems go,
    and the unset variables the settings wait for (an item with any is PENDING, not probed)."""

    base_dir: Path
    problems: Problems
    waiting: list[str] = field(default_factory=list)

    def wait_for(self, names: Iterable[str]) -> None:
        self.waiting.extend(n for n in names if n not in self.waiting)

    def mapping(self, raw: object, name: str) -> Fields | None:
        """A reader of ``raw``; None when it is not a mapping (recorded) or is one variable."""
        if isinstance(raw, Unresolved):
            self.wait_for(raw.names)
            return None
        if not isinstance(raw, Mapping):
            self.problems.add(f"{name} must be a mapping (got {show(raw)})")
            return None
        return Fields(raw, name, self)


@functools.cache
def _fields_of(cls: type) -> tuple[Field[object], ...]:
    return fields(cls)  # ``fields`` builds its tuple at each call: 10,000 items ask per kind


def defaults_of(cls: type) -> dict[str, object]:
    """The defaults written on a dataclass's fields, by field name."""
    out: dict[str, object] = {}
    for f in _fields_of(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


class Fields:
    """Reads one mapping of probe settings; the registry calls ``done()`` to refuse unknown keys."""

    def __init__(self, raw: Mapping[object, object], prefix: str, reading: Reading):
        self.raw = raw
        self.prefix = prefix
        self.reading = reading
        self._defaults: Mapping[str, object] = {}
        self._read: set[str] = set()
        self._unusable: set[str] = set()  # refused, or waiting for a variable
        self._tree: list[Fields] = [self]  # this reader and its sub-readers, for done()

    @property
    def base_dir(self) -> Path:
        return self.reading.base_dir

    def defaults_from(self, cls: type) -> Fields:
        """This reader, taking the defaults of absent fields from the dataclass ``cls``."""
        # Shallow: the same raw mapping, read keys and problems (``copy.copy``, without its
        # generic path, which cost validate 0.2 s at 10,000 items).
        view = object.__new__(Fields)
        view.__dict__.update(self.__dict__)
        view._defaults = defaults_of(cls)
        return view

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def problem(self, key: str, message: str) -> None:
        """Record that ``key`` is wrong: ``<kind>.<key> <message>``."""
        self._unusable.add(key)
        self.reading.problems.add(f"{self.name(key)} {message}")

    def has(self, key: str) -> bool:
        """Whether ``key`` is given (with a value, or with a variable that is not set)."""
        return self.raw.get(key) is not None

    def usable(self, *keys: str) -> bool:
        """Whether each key's value was read as written: neither refused nor waiting.

        A check across fields asks first, so it never judges a default or a stand-in that
        took the place of a value that is wrong or unknown yet.
        """
        return not any(key in self._unusable for key in keys)

    def done(self) -> None:
        """Record every key of this mapping and its sub-mappings that no getter read."""
        for reader in self._tree:
            known = ", ".join(sorted(reader._read))
            for key in reader.raw:
                if key not in reader._read:
                    reader.reading.problems.add(
                        f"{reader.prefix}.{key} is not a known field (known: {known})"
                    )

    # -- the core: every getter is one of these two ------------------------------------------

    def _value(self, key: str, whole: bool = True) -> object:
        """The value as written, or why there is none; ``whole``: a variable anywhere in it
        (not only the value itself) leaves it unread."""
        self._read.add(key)
        value = self.raw.get(key)
        if value is None:
            return _Unread.ABSENT
        if whole:
            waiting = unset_variables(value)
        else:
            waiting = list(value.names) if isinstance(value, Unresolved) else []
        if waiting:
            self._unusable.add(key)
            self.reading.wait_for(waiting)
            return _Unread.WAITING
        return value

    def _fallback(self, key: str, stand_in: T) -> T:
        """The field's default, else ``stand_in``: what a getter returns for a value it lacks."""
        default = self._defaults.get(key, _Unread.ABSENT)
        if default is _Unread.ABSENT:
            return stand_in
        if not isinstance(default, type(stand_in)):
            raise TypeError(
                f"{self.name(key)}: the default {default!r} is not a {type(stand_in).__name__}"
                " (a field that defaults to None is read with an optional_ getter)"
            )
        return default

    def _get(self, key: str, convert: Callable[[object, str], T], stand_in: T) -> T:
        """The value of ``key`` converted, its default when absent; required without one."""
        value = self._value(key)
        if value is _Unread.ABSENT and key not in self._defaults:
            self.problem(key, "is required")
            return stand_in
        if isinstance(value, _Unread):
            return self._fallback(key, stand_in)
        try:
            return convert(value, self.name(key))
        except SpecError as exc:
            self._unusable.add(key)
            self.reading.problems.add(str(exc))
            return self._fallback(key, stand_in)

    def _optional(self, key: str, convert: Callable[[object, str], T]) -> T | None:
        """The value of ``key`` converted, or None when it is absent (or unusable)."""
        value = self._value(key)
        if isinstance(value, _Unread):
            return None
        try:
            return convert(value, self.name(key))
        except SpecError as exc:
            self._unusable.add(key)
            self.reading.problems.add(str(exc))
            return None

    # -- typed getters ------------------------------------------------------------------------

    def text(self, key: str) -> str:
        return self._get(key, to_text, "")

    def optional_text(self, key: str) -> str | None:
        return self._optional(key, to_text)

    def url(self, key: str) -> str:
        """An ``http://`` or ``https://`` URL."""
        return self._get(key, to_url, "")

    def choice(self, key: str, choices: Iterable[str]) -> str:
        return self._get(key, _one_of(tuple(choices)), "")

    def optional_choice(self, key: str, choices: Iterable[str]) -> str | None:
        return self._optional(key, _one_of(tuple(choices)))

    def flag(self, key: str) -> bool:
        return self._get(key, to_flag, False)

    def optional_flag(self, key: str) -> bool | None:
        return self._optional(key, to_flag)

    def integer(self, key: str, minimum: int | None = None) -> int:
        return self._get(key, lambda v, where: to_integer(v, where, minimum), 0)

    def optional_integer(self, key: str, minimum: int | None = None) -> int | None:
        return self._optional(key, lambda v, where: to_integer(v, where, minimum))

    def number(self, key: str) -> float:
        return self._get(key, to_number, 0.0)

    def ratio(self, key: str) -> float:
        """A number from 0 to 1."""
        return self._get(key, to_ratio, 0.0)

    def optional_ratio(self, key: str) -> float | None:
        return self._optional(key, to_ratio)

    def duration(self, key: str) -> float:
        """Seconds, from ``30s``, ``5m``, ``1h30m``, ``90d`` or a number."""
        return self._get(key, to_duration, 0.0)

    def optional_duration(self, key: str) -> float | None:
        return self._optional(key, to_duration)

    def optional_regex(self, key: str) -> Pattern | None:
        return self._optional(key, to_regex)

    def regexes(self, key: str) -> tuple[Pattern, ...]:
        return self._get(key, to_regexes, ())

    def regex_map(self, key: str) -> dict[str, Pattern]:
        return self._get(key, to_regex_map, {})

    def texts(self, key: str) -> tuple[str, ...]:
        """A non-empty list of strings."""
        return self._get(key, to_texts, ())

    def integers(self, key: str) -> tuple[int, ...]:
        return self._get(key, to_integers, ())

    def optional_integers(self, key: str) -> tuple[int, ...] | None:
        return self._optional(key, to_integers)

    def text_map(self, key: str) -> dict[str, str]:
        return self._get(key, to_text_map, {})

    def host_port(self, key: str) -> HostPort:
        """``host:port``, parsed once here for every run."""
        return self._get(key, to_host_port, HostPort("", 0))

    def path(self, key: str) -> Path:
        """A filesystem path; relative paths are taken from the config file's folder."""
        return self._get(key, self._to_path, self.base_dir)

    def optional_path(self, key: str) -> Path | None:
        return self._optional(key, self._to_path)

    def _to_path(self, value: object, where: str) -> Path:
        return self.base_dir / Path(to_text(value, where)).expanduser()

    def secret(self, key: str) -> Secret:
        """A credential given as ``key`` (e.g. ``${DB_PASSWORD}``) or as ``key_file`` (a path)."""
        secret = self.optional_secret(key)
        if secret is None and not self.has(key) and not self.has(f"{key}_file"):
            self.problem(key, "is required")
        return secret if secret is not None else Secret(value="")

    def optional_secret(self, key: str) -> Secret | None:
        file_key = f"{key}_file"
        SECRET_KEYS.update((key, file_key))
        self._read.update((key, file_key))
        if self.has(key) and self.has(file_key):
            self.problem(key, f"and {file_key} are both set: give only one")
            return None
        if self.has(file_key):
            path = self.optional_path(file_key)
            return Secret(file=path) if path is not None else None
        return self._optional(key, to_secret)

    def secret_map(self, key: str) -> dict[str, Secret]:
        """Names to credentials, such as headers that carry an API key."""
        SECRET_KEYS.add(key)
        return self._get(key, to_secret_map, {})

    def parsed(self, key: str, parse: Callable[[object, str], T], stand_in: T) -> T:
        """A structured value read by ``parse(value, where)``, which raises SpecError."""
        return self._get(key, parse, stand_in)

    def optional_parsed(self, key: str, parse: Callable[[object, str], T]) -> T | None:
        return self._optional(key, parse)

    def sub(self, key: str) -> Fields | None:
        """A reader of the mapping under ``key``; None when it is absent or unusable."""
        value = self._value(key, whole=False)  # its own fields wait for their variables
        if isinstance(value, _Unread):
            return None
        if not isinstance(value, Mapping):
            self.problem(key, f"must be a mapping (got {show(value)})")
            return None
        reader = Fields(value, self.name(key), self.reading)
        reader._tree = self._tree
        self._tree.append(reader)
        return reader


def _one_of(choices: tuple[str, ...]) -> Callable[[object, str], str]:
    def convert(value: object, where: str) -> str:
        if str(value) not in choices:
            raise SpecError(where, f"must be one of {', '.join(choices)} (got {show(value)})")
        return str(value)

    return convert
