"""The /metrics exposition: every family declared once, rendered fast and served negotiated.

Each per-item family is an ``ItemFamily``: its name, type, help, labels and how to read its
value from an ``ItemState``. Two renderers are derived from those declarations:

- ``ReadinessCollector``, a prometheus_client collector: the reference, what
  ``generate_latest`` writes (tests and ``bench/render.py`` compare against it);
- ``Exposition``, what a scrape is served. With thousands of items ``generate_latest`` over the
  whole checklist takes most of a second and probes end every few milliseconds, so
  ``Exposition`` writes an item's lines once per change of its values and keeps them in blocks
  of ``BLOCK`` items per family, held compressed and compressed again only when one of their
  items changed. The few dozen samples of scores, decision and the exporter itself go through
  prometheus_client on each change, and ``process_*``/``python_info`` at every scrape.

A scrape is answered in the Prometheus text format or OpenMetrics (``Accept``), gzipped when
asked (``Accept-Encoding``). The gzip stream is built from pieces compressed once: each block
is compressed on its own and flushed to a byte boundary, so pieces concatenate into one deflate
stream; only the fresh ``process_*`` tail is compressed at the scrape.
"""

from __future__ import annotations

import array
import enum
import math
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from probes.result import Status

from . import build
from .config import Item
from .launch import Phase
from .scoring import Decision
from .snapshot import ItemState, Snapshot

PERIODIC = "Results come from periodic probes run on each item's own interval, not at scrape time."


@dataclass(frozen=True)
class ReloadStatus:
    successful: bool
    last_success: float  # unix time of the last successful (re)load


# -- what each per-item family is, declared once ---------------------------------------------


@dataclass(frozen=True)
class StateSet:
    """A family with one sample per state: 1 for the item's current state, 0 for the others."""

    label: str
    states: tuple[str, ...]
    current: Callable[[ItemState], str]


@dataclass(frozen=True)
class ItemFamily:
    """One per-item family: everything both renderers need to write it."""

    key: str  # its name in --metrics.item-families
    name: str  # as prometheus_client names it: a counter without its _total
    type: Literal["gauge", "counter"]
    help: str
    value: Callable[[ItemState], float | None] | StateSet  # None: no sample for this item
    labels: Callable[[Item], Mapping[str, str]] = lambda item: {"item": item.id}

    @property
    def sample_name(self) -> str:
        return self.name + "_total" if self.type == "counter" else self.name


def _described(item: Item) -> dict[str, str]:
    return {"item": item.id, "category": item.category, "priority": item.priority}


def _when_probed(value: Callable[[ItemState], float]) -> Callable[[ItemState], float | None]:
    """Only items the engine probes have this family (not N/A, not waiting for variables)."""
    return lambda s: value(s) if s.item.probed else None


# The per-item families, in exposition order. A new one is one entry here: both renderers, the
# tests that compare them and --metrics.item-families (by its key) follow. A family about the
# checklist or the exporter as a whole (a sign-off per role, a launch phase) is a few lines in
# score_families.
ITEM_FAMILIES: tuple[ItemFamily, ...] = (
    ItemFamily(
        "status",
        "readiness_item_status",
        "gauge",
        "1 for the item's current status (pass, partial, fail, pending, na), "
        f"0 for the others. {PERIODIC}",
        StateSet("status", tuple(st.value for st in Status), lambda s: s.status.value),
        _described,
    ),
    ItemFamily(
        "info",
        "readiness_item_info",
        "gauge",
        "Checklist item metadata; always 1. item_owner is the item's owner: its own, its "
        "category's or the default (empty when none).",
        lambda s: 1.0,
        lambda item: {
            **_described(item),
            "title": item.title,
            "probe": item.kind or "none",
            "item_owner": item.owner,
        },
    ),
    ItemFamily(
        "last_probe",
        "readiness_item_last_probe_timestamp_seconds",
        "gauge",
        f"Unix time the item's last probe run ended. {PERIODIC}",
        lambda s: s.checked_at,
    ),
    ItemFamily(
        "probe_duration",
        "readiness_item_probe_duration_seconds",
        "gauge",
        f"How long the item's last probe run took. {PERIODIC}",
        lambda s: None if s.checked_at is None else s.duration or 0.0,
    ),
    ItemFamily(
        "last_change",
        "readiness_item_last_change_timestamp_seconds",
        "gauge",
        f"Unix time the item entered its current status. {PERIODIC}",
        lambda s: s.changed_at,
    ),
    ItemFamily(
        "last_pass",
        "readiness_item_last_pass_timestamp_seconds",
        "gauge",
        "Unix time the item was last seen PASS: its last run while PASS, else as the store "
        f"remembers it across restarts. Absent when it never was. {PERIODIC}",
        lambda s: s.records.last_pass,
    ),
    ItemFamily(
        "interval",
        "readiness_item_interval_seconds",
        "gauge",
        "Seconds between two probe runs of the item, in the current launch phase.",
        _when_probed(lambda s: s.current_interval),
    ),
    ItemFamily(
        "expiry",
        "readiness_item_expiry_timestamp_seconds",
        "gauge",
        f"Unix time what the item checked stops being valid (certificate, attestation). {PERIODIC}",
        lambda s: s.result.expires_at,
    ),
    ItemFamily(
        "risk_accepted",
        "readiness_item_risk_accepted",
        "gauge",
        "1 while a risk accepted for the item (readiness-exporter accept-risk) is in force, 0 "
        "once it expired; absent without one or once revoked. It changes no status or score.",
        lambda s: None if s.records.risk is None else s.records.risk.accepted,
    ),
    ItemFamily(
        "risk_expiry",
        "readiness_item_risk_acceptance_expiry_timestamp_seconds",
        "gauge",
        "Unix time the risk accepted for the item expires (stays after it expired, until a new "
        "acceptance replaces it or it is revoked).",
        lambda s: None if s.records.risk is None else s.records.risk.expiry,
    ),
    ItemFamily(
        "probe_runs",
        "readiness_probe_runs",
        "counter",
        f"Probe runs of the item since start or since its config changed. {PERIODIC}",
        _when_probed(lambda s: s.runs),
    ),
    ItemFamily(
        "probe_errors",
        "readiness_probe_errors",
        "counter",
        f"Probe runs that could not judge the item (timeouts, exceptions). {PERIODIC}",
        _when_probed(lambda s: s.errors),
    ),
)


def select_families(keys: Iterable[str]) -> tuple[ItemFamily, ...]:
    """The families named by ``--metrics.item-families``, in exposition order."""
    wanted = [k.strip() for k in keys if k.strip()]
    known = {f.key for f in ITEM_FAMILIES}
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise ValueError(
            f"--metrics.item-families: unknown famil{'ies' if len(unknown) > 1 else 'y'} "
            f"{', '.join(unknown)} (expected some of {', '.join(f.key for f in ITEM_FAMILIES)})"
        )
    return tuple(f for f in ITEM_FAMILIES if f.key in wanted)


def _samples(family: ItemFamily, state: ItemState) -> Iterator[tuple[dict[str, str], float]]:
    labels = dict(family.labels(state.item))
    if isinstance(family.value, StateSet):
        current = family.value.current(state)
        for st in family.value.states:
            yield {**labels, family.value.label: st}, 1.0 if st == current else 0.0
    else:
        value = family.value(state)
        if value is not None:
            yield labels, float(value)


def item_metric(family: ItemFamily, states: Iterable[ItemState]) -> Metric:
    """``family`` with the samples of ``states``, as prometheus_client builds a family."""
    metric = Metric(family.name, family.help, family.type)
    for state in states:
        for labels, value in _samples(family, state):
            metric.add_sample(family.sample_name, labels, value)
    return metric


# -- the checklist's and the exporter's own families -----------------------------------------


@dataclass(frozen=True)
class ExporterState:
    """What the exporter says about itself beside the snapshot."""

    reload: ReloadStatus
    external_url: str
    decision_since: float  # unix time the current decision began


def _ratio(score: object) -> float:
    return math.nan if score is None else float(score)  # type: ignore[arg-type]


def score_families(snap: Snapshot, own: ExporterState) -> Iterator[Metric]:
    """Scores, the decision and the exporter itself: a few dozen samples."""
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
    yield GaugeMetricFamily(
        "readiness_decision_last_change_timestamp_seconds",
        "Unix time the current decision began (the exporter's start, if it has not changed "
        f"since). {PERIODIC}",
        value=own.decision_since,
    )
    thresholds = GaugeMetricFamily(
        "readiness_decision_threshold_ratio",
        "Total score the decision needs, from the config's decision: section: go (with every "
        "critical item PASS) and go_with_caution.",
        labels=["decision"],
    )
    thresholds.add_metric([Decision.GO.value], snap.checklist.thresholds.go)
    thresholds.add_metric([Decision.GO_WITH_CAUTION.value], snap.checklist.thresholds.caution)
    yield thresholds

    yield from launch_families(snap)

    info = build()
    build_info = GaugeMetricFamily(
        "readiness_exporter_build_info",
        "The exporter's version, git revision and branch, and Python version; always 1.",
        labels=["version", "revision", "branch", "pythonversion"],
    )
    build_info.add_metric([info.version, info.revision, info.branch, info.python], 1.0)
    yield build_info
    web_info = GaugeMetricFamily(
        "readiness_exporter_web_info",
        "The URL under which the exporter is reached (--web.external-url); always 1.",
        labels=["external_url"],
    )
    web_info.add_metric([own.external_url], 1.0)
    yield web_info
    yield GaugeMetricFamily(
        "readiness_exporter_config_last_reload_successful",
        "Whether the last config (re)load succeeded.",
        value=1.0 if own.reload.successful else 0.0,
    )
    yield GaugeMetricFamily(
        "readiness_exporter_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful config (re)load.",
        value=own.reload.last_success,
    )


def launch_families(snap: Snapshot) -> Iterator[Metric]:
    """The process around the checklist: decisions remembered, sign-offs, launch and phase."""
    picture = snap.launch
    held = GaugeMetricFamily(
        "readiness_decision_last_timestamp_seconds",
        "Unix time each decision last held: now for the current one once every item has been "
        "probed, else as the store remembers it across restarts. Absent for one that never "
        f"held. {PERIODIC}",
        labels=["decision"],
    )
    for d in Decision:
        if d.value in picture.decisions_held:
            held.add_metric([d.value], picture.decisions_held[d.value])
    yield held
    signoff = GaugeMetricFamily(
        "readiness_signoff",
        "1 while the role's latest signature counts (not revoked, given for the decision "
        "computed now with the sign-off items counted as given, no item that passed then "
        "failing since), 0 otherwise; exported once every item has been probed, so a restart "
        "does not look like withdrawn signatures.",
        labels=["role"],
    )
    signed_at = GaugeMetricFamily(
        "readiness_signoff_timestamp_seconds",
        "Unix time of the role's latest signature, counting or not; absent while unsigned.",
        labels=["role"],
    )
    for signature in picture.signatures:
        if snap.ready:
            signoff.add_metric([signature.role], 1.0 if signature.counts else 0.0)
        if signature.signoff is not None:
            signed_at.add_metric([signature.role], signature.signoff.at)
    yield signoff
    yield signed_at
    launch = GaugeMetricFamily(
        "readiness_launch_timestamp_seconds",
        "Unix time of the launch: the latest recorded decision's, else the config's launch:. "
        "Absent without one.",
    )
    if picture.launch.at is not None:
        launch.add_metric([], picture.launch.at)
    yield launch
    phase = GaugeMetricFamily(
        "readiness_launch_phase",
        "1 for the current launch phase (pre_launch, first_48h, first_week, first_month, "
        "steady), 0 for the others.",
        labels=["phase"],
    )
    for p in Phase:
        phase.add_metric([p.value], 1.0 if picture.phase is p else 0.0)
    yield phase


class DecisionClock:
    """When the current decision began, told from the snapshots it is shown.

    The decision follows from item statuses, so a new decision began when the last of the
    statuses that changed since the previous snapshot changed. Seen at least once a second
    (the daemon's refresh), so it is exact unless the decision flips twice within a second.
    """

    def __init__(self) -> None:
        self._seen: Snapshot | None = None
        self.since = 0.0

    def observe(self, snap: Snapshot) -> float:
        seen = self._seen
        if seen is None:
            self.since = snap.taken_at
        elif snap is not seen and snap.scores.decision is not seen.scores.decision:
            before = seen.states
            self.since = max(
                (
                    s.changed_at
                    for item_id, s in snap.states.items()
                    if (old := before.get(item_id)) is None or old.status is not s.status
                ),
                default=snap.taken_at,  # thresholds changed by a reload
            )
        self._seen = snap
        return self.since


class ReadinessCollector(Collector):
    """The reference: every readiness_* family, built by prometheus_client at each collection."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        own: Callable[[Snapshot], ExporterState],
        families: Callable[[], Sequence[ItemFamily]],
    ):
        self._snapshot = snapshot
        self._own = own
        self._families = families

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        for family in self._families():
            yield item_metric(family, snap.states.values())
        yield from score_families(snap, self._own(snap))


class _Families(Collector):
    """Families already built, in the shape generate_latest reads."""

    def __init__(self, families: Iterable[Metric]):
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


# -- the text formats --------------------------------------------------------------------------

EOF = b"# EOF\n"


class Format(enum.Enum):
    """A text format a scrape can ask for; the value is its Content-Type."""

    TEXT = CONTENT_TYPE_PLAIN_0_0_4
    OPENMETRICS = openmetrics.CONTENT_TYPE_LATEST

    def write(self, families: Iterable[Metric]) -> bytes:
        """``families`` in this format, as prometheus_client writes them (no ``# EOF``)."""
        text: bytes  # prometheus_client's writers are unannotated
        if self is Format.TEXT:
            text = generate_latest(_Families(families))
        else:
            text = openmetrics.generate_latest(_Families(families)).removesuffix(EOF)
        return text

    def end(self) -> bytes:
        return EOF if self is Format.OPENMETRICS else b""


def negotiate(accept: str) -> Format:
    """OpenMetrics when the Accept header asks for it, as prometheus_client's own server decides."""
    content_type = choose_encoder(accept)[1]
    return Format.OPENMETRICS if content_type.startswith("application/openmetrics") else Format.TEXT


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip: named (or ``x-gzip``, or ``*``) and not q=0.

    A coding named outright wins over ``*`` (RFC 9110 12.5.3): ``*, gzip;q=0`` refuses gzip.
    """
    weights: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            weights[coding] = float(q)
        except ValueError:
            weights[coding] = 0.0
    named = [weights[c] for c in ("gzip", "x-gzip") if c in weights]
    if named:
        return max(named) > 0
    return weights.get("*", 0.0) > 0


# -- the per-item lines, written directly ----------------------------------------------------


def _label(value: str) -> str:
    """A label value escaped as both text formats want it (as prometheus_client does)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _label_text(labels: Mapping[str, str]) -> str:
    """``a="x",b="y"``: labels sorted by name, as prometheus_client writes them."""
    return ",".join(f'{k}="{_label(v)}"' for k, v in sorted(labels.items()))


class _Writer:
    """Writes one family's lines for any item; it holds nothing of an item (one per family).

    A line's labels are fixed for its item, so a changed value reuses the head of the line it
    replaces: at 10,000 items, keeping each item's heads instead cost 20 MB.
    """

    __slots__ = ("_family", "_states", "key")

    def __init__(self, family: ItemFamily):
        self._family = family
        self.key: Callable[[ItemState], float | str | None]  # the lines change only with it
        self._states: tuple[str, ...] | None = None
        if isinstance(family.value, StateSet):
            self.key, self._states = family.value.current, family.value.states
        else:
            self.key = family.value

    def lines(self, item: Item, key: float | str | None, old: bytes) -> bytes:
        family = self._family
        if self._states is not None:
            assert isinstance(family.value, StateSet)
            labels = dict(family.labels(item))
            # The state label's value goes between head and tail, where sorting puts it.
            labels[family.value.label] = "\x00"
            head, _, tail = f"{family.sample_name}{{{_label_text(labels)}}} ".partition("\x00")
            return "".join(
                f"{head}{st}{tail}{'1.0' if st == key else '0.0'}\n" for st in self._states
            ).encode()
        if key is None:
            return b""
        assert not isinstance(key, str)
        value = f"{floatToGoString(key)}".encode()
        if old:  # ``name{labels} value\n``: no space in a value, so the last one ends the head
            return old[: old.rindex(b" ") + 1] + value + b"\n"
        return (
            f"{family.sample_name}{{{_label_text(family.labels(item))}}} ".encode() + value + b"\n"
        )


_NOTHING = object()  # no lines written yet


class ItemKeys:
    """What one item's lines were last written from, family by family (the lines themselves
    are in their block)."""

    __slots__ = ("item", "keys")

    def __init__(self, item: Item, width: int):
        self.item = item
        self.keys: list[object] = [_NOTHING] * width

    def changed(
        self, state: ItemState, writers: Sequence[_Writer]
    ) -> Iterator[tuple[int, float | str | None]]:
        """The families whose value changed, with the new value; the keys are updated."""
        for n, writer in enumerate(writers):
            key = writer.key(state)
            if key != self.keys[n]:  # NaN never equals itself: written each time, correctly
                self.keys[n] = key
                yield n, key


class _Block:
    """BLOCK items' lines of one family, kept deflated: the text is 8 MB at 10,000 items and a
    few hundred KB compressed, and a scrape asks for gzip. A change inflates the block, swaps
    the item's line (its length says where it is) and compresses the block again, which gzip
    needed anyway."""

    __slots__ = ("crc", "deflated", "lengths", "size")

    def __init__(self, items: int):
        self.lengths = array.array("I", bytes(4 * items))  # each item's lines, in bytes
        self.deflated = b""
        self.crc = 0
        self.size = 0

    def lines(self) -> list[bytes]:
        text = self.text()
        out, at = [], 0
        for length in self.lengths:
            out.append(text[at : at + length])
            at += length
        return out

    def text(self) -> bytes:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(self.deflated) if self.size else b""

    def store(self, lines: list[bytes]) -> None:
        text = b"".join(lines)
        self.lengths = array.array("I", map(len, lines))
        self.crc, self.size = zlib.crc32(text), len(text)
        self.deflated = _deflate(text) if text else b""


# Above this many items a fresh render (a snapshot over every item, then joining the whole
# text) is paid by whichever scrape comes first after a probe ends: with 10,000 items that is
# every scrape (docs/performance.md has the figures). There, the daemon renders the whole text
# once a second and a scrape is served that text while it is at most SERVE_WITHIN seconds old.
# A smaller checklist renders at the scrape itself, cheaply, so its scrapes are exact.
CACHED_ABOVE = 2000
SERVE_WITHIN = 1.5  # seconds; the daemon refreshes every second

# Rows joined together ahead of a render, so that a render joins a few blocks rather than every
# line (docs/performance.md): the items probed between two scrapes sit next to each other
# (first runs are spread in config order), so most blocks are unchanged and are joined as they
# were. Each block is also the unit of gzip compression: a changed item costs the compression
# of its block only.
BLOCK = 128

# zlib's level 6 (its default): at 10,000 items level 1 gives about a third more bytes for
# little less CPU, and blocks are compressed only when they change (docs/performance.md).
GZIP_LEVEL = 6
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime, OS unknown


_zeros = bytes(1 << 16)


def _crc_concat(crc: int, block_crc: int, length: int) -> int:
    """The CRC-32 of a text whose CRC is ``crc``, followed by a block of ``length`` bytes whose
    CRC is ``block_crc`` (zlib's crc32_combine, which Python does not expose): CRC-32 is affine,
    so the first text's CRC run on over ``length`` zero bytes, the block's, and that of the zeros
    alone add up (xor) to the whole's. At 10,000 items this costs 3 ms and spares holding the
    9.5 MB of text the blocks' CRCs were taken from."""
    global _zeros
    if length > len(_zeros):
        _zeros = bytes(length)
    zeros = memoryview(_zeros)[:length]
    return zlib.crc32(zeros, crc) ^ block_crc ^ zlib.crc32(zeros)


def _deflate(data: bytes, final: bool = False) -> bytes:
    """Raw deflate of ``data`` ending on a byte boundary, so pieces can be concatenated."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
    )


@dataclass(frozen=True)
class _Gzipped:
    """A body as gzip pieces: the deflate stream so far, with the CRC and size of its input."""

    deflated: bytes
    crc: int
    size: int

    def finish(self, tail: bytes) -> bytes:
        """The whole gzip member: this body, then ``tail`` (compressed now) and the trailer."""
        crc = zlib.crc32(tail, self.crc)
        size = (self.size + len(tail)) & 0xFFFFFFFF
        return (
            GZIP_HEADER + self.deflated + _deflate(tail, final=True) + struct.pack("<II", crc, size)
        )


class Exposition:
    """What a scrape gets, rendered once per change of snapshot or exporter state.

    Per-item lines are kept in compressed blocks of BLOCK items per family (``_Block``): the
    engine replaces an item's ``ItemState`` when a probe ends, so only items whose state object
    changed since the last update are written again, and only their blocks compressed again.
    """

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        reload_status: Callable[[], ReloadStatus],
        external_url: Callable[[], str] = lambda: "",
        families: Sequence[ItemFamily] = ITEM_FAMILIES,
    ):
        self._snapshot = snapshot
        self._reload_status = reload_status
        self._external_url = external_url
        self._clock = DecisionClock()
        self.families: tuple[ItemFamily, ...] = tuple(families)
        # The reference, from the same declarations; nothing serves it.
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(
            ReadinessCollector(snapshot, self._exporter_state, lambda: self.families)
        )
        # process_* and python_info: read at every scrape, never cached.
        self._process = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._process)
        PlatformCollector(registry=self._process)
        self.cached_above = CACHED_ABOVE
        self._reset()

    def select(self, families: Sequence[ItemFamily]) -> None:
        """Serve only these per-item families (``--metrics.item-families``)."""
        self.families = tuple(families)
        self._reset()

    def _reset(self) -> None:
        width = len(self.families)
        self._writers = tuple(_Writer(f) for f in self.families)
        self._headers = {
            fmt: [fmt.write([item_metric(f, ())]) for f in self.families] for fmt in Format
        }
        self._zheaders = {fmt: [_deflate(h) for h in hs] for fmt, hs in self._headers.items()}
        self._ids: tuple[str, ...] = ()
        self._rows: list[tuple[ItemState, ItemKeys] | None] = []
        self._blocks: list[list[_Block]] = [[] for _ in range(width)]  # per family, BLOCK items
        self._rows_version: int | None = None  # snapshot version the rows were written for
        self._key: tuple[int, ExporterState] | None = None
        self._scores: list[Metric] = []
        self._text: dict[Format, bytes] = {}
        self._gzip: dict[Format, _Gzipped] = {}
        self._rendered_at = 0.0  # time.monotonic() of the last update

    def _exporter_state(self, snap: Snapshot) -> ExporterState:
        return ExporterState(self._reload_status(), self._external_url(), self._clock.observe(snap))

    # -- serving -------------------------------------------------------------------------

    def scrape(self, fmt: Format = Format.TEXT, gzip: bool = False) -> bytes:
        """The body for a scrape: exact, or for a big checklist the last refresh's if recent.

        A reload always gets a fresh render: its reload status differs from the cached text's.
        """
        if not (
            len(self._ids) > self.cached_above
            and self._key is not None
            and self._key[1].reload == self._reload_status()
            and time.monotonic() - self._rendered_at <= SERVE_WITHIN
        ):
            self._update(self._snapshot())
        tail = fmt.write(self._process.collect()) + fmt.end()
        if gzip:
            return self._gzipped(fmt).finish(tail)
        return self._body(fmt) + tail

    def render(self, fmt: Format = Format.TEXT) -> bytes:
        """The readiness_* part of the current text, exactly; what the reference must equal."""
        self._update(self._snapshot())
        return self._body(fmt)

    def refresh(self) -> None:
        """Write ahead of the next scrape the lines of items probed since the last call.

        Called about once a second by the daemon, so that a scrape finds little left to write;
        for a big checklist the scrape is then served this update (see ``scrape``).
        """
        self._update(self._snapshot())

    # -- building ------------------------------------------------------------------------

    def _update(self, snap: Snapshot) -> None:
        self._rendered_at = time.monotonic()
        key = (snap.version, self._exporter_state(snap))
        if key == self._key:
            return
        self._update_rows(snap)
        self._key = key
        self._scores = list(score_families(snap, key[1]))
        self._text.clear()
        self._gzip.clear()

    def _body(self, fmt: Format) -> bytes:
        body = self._text.get(fmt)
        if body is None:
            parts: list[bytes] = []
            for header, blocks in zip(self._headers[fmt], self._blocks, strict=True):
                parts.append(header)
                parts.extend(b.text() for b in blocks)
            parts.append(fmt.write(self._scores))
            body = self._text[fmt] = b"".join(parts)
        return body

    def _gzipped(self, fmt: Format) -> _Gzipped:
        got = self._gzip.get(fmt)
        if got is None:
            crc = size = 0
            pieces: list[bytes] = []
            for header, zheader, blocks in zip(
                self._headers[fmt], self._zheaders[fmt], self._blocks, strict=True
            ):
                pieces.append(zheader)
                crc = zlib.crc32(header, crc)
                size += len(header)
                for block in blocks:
                    pieces.append(block.deflated)
                    crc = _crc_concat(crc, block.crc, block.size)
                    size += block.size
            scores = fmt.write(self._scores)
            pieces.append(_deflate(scores))
            got = self._gzip[fmt] = _Gzipped(
                b"".join(pieces), zlib.crc32(scores, crc), size + len(scores)
            )
        return got

    def _update_rows(self, snap: Snapshot) -> None:
        if snap.version == self._rows_version:
            return
        self._rows_version = snap.version
        width = len(self.families)
        ids = tuple(snap.states)
        if ids != self._ids:  # a reload added, removed or moved items: start the rows afresh
            self._ids = ids
            self._rows = [None] * len(ids)
            self._blocks = [
                [_Block(min(BLOCK, len(ids) - at)) for at in range(0, len(ids), BLOCK)]
                for _ in range(width)
            ]
        rows, writers, states = self._rows, self._writers, list(snap.states.values())
        # Block by block, so that what a full render writes for 10,000 items is never held at
        # once: freed between long-lived objects, it would stay resident (15 MB).
        for b, first in enumerate(range(0, len(states), BLOCK)):
            # Per family: (position in the block, item, value, whether the item is new)
            changed: list[list[tuple[int, Item, float | str | None, bool]]] = [
                [] for _ in range(width)
            ]
            for pos in range(first, min(first + BLOCK, len(states))):
                state, row = states[pos], rows[pos]
                if row is None or row[0] is not state:
                    new = row is None or row[1].item is not state.item
                    keys = ItemKeys(state.item, width) if new or row is None else row[1]
                    rows[pos] = (state, keys)
                    for n, key in keys.changed(state, writers):
                        changed[n].append((pos - first, state.item, key, new))
            for n, family_changes in enumerate(changed):
                if not family_changes:
                    continue
                block = self._blocks[n][b]
                lines = block.lines()
                for at, item, key, new in family_changes:
                    # A new item (a reload changed it) has labels of its own: no head to reuse.
                    lines[at] = writers[n].lines(item, key, b"" if new else lines[at])
                block.store(lines)
