"""Which failures to connect are this machine's own, and so say nothing about the target.

A probe that cannot open a socket because the exporter ran out of descriptors (EMFILE), has no
route (ENETUNREACH), no source address (EADDRNOTAVAIL) or is stopped by a local firewall
(EACCES, EPERM) has not looked at the target. Reading that as "closed" or "down" is a verdict
without evidence: a ``tcp {expect: closed}`` firewall item on an OPEN port passed with "closed
(Too many open files)". Only the target's answers are verdicts: a refusal, a reset, silence
until the timeout, an unreachable host. Anything local is a probe error ("cannot judge").
Every probe that turns an ``OSError`` into a verdict asks ``local_cause`` first.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from .result import Result, Status

# This machine out of something: descriptors (the process's, the system's), buffers, processes.
EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EAGAIN})
LOCAL_ERRNOS = EXHAUSTED | frozenset(
    {
        errno.EADDRNOTAVAIL,  # no local address (or ephemeral port) to connect from
        errno.EADDRINUSE,
        errno.ENETUNREACH,  # no route from here
        errno.ENETDOWN,
        errno.EACCES,  # a local firewall or policy refused the connect
        errno.EPERM,
        errno.EAFNOSUPPORT,  # no IPv6 (or IPv4) here
        errno.EPROTONOSUPPORT,
    }
)
_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")
# libpq reports only text: "... failed: Network is unreachable", "could not create socket: Too
# many open files". A server's own refusal reads "failed: FATAL: ...", so it never matches.
_LIBPQ_LOCAL = re.compile(
    r"(?:failed|could not create socket|could not connect to server): ("
    + "|".join(re.escape(os.strerror(e)) for e in sorted(LOCAL_ERRNOS))
    + r")\b"
)


def local_cause(exc: BaseException, errnos: frozenset[int] = LOCAL_ERRNOS) -> OSError | None:
    """The OSError behind ``exc`` when it is this machine's failure, not the target's answer.

    ``errnos`` are the numbers that mean "this machine": for a connection LOCAL_ERRNOS; for
    starting a program only EXHAUSTED (its EACCES is the program's mode, a verdict).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "os_error", None)  # aiohttp's ClientConnectorError
        # TLS errors are OSErrors whose errno is OpenSSL's code (1 is not EPERM there).
        tls = isinstance(current, ssl.SSLError) or isinstance(inner, ssl.SSLError)
        if isinstance(current, OSError) and not tls:
            if current.errno in errnos:
                return current
            # asyncio joins the failures of several addresses into one OSError without errno.
            if current.errno is None and any(
                int(n) in errnos for n in _ERRNO_IN_TEXT.findall(str(current))
            ):
                return current
        current = (
            inner
            if isinstance(inner, BaseException) and inner is not current
            else current.__cause__
        )
    return None


def local_reason_in_libpq(message: str) -> str | None:
    """The local failure a libpq (psycopg) connection error names, if it names one."""
    m = _LIBPQ_LOCAL.search(message)
    return m.group(1) if m else None


def socket_shortage() -> str | None:
    """Why this process cannot open a socket right now, for a library that does not say."""
    try:
        socket.socket().close()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cannot_judge(subject: str, why: str | OSError, evidence: Mapping[str, Any]) -> Result:
    """A probe error: ``subject`` could not be checked for a reason on this machine."""
    if isinstance(why, OSError):
        why = why.strerror or str(why)
    return Result(
        Status.FAIL,
        f"cannot judge {subject}: {why} (on this machine, not an answer from the target)",
        {**evidence, "error": why},
        error=True,
    )
