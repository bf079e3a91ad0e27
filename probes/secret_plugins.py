"""A detect-secrets plugin for what its keyword rule misses: type-annotated assignments.

detect-secrets 1.5's KeywordDetector finds ``secret_key = "..."`` but not ``secret_key: str =
"..."`` nor ``def connect(password: str = "...")`` (Yelp/detect-secrets#780, open; the fix in
#997 is not released). Settings classes are written exactly that way, so the secrets kind adds
this rule through the scanner's own plugin mechanism: the same keywords, the same idea of a
secret value and the same filters (templates, indirect references, sequential strings) apply.

detect-secrets loads this file by its path (``plugins_used: [{path: file://...}]``), as a
module of its own: it imports nothing from this package.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from detect_secrets.plugins import keyword
from detect_secrets.plugins.base import BasePlugin

# keyword (group 1), then ": <type>" (no "=", ":", quote or line break in it, and none of
# "<>{}", which no annotation holds but HTML does: "Password: {{ password }}</div><td style="..."
# in an e-mail template is not an assignment), "=", then a quoted value (groups 2-4).
_ANNOTATION = r"\s*:\s*[^\v=:'\"`<>{}]+?\s*=\s*"
ANNOTATED_ASSIGNMENT = re.compile(
    keyword.DENYLIST_REGEX + _ANNOTATION + rf"({keyword.QUOTE})({keyword.SECRET})(\2)",
    flags=re.IGNORECASE,
)


class AnnotatedKeywordDetector(BasePlugin):
    """Secret-sounding names with a type annotation: ``api_key: str = "..."``."""

    secret_type = "Secret Keyword (annotated)"  # noqa: S105 - a finding's type, not a secret

    def analyze_string(self, string: str, **kwargs: Any) -> Generator[str, None, None]:
        for match in ANNOTATED_ASSIGNMENT.finditer(string):
            yield match.group(3)
