"""Keeps credentials out of everything the exporter shows: summaries, evidence, logs, errors.

A probe reports what it saw, and what it saw can hold a credential: an exception text with the
URL ``https://user:pw@host``, a command that echoes a token, a server that reflects the
``Authorization`` header. Probes cannot all be trusted to mask these, so the engine passes every
result, debug line and log entry through the checklist's ``Redactor``, and the config loader its
error messages through the item's.

One set for the whole checklist: an item's credential is masked in every other item's output
too (a command that prints a file another item reads its token from). ``Checklist.redactor`` is
the union of the items' credentials, built at each load and reload.

What counts as a credential of an item:
- ``Secret`` values (``Fields.secret`` options) and ``*_file`` contents, read at each redaction
  so that a rotated file needs no reload;
- the value of every ``${VAR}`` used inside an ``env`` mapping or a credential header's value
  (``Authorization``, ``Cookie``, ``X-Api-Key``, a name with ``token``/``secret``/``key``...:
  not ``Origin``), inside a URL's user-info, under an option whose name looks like a
  credential (``password``, ``token``, ``api_key``, ...), or whose own name looks like one
  (``${DB_PASSWORD}``); the variable an ``env`` item checks;
- except by name alone, a variable whose name ends by saying what it holds: ``_QUERY``,
  ``_PATH``, or ``_URL`` with no user-info in its value. ``${PASSWORD_HASH_QUERY}`` is SQL that
  counts hashes, not a password: masked by its name, S-009's summary read ``<secret>: returned
  0``. The other rules still apply to it (under ``password:``, in a header, in user-info);
- the password of any URL in the spec, and in any text the password part of a URL and any
  ``Basic``/``Bearer`` value (as a server echoes an ``Authorization`` header).
Other ``${VAR}`` values (``${APP_URL}``) stay visible: they make summaries readable.

How a value is masked:
- in every form the exporter itself puts it in: as it is, URL-encoded (``%40``), and for a
  user and password (``basic_auth``, a URL's user-info) the base64 that ``Authorization: Basic``
  carries, bare or not; a URL's or a DSN's password also on its own;
- a value of at least ``MIN_CREDENTIAL`` (8) characters wherever it appears, and so is a piece
  of at least ``EDGE`` characters of it at either end of a text (where a capped read cut it),
  but not a piece that is only a URL's origin (``https://hooks.example``), nor a piece of a URL
  or DSN that holds a password (its password is masked on its own; ``postgresql://app:`` at a
  text's end is what texts about the database share);
- a shorter one (only a suspected credential can be shorter: credential options refuse them at
  load) only where it stands as a whole word, and not at all below ``MIN_WORD`` characters:
  masking ``200`` everywhere would turn ``status 200`` into ``status <secret>`` and so tell it.

Showing a probe's configuration (the item page) is the other half: ``redact`` masks the values
of credential fields (``probes.fields.SECRET_KEYS`` and names that look like credentials),
credential headers and URL passwords in the config as written.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from probes.credentials import Auth
from probes.fields import MIN_CREDENTIAL, SECRET_KEYS, Secret
from probes.masking import MASK, URL_PAIR, embedded_passwords, mask_credentials
from probes.result import Result

__all__ = ["MASK", "Redactor", "mask_credentials", "redact"]

MIN_WORD = 4  # shorter values are not masked at all (see the module docstring)
EDGE = 6  # characters of a credential that count as a piece of it at a text's end
CREDENTIAL_NAME = re.compile(
    r"pass|pwd|secret|token|key|auth|cred|cookie|session|private|signature|bearer", re.I
)
# A name that ends by saying what its value is holds no credential by its name alone.
NAMED_FOR_WHAT_IT_HOLDS = re.compile(r"_(?:QUERY|PATH|URL)$", re.I)
USERINFO = re.compile(r"://[^/?#\s]*@")


def basic_forms(user: str, password: str) -> set[str]:
    """The base64 of ``user:password`` as ``Authorization: Basic`` sends it (UTF-8, Latin-1)."""
    pair = f"{user}:{password}"
    found = {base64.b64encode(pair.encode()).decode()}
    try:
        found.add(base64.b64encode(pair.encode("latin-1")).decode())  # aiohttp's for URLs
    except UnicodeEncodeError:
        pass
    return found


def embedded_credentials(text: str) -> set[str]:
    """The passwords in the URLs and libpq DSNs of ``text``, and their Basic forms."""
    found: set[str] = set()
    for m in URL_PAIR.finditer(text):
        user, password = unquote(m["user"]), unquote(m["password"])
        found |= {m["password"], password, *basic_forms(user, password)}
    return found | set(embedded_passwords(text))


def forms(value: str) -> set[str]:
    """Every form of a credential the exporter itself may put in a text (see the docstring)."""
    found = {value, quote(value, safe=""), quote_plus(value)}
    for part in embedded_credentials(value) - {value}:
        found |= {part, quote(part, safe="")}
    return {f for f in found if f}


@dataclasses.dataclass(frozen=True)
class FileCredential:
    """A ``*_file`` credential, read at each redaction, and the user it goes with (Basic)."""

    secret: Secret
    user: str | None = None

    def forms(self) -> set[str]:
        try:
            value = self.secret.reveal()
        except (OSError, UnicodeDecodeError):
            return set()  # a file that cannot be read cannot have been sent either
        found = forms(value)
        if self.user is not None:
            found |= basic_forms(self.user, value)
        return found


@dataclasses.dataclass(frozen=True)
class _Masks:
    anywhere: tuple[str, ...]  # longest first, so a value that contains another goes whole
    words: re.Pattern[str] | None  # the short ones, as whole words
    edges: tuple[tuple[str, int], ...]  # whose pieces count at a text's edges (_edge_values)


def _masks(found: Iterable[str]) -> _Masks:
    ordered = sorted(set(found), key=len, reverse=True)
    short = [f for f in ordered if MIN_WORD <= len(f) < MIN_CREDENTIAL]
    words = None
    if short:
        words = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, short)) + r")(?!\w)")
    anywhere = tuple(f for f in ordered if len(f) >= MIN_CREDENTIAL)
    return _Masks(anywhere, words, _edge_values(anywhere))


# A URL's scheme and authority with no user-info: the part of a URL credential (a webhook
# with its token in the path) that ordinary texts share, so it is no piece of the secret.
URL_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*/?")


def _edge_values(values: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """The values whose pieces count at a text's edges, each with how many of its first
    characters are no secret: a URL's origin. A URL or DSN that holds a password is left out:
    its password is a value of its own (``forms``), and the rest (``postgresql://app:``) is
    what texts that name the database share."""
    found = []
    for value in values:
        if embedded_credentials(value) - {value}:
            continue
        origin = URL_ORIGIN.match(value)
        found.append((value, origin.end() if origin else 0))
    return tuple(found)


def _mask_edges(text: str, values: tuple[tuple[str, int], ...]) -> str:
    """``text`` with a piece of a value at its start or end (cut there by a read) masked."""
    if len(text) < EDGE:
        return text
    for value, public in values:
        tail = text[-EDGE:]  # the end of the text may be the start of a value ...
        at = value.find(tail)
        while at != -1:
            piece = value[: at + EDGE]
            if public < len(piece) < len(value) and text.endswith(piece):
                text = text[: len(text) - len(piece)] + MASK
                break
            at = value.find(tail, at + 1)
        head = text[:EDGE]  # ... and its start the end of one
        at = value.find(head, 1)
        while at != -1:
            piece = value[at:]
            if text.startswith(piece):
                text = MASK + text[len(piece) :]
                break
            at = value.find(head, at + 1)
    return text


class Redactor:
    """Replaces a set of credentials (and URL passwords, Basic/Bearer values) in texts."""

    def __init__(self, values: Iterable[str] = (), files: Iterable[FileCredential] = ()):
        self.values = frozenset(v for v in values if v)
        self.files = tuple(dict.fromkeys(files))
        self._forms = frozenset(f for v in self.values for f in forms(v))
        self._static = _masks(self._forms)

    @classmethod
    def union(cls, redactors: Iterable[Redactor]) -> Redactor:
        """One redactor for the credentials of all of them (the checklist's, from its items')."""
        values: set[str] = set()
        files: list[FileCredential] = []
        for r in redactors:
            values |= r.values
            files += r.files
        return cls(values, files)

    def _masks(self) -> _Masks:
        if not self.files:
            return self._static
        return _masks(self._forms.union(*(f.forms() for f in self.files)))

    def text(self, text: str, masks: _Masks | None = None) -> str:
        m = self._masks() if masks is None else masks
        for value in m.anywhere:
            if value in text:
                text = text.replace(value, MASK)
        if m.words is not None:
            text = m.words.sub(MASK, text)
        return _mask_edges(mask_credentials(text), m.edges)

    def value(self, obj: Any, masks: _Masks | None = None) -> Any:
        """``obj`` (evidence: strings, lists, mappings) with every string redacted."""
        m = self._masks() if masks is None else masks
        if isinstance(obj, str):
            return self.text(obj, m)
        if isinstance(obj, Mapping):
            return {k: self.value(v, m) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.value(v, m) for v in obj)
        return obj

    def result(self, result: Result) -> Result:
        m = self._masks()
        return dataclasses.replace(
            result,
            summary=self.text(result.summary, m),
            evidence=self.value(dict(result.evidence), m),
        )

    def lines(self, lines: list[str]) -> None:
        """Redact debug lines in place."""
        m = self._masks()
        lines[:] = [self.text(line, m) for line in lines]


NOTHING = Redactor()


class LogMask:
    """A logging processor: every value of a log entry through the running checklist's Redactor.

    The engine sets ``redactor`` for its checklist (and again at each reload); the log setup puts
    this processor after exception formatting, so tracebacks are masked too.
    """

    def __init__(self) -> None:
        self.redactor = NOTHING

    def __call__(
        self, logger: Any, method_name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        r = self.redactor
        m = r._masks()
        for key, value in event.items():
            if isinstance(value, (str, Mapping, list, tuple)):
                event[key] = r.value(value, m)
            elif not isinstance(value, (int, float, bool, type(None))):
                event[key] = r.text(repr(value), m)
        return event


LOGS = LogMask()


# Values that hold no credential: the spec walk skips them without asking what they are.
_SCALARS = frozenset({int, float, bool, type(None)})


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(obj: object) -> tuple[str, ...] | None:
    """The field names of a dataclass instance, None for anything else (asked once per type)."""
    cls = type(obj)
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
    return _FIELD_NAMES[cls]


def secrets_in_spec(
    spec: Any, env: Mapping[str, str] | None = None
) -> tuple[list[str], list[FileCredential]]:
    """The credentials anywhere in a parsed spec: values known now, and files read later."""
    values: list[str] = []
    files: list[FileCredential] = []

    def walk(obj: Any, depth: int) -> None:
        if depth > 20 or type(obj) in _SCALARS:
            return
        if isinstance(obj, Secret):
            if obj.file is not None:
                files.append(FileCredential(obj))
            else:
                values.append(obj.reveal())
        elif isinstance(obj, str):
            values.extend(embedded_credentials(obj))
        elif (names := _field_names(obj)) is not None:
            if isinstance(obj, Auth) and obj.username is not None and obj.password is not None:
                if obj.password.file is not None:
                    files.append(FileCredential(obj.password, obj.username))
                else:
                    values.extend(basic_forms(obj.username, obj.password.reveal()))
            for name in getattr(obj, "credential_variables", lambda: ())():
                if env is not None and env.get(name):
                    values.append(env[name])
            for name in names:
                value = getattr(obj, name)
                if type(value) not in _SCALARS:
                    walk(value, depth + 1)
        elif isinstance(obj, (dict, Mapping)):
            for v in obj.values():
                walk(v, depth + 1)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v, depth + 1)

    walk(spec, 0)
    return values, files


def credential_by_name(name: str, value: str) -> bool:
    """Whether a variable's name says it holds a credential (``DB_PASSWORD``, ``API_TOKEN``).

    Not when the name ends by saying it holds something else: a query, a path, or a URL without
    a user and password in it (``PASSWORD_HASH_QUERY``, ``SECRETS_PATH``, ``TOKEN_URL``).
    """
    if not CREDENTIAL_NAME.search(name):
        return False
    if NAMED_FOR_WHAT_IT_HOLDS.search(name) is None:
        return True
    return name.upper().endswith("_URL") and USERINFO.search(value) is not None


# Header names whose values are credentials.
SECRET_HEADERS = re.compile(r"authorization|cookie|token|secret|password|api[-_]?key|x-auth", re.I)


def _in_sensitive_mapping(keys: tuple[str, ...]) -> bool:
    """Whether a value at ``keys`` is a command's ``env`` value, or the value of a header whose
    name says it carries a credential (``Authorization``, ``X-Api-Key``): ``Origin`` or
    ``Accept`` do not, and masking them hid S-014's front-end origin (trial)."""
    lowered = [k.lower() for k in keys]
    if "env" in lowered:
        return True
    if "headers" in lowered:
        at = lowered.index("headers")
        name = keys[at + 1] if at + 1 < len(keys) else ""
        return bool(SECRET_HEADERS.search(name) or CREDENTIAL_NAME.search(name))
    return False


def sensitive_variables(raw: Any, env: Mapping[str, str], pattern: re.Pattern[str]) -> list[str]:
    """Values of the ``${VAR}`` references in a raw probe that stand for credentials."""
    found: list[str] = []

    def walk(obj: Any, keys: tuple[str, ...]) -> None:
        if isinstance(obj, str):
            in_mapping = _in_sensitive_mapping(keys)
            by_key = bool(keys) and bool(CREDENTIAL_NAME.search(keys[-1]))
            for m in pattern.finditer(obj):
                name = m.group(1)
                if not name or not env.get(name):
                    continue
                in_userinfo = (
                    "://" in obj[: m.start()]
                    and "@" in obj[m.end() :]
                    and "/" not in obj[obj.index("://") + 3 : m.start()]
                )
                if in_mapping or by_key or in_userinfo or credential_by_name(name, env[name]):
                    found.append(env[name])
        elif isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, (*keys, str(k)))
        elif isinstance(obj, list):
            for v in obj:
                walk(v, keys)

    walk(raw, ())
    return found


def is_secret_key(key: str) -> bool:
    """Whether a config field of this name holds a credential."""
    return key in SECRET_KEYS or bool(CREDENTIAL_NAME.search(key))


def redact(value: Any, key: str = "") -> Any:
    """A copy of a config or evidence value with every credential replaced by ``<secret>``."""
    if isinstance(value, Mapping):
        headers = key.lower() in ("headers", "header")
        return {
            k: (
                MASK
                if is_secret_key(str(k)) or (headers and SECRET_HEADERS.search(str(k)))
                else redact(v, str(k))
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        return mask_credentials(value)
    return value
