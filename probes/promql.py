"""PromQL probe: an instant query against Prometheus's HTTP API and an expectation on its samples.

PASS when the query returns at least ``min_series`` series and every sample meets ``expect``;
PARTIAL when some samples do; FAIL when none does. No data, NaN samples and query errors each
get their own summary, because each means something different to the person on call.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from .compare import Expect, as_number, parse_expect
from .context import ProbeContext
from .credentials import Auth, parse_auth
from .fields import Fields
from .local_errors import cannot_judge, local_cause
from .request import client_error_reason, read_capped
from .result import Result, Status

RESPONSE_CAP = 4 * 1024 * 1024  # bytes of API response read at most
SHOWN = 3  # failing series named in a summary


@dataclass(frozen=True)
class Spec:
    url: str  # Prometheus base URL, e.g. ${PROMETHEUS_URL}
    query: str
    expect: Expect | None = None  # every sample must meet it
    min_series: int = 1  # fewer series: FAIL ("no data" when none)
    auth: Auth | None = None
    verify: bool = True
    ca_file: Path | None = None


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    return Spec(
        url=f.url("url").rstrip("/"),
        query=f.text("query"),
        expect=f.optional_parsed("expect", parse_expect),
        min_series=f.integer("min_series", minimum=0),
        auth=parse_auth(f),
        verify=f.flag("verify"),
        ca_file=f.optional_path("ca_file"),
    )


def labels(metric: dict[str, str]) -> str:
    """A series as PromQL writes it: ``up{job="api"}``; ``{}`` for an aggregate without labels."""
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


async def query(spec: Spec, ctx: ProbeContext) -> tuple[int, Any]:
    """The HTTP status and decoded JSON body of the instant query."""
    ssl_ctx = ctx.resources.ssl_context(spec.verify, str(spec.ca_file) if spec.ca_file else None)
    headers = spec.auth.header() if spec.auth else {}
    async with ctx.resources.http.post(
        f"{spec.url}/api/v1/query",
        data={"query": spec.query},
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


def _samples(data: dict[str, Any]) -> list[tuple[str, Any]]:
    kind = data.get("resultType")
    result: Any = data.get("result")  # checked by use: a bad shape raises, and the probe says so
    if kind == "vector":
        return [(labels(s.get("metric", {})), s["value"][1]) for s in result]
    if kind in ("scalar", "string"):
        return [("scalar", result[1])]
    raise ValueError(f"the query returns a {kind}; expected an instant vector or a scalar")


def _worst(expect: Expect, failing: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Failing samples, the farthest from the expectation first (NaN last)."""

    def key(sample: tuple[str, Any]) -> float:
        n = as_number(sample[1])
        if n is None or math.isnan(n):
            return math.inf
        return -n if expect.op in ("<", "<=") else n

    return sorted(failing, key=key)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    evidence: dict[str, Any] = {"url": spec.url, "query": spec.query}
    ctx.log(f"query {spec.query!r} at {spec.url}")
    try:
        status, body = await ctx.wait(query(spec, ctx), f"Prometheus at {spec.url}")
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
    if not isinstance(body, dict):
        return Result(
            Status.FAIL,
            f"Prometheus answered status {status} without JSON at {spec.url}/api/v1/query",
            {**evidence, "http_status": status},
        )
    if body.get("status") != "success":
        kind, error = body.get("errorType", "error"), body.get("error", "")
        return Result(
            Status.FAIL,
            f"query error ({kind}): {error}",
            {**evidence, "error_type": kind, "error": error},
        )
    try:
        samples = _samples(body.get("data", {}))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return Result(Status.FAIL, f"unusable query result: {exc}", evidence)
    evidence["series"] = [{"series": s, "value": v} for s, v in samples[:20]]
    evidence["series_count"] = len(samples)
    ctx.log(f"{len(samples)} series")
    if not samples:
        return Result(
            Status.FAIL,
            f"no data: the query returned no series, expected at least {max(spec.min_series, 1)}",
            evidence,
        )
    if len(samples) < spec.min_series:
        return Result(
            Status.FAIL, f"{len(samples)} series, expected at least {spec.min_series}", evidence
        )
    numbers = [as_number(v) for _, v in samples]
    nan = [s for (s, _), n in zip(samples, numbers, strict=True) if n is not None and math.isnan(n)]
    if spec.expect is None:
        return Result(
            Status.PASS, f"{len(samples)} series, expected at least {spec.min_series}", evidence
        )
    if len(nan) == len(samples):
        return Result(
            Status.FAIL,
            f"NaN: every sample is not a number (no traffic behind a "
            f"ratio?), expected {spec.expect}",
            evidence,
        )
    failing = [(s, v) for s, v in samples if not spec.expect.holds(v)]
    if not failing:
        shown = samples[0][1] if len(samples) == 1 else None
        what = f"{samples[0][0]} {shown}" if shown is not None else f"all {len(samples)} series"
        return Result(Status.PASS, f"{what}, expected {spec.expect}", evidence)
    worst = _worst(spec.expect, failing)
    named = ", ".join(f"{s} {v}" for s, v in worst[:SHOWN])
    more = f" and {len(failing) - SHOWN} more" if len(failing) > SHOWN else ""
    verdict = Status.PARTIAL if len(failing) < len(samples) else Status.FAIL
    prefix = f"{len(failing)} of {len(samples)} series fail: " if len(samples) > 1 else ""
    return Result(verdict, f"{prefix}{named}{more}, expected {spec.expect}", evidence)
