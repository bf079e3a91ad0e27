"""The /metrics exposition: a custom collector over the latest snapshot, on its own registry.

Families are built fresh at each collection from an immutable ``Snapshot``, so the series of an
item removed by a reload disappear with it. ``Exposition`` renders the text once per change of
results or reload status and serves the same bytes to every scrape in between.

With thousands of items, ``generate_latest`` over the whole collector takes most of a second
(10,000 items: about 0.9 s for 120,000 samples, docs/performance.md), and with probes ending
every few milliseconds nearly every scrape sees a new snapshot. So ``Exposition`` writes the
per-item families itself: an item's lines are rendered once per ``ItemState`` and reused until
that item's state changes; only the few dozen score samples go through ``generate_latest``.
The bytes are exactly those ``generate_latest`` gives for ``ReadinessCollector``
(tests/test_metrics_render.py holds the two side by side).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from probes.result import Status

from . import __version__
from .config import Item
from .scoring import Decision
from .snapshot import ItemState, Snapshot

PERIODIC = "Results come from periodic probes run on each item's own interval, not at scrape time."


@dataclass(frozen=True)
class ReloadStatus:
    successful: bool
    last_success: float  # unix time of the last successful (re)load


def _ratio(score: object) -> float:
    return math.nan if score is None else float(score)  # type: ignore[arg-type]


def item_families(states: Iterable[ItemState]) -> tuple[Metric, ...]:
    """The per-item families, in exposition order, with the samples of ``states``."""
    status = GaugeMetricFamily(
        "readiness_item_status",
        (
            "1 for the item's current status (pass, partial, fail, pending, na), "
            f"0 for the others. {PERIODIC}"
        ),
        labels=["item", "category", "priority", "status"],
    )
    info = GaugeMetricFamily(
        "readiness_item_info",
        "Checklist item metadata; always 1.",
        labels=["item", "category", "priority", "title", "probe"],
    )
    last_probe = GaugeMetricFamily(
        "readiness_item_last_probe_timestamp_seconds",
        f"Unix time the item's last probe run ended. {PERIODIC}",
        labels=["item"],
    )
    duration = GaugeMetricFamily(
        "readiness_item_probe_duration_seconds",
        f"How long the item's last probe run took. {PERIODIC}",
        labels=["item"],
    )
    changed = GaugeMetricFamily(
        "readiness_item_last_change_timestamp_seconds",
        f"Unix time the item entered its current status. {PERIODIC}",
        labels=["item"],
    )
    interval = GaugeMetricFamily(
        "readiness_item_interval_seconds",
        "Seconds between two probe runs of the item.",
        labels=["item"],
    )
    expiry = GaugeMetricFamily(
        "readiness_item_expiry_timestamp_seconds",
        f"Unix time what the item checked stops being valid (certificate, attestation). {PERIODIC}",
        labels=["item"],
    )
    runs = CounterMetricFamily(
        "readiness_probe_runs",
        f"Probe runs of the item since start or since its config changed. {PERIODIC}",
        labels=["item"],
    )
    errors = CounterMetricFamily(
        "readiness_probe_errors",
        f"Probe runs that could not judge the item (timeouts, exceptions). {PERIODIC}",
        labels=["item"],
    )

    for s in states:
        item = s.item
        for st in Status:
            status.add_metric(
                [item.id, item.category, item.priority, st.value], 1.0 if s.status is st else 0.0
            )
        info.add_metric(
            [item.id, item.category, item.priority, item.title, item.kind or "none"], 1.0
        )
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
    return (status, info, last_probe, duration, changed, interval, expiry, runs, errors)


def score_families(snap: Snapshot, reload: ReloadStatus) -> Iterator[Metric]:
    """The families of scores, the decision and the exporter itself: a few dozen samples."""
    category_score = GaugeMetricFamily(
        "readiness_category_score_ratio",
        (
            "PASS items over applicable items in the category (NaN when none is applicable). "
            f"{PERIODIC}"
        ),
        labels=["category"],
    )
    category_items = GaugeMetricFamily(
        "readiness_category_items",
        f"Items in the category by current status. {PERIODIC}",
        labels=["category", "status"],
    )
    for category, tally in snap.scores.categories.items():
        category_score.add_metric([category], _ratio(tally.score))
        for st in Status:
            category_items.add_metric([category, st.value], tally.counts.get(st, 0))
    yield category_score
    yield category_items

    yield GaugeMetricFamily(
        "readiness_total_score_ratio",
        f"PASS items over applicable items (NaN when none is applicable). {PERIODIC}",
        value=_ratio(snap.scores.total.score),
    )
    yield GaugeMetricFamily(
        "readiness_critical_score_ratio",
        f"PASS critical items over applicable critical items (NaN when there are none). {PERIODIC}",
        value=_ratio(snap.scores.critical.score),
    )
    decision = GaugeMetricFamily(
        "readiness_decision",
        (
            "1 for the current Go/No-Go decision (go, go_with_caution, no_go), "
            f"0 for the others. {PERIODIC}"
        ),
        labels=["decision"],
    )
    for d in Decision:
        decision.add_metric([d.value], 1.0 if snap.scores.decision is d else 0.0)
    yield decision

    build = GaugeMetricFamily(
        "readiness_exporter_build_info", "The exporter's version; always 1.", labels=["version"]
    )
    build.add_metric([__version__], 1.0)
    yield build
    yield GaugeMetricFamily(
        "readiness_exporter_config_last_reload_successful",
        "Whether the last config (re)load succeeded.",
        value=1.0 if reload.successful else 0.0,
    )
    yield GaugeMetricFamily(
        "readiness_exporter_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful config (re)load.",
        value=reload.last_success,
    )


class ReadinessCollector(Collector):
    """Collects every readiness_* family from what ``snapshot`` and ``reload_status`` return."""

    def __init__(self, snapshot: Callable[[], Snapshot], reload_status: Callable[[], ReloadStatus]):
        self._snapshot = snapshot
        self._reload_status = reload_status

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        yield from item_families(snap.states.values())
        yield from score_families(snap, self._reload_status())


class _Families(Collector):
    """Families already built, in the shape generate_latest reads."""

    def __init__(self, families: Iterable[Metric]):
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


# -- the per-item text, written directly ----------------------------------------------------


def _label(value: str) -> str:
    """A label value escaped as the text format wants it (as prometheus_client does)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _header(family: Metric) -> str:
    """The HELP and TYPE lines generate_latest writes for ``family``."""
    name = family.name + "_total" if family.type == "counter" else family.name
    doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {family.type}\n"


HEADERS = tuple(_header(f).encode() for f in item_families(()))
(
    STATUS_NAME,
    INFO_NAME,
    LAST_PROBE_NAME,
    DURATION_NAME,
    CHANGED_NAME,
    INTERVAL_NAME,
    EXPIRY_NAME,
    RUNS_NAME,
    ERRORS_NAME,
) = (f.name + "_total" if f.type == "counter" else f.name for f in item_families(()))


class ItemLines:
    """One item's sample lines for each per-item family, in the order of ``item_families``.

    What depends only on the item (labels, info, interval) is written once; the status block
    is kept while the status stays. Labels come sorted by name, as generate_latest writes them.
    """

    __slots__ = ("_common", "_info", "_interval", "_one", "_status", "_status_lines", "item")

    def __init__(self, item: Item):
        self.item = item
        iid = _label(item.id)
        self._one = f'{{item="{iid}"}}'
        self._common = (
            f'category="{_label(item.category)}",item="{iid}",priority="{_label(item.priority)}"'
        )
        self._info = (
            f'{INFO_NAME}{{{self._common},probe="{_label(item.kind or "none")}",'
            f'title="{_label(item.title)}"}} 1.0\n'
        ).encode()
        self._interval = (
            f"{INTERVAL_NAME}{self._one} {floatToGoString(item.interval)}\n".encode()
            if item.probed
            else b""
        )
        self._status: Status | None = None
        self._status_lines = b""

    def lines(self, s: ItemState) -> tuple[bytes, ...]:
        if s.status is not self._status:
            self._status = s.status
            self._status_lines = "".join(
                f'{STATUS_NAME}{{{self._common},status="{st.value}"}} '
                f"{'1.0' if s.status is st else '0.0'}\n"
                for st in Status
            ).encode()
        one = self._one
        changed = f"{CHANGED_NAME}{one} {floatToGoString(s.changed_at)}\n".encode()
        last_probe = duration = runs = errors = expiry = b""
        if s.checked_at is not None:
            last_probe = f"{LAST_PROBE_NAME}{one} {floatToGoString(s.checked_at)}\n".encode()
            duration = f"{DURATION_NAME}{one} {floatToGoString(s.duration or 0.0)}\n".encode()
        if self.item.probed:
            runs = f"{RUNS_NAME}{one} {floatToGoString(s.runs)}\n".encode()
            errors = f"{ERRORS_NAME}{one} {floatToGoString(s.errors)}\n".encode()
        if s.result.expires_at is not None:
            expiry = f"{EXPIRY_NAME}{one} {floatToGoString(s.result.expires_at)}\n".encode()
        return (
            self._status_lines,
            self._info,
            last_probe,
            duration,
            changed,
            self._interval,
            expiry,
            runs,
            errors,
        )


# Above this many items a fresh render costs tens of milliseconds (a snapshot over every item,
# then joining ~10 MB of text), paid by whichever scrape comes first after a probe ends: with
# 10,000 items that is every scrape. There, the daemon renders the whole text once a second and
# a scrape is served that text while it is at most SERVE_WITHIN seconds old. A smaller checklist
# renders at the scrape itself, which costs under a millisecond, so its scrapes are exact.
CACHED_ABOVE = 2000
SERVE_WITHIN = 1.5  # seconds; the daemon refreshes every second

# Rows joined together ahead of a render. Joining 90,000 small lines costs about 9 ms; the
# items probed between two scrapes sit next to each other (first runs are spread in config
# order), so most blocks are unchanged and are joined as they were.
BLOCK = 128


class Exposition:
    """The text a scrape gets, rendered once per change of snapshot or reload status.

    Per-item lines are kept in one column per family, a row per item: the engine replaces an
    item's ``ItemState`` when a probe ends, so only rows whose state object changed since the
    last render are written again, and only their blocks are joined again.
    """

    def __init__(self, snapshot: Callable[[], Snapshot], reload_status: Callable[[], ReloadStatus]):
        self._snapshot = snapshot
        self._reload_status = reload_status
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ReadinessCollector(snapshot, reload_status))
        self._ids: tuple[str, ...] = ()
        self._rows: list[tuple[ItemState, ItemLines] | None] = []
        self._columns: list[list[bytes]] = [[] for _ in HEADERS]
        self._blocks: list[list[bytes]] = [[] for _ in HEADERS]  # a column's rows joined by BLOCK
        self._dirty: set[int] = set()  # blocks with a changed row
        self._rows_version: int | None = None  # snapshot version the rows were written for
        self._key: tuple[int, ReloadStatus] | None = None
        self._body = b""
        self._rendered_at = 0.0  # time.monotonic() of the last render
        self.cached_above = CACHED_ABOVE

    def scrape(self) -> bytes:
        """The text for a scrape: exact, or for a big checklist the last refresh's if recent.

        A reload always gets a fresh render: its reload status differs from the cached text's.
        """
        if (
            len(self._ids) > self.cached_above
            and self._key is not None
            and self._key[1] == self._reload_status()
            and time.monotonic() - self._rendered_at <= SERVE_WITHIN
        ):
            return self._body
        return self.render()

    def render(self) -> bytes:
        snap = self._snapshot()
        reload = self._reload_status()
        key = (snap.version, reload)
        if key != self._key:
            self._body = (
                b""  # let the old text go before the new one is built: 10 MB at 10,000 items
            )
            self._update_rows(snap)
            parts: list[bytes] = []
            for header, blocks in zip(HEADERS, self._blocks, strict=True):
                parts.append(header)
                parts.extend(blocks)
            parts.append(generate_latest(_Families(score_families(snap, reload))))
            self._body = b"".join(parts)
            self._key = key
        self._rendered_at = time.monotonic()
        return self._body

    def refresh(self) -> None:
        """Write ahead of the next scrape: the lines of items probed since the last call, and
        for a big checklist the whole text (see ``scrape``).

        Called about once a second by the daemon, so that a scrape finds little left to write.
        """
        if len(self._ids) > self.cached_above:
            self.render()
        else:
            self._update_rows(self._snapshot())

    def _update_rows(self, snap: Snapshot) -> None:
        if snap.version == self._rows_version:
            return
        self._rows_version = snap.version
        ids = tuple(snap.states)
        if ids != self._ids:  # a reload added, removed or moved items: start the rows afresh
            self._ids = ids
            self._rows = [None] * len(ids)
            self._columns = [[b""] * len(ids) for _ in HEADERS]
            self._blocks = [[b""] * -(-len(ids) // BLOCK) for _ in HEADERS]
            self._dirty = set(range(-(-len(ids) // BLOCK)))
        rows, columns, dirty = self._rows, self._columns, self._dirty
        for pos, state in enumerate(snap.states.values()):
            row = rows[pos]
            if row is None or row[0] is not state:
                writer = (
                    row[1]
                    if row is not None and row[1].item is state.item
                    else ItemLines(state.item)
                )
                rows[pos] = (state, writer)
                for column, lines in zip(columns, writer.lines(state), strict=True):
                    column[pos] = lines
                dirty.add(pos // BLOCK)
        for b in dirty:
            for column, blocks in zip(columns, self._blocks, strict=True):
                blocks[b] = b"".join(column[b * BLOCK : (b + 1) * BLOCK])
        dirty.clear()
