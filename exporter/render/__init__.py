"""Every rendering of a snapshot for people and tools, one module per format.

``FORMATS`` maps each ``check --format`` name to its renderer; the web pages and the JSON API
use the same modules. Every JSON output goes through ``json.dumps``; times, durations and scores
are written by ``exporter/formatting.py``; text from targets is made safe by ``untrusted.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..snapshot import Snapshot
from . import json, junit, markdown, table

FORMATS: dict[str, Callable[[Snapshot], str]] = {
    "table": table.render,
    "json": json.render,
    "markdown": markdown.render,
    "junit": junit.render,
}
