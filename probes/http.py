"""HTTP probe: status code, latency bound, required headers and a body pattern."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Mapping, Pattern

import aiohttp

from .context import ProbeContext
from .fields import Fields, format_duration
from .result import Result, Status

BODY_CAP = 1024 * 1024  # bytes of body read at most; the rest is never downloaded


@dataclass(frozen=True)
class Spec:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    expect_status: tuple[int, ...] | None = None   # None: any 2xx
    max_latency: float | None = None               # seconds; slower is FAIL
    headers_present: tuple[str, ...] = ()          # some missing: PARTIAL, all missing: FAIL
    body_regex: Pattern[str] | None = None
    follow_redirects: bool = True
    verify: bool = True
    ca_file: str | None = None


def parse_spec(f: Fields) -> Spec:
    url = f.str("url")
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        raise f.error("url", f'must start with http:// or https:// (got "{url}")')
    ca_file = f.path("ca_file", None)
    spec = Spec(
        url=url,
        method=f.choice("method", ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"), "GET"),
        headers=f.str_map("headers", {}),
        body=f.str("body", None),
        expect_status=f.int_list("expect_status", None),
        max_latency=f.duration("max_latency", None),
        headers_present=f.str_list("headers_present", ()),
        body_regex=f.regex("body_regex", None),
        follow_redirects=f.bool("follow_redirects", True),
        verify=f.bool("verify", True),
        ca_file=str(ca_file) if ca_file is not None else None,
    )
    f.done()
    return spec


def status_ok(spec: Spec, code: int) -> bool:
    if spec.expect_status is None:
        return 200 <= code < 300
    return code in spec.expect_status


def expected_status(spec: Spec) -> str:
    if spec.expect_status is None:
        return "2xx"
    return " or ".join(str(c) for c in spec.expect_status)


async def _fetch(spec: Spec, ctx: ProbeContext) -> tuple[aiohttp.ClientResponse, bytes]:
    """The response and up to BODY_CAP bytes of its body."""
    ssl_ctx = ctx.resources.ssl_context(spec.verify, spec.ca_file)
    async with ctx.resources.http.request(
        spec.method, spec.url, headers=spec.headers, data=spec.body, ssl=ssl_ctx,
        allow_redirects=spec.follow_redirects, max_redirects=10,
        timeout=aiohttp.ClientTimeout(total=ctx.remaining()),
    ) as response:
        body = bytearray()
        while len(body) < BODY_CAP:
            chunk = await response.content.read(BODY_CAP - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) >= BODY_CAP:
            ctx.log(f"body cut at {BODY_CAP} bytes")
        return response, bytes(body)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no response in time"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        return f"certificate not trusted: {getattr(cert_error, 'verify_message', None) or cert_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"{spec.method} {spec.url}")
    started = time.monotonic()
    evidence: dict[str, object] = {"url": spec.url, "method": spec.method}
    try:
        response, body = await _fetch(spec, ctx)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        reason = _reason(exc)
        ctx.log(f"request failed: {reason}")
        # A timeout means the probe could not judge: it counts as a probe error.
        return Result(Status.FAIL, f"request failed ({reason}), expected {expected_status(spec)}",
                      {**evidence, "error": reason}, error=isinstance(exc, asyncio.TimeoutError))
    latency = time.monotonic() - started
    code = response.status
    text = body.decode(response.charset or "utf-8", "replace")
    evidence.update(status=code, latency_seconds=round(latency, 4), bytes=len(body))
    ctx.log(f"status {code} after {latency:.3f}s, {len(body)} bytes")

    if not status_ok(spec, code):
        return Result(Status.FAIL, f"status {code}, expected {expected_status(spec)}", evidence)
    if spec.max_latency is not None and latency > spec.max_latency:
        return Result(Status.FAIL,
                      f"latency {latency:.3f}s, expected < {format_duration(spec.max_latency)}",
                      evidence)
    if spec.body_regex is not None and not spec.body_regex.search(text):
        return Result(Status.FAIL, f"body does not match /{spec.body_regex.pattern}/", evidence)
    if spec.headers_present:
        missing = [h for h in spec.headers_present if h not in response.headers]
        evidence["headers_missing"] = missing
        if missing:
            status = Status.FAIL if len(missing) == len(spec.headers_present) else Status.PARTIAL
            have = len(spec.headers_present) - len(missing)
            return Result(status, f"missing headers {', '.join(missing)} "
                                  f"({have} of {len(spec.headers_present)} present)", evidence)
    return Result(Status.PASS, f"status {code} in {latency * 1000:.0f} ms", evidence)
