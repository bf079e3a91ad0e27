"""The /metrics exposition: a custom collector over the latest snapshot, on its own registry.

Families are built fresh at each collection from an immutable ``Snapshot``, so the series of an
item removed by a reload disappear with it. ``Exposition`` renders the text once per change of
results or reload status and serves the same bytes to every scrape in between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from probes.result import Status

from . import __version__
from .scoring import Decision
from .snapshot import Snapshot

PERIODIC = "Results come from periodic probes run on each item's own interval, not at scrape time."


@dataclass(frozen=True)
class ReloadStatus:
    successful: bool
    last_success: float   # unix time of the last successful (re)load


def _ratio(score: object) -> float:
    return math.nan if score is None else float(score)  # type: ignore[arg-type]


class ReadinessCollector(Collector):
    """Collects every readiness_* family from what ``snapshot`` and ``reload_status`` return."""

    def __init__(self, snapshot: Callable[[], Snapshot], reload_status: Callable[[], ReloadStatus]):
        self._snapshot = snapshot
        self._reload_status = reload_status

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        reload = self._reload_status()
        states = list(snap.states.values())

        status = GaugeMetricFamily(
            "readiness_item_status",
            f"1 for the item's current status (pass, partial, fail, pending, na), 0 for the others. {PERIODIC}",
            labels=["item", "category", "priority", "status"])
        info = GaugeMetricFamily(
            "readiness_item_info", "Checklist item metadata; always 1.",
            labels=["item", "category", "priority", "title", "probe"])
        last_probe = GaugeMetricFamily(
            "readiness_item_last_probe_timestamp_seconds",
            f"Unix time the item's last probe run ended. {PERIODIC}", labels=["item"])
        duration = GaugeMetricFamily(
            "readiness_item_probe_duration_seconds",
            f"How long the item's last probe run took. {PERIODIC}", labels=["item"])
        changed = GaugeMetricFamily(
            "readiness_item_last_change_timestamp_seconds",
            "Unix time the item entered its current status.", labels=["item"])
        interval = GaugeMetricFamily(
            "readiness_item_interval_seconds",
            "Seconds between two probe runs of the item.", labels=["item"])
        expiry = GaugeMetricFamily(
            "readiness_item_expiry_timestamp_seconds",
            "Unix time what the item checked stops being valid (certificate, attestation).",
            labels=["item"])
        runs = CounterMetricFamily(
            "readiness_probe_runs", f"Probe runs of the item since start or since its config changed. {PERIODIC}",
            labels=["item"])
        errors = CounterMetricFamily(
            "readiness_probe_errors",
            "Probe runs that could not judge the item (timeouts, exceptions).", labels=["item"])

        for s in states:
            item = s.item
            for st in Status:
                status.add_metric([item.id, item.category, item.priority, st.value],
                                  1.0 if s.status is st else 0.0)
            info.add_metric([item.id, item.category, item.priority, item.title, item.kind or "none"], 1.0)
            changed.add_metric([item.id], s.changed_at)
            if s.checked_at is not None:
                last_probe.add_metric([item.id], s.checked_at)
                duration.add_metric([item.id], s.duration or 0.0)
            if item.probed:
                interval.add_metric([item.id], item.interval)
                runs.add_metric([item.id], s.runs)
                errors.add_metric([item.id], s.errors)
            if s.result.expires_at is not None:
                expiry.add_metric([item.id], s.result.expires_at)
        yield from (status, info, last_probe, duration, changed, interval, expiry, runs, errors)

        category_score = GaugeMetricFamily(
            "readiness_category_score_ratio",
            f"PASS items over applicable items in the category (NaN when none is applicable). {PERIODIC}",
            labels=["category"])
        category_items = GaugeMetricFamily(
            "readiness_category_items", "Items in the category by current status.",
            labels=["category", "status"])
        for category, tally in snap.scores.categories.items():
            category_score.add_metric([category], _ratio(tally.score))
            for st in Status:
                category_items.add_metric([category, st.value], tally.counts.get(st, 0))
        yield category_score
        yield category_items

        yield GaugeMetricFamily(
            "readiness_total_score_ratio",
            f"PASS items over applicable items (NaN when none is applicable). {PERIODIC}",
            value=_ratio(snap.scores.total.score))
        yield GaugeMetricFamily(
            "readiness_critical_score_ratio",
            f"PASS critical items over applicable critical items (NaN when there are none). {PERIODIC}",
            value=_ratio(snap.scores.critical.score))
        decision = GaugeMetricFamily(
            "readiness_decision",
            "1 for the current Go/No-Go decision (go, go_with_caution, no_go), 0 for the others.",
            labels=["decision"])
        for d in Decision:
            decision.add_metric([d.value], 1.0 if snap.scores.decision is d else 0.0)
        yield decision

        build = GaugeMetricFamily("readiness_exporter_build_info",
                                  "The exporter's version; always 1.", labels=["version"])
        build.add_metric([__version__], 1.0)
        yield build
        yield GaugeMetricFamily("readiness_exporter_config_last_reload_successful",
                                "Whether the last config (re)load succeeded.",
                                value=1.0 if reload.successful else 0.0)
        yield GaugeMetricFamily("readiness_exporter_config_last_reload_success_timestamp_seconds",
                                "Unix time of the last successful config (re)load.",
                                value=reload.last_success)


class Exposition:
    """The text a scrape gets, rendered once per change of snapshot or reload status."""

    def __init__(self, snapshot: Callable[[], Snapshot], reload_status: Callable[[], ReloadStatus]):
        self._snapshot = snapshot
        self._reload_status = reload_status
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ReadinessCollector(snapshot, reload_status))
        self._key: tuple[int, ReloadStatus] | None = None
        self._body = b""

    def render(self) -> bytes:
        key = (self._snapshot().version, self._reload_status())
        if key != self._key:
            self._body = generate_latest(self.registry)
            self._key = key
        return self._body
