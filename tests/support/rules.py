"""Alert rules for tests: a copy of a rule file with its waits scaled down, derived mechanically.

Rules say ``for: 5m``; a test cannot wait that long. ``scaled`` divides every ``for`` and
``keep_firing_for`` by the same factor (never below the evaluation interval), leaving the
expressions as written, so the test exercises the shipped logic at a faster clock.
"""

from __future__ import annotations

from typing import Any

import yaml

from probes.fields import format_duration, parse_duration

WAITS = ("for", "keep_firing_for")


def scaled(rules_text: str, factor: float, floor: float = 1.0) -> str:
    """The rule file's text with each rule's waits divided by ``factor`` (at least ``floor`` s)."""
    doc: dict[str, Any] = yaml.safe_load(rules_text)
    for group in doc["groups"]:
        for rule in group["rules"]:
            for key in WAITS:
                if key in rule:
                    seconds = parse_duration(rule[key])
                    rule[key] = format_duration(max(floor, seconds / factor)) if seconds else rule[key]
    return yaml.safe_dump(doc, sort_keys=False)


def alert_names(rules_text: str) -> list[str]:
    return [r["alert"] for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"] if "alert" in r]
