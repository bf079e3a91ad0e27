"""Mistakes in what a user wrote, collected so that one reading reports every one of them.

The checklist config, each probe's settings and the web config all report through a
``Problems``: every problem is one line that names the file, the place and what was expected::

    config.yaml: categories[0].items[3] (S-011): http.expect_status must be a list of
    integers (got "200")          (one line)

Reading goes on after a problem, so a file with three mistakes gets three lines, not one per run.
Whoever holds the collector turns a non-empty one into the error the user sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class SpecError(Exception):
    """Raised by a parser of one value (an expectation, an address) that cannot read it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}" if field else message)
        self.field = field
        self.message = message


def show(value: object) -> str:
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


def _unchanged(text: str) -> str:
    return text


class Problems:
    """Located problem lines of one file; ``at()`` gives a view that reports at a place."""

    def __init__(self, source: str) -> None:
        self.lines: list[str] = []
        self._source = source  # the file's name, first on every line
        self._place = ""
        self._mask: Callable[[str], str] = _unchanged

    def at(self, place: str, mask: Callable[[str], str] | None = None) -> Problems:
        """The same collector, with lines at ``place``; ``mask`` hides credentials in them."""
        # Shallow: the view adds to the same list of lines (``copy.copy`` without its generic
        # path: the config loader makes one view per item).
        view = object.__new__(Problems)
        view.__dict__.update(self.__dict__)
        view._place = place
        if mask is not None:
            view._mask = mask
        return view

    def add(self, message: str) -> None:
        """Record one problem: ``message`` starts with the field it concerns, if any."""
        parts = (self._source, self._place, self._mask(message))
        self.lines.append(": ".join(p for p in parts if p))

    def __len__(self) -> int:
        return len(self.lines)
