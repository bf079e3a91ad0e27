"""PromQL probe: an instant query against Prometheus's HTTP API and an expectation on its samples.

PASS when the query returns at least ``min_series`` series and every sample meets ``expect``;
PARTIAL when some samples do; FAIL when none does. No data, NaN samples and query errors each
get their own summary, because each means something different to the person on call.

Two questions a plain instant query cannot answer are options here:

- ``empty``: what no series at all means. By default "no data" (FAIL); for a query whose
  series exist only when something is wrong, ``pass``; for a count or a sum where no series
  is nothing counted, ``zero`` (the expectation is checked on 0).
- ``cover``: a claim about a window ("sustained for an hour", "the peak over a week") needs
  data across that window. ``max_over_time(x[1h])`` works on whatever exists, so eight minutes
  of data read as an hour. With ``cover`` a second query counts the steps of the window that
  have samples; a window not covered is a probe error ("cannot judge"), never a verdict.

Summaries name each series by its labels, round values to significant digits and show the unit
(``summary: {name, labels, digits, unit}``): ``error rate 0.21% (job="api"), expected < 0.1%``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from .compare import Expect, as_number, parse_expect
from .context import ProbeContext
from .credentials import Auth, parse_auth
from .fields import (
    Fields,
    format_bytes,
    format_duration,
    significant,
    to_duration,
    to_text,
    to_texts,
)
from .local_errors import cannot_judge, local_cause
from .masking import clip_words
from .problems import SpecError, show
from .request import client_error_reason, read_capped
from .result import Result, Status

RESPONSE_CAP = 4 * 1024 * 1024  # bytes of API response read at most
SHOWN = 3  # series named in a summary
EMPTY = ("fail", "pass", "zero")
UNITS = ("s", "ratio", "percent", "bytes")
COVER_STEPS = 100  # evaluation steps a window is divided into to see which have data
COVER_SLACK = 2  # steps of a window that may lack data (the steps' alignment)
QUERY_SHOWN = 100  # characters of a query a summary shows


@dataclass(frozen=True)
class Cover:
    """A window the data must span, and the PromQL whose samples must span it."""

    window: float  # seconds
    series: str | None = None  # default: the query itself


@dataclass(frozen=True)
class Show:
    """How a summary names and writes the samples."""

    name: str = ""  # what the value is ("error rate"); default: the metric's name, if any
    labels: tuple[str, ...] | None = None  # labels that name a series; default: all
    digits: int = 3  # significant digits
    unit: str = ""  # s, ratio, percent (a ratio shown in %), bytes; default: a plain number

    def number(self, value: float, digits: int | None = None) -> str:
        """``value`` in this unit, rounded to ``digits`` significant digits."""
        d = self.digits if digits is None else digits
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        if self.unit == "percent":
            return f"{significant(value * 100, d)}%"
        if self.unit == "bytes":
            return format_bytes(value, d)
        if self.unit == "s":
            if value != 0 and abs(value) < 1:
                return f"{significant(value * 1000, d)} ms"
            if abs(value) < 60:
                return f"{significant(value, d)} s"
            return format_duration(value) if value > 0 else f"-{format_duration(-value)}"
        return significant(value, d)

    def value(self, raw: Any, bound: Any = None) -> str:
        """A sample's value as a summary writes it; more digits when rounding would make it
        look equal to the expectation's ``bound`` while it is not."""
        n = as_number(raw)
        if n is None:
            return str(raw)
        b = as_number(bound)
        digits = self.digits
        while (
            b is not None
            and n != b
            and digits < 17
            and self.number(n, digits) == self.number(b, digits)
        ):
            digits += 1
        return self.number(n, digits)

    def expectation(self, expect: Expect) -> str:
        n = as_number(expect.value)
        if expect.op in ("contains", "length") or n is None or isinstance(expect.value, str):
            return str(expect)
        return f"{expect.op} {self.number(n, max(self.digits, _digits_written(n)))}"

    def labels_of(self, metric: Mapping[str, str]) -> str:
        names = self.labels if self.labels is not None else sorted(metric)
        return ", ".join(f'{k}="{metric[k]}"' for k in names if k in metric and k != "__name__")

    def sample(self, metric: Mapping[str, str], raw: Any, expect: Expect | None = None) -> str:
        """``error rate 0.21% (job="api")``: what, how much, which series."""
        name = self.name or metric.get("__name__", "")
        labels = self.labels_of(metric)
        text = self.value(raw, expect.value if expect is not None else None)
        return f"{name + ' ' if name else ''}{text}{f' ({labels})' if labels else ''}"


def _digits_written(value: float) -> int:
    """The significant digits of a number as written (0.001: 1, 0.125: 3), so a bound shows
    whole."""
    mantissa = repr(abs(value)).split("e")[0].replace(".", "").strip("0")
    return max(1, len(mantissa))


@dataclass(frozen=True)
class Spec:
    url: str  # Prometheus base URL, e.g. ${PROMETHEUS_URL}
    query: str
    expect: Expect | None = None  # every sample must meet it
    min_series: int = 1  # fewer series: FAIL ("no data" when none)
    empty: str = "fail"  # no series at all: fail ("no data"), pass, or zero (0 is compared)
    cover: Cover | None = None  # the window the data must span, else "cannot judge"
    summary: Show = field(default_factory=Show)
    auth: Auth | None = None
    verify: bool = True
    ca_file: Path | None = None


def parse_cover(raw: object, where: str) -> Cover:
    """``1h``, or ``{window: 1h, series: 'up{job="api"}'}``."""
    if not isinstance(raw, Mapping):
        return Cover(_window(raw, where))
    known = ("window", "series")
    for key in raw:
        if key not in known:
            raise SpecError(f"{where}.{key}", f"is not a known field (known: {', '.join(known)})")
    if raw.get("window") is None:
        raise SpecError(f"{where}.window", "is required")
    series = raw.get("series")
    return Cover(
        _window(raw["window"], f"{where}.window"),
        to_text(series, f"{where}.series") if series is not None else None,
    )


def _window(raw: object, where: str) -> float:
    seconds = to_duration(raw, where)
    if seconds < 1:
        raise SpecError(where, f"must be a window of at least 1s (got {show(raw)})")
    return seconds


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        url=f.url("url").rstrip("/"),
        query=f.text("query"),
        expect=f.optional_parsed("expect", parse_expect),
        min_series=f.integer("min_series", minimum=0),
        empty=f.choice("empty", EMPTY),
        cover=f.optional_parsed("cover", parse_cover),
        summary=_show(f),
        auth=parse_auth(f),
        verify=f.flag("verify"),
        ca_file=f.optional_path("ca_file"),
    )
    if spec.empty == "zero" and spec.expect is None and f.usable("empty", "expect"):
        f.problem("empty", "zero needs expect: 0 is compared with it")
    return spec


def _show(f: Fields) -> Show:
    sub = f.sub("summary")
    if sub is None:
        return Show()
    s = sub.defaults_from(Show)
    return Show(
        name=s.text("name"),
        labels=s.optional_parsed("labels", to_texts),
        digits=s.integer("digits", minimum=1),
        unit=s.choice("unit", UNITS),
    )


def labels(metric: dict[str, str]) -> str:
    """A series as PromQL writes it: ``up{job="api"}``; ``{}`` for an aggregate without labels."""
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def _short(query: str) -> str:
    return clip_words(query, QUERY_SHOWN)


async def query(spec: Spec, ctx: ProbeContext, text: str | None = None) -> tuple[int, Any]:
    """The HTTP status and decoded JSON body of the instant query ``text`` (the spec's)."""
    ssl_ctx = ctx.resources.ssl_context(spec.verify, str(spec.ca_file) if spec.ca_file else None)
    headers = spec.auth.header() if spec.auth else {}
    async with ctx.resources.http.post(
        f"{spec.url}/api/v1/query",
        data={"query": spec.query if text is None else text},
        headers=headers,
        ssl=ssl_ctx,
    ) as response:
        body = await read_capped(response, RESPONSE_CAP)
        if len(body) >= RESPONSE_CAP:
            cap = (
                f"{RESPONSE_CAP // 2**20} MiB"
                if RESPONSE_CAP % 2**20 == 0
                else f"{RESPONSE_CAP // 1024} KiB"
            )
            raise ValueError(f"the answer is larger than {cap}: narrow the query")
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, None


Sample = tuple[dict[str, str], Any]


def _samples(data: dict[str, Any]) -> list[Sample]:
    kind = data.get("resultType")
    result: Any = data.get("result")  # checked by use: a bad shape raises, and the probe says so
    if kind == "vector":
        return [(dict(s.get("metric", {})), s["value"][1]) for s in result]
    if kind in ("scalar", "string"):
        return [({}, result[1])]
    raise ValueError(f"the query returns a {kind}; expected an instant vector or a scalar")


class _Unusable(Exception):
    """The answer to a query was not a result: the summary says why."""

    def __init__(self, summary: str, evidence: Mapping[str, Any]):
        self.summary = summary
        self.evidence = dict(evidence)


def _read(status: int, body: Any, spec: Spec) -> list[Sample]:
    """The samples of an answer, or _Unusable naming what was wrong with it."""
    if not isinstance(body, dict):
        raise _Unusable(
            f"Prometheus answered status {status} without JSON at {spec.url}/api/v1/query",
            {"http_status": status},
        )
    if body.get("status") != "success":
        kind, error = body.get("errorType", "error"), body.get("error", "")
        raise _Unusable(f"query error ({kind}): {error}", {"error_type": kind, "error": error})
    try:
        return _samples(body.get("data", {}))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _Unusable(f"unusable query result: {exc}", {}) from None


def cover_query(spec: Spec, cover: Cover) -> tuple[str, float]:
    """The query counting the steps of the window that have data, per series, and the step."""
    step_ms = max(1, round(cover.window * 1000 / COVER_STEPS))
    series = cover.series if cover.series is not None else spec.query
    return (
        f"count_over_time(timestamp(({series}))[{round(cover.window * 1000)}ms:{step_ms}ms])",
        step_ms / 1000,
    )


async def _together(asked: list[Coroutine[Any, Any, tuple[int, Any]]]) -> list[tuple[int, Any]]:
    """The answers to queries sent at once; one failing stops the others."""
    tasks = [asyncio.ensure_future(a) for a in asked]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


def _distance(expect: Expect, value: Any) -> float:
    """How far a sample is past (positive) or inside (negative) an ordered bound; NaN far."""
    n, bound = as_number(value), as_number(expect.value)
    if n is None or math.isnan(n) or bound is None:
        return math.inf
    return n - bound if expect.op in ("<", "<=") else bound - n


def _worst(expect: Expect, samples: list[Sample]) -> list[Sample]:
    """Samples, the farthest past (or the nearest to) the expectation first (NaN first)."""
    return sorted(samples, key=lambda s: -_distance(expect, s[1]))


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    evidence: dict[str, Any] = {"url": spec.url, "query": spec.query}
    ctx.log(f"query {spec.query!r} at {spec.url}")
    asked = [query(spec, ctx)]
    step = 0.0
    if spec.cover is not None:
        coverage_query, step = cover_query(spec, spec.cover)
        evidence["cover_query"] = coverage_query
        ctx.log(f"coverage {coverage_query!r}")
        asked.append(query(spec, ctx, coverage_query))
    try:
        answers = await ctx.wait(_together(asked), f"Prometheus at {spec.url}")
    except aiohttp.ClientError as exc:
        if local := local_cause(exc):
            return cannot_judge(spec.url, local, evidence)
        reason = client_error_reason(exc)
        return Result(
            Status.FAIL,
            f"Prometheus unreachable ({reason}) at {spec.url}",
            {**evidence, "error": reason},
        )
    except ValueError as exc:
        return Result(Status.FAIL, f"{exc} ({spec.query})", evidence)
    try:
        samples = _read(*answers[0], spec)
    except _Unusable as unusable:
        return Result(Status.FAIL, unusable.summary, {**evidence, **unusable.evidence})
    evidence["series"] = [{"series": labels(m), "value": v} for m, v in samples[:20]]
    evidence["series_count"] = len(samples)
    ctx.log(f"{len(samples)} series")
    if not samples and spec.empty == "fail":
        return Result(Status.FAIL, f"no data from {spec.url} for {_short(spec.query)}", evidence)
    if spec.cover is not None:
        try:
            counted = _read(*answers[1], spec)
        except _Unusable as unusable:
            return Result(
                Status.FAIL,
                f"cannot judge: the window's coverage is unknown: {unusable.summary}",
                {**evidence, **unusable.evidence},
                error=True,
            )
        uncovered = _uncovered(spec, spec.cover, step, counted, samples, evidence)
        if uncovered is not None:
            return uncovered
    return judge(spec, samples, evidence)


def _about(seconds: float, window: float) -> str:
    """A covered span as precise as its measure: hours of a week, minutes of an hour."""
    unit = 3600 if window >= 86400 else 60 if window >= 3600 else 1
    return format_duration(round(seconds / unit) * unit)


def _uncovered(
    spec: Spec,
    cover: Cover,
    step: float,
    counted: list[Sample],
    samples: list[Sample],
    evidence: dict[str, Any],
) -> Result | None:
    """The probe error when some series lacks data over part of the window, else None."""
    window = format_duration(cover.window)
    series = cover.series if cover.series is not None else spec.query
    if not counted:
        evidence["covered_seconds"] = 0
        return Result(
            Status.FAIL,
            f"cannot judge: data covers none of the {window} window (looked at every "
            f"{format_duration(step)}) from {spec.url} for {_short(series)}",
            evidence,
            error=True,
        )
    spans = [(min(cover.window, (as_number(n) or 0.0) * step), m) for m, n in counted]
    covered, metric = min(spans, key=lambda s: s[0])
    evidence["covered_seconds"] = round(covered, 3)
    evidence["window_seconds"] = cover.window
    if covered >= cover.window - COVER_SLACK * step:
        return None
    which = spec.summary.labels_of(metric)
    now = ""
    if len(samples) == 1:
        (m, v), expect = samples[0], spec.expect
        now = f"; now {spec.summary.sample(m, v, expect)}"
        if expect is not None:
            now += f", expected {spec.summary.expectation(expect)}"
    return Result(
        Status.FAIL,
        f"cannot judge: data covers only {_about(covered, cover.window)} of the {window} window"
        f"{f' ({which})' if which else ''}{now}",
        evidence,
        error=True,
    )


def judge(spec: Spec, samples: list[Sample], evidence: dict[str, Any]) -> Result:
    """The verdict on the samples of a usable answer (the window covered, if asked)."""
    show_ = spec.summary
    if not samples:
        if spec.empty == "pass":
            return Result(
                Status.PASS,
                f"no series from {spec.url} for {_short(spec.query)}, as none is fine "
                "(empty: pass)",
                evidence,
            )
        samples = [({}, 0)]  # empty: zero
        evidence["empty_read_as"] = 0
    elif len(samples) < spec.min_series:
        return Result(
            Status.FAIL, f"{len(samples)} series, expected at least {spec.min_series}", evidence
        )
    zero = "empty_read_as" in evidence
    if spec.expect is None:
        return Result(
            Status.PASS, f"{len(samples)} series, expected at least {spec.min_series}", evidence
        )
    expect = spec.expect
    expected = show_.expectation(expect)
    numbers = [as_number(v) for _, v in samples]
    if all(n is not None and math.isnan(n) for n in numbers):
        return Result(
            Status.FAIL,
            f"NaN: every sample is not a number (no traffic behind a ratio?), expected {expected}",
            evidence,
        )

    def named(sample: Sample) -> str:
        text = show_.sample(sample[0], sample[1], expect)
        return f"{text} (no series: read as 0)" if zero else text

    failing = [s for s in samples if not expect.holds(s[1])]
    if not failing:
        if len(samples) == 1:
            return Result(Status.PASS, f"{named(samples[0])}, expected {expected}", evidence)
        if expect.op not in ("<", "<=", ">", ">="):
            # no closest to name: the first few, so a person can look them up
            more = f" and {len(samples) - SHOWN} more" if len(samples) > SHOWN else ""
            first = ", ".join(named(s) for s in samples[:SHOWN])
            return Result(
                Status.PASS,
                f"all {len(samples)} series pass: {first}{more}, expected {expected}",
                evidence,
            )
        closest = _worst(expect, samples)[0]
        return Result(
            Status.PASS,
            f"all {len(samples)} series pass, the closest {named(closest)}, expected {expected}",
            evidence,
        )
    worst = _worst(expect, failing)
    shown = ", ".join(named(s) for s in worst[:SHOWN])
    more = f" and {len(failing) - SHOWN} more" if len(failing) > SHOWN else ""
    verdict = Status.PARTIAL if len(failing) < len(samples) else Status.FAIL
    prefix = f"{len(failing)} of {len(samples)} series fail: " if len(samples) > 1 else ""
    return Result(verdict, f"{prefix}{shown}{more}, expected {expected}", evidence)
