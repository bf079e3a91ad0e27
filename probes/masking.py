"""What probes show of what they saw: credentials masked first, then cut to length.

A probe quotes pieces of what it saw: the tail of a command's output, a header value, a banner,
a JSON value. Cut first and masked later, a credential that straddles the cut escapes the mask
(its remaining part no longer equals the value: 80 of a JWT's 137 characters showed). So every
cut goes through ``clip``, which masks the whole text and only then cuts it.

The mask is the checklist's (``exporter.redact.Redactor.text``): the engine installs it for each
probe run with ``using``. It lives in a context variable so that helpers deep inside a probe
(``compare.render``, called from http and file assertions) need no extra parameter; asyncio tasks
and ``asyncio.to_thread`` carry it along. Outside a run (a probe called directly) only the
patterns below are masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote

MASK = "<secret>"
ELLIPSIS = "…"

# scheme://user:password@  (the password may be empty; user-info never holds '/', '@' or space).
# The look-behind starts a scheme only where one can start: without it, 64 KiB of letters cost
# a scan from each of them (seconds of a blocked event loop).
URL_USERINFO = re.compile(
    r"((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*):[^@/\s'\"]*@"
)
# An Authorization value as a server may echo it: Basic's base64 of user:password is a
# credential whatever the password's source (a variable, a file, a URL's user-info).
AUTH_VALUE = re.compile(r"\b(Basic|Bearer) +[A-Za-z0-9._~+/-]{6,}=*", re.I)
# The same user-info with its parts, and libpq's keyword form: password=secret or
# password='it\'s quoted'. What ``embedded_passwords`` finds.
URL_PAIR = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^/\s:@'\"]*):(?P<password>[^/\s'\"]*)@"
)
DSN_PASSWORD = re.compile(r"\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))")


def mask_credentials(text: str) -> str:
    """``text`` with every URL password and every Basic/Bearer credential replaced by <secret>."""
    return AUTH_VALUE.sub(rf"\1 {MASK}", URL_USERINFO.sub(rf"\1:{MASK}@", text))


def embedded_passwords(text: str) -> list[str]:
    """The passwords of the URLs (decoded) and libpq DSNs (unescaped) in ``text``."""
    found = [unquote(m["password"]) for m in URL_PAIR.finditer(text)]
    for m in DSN_PASSWORD.finditer(text):
        quoted, bare = m.groups()
        found.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
    return found


_current: ContextVar[Callable[[str], str]] = ContextVar("mask", default=mask_credentials)


@contextmanager
def using(mask: Callable[[str], str]) -> Iterator[None]:
    """Within the block (and the tasks and threads it starts), ``clip`` masks with ``mask``."""
    token = _current.set(mask)
    try:
        yield
    finally:
        _current.reset(token)


def clip_words(text: str, limit: int) -> str:
    """``text`` on one line (each run of spaces and line breaks one space), then ``clip``ped: a
    query or an expression as a summary names it."""
    return clip(" ".join(text.split()), limit)


def clip(text: str, limit: int, *, keep_end: bool = False) -> str:
    """``text`` masked, then cut to ``limit`` characters (its end with ``keep_end``) with "…"."""
    text = _current.get()(text)
    if len(text) <= limit:
        return text
    if keep_end:
        return ELLIPSIS + text[len(text) - limit + 1 :]
    return text[: limit - 1] + ELLIPSIS
