"""Operators' regular expressions, compiled by RE2: matching takes time linear in the text.

Patterns come from the config, texts from targets (an HTTP body, a command's output, a file).
Python's ``re`` backtracks: ``.*END`` over a 1 MiB line holds the GIL for minutes, and neither a
thread nor a timeout can stop it. RE2, the engine behind Prometheus and blackbox_exporter, never
backtracks, so every pattern a config gives is compiled here, at load, and its syntax is RE2's:
no backreferences, no lookaround. The exporter's own fixed patterns stay with ``re``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

SYNTAX_URL = "https://github.com/google/re2/wiki/Syntax"

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every rejected pattern to stderr


class PatternError(ValueError):
    """Raised when RE2 does not accept a pattern; the message is RE2's reason."""


class Match(Protocol):
    def start(self) -> int: ...


@dataclass(frozen=True)
class Pattern:
    """A compiled operator pattern; equal to another with the same text (a reload keeps it).

    ``name`` says in words what the pattern finds (``DEBUG switched on``, ``a privacy policy``):
    a summary shows it instead of the pattern, which few on call can read at a glance.
    """

    pattern: str
    _compiled: Any = field(compare=False, repr=False)
    name: str = ""

    @property
    def shown(self) -> str:
        """The pattern as a summary names it: its name, else ``/the pattern/``."""
        return self.name or f"/{self.pattern}/"

    def found(self) -> str:
        """What a text that must match says when it does: ``has a privacy policy``."""
        return f"has {self.name}" if self.name else f"matches /{self.pattern}/"

    def missing(self) -> str:
        """What a text that must match says when it does not."""
        return f"has no {self.name}" if self.name else f"does not match /{self.pattern}/"

    def absent(self) -> str:
        """What a text that must not match says when it does not: ``has no DEBUG switched on``."""
        return f"has no {self.name}" if self.name else f"has no match for /{self.pattern}/"

    def present(self, where: str) -> str:
        """What a text that must not match says when it does, at ``where`` (``line 3``)."""
        if self.name:
            return f"has {self.name} at {where}, expected none"
        return f"{where} matches /{self.pattern}/, expected no match"

    def search(self, text: str) -> Match | None:
        """The first match anywhere in ``text``, or None; ``^``/``$`` mean the text's ends
        unless the pattern starts with ``(?m)``."""
        found: Match | None  # RE2's module is untyped; its match objects fit the protocol
        try:
            found = self._compiled.search(text)
        except UnicodeEncodeError:
            # Undecodable bytes kept as surrogates (aiohttp's header values): RE2 takes UTF-8.
            found = self._compiled.search(text.encode("utf-8", "replace").decode("utf-8"))
        return found


def compile_pattern(text: str, name: str = "") -> Pattern:
    """``text`` compiled by RE2; raises PatternError with RE2's reason."""
    try:
        compiled = re2.compile(text, _OPTIONS)
    except UnicodeEncodeError:
        raise PatternError("not UTF-8 text: it holds a lone surrogate") from None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not accepted"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason)) from None
    return Pattern(text, compiled, name)
