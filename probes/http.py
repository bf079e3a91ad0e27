"""HTTP probe: status, latency, header, cookie, body and JSON checks, redirects, CORS, rate limits.

One request is judged by every check configured; the hard ones (status, latency, body pattern)
fail the item on their own, the others add up: all pass is PASS, any FAIL is FAIL, otherwise
PARTIAL. Two checks send their own requests instead: ``https_redirect`` (one request to an
http:// URL, not followed) and ``rate_limit`` (a bounded burst that must meet a 429).
Credentials (``bearer_token``, ``basic_auth``, ``secret_headers``) print as ``<secret>``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from re import Pattern
from typing import Any

import aiohttp
from yarl import URL

from .compare import Assertion, check_assertions, parse_assertions
from .context import ProbeContext
from .credentials import Auth, parse_auth
from .fields import SECRET_KEYS, Fields, Secret, Unresolved, credential, format_duration
from .local_errors import cannot_judge, local_cause
from .masking import clip
from .result import Result, Status

BODY_CAP = 1024 * 1024  # bytes of body read at most; the rest is never downloaded
MAX_BURST = 1000  # requests a rate-limit check may send in one run
BURST_CONCURRENCY = 10  # requests of a burst in flight at once
COOKIE_FLAGS = ("Secure", "HttpOnly", "SameSite")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")


@dataclass(frozen=True)
class RateLimit:
    requests: int  # burst size: at most this many requests are sent
    status: int = 429  # the answer that shows the limit works


@dataclass(frozen=True)
class Spec:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: Mapping[str, Secret] = field(default_factory=dict)
    auth: Auth | None = None
    body: str | None = None
    expect_status: tuple[int, ...] | None = None  # None: any 2xx
    max_latency: float | None = None  # seconds; slower is FAIL
    headers_present: tuple[str, ...] = ()  # some missing: PARTIAL, all missing: FAIL
    headers_absent: tuple[str, ...] = ()  # e.g. Server, X-Powered-By
    header_patterns: Mapping[str, Pattern[str]] = field(default_factory=dict)
    cookie_flags: tuple[str, ...] = ()  # flags every Set-Cookie must carry
    cookies: tuple[str, ...] = ()  # only these cookies (default: all set)
    body_regex: Pattern[str] | None = None
    json: tuple[Assertion, ...] = ()
    cors_origin: str | None = None  # a foreign Origin that must not be allowed
    https_redirect: bool = False
    rate_limit: RateLimit | None = None
    follow_redirects: bool = True
    verify: bool = True
    ca_file: str | None = None


def _regex_map(f: Fields, key: str) -> dict[str, Pattern[str]]:
    raw = f.str_map(key, {})
    out = {}
    for name in raw:
        sub = Fields(raw, f.name(key), f.base_dir)
        out[name] = sub.regex(name)
    return out


def _secret_headers(f: Fields, key: str) -> dict[str, Secret]:
    SECRET_KEYS.add(key)
    raw = f.any(key, {})
    if not isinstance(raw, Mapping) or any(
        isinstance(v, bool) or not isinstance(v, (str, int, float, Unresolved))
        for v in raw.values()
    ):
        # Never quote the values: they are credentials.
        raise f.error(key, "must be a mapping of header names to values such as ${API_KEY}")
    return {
        str(k): credential(f"{f.name(key)}.{k}", str(v))
        for k, v in raw.items()
        if not isinstance(v, Unresolved)
    }


def _rate_limit(f: Fields) -> RateLimit | None:
    raw = f.any("rate_limit", None)
    if raw is None:
        return None
    sub = Fields(raw, f.name("rate_limit"), f.base_dir)
    limit = RateLimit(requests=sub.int("requests", minimum=2), status=sub.int("status", 429))
    if limit.requests > MAX_BURST:
        raise sub.error("requests", f"must be at most {MAX_BURST} (got {limit.requests})")
    sub.done()
    return limit


def parse_spec(f: Fields) -> Spec:
    url = f.str("url")
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        raise f.error("url", f'must start with http:// or https:// (got "{url}")')
    ca_file = f.path("ca_file", None)
    raw_json = f.any("json", None)
    spec = Spec(
        url=url,
        method=f.choice("method", METHODS, "GET"),
        headers=f.str_map("headers", {}),
        secret_headers=_secret_headers(f, "secret_headers"),
        auth=parse_auth(f),
        body=f.str("body", None),
        expect_status=f.int_list("expect_status", None),
        max_latency=f.duration("max_latency", None),
        headers_present=f.str_list("headers_present", ()),
        headers_absent=f.str_list("headers_absent", ()),
        header_patterns=_regex_map(f, "header_patterns"),
        cookie_flags=f.str_list("cookie_flags", ()),
        cookies=f.str_list("cookies", ()),
        body_regex=f.regex("body_regex", None),
        json=parse_assertions(raw_json, f.name("json")) if raw_json is not None else (),
        cors_origin=f.str("cors_origin", None),
        https_redirect=f.bool("https_redirect", False),
        rate_limit=_rate_limit(f),
        follow_redirects=f.bool("follow_redirects", True),
        verify=f.bool("verify", True),
        ca_file=str(ca_file) if ca_file is not None else None,
    )
    bad_flag = [
        c for c in spec.cookie_flags if not isinstance(c, Unresolved) and c not in COOKIE_FLAGS
    ]
    if bad_flag:
        raise f.error(
            "cookie_flags", f'must be among {", ".join(COOKIE_FLAGS)} (got "{bad_flag[0]}")'
        )
    if spec.cookies and not spec.cookie_flags:
        raise f.error("cookies", "needs cookie_flags: the flags these cookies must carry")
    if spec.https_redirect and isinstance(url, str) and not url.startswith("http://"):
        raise f.error(
            "https_redirect", f'needs an http:// url to send the request to (got "{url}")'
        )
    if spec.https_redirect and spec.rate_limit is not None:
        raise f.error("rate_limit", "and https_redirect are both set: each is a probe of its own")
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


def request_headers(spec: Spec, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers to send, secrets revealed: build only right before sending."""
    headers = dict(spec.headers)
    headers.update({k: v.reveal() for k, v in spec.secret_headers.items()})
    if spec.auth is not None:
        headers.update(spec.auth.header())
    headers.update(extra or {})
    return headers


MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


async def _fetch(
    spec: Spec,
    ctx: ProbeContext,
    follow: bool | None = None,
    extra: Mapping[str, str] | None = None,
    read_body: bool = True,
) -> tuple[aiohttp.ClientResponse, bytes]:
    """The response and up to BODY_CAP bytes of its body.

    Redirects are followed here, not by aiohttp: aiohttp drops only ``Authorization`` when a
    redirect leaves the origin, and would hand ``secret_headers`` and custom headers to any host
    a target redirects to. Past the first origin only ``extra`` (probe-made headers) is sent.
    """
    follow = spec.follow_redirects if follow is None else follow
    ssl_ctx = ctx.resources.ssl_context(spec.verify, spec.ca_file)
    url, method, data = URL(spec.url), spec.method, spec.body
    origin = url.origin()
    for _ in range(MAX_REDIRECTS + 1):
        headers = request_headers(spec, extra) if url.origin() == origin else dict(extra or {})
        async with ctx.resources.http.request(
            method,
            url,
            headers=headers,
            data=data,
            ssl=ssl_ctx,
            allow_redirects=False,
            # 0.9 of the budget: a silent server reads as "no response", not as a probe timeout.
            timeout=aiohttp.ClientTimeout(total=ctx.remaining() * 0.9),
        ) as response:
            location = response.headers.get("Location")
            if follow and response.status in REDIRECTS and location:
                url = response.url.join(URL(location))
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, data = "GET", None
                ctx.log(f"status {response.status}: redirected to {url.with_user(None)}")
                continue
            body = await read_capped(response, BODY_CAP) if read_body else b""
            if len(body) >= BODY_CAP:
                ctx.log(f"body cut at {BODY_CAP} bytes")
            return response, body
    raise aiohttp.TooManyRedirects(response.request_info, response.history)


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body up to ``cap`` bytes (one ``read(n)`` returns only what is buffered so far)."""
    body = bytearray()
    while len(body) < cap:
        chunk = await response.content.read(cap - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def client_error_reason(exc: BaseException) -> str:
    """A failed request in words: refused, untrusted certificate, no response in time, ..."""
    if isinstance(exc, asyncio.TimeoutError):
        return "no response in time"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        return (
            f"certificate not trusted: {getattr(cert_error, 'verify_message', None) or cert_error}"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- checks on one response: each gives (status, what was wrong) or None when it passes --------

Check = tuple[Status, str] | None


def check_headers_present(spec: Spec, headers: Mapping[str, str]) -> Check:
    missing = [h for h in spec.headers_present if h not in headers]
    if not missing:
        return None
    have = len(spec.headers_present) - len(missing)
    status = Status.FAIL if not have else Status.PARTIAL
    return (
        status,
        f"missing headers {', '.join(missing)} ({have} of {len(spec.headers_present)} present)",
    )


def check_headers_absent(spec: Spec, headers: Mapping[str, str]) -> Check:
    present = [f"{h}: {headers[h]}" for h in spec.headers_absent if h in headers]
    if not present:
        return None
    return Status.FAIL, f"headers that must be absent are sent: {'; '.join(present)}"


def check_header_patterns(spec: Spec, headers: Mapping[str, str]) -> Check:
    wrong = []
    for name, pattern in spec.header_patterns.items():
        value = headers.get(name)
        if value is None:
            wrong.append(f"{name} missing, expected /{pattern.pattern}/")
        elif not pattern.search(value):
            wrong.append(f'{name} "{clip(value, 80)}", expected /{pattern.pattern}/')
    if not wrong:
        return None
    ok = len(spec.header_patterns) - len(wrong)
    return (Status.PARTIAL if ok else Status.FAIL), "; ".join(wrong)


def cookie_flags(set_cookie: str) -> tuple[str, set[str]]:
    """A Set-Cookie header's cookie name and the flags it carries (SameSite only with a value).

    Read by hand (RFC 6265 5.2): SimpleCookie drops a whole cookie over an attribute it does not
    know (Partitioned, Priority) or a value with spaces, which would read as "no flags".
    """
    first, *attributes = set_cookie.split(";")
    name = first.split("=", 1)[0].strip()
    flags = set()
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        key = key.strip().lower()
        if key == "secure":
            flags.add("Secure")
        elif key == "httponly":
            flags.add("HttpOnly")
        elif key == "samesite" and value.strip():
            flags.add("SameSite")
    return name, flags


def check_cookies(spec: Spec, response: aiohttp.ClientResponse) -> Check:
    seen = dict(cookie_flags(v) for v in response.headers.getall("Set-Cookie", []))
    names = spec.cookies or tuple(seen)
    if not names:
        return (
            Status.FAIL,
            f"no Set-Cookie in the response, expected cookies with {', '.join(spec.cookie_flags)}",
        )
    lacking = []
    for name in names:
        if name not in seen:
            lacking.append(f"{name} not set")
            continue
        missing = [flag for flag in spec.cookie_flags if flag not in seen[name]]
        if missing:
            lacking.append(f"{name} without {', '.join(missing)}")
    if not lacking:
        return None
    status = Status.PARTIAL if len(lacking) < len(names) else Status.FAIL
    return status, f"cookies {'; '.join(lacking)}"


def check_cors(spec: Spec, headers: Mapping[str, str]) -> Check:
    allowed = headers.get("Access-Control-Allow-Origin")
    credentials = headers.get("Access-Control-Allow-Credentials", "").lower() == "true"
    if allowed is None:
        return None
    if allowed == spec.cors_origin:
        return Status.FAIL, f"CORS reflects the foreign origin {spec.cors_origin}" + (
            " with credentials" if credentials else ""
        ) + ", expected it refused"
    if allowed.strip() == "*":
        if credentials:
            return Status.FAIL, "CORS allows * with credentials, expected a list of origins"
        return Status.PARTIAL, "CORS allows any origin (*), expected a list of origins"
    return None


def decode(body: bytes, charset: str | None) -> str:
    """The body as text in its declared charset; UTF-8 when none is declared or Python lacks it."""
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:  # e.g. MySQL's "utf8mb4"
        return body.decode("utf-8", "replace")


def check_json(spec: Spec, body: bytes, charset: str | None) -> tuple[Check, Any]:
    try:
        document = json.loads(decode(body, charset))
    except ValueError:
        return (Status.FAIL, "body is not JSON, expected a document for the json assertions"), None
    verdict = check_assertions(spec.json, document)
    if not verdict.failures:
        return None, verdict.observed
    status = Status.PARTIAL if verdict.passed else Status.FAIL
    return (status, "; ".join(verdict.failures)), verdict.observed


# -- the probe ------------------------------------------------------------------------------------


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    if spec.https_redirect:
        return await probe_redirect(spec, ctx)
    if spec.rate_limit is not None:
        return await probe_rate_limit(spec, ctx, spec.rate_limit)
    ctx.log(f"{spec.method} {spec.url}")
    started = time.monotonic()
    evidence: dict[str, object] = {"url": spec.url, "method": spec.method}
    extra = {"Origin": spec.cors_origin} if spec.cors_origin else None
    try:
        response, body = await _fetch(spec, ctx, extra=extra)
    except (TimeoutError, aiohttp.ClientError) as exc:
        if local := local_cause(exc):
            return cannot_judge(spec.url, local, evidence)
        reason = client_error_reason(exc)
        ctx.log(f"request failed: {reason}")
        # A timeout means the probe could not judge: it counts as a probe error.
        return Result(
            Status.FAIL,
            f"request failed ({reason}), expected {expected_status(spec)}",
            {**evidence, "error": reason},
            error=isinstance(exc, asyncio.TimeoutError),
        )
    latency = time.monotonic() - started
    code = response.status
    text = decode(body, response.charset)
    evidence.update(status=code, latency_seconds=round(latency, 4), bytes=len(body))
    ctx.log(f"status {code} after {latency:.3f}s, {len(body)} bytes")

    if not status_ok(spec, code):
        return Result(Status.FAIL, f"status {code}, expected {expected_status(spec)}", evidence)
    if spec.max_latency is not None and latency > spec.max_latency:
        return Result(
            Status.FAIL,
            f"latency {latency:.3f}s, expected < {format_duration(spec.max_latency)}",
            evidence,
        )
    if spec.body_regex is not None and not spec.body_regex.search(text):
        cut = f" (first {BODY_CAP // 1024 // 1024} MiB read)" if len(body) >= BODY_CAP else ""
        return Result(
            Status.FAIL, f"body does not match /{spec.body_regex.pattern}/{cut}", evidence
        )

    checks: list[Check] = []
    if spec.headers_present:
        checks.append(check_headers_present(spec, response.headers))
        evidence["headers_missing"] = [h for h in spec.headers_present if h not in response.headers]
    if spec.headers_absent:
        checks.append(check_headers_absent(spec, response.headers))
    if spec.header_patterns:
        checks.append(check_header_patterns(spec, response.headers))
    if spec.cookie_flags:
        checks.append(check_cookies(spec, response))
        evidence["cookies"] = {
            n: sorted(f) for n, f in map(cookie_flags, response.headers.getall("Set-Cookie", []))
        }
    if spec.cors_origin:
        checks.append(check_cors(spec, response.headers))
        evidence["cors_allow_origin"] = response.headers.get("Access-Control-Allow-Origin")
    if spec.json:
        check, observed = check_json(spec, body, response.charset)
        checks.append(check)
        evidence["json"] = observed
    problems = [c for c in checks if c is not None]
    if problems:
        status = Status.FAIL if any(s is Status.FAIL for s, _ in problems) else Status.PARTIAL
        return Result(status, "; ".join(m for _, m in problems), evidence)
    passed = f"status {code} in {latency * 1000:.0f} ms"
    if checks:
        passed += f", {len(checks)} check{'s' if len(checks) > 1 else ''} pass"
    return Result(Status.PASS, passed, evidence)


async def probe_redirect(spec: Spec, ctx: ProbeContext) -> Result:
    """PASS when the http:// URL answers with a permanent or temporary redirect to https://."""
    ctx.log(f"{spec.method} {spec.url}, redirects not followed")
    evidence: dict[str, object] = {"url": spec.url}
    try:
        response, _ = await _fetch(spec, ctx, follow=False, read_body=False)
    except (TimeoutError, aiohttp.ClientError) as exc:
        if local := local_cause(exc):
            return cannot_judge(spec.url, local, evidence)
        reason = client_error_reason(exc)
        return Result(
            Status.FAIL,
            f"request failed ({reason}), expected a redirect to https://",
            {**evidence, "error": reason},
        )
    location = response.headers.get("Location", "")
    evidence.update(status=response.status, location=location)
    if response.status in (301, 302, 303, 307, 308) and location.startswith("https://"):
        permanent = response.status in (301, 308)
        return Result(
            Status.PASS if permanent else Status.PARTIAL,
            f"status {response.status} to {location}"
            + ("" if permanent else ", expected a permanent redirect (301 or 308)"),
            evidence,
        )
    if response.status in (301, 302, 303, 307, 308):
        return Result(
            Status.FAIL,
            f"status {response.status} to {location or 'nowhere'}, expected a redirect to https://",
            evidence,
        )
    return Result(
        Status.FAIL,
        f"status {response.status} over plain http, expected a redirect to https://",
        evidence,
    )


async def probe_rate_limit(spec: Spec, ctx: ProbeContext, limit: RateLimit) -> Result:
    """Send up to ``limit.requests`` requests; PASS as soon as one answers ``limit.status``."""
    ctx.log(f"burst of up to {limit.requests} requests to {spec.url}")
    evidence: dict[str, object] = {"url": spec.url, "burst": limit.requests}
    sent, codes = 0, []
    limited_at: int | None = None
    errors: list[BaseException] = []

    async def one() -> None:
        nonlocal sent, limited_at
        while sent < limit.requests and limited_at is None and not errors:
            sent += 1
            number = sent
            try:
                response, _ = await _fetch(spec, ctx, read_body=False)
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.append(exc)
                return
            codes.append(response.status)
            if response.status == limit.status and limited_at is None:
                limited_at = number

    await asyncio.gather(*(one() for _ in range(min(BURST_CONCURRENCY, limit.requests))))
    evidence.update(
        sent=sent,
        answered=len(codes),
        limited_after=limited_at,
        statuses={str(c): codes.count(c) for c in sorted(set(codes))},
    )
    if limited_at is not None:
        return Result(
            Status.PASS,
            f"status {limit.status} after {limited_at} requests "
            f"(burst of at most {limit.requests})",
            evidence,
        )
    if errors:
        if local := next(filter(None, map(local_cause, errors)), None):
            return cannot_judge(spec.url, local, evidence)
        return Result(
            Status.FAIL,
            f"request failed ({client_error_reason(errors[0])}) after {len(codes)} answers, "
            f"expected status {limit.status} within {limit.requests}",
            evidence,
        )
    return Result(
        Status.FAIL,
        f"no {limit.status} in {len(codes)} requests, expected the rate "
        f"limit to answer {limit.status}",
        evidence,
    )
