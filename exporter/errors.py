"""The errors a user sees: each says what is wrong and where, for the person who will fix it.

They share one base, so the command line catches ``UserError`` once, prints its text and exits 2;
anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Raised when what a user gave (a file, an argument) cannot be used; the text says why."""


class ConfigError(UserError):
    """Raised when a config cannot be used; ``errors`` holds one located line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class UsageError(UserError, ValueError):
    """Raised when a command-line value or a file it names cannot be used."""
