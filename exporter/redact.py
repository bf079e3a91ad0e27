"""Keeps credentials out of everything the exporter shows: summaries, evidence, logs, errors.

A probe reports what it saw, and what it saw can hold a credential: an exception text with the
URL ``https://user:pw@host``, a command that echoes its token on stderr, a server that reflects
the ``Authorization`` header. Probes cannot all be trusted to mask these, so the engine and the
config loader pass every text they show through an item's ``Redactor``.

What counts as a credential of an item:
- the password part of any URL (``scheme://user:<secret>@host``) and any ``Basic``/``Bearer``
  credential (as a server echoes an ``Authorization`` header), in any text;
- ``Secret`` values (``Fields.secret`` options, ``*_file`` contents read at redaction time);
- the value of every ``${VAR}`` that is used inside a ``headers`` or ``env`` mapping, inside a
  URL's user-info, under an option whose name looks like a credential (``password``,
  ``token``, ``api_key``, ...), or whose own name looks like one (``${DB_PASSWORD}``).
Other ``${VAR}`` values (``${APP_URL}``) stay visible: they make summaries readable.

Showing a probe's configuration (the item page) is the other half: ``redact`` masks the values
of credential fields (``probes.fields.SECRET_KEYS`` and names that look like credentials),
credential headers and URL passwords in the config as written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from probes.fields import SECRET_KEYS, Secret
from probes.result import Result

MASK = "<secret>"
MIN_LENGTH = 3  # shorter values would mask digits and words all over the summaries
CREDENTIAL_NAME = re.compile(
    r"pass|pwd|secret|token|key|auth|cred|cookie|session|private|signature|bearer", re.I
)
SENSITIVE_MAPPINGS = {"headers", "env"}
# scheme://user:password@  (the password may be empty; user-info never holds '/', '@' or space)
URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*):[^@/\s'\"]*@")


# An Authorization value as a server may echo it: Basic's base64 of user:password is a
# credential whatever the password's source (a variable, a file, a URL's user-info).
AUTH_VALUE = re.compile(r"\b(Basic|Bearer) +[A-Za-z0-9._~+/-]{6,}=*", re.I)


def mask_credentials(text: str) -> str:
    """``text`` with every URL password and every Basic/Bearer credential replaced by <secret>."""
    return AUTH_VALUE.sub(rf"\1 {MASK}", URL_USERINFO.sub(rf"\1:{MASK}@", text))


class Redactor:
    """Replaces an item's credential values (and URL passwords) in texts and evidence."""

    def __init__(self, values: Iterable[str] = (), files: Iterable[Secret] = ()):
        # Longest first, so a secret that contains another is masked whole.
        self.values = tuple(
            sorted({v for v in values if len(v) >= MIN_LENGTH}, key=len, reverse=True)
        )
        self.files = tuple(files)

    def _all(self) -> tuple[str, ...]:
        if not self.files:
            return self.values
        extra = []
        for secret in self.files:
            try:
                extra.append(secret.reveal())
            except (OSError, UnicodeDecodeError):
                pass  # an unreadable secret file cannot appear in output either
        return tuple(
            sorted(
                {*self.values, *(v for v in extra if len(v) >= MIN_LENGTH)}, key=len, reverse=True
            )
        )

    def text(self, text: str, values: tuple[str, ...] | None = None) -> str:
        for value in self._all() if values is None else values:
            if value in text:
                text = text.replace(value, MASK)
        return mask_credentials(text)

    def value(self, obj: Any, values: tuple[str, ...] | None = None) -> Any:
        """``obj`` (evidence: strings, lists, mappings) with every string redacted."""
        values = self._all() if values is None else values
        if isinstance(obj, str):
            return self.text(obj, values)
        if isinstance(obj, Mapping):
            return {k: self.value(v, values) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.value(v, values) for v in obj)
        return obj

    def result(self, result: Result) -> Result:
        values = self._all()
        return dataclasses.replace(
            result,
            summary=self.text(result.summary, values),
            evidence=self.value(dict(result.evidence), values),
        )

    def lines(self, lines: list[str]) -> None:
        """Redact debug lines in place."""
        values = self._all()
        lines[:] = [self.text(line, values) for line in lines]


NOTHING = Redactor()


def secrets_in_spec(spec: Any) -> tuple[list[str], list[Secret]]:
    """Values of the ``Secret`` objects anywhere in a parsed spec, and those read from files."""
    values: list[str] = []
    files: list[Secret] = []

    def walk(obj: Any, depth: int) -> None:
        if depth > 20:
            return
        if isinstance(obj, Secret):
            if obj.file is not None:
                files.append(obj)
            else:
                values.append(obj.reveal())
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                walk(getattr(obj, f.name), depth + 1)
        elif isinstance(obj, Mapping):
            for v in obj.values():
                walk(v, depth + 1)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v, depth + 1)

    walk(spec, 0)
    return values, files


def sensitive_variables(raw: Any, env: Mapping[str, str], pattern: re.Pattern[str]) -> list[str]:
    """Values of the ``${VAR}`` references in a raw probe that stand for credentials."""
    found: list[str] = []

    def walk(obj: Any, keys: tuple[str, ...]) -> None:
        if isinstance(obj, str):
            in_mapping = any(k.lower() in SENSITIVE_MAPPINGS for k in keys)
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
                if in_mapping or by_key or in_userinfo or CREDENTIAL_NAME.search(name):
                    found.append(env[name])
        elif isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, (*keys, str(k)))
        elif isinstance(obj, list):
            for v in obj:
                walk(v, keys)

    walk(raw, ())
    return found


# Header names whose values are credentials.
SECRET_HEADERS = re.compile(r"authorization|cookie|token|secret|password|api[-_]?key|x-auth", re.I)


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
