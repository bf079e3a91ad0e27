"""Hide credentials before showing probe configuration or evidence to people.

A config shown on the status board is the config as written (``${VAR}`` unexpanded), but a
literal password or an ``Authorization`` header can still be written there, and evidence may
carry a URL with ``user:password@``. Secret fields (``probes.fields.SECRET_KEYS``, filled as
probe kinds read their ``Fields.secret()`` fields), header values that carry credentials and
URL passwords all show as ``<secret>``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from probes.fields import SECRET_KEYS

MASK = "<secret>"
# Header names whose values are credentials (compared lower-case).
SECRET_HEADERS = re.compile(r"authorization|cookie|token|secret|password|api[-_]?key|x-auth", re.I)
# Field names that hold credentials even if no probe kind declared them with Fields.secret().
SECRET_NAMES = re.compile(r"password|passwd|secret|token|api_?key|private_key|credential", re.I)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.I)


def is_secret_key(key: str) -> bool:
    return key in SECRET_KEYS or bool(SECRET_NAMES.search(key))


def redact_text(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@`` URL masked."""
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def redact(value: Any, key: str = "") -> Any:
    """A copy of a config or evidence value with every credential replaced by ``<secret>``."""
    if isinstance(value, Mapping):
        headers = key.lower() in ("headers", "header")
        return {k: (MASK if is_secret_key(str(k)) or (headers and SECRET_HEADERS.search(str(k)))
                    else redact(v, str(k)))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
