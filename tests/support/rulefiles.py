"""Prometheus rule files for tests: the shipped rules with their `for` durations scaled down.

Production `for`/`keep_firing_for` durations (minutes) would make an end-to-end test wait for
many minutes; ``scaled_rules`` divides them mechanically, leaving every expression as shipped.
The promtool unit tests (alerts/tests/) cover the real durations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from probes.fields import format_duration, parse_duration

from .procs import ROOT

RULES = ROOT / "alerts" / "readiness.rules.yml"
SCALED_KEYS = ("for", "keep_firing_for")


def scaled_rules(factor: float, source: Path = RULES) -> dict[str, Any]:
    """The rule file at ``source`` with every `for`/`keep_firing_for` divided by ``factor``."""
    doc = yaml.safe_load(source.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            for key in SCALED_KEYS:
                if key in rule:
                    rule[key] = format_duration(max(parse_duration(rule[key]) / factor, 1))
    return doc


def rule_durations(doc: dict[str, Any], alert: str) -> dict[str, float]:
    """Seconds of `for` and `keep_firing_for` of ``alert`` in a rule document (0 when unset)."""
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                return {key: parse_duration(rule.get(key, "0s")) for key in SCALED_KEYS}
    raise KeyError(f"no alert {alert} in the rule file")
