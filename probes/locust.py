"""Locust load-test results: the stats CSV (and its history) read and judged, for ``report``.

Locust's ``--csv NAME`` writes ``NAME_stats.csv`` (one row per endpoint and an ``Aggregated``
row: request and failure counts, requests/s, response-time percentiles in milliseconds) and
``NAME_stats_history.csv`` (one ``Aggregated`` row per second of the run, with a Unix
``Timestamp``). This module parses both (``parse_stats``, ``parse_history``) and judges a run
against criteria (``judge``); the report kind calls them for ``format: locust``.

What a run must show, and why:

- **requests were made**: no requests is a FAIL ("the load test did not run"), whatever else.
- **failure ratio** (failures / requests, default at most 1 %): a run where most requests
  failed did not load the application, it loaded its error path or a rate limiter. Such a run
  is never a pass for "load test completed".
- **enough requests for that ratio**: a run of fewer than 1 / bound requests cannot show a
  ratio under the bound (0 of 12 says nothing about "under 0.1 %": one failure would be 8 %),
  so it FAILs: at least 100 requests for the default 1 %, 1,000 for 0.1 %. A bound of 0 needs
  no minimum.
- **percentiles** (``{"95%": "< 1000"}``, milliseconds, Locust's own columns): Locust counts the
  time of failed requests too, so a 429 answered in 3 ms makes a fast p95. When more than
  ``timing_max_failure_ratio`` (default 5 %) of the requests failed, the percentiles and the
  request rate are not judged: "cannot judge", a probe error, not a verdict on the latency.
- **rps**, **requests**: the run's average request rate and its request count.
- **duration** (``">= 1h"``): from the first to the last ``Timestamp`` of the history, which
  must be given; the stats CSV alone holds no time. Locust writes a history row a second, so a
  run is measured a second or two shorter than it ran.

What it cannot know: whether the target was production-like; the plateau rate (rps is the
average over the run, ramp-up included); which endpoint was slow (only the Aggregated row is
judged).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import Expect, as_number, parse_expect
from .fields import Fields, format_duration, parse_duration
from .problems import SpecError
from .result import Result, Status

PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")
STATS_COLUMNS = ("Name", "Request Count", "Failure Count", "Requests/s")
HISTORY_COLUMNS = ("Timestamp", "Name", "User Count", "Total Request Count")
DEFAULT_FAILURE_RATIO = Expect("<=", 0.01)
DEFAULT_TIMING_MAX_FAILURE_RATIO = 0.05


class LocustError(ValueError):
    """Raised when a file is not a Locust stats or history CSV."""


@dataclass(frozen=True)
class Stats:
    """The Aggregated row of a ``*_stats.csv``."""

    requests: int
    failures: int
    rps: float
    percentiles: Mapping[str, float | None]  # "95%" -> milliseconds; None where Locust wrote N/A

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else math.nan


@dataclass(frozen=True)
class History:
    """What a ``*_stats_history.csv`` says about the run's time span."""

    started: float  # Unix time of the first Aggregated row
    ended: float  # ... and of the last
    peak_users: int
    requests: int  # Total Request Count of the last row

    @property
    def duration(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class DurationBound:
    """``>= 1h``: an operator and seconds."""

    op: str
    seconds: float

    def holds(self, seconds: float) -> bool:
        return Expect(self.op, self.seconds).holds(seconds)

    def __str__(self) -> str:
        return f"{self.op} {format_duration(self.seconds)}"


@dataclass(frozen=True)
class Criteria:
    """What a run must show; every field but failure_ratio is optional."""

    requests: Expect | None = None
    failure_ratio: Expect = DEFAULT_FAILURE_RATIO
    rps: Expect | None = None
    percentiles: Mapping[str, Expect] = field(default_factory=dict)  # "95%" -> "< 1000" (ms)
    duration: DurationBound | None = None  # needs a history
    timing_max_failure_ratio: float = DEFAULT_TIMING_MAX_FAILURE_RATIO

    @property
    def min_requests(self) -> int:
        """The fewest requests that can show the failure ratio bound: 1 / bound (none for an
        upper bound of 0, or a bound that is not an upper one)."""
        bound = as_number(self.failure_ratio.value)
        if self.failure_ratio.op not in ("<", "<=") or bound is None or bound <= 0:
            return 0
        return math.ceil(1 / bound - 1e-9)  # 1 / 0.001 is 999.9999999999999 in floats


def percentile_key(raw: str) -> str:
    """``p95``, ``95``, ``95%`` and ``99.9%`` as Locust's column names; raises LocustError."""
    text = raw.strip().lower().removeprefix("p").removesuffix("%")
    key = f"{text}%"
    if key not in PERCENTILES:
        raise LocustError(f"{raw!r} is not one of Locust's percentiles ({', '.join(PERCENTILES)})")
    return key


def _rows(data: bytes, what: str, needed: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LocustError(f"is not UTF-8 text, expected a Locust {what} CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in needed if c not in (reader.fieldnames or ())]
    if missing:
        raise LocustError(f"has no column {', '.join(missing)}, expected a Locust {what} CSV")
    try:
        return [row for row in reader if row.get("Name") == "Aggregated"]
    except csv.Error as exc:
        raise LocustError(f"is not valid CSV ({exc})") from None


def _number(row: Mapping[str, Any], column: str) -> float:
    value = row.get(column)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LocustError(
            f"has {column} {value!r} in the Aggregated row, expected a number"
        ) from None
    if math.isnan(number) or number < 0:
        raise LocustError(f"has {column} {value!r} in the Aggregated row, expected a number >= 0")
    return number


def parse_stats(data: bytes) -> Stats:
    """The Aggregated row of a Locust ``*_stats.csv``; raises LocustError."""
    rows = _rows(data, "stats", STATS_COLUMNS)
    if len(rows) != 1:
        raise LocustError(f"has {len(rows)} Aggregated rows, expected one (Locust stats CSV)")
    (row,) = rows
    percentiles: dict[str, float | None] = {}
    for key in PERCENTILES:
        value = row.get(key)
        percentiles[key] = None if value in (None, "", "N/A") else _number(row, key)
    return Stats(
        requests=int(_number(row, "Request Count")),
        failures=int(_number(row, "Failure Count")),
        rps=_number(row, "Requests/s"),
        percentiles=percentiles,
    )


def parse_history(data: bytes) -> History:
    """The span of a Locust ``*_stats_history.csv`` (its Aggregated rows); raises LocustError."""
    rows = _rows(data, "stats history", HISTORY_COLUMNS)
    if not rows:
        raise LocustError("has no Aggregated rows, expected one per second of the run")
    stamps = [_number(r, "Timestamp") for r in rows]
    if any(b < a for a, b in itertools.pairwise(stamps)):
        raise LocustError("has Timestamps that go backwards, expected one run in time order")
    return History(
        started=stamps[0],
        ended=stamps[-1],
        peak_users=max(int(_number(r, "User Count")) for r in rows),
        requests=int(_number(rows[-1], "Total Request Count")),
    )


def _ratio(value: float) -> str:
    """A failure ratio as people say it: ``76 %``, ``0.02 %``, ``0 %``."""
    percent = value * 100
    if percent == 0 or percent >= 10:
        return f"{percent:.0f} %"
    return f"{percent:.2g} %"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


def judge(name: str, stats: Stats, criteria: Criteria, history: History | None = None) -> Result:
    """The verdict on one run: PASS when every criterion holds (see the module doc)."""
    evidence: dict[str, Any] = {
        "requests": stats.requests,
        "failures": stats.failures,
        "failure_ratio": round(stats.failure_ratio, 6) if stats.requests else None,
        "rps": round(stats.rps, 3),
        "min_requests": criteria.min_requests,
        "percentiles_ms": {k: v for k, v in stats.percentiles.items() if v is not None},
    }
    if history is not None:
        evidence.update(
            started=history.started,
            ended=history.ended,
            duration_seconds=history.duration,
            peak_users=history.peak_users,
        )
    if stats.requests == 0:
        return Result(
            Status.FAIL, f"{name}: no requests recorded: the load test did not run", evidence
        )
    if history is not None and history.requests > stats.requests:
        return Result(
            Status.FAIL,
            f"{name}: cannot judge: the history counts {history.requests:,} requests and the "
            f"stats {stats.requests:,}; they are from different runs",
            evidence,
            error=True,
        )
    ratio = stats.failure_ratio
    bound = _expected_ratio(criteria.failure_ratio)
    needed = (
        f", shown by at least {criteria.min_requests:,} requests" if criteria.min_requests else ""
    )
    said = f" ({criteria.requests})" if criteria.requests is not None else ""
    good = [f"{stats.requests:,} requests{said}"]
    bad: list[str] = []
    unjudged: list[str] = []

    def check(holds: bool, seen: str, expected: str) -> None:
        # A pass names its bound too: "p95 7 ms (< 1000 ms)" says what was verified.
        (good if holds else bad).append(
            f"{seen} ({expected})" if holds else f"{seen}, expected {expected}"
        )

    if criteria.failure_ratio.holds(ratio):
        good.append(f"{_ratio(ratio)} failed ({bound}{needed})")
    else:
        bad.append(
            f"{stats.failures:,} of {stats.requests:,} requests failed ({_ratio(ratio)}), "
            f"expected {bound}"
        )
    if stats.requests < criteria.min_requests:
        bad.append(
            f"{stats.requests:,} requests are too few to show a failure ratio {bound}, "
            f"expected at least {criteria.min_requests:,} (1 / the bound)"
        )
    if criteria.requests is not None and not criteria.requests.holds(stats.requests):
        bad.append(f"{stats.requests:,} requests, expected {criteria.requests}")
    # Locust times failed requests too: a run that mostly failed fast has fast percentiles.
    timing_ok = ratio <= criteria.timing_max_failure_ratio
    for key, expect in criteria.percentiles.items():
        label, value = f"p{key.removesuffix('%')}", stats.percentiles.get(key)
        if not timing_ok:
            unjudged.append(label)
        elif value is None:
            bad.append(f"{label} N/A (no response times), expected {expect} ms")
        else:
            check(expect.holds(value), f"{label} {_ms(value)}", f"{expect} ms")
    if criteria.rps is not None:
        if timing_ok:
            check(
                criteria.rps.holds(stats.rps),
                f"{stats.rps:,.1f} requests/s",
                f"{criteria.rps} requests/s",
            )
        else:
            unjudged.append("requests/s")
    if criteria.duration is not None and history is not None:
        seen = f"ran {format_duration(history.duration)}"
        check(criteria.duration.holds(history.duration), seen, str(criteria.duration))
    why = (
        f"{_ratio(ratio)} of requests failed, more than "
        f"{_ratio(criteria.timing_max_failure_ratio)}, and their times are in the figures"
    )
    if bad:
        note = f"; {', '.join(unjudged)} not judged ({why})" if unjudged else ""
        return Result(Status.FAIL, f"{name}: {'; '.join(bad)}{note}", evidence)
    if unjudged:
        return Result(
            Status.FAIL, f"{name}: cannot judge {', '.join(unjudged)}: {why}", evidence, error=True
        )
    return Result(Status.PASS, f"{name}: {', '.join(good)}", evidence)


def _expected_ratio(expect: Expect) -> str:
    """``<= 0.01`` as ``at most 1 %``."""
    words = {"<=": "at most", "<": "under", ">=": "at least", ">": "over"}.get(expect.op)
    number = as_number(expect.value)
    return f"{words} {_ratio(number)}" if words and number is not None else str(expect)


def judge_files(
    name: str, stats: bytes, criteria: Criteria, history: bytes | None = None
) -> Result:
    """Parse and judge; a file that is not Locust's CSV FAILs and says why."""
    try:
        parsed_history = parse_history(history) if history is not None else None
    except LocustError as exc:
        return Result(Status.FAIL, f"{name}: the stats history {exc}", {})
    try:
        parsed = parse_stats(stats)
    except LocustError as exc:
        return Result(Status.FAIL, f"{name} {exc}", {})
    return judge(name, parsed, criteria, parsed_history)


# Glue for the report kind (``format: locust``): today's Fields API. ---------------------------


@dataclass(frozen=True)
class Options:
    """The report kind's ``format: locust`` options."""

    criteria: Criteria
    history: Path | None = None  # the *_stats_history.csv; required by ``duration``


def _percentiles(value: object, where: str) -> dict[str, Expect]:
    if not isinstance(value, Mapping):
        raise SpecError(where, 'must be a mapping such as {"95%": "< 1000"} (milliseconds)')
    percentiles: dict[str, Expect] = {}
    for key, raw in value.items():
        try:
            name = percentile_key(str(key))
        except LocustError as exc:
            raise SpecError(f"{where}.{key}", str(exc)) from None
        percentiles[name] = parse_expect(raw, f"{where}.{key}")
    return percentiles


def _duration_bound(value: object, where: str) -> DurationBound:
    text = str(value).strip()
    op = next((o for o in (">=", "<=", ">", "<") if text.startswith(o)), None)
    try:
        if op is None:
            raise ValueError
        return DurationBound(op, parse_duration(text[len(op) :].strip()))
    except ValueError:
        raise SpecError(where, f'must be a bound such as ">= 1h" (got "{value}")') from None


def parse_options(f: Fields) -> Options:
    """Read ``history``, ``requests``, ``failure_ratio``, ``rps``, ``percentiles``, ``duration``
    and ``timing_max_failure_ratio``; the caller calls ``f.done()``."""
    duration = f.optional_parsed("duration", _duration_bound)
    history = f.optional_path("history")
    if f.has("duration") and not f.has("history"):
        f.problem("duration", "needs history: the *_stats_history.csv holds the run's time")
    failure_ratio = f.optional_parsed("failure_ratio", parse_expect)
    timing = f.optional_ratio("timing_max_failure_ratio")
    criteria = Criteria(
        requests=f.optional_parsed("requests", parse_expect),
        failure_ratio=DEFAULT_FAILURE_RATIO if failure_ratio is None else failure_ratio,
        rps=f.optional_parsed("rps", parse_expect),
        percentiles=f.optional_parsed("percentiles", _percentiles) or {},
        duration=duration,
        timing_max_failure_ratio=DEFAULT_TIMING_MAX_FAILURE_RATIO if timing is None else timing,
    )
    return Options(criteria, history)
