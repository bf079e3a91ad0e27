"""detect-secrets extensions: a rule for type-annotated assignments, and a filter that bounds
the time a scan spends on one line.

detect-secrets 1.5's KeywordDetector finds ``secret_key = "..."`` but not ``secret_key: str =
"..."`` nor ``def connect(password: str = "...")`` (Yelp/detect-secrets#780, open; the fix in
#997 is not released). Settings classes are written exactly that way, so the secrets kind adds
this rule through the scanner's own plugin mechanism: the same keywords, the same idea of a
secret value and the same filters (templates, indirect references, sequential strings) apply.

The rule runs on RE2, in time linear in the line: written for Python's ``re`` it was cubic in a
run of spaces after ``password:`` (3,500 spaces held the GIL, and so the whole daemon, for 11 s).
detect-secrets' own patterns backtrack too (its KeywordDetector is quadratic in a run of
keywords: ``pwd`` 1,333 times on one line takes 3 s), so ``is_line_too_long`` keeps lines
longer than the scan's ``max_line_length`` from every plugin, and lines reached after the
scan's deadline; it logs each such line, and the probe turns that into "cannot judge", never a
PASS.

detect-secrets loads this file by its path (``plugins_used: [{path: file://...}]``,
``filters_used: [{path: file://...::is_line_too_long}]``), as a module of its own: it imports
nothing from this package.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information
from detect_secrets.plugins import keyword
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.settings import get_settings

# Python's \w and \s over str, in RE2's terms (RE2's own \w and \s are ASCII only).
_WORD = r"[\pL\pN_]"
_SPACE = r"[\t-\r\x1c-\x1f\x85\pZ]"
# keyword.SECRET without its look-aheads: a word character, then anything but a line break or
# a quote, ending in no comma or backtick.
_SECRET = rf"{_WORD}(?:[^\v'\"]*[^\v,'\"`])?"
# keyword (group 1), then ": <type>" (no "=", ":", quote or line break in it, and none of
# "<>{}", which no annotation holds but HTML does: "Password: {{ password }}</div><td style="..."
# in an e-mail template is not an assignment), "=", then a quoted value (group 2, 3 or 4, one
# per quote: RE2 has no backreference to say "the same quote").
ANNOTATED_ASSIGNMENT_SOURCE = (
    "(?i)("
    + "|".join(keyword.DENYLIST)
    + rf"){_WORD}*{_SPACE}*:{_SPACE}*[^\v=:'\"`<>{{}}]+?{_SPACE}*={_SPACE}*"
    + "(?:" + "|".join(f"{q}({_SECRET}){q}" for q in ("'", '"', "`")) + ")"
)  # fmt: skip
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
ANNOTATED_ASSIGNMENT = re2.compile(ANNOTATED_ASSIGNMENT_SOURCE, _OPTIONS)

# The filter's settings (``filters_used``), and what it logs to detect-secrets' logger.
LINE_FILTER = "is_line_too_long"
LINE_TOO_LONG = "line too long to scan"
OUT_OF_TIME = "out of time"
log = logging.getLogger("detect-secrets")


class AnnotatedKeywordDetector(BasePlugin):
    """Secret-sounding names with a type annotation: ``api_key: str = "..."``."""

    secret_type = "Secret Keyword (annotated)"  # noqa: S105 - a finding's type, not a secret

    def analyze_string(self, string: str, **kwargs: Any) -> Generator[str, None, None]:
        try:
            found = ANNOTATED_ASSIGNMENT.finditer(string)
        except UnicodeEncodeError:
            # A lone surrogate (a YAML escape the transformer kept): RE2 reads UTF-8.
            found = ANNOTATED_ASSIGNMENT.finditer(string.encode("utf-8", "replace").decode())
        for match in found:
            yield next(g for g in match.groups()[1:] if g is not None)


def _settings() -> dict[str, Any]:
    for path, config in get_settings().filters.items():
        if path.endswith(f"::{LINE_FILTER}"):
            return dict(config)
    return {}


def is_line_too_long(line: str, context: Any) -> bool:
    """A detect-secrets filter: True (skip it, and log why) for a line longer than
    ``max_line_length`` or read after ``deadline`` (monotonic), both from its settings.

    A line is measured between line breaks: detect-secrets' YAML reader hands a block scalar
    over as one line holding its lines (a CI workflow's ``run: |`` script), and those are
    ordinary files, not long lines.
    """
    settings = _settings()
    limit, deadline = settings.get("max_line_length"), settings.get("deadline")
    number = context.start_line + context.target_index + 1
    if limit is not None and len(line) > limit:
        longest = max(map(len, line.split("\n")))
        if longest > limit:
            log.warning("%s: line %d, %d characters", LINE_TOO_LONG, number, longest)
            return True
    if deadline is not None and time.monotonic() > deadline:
        log.warning("%s: line %d", OUT_OF_TIME, number)
        return True
    return False
