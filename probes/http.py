"""HTTP probes: checks on one response, an http-to-https redirect, a rate-limit burst.

An ``http:`` setting is one of three probes, chosen by its keys; each has a spec of its own and
they share the request settings and sending code (``request.py``):

- checks (the default): one request judged by every check configured. The hard ones (status,
  latency, body pattern) fail the item on their own, the others add up: all pass is PASS, any
  FAIL is FAIL, otherwise PARTIAL.
- ``https_redirect: true``: an http:// URL must redirect to https:// on the same host; the
  chain is followed to the final answer, which must come over https.
- ``rate_limit: {requests, status}``: a bounded burst that must meet the limit's answer.

Response checks (``expect_status``, ``headers_present``, ...) written beside ``https_redirect``
or ``rate_limit`` are refused at load: those probes send requests of their own and judge only
their answer, so the checks would be dropped while ``validate`` said the item was fine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import aiohttp

from .compare import Assertion, Verdict, check_assertions, parse_assertions
from .context import ProbeContext
from .fields import Fields, format_duration
from .headers import SecurityHeaders, judge, parse_security_headers
from .local_errors import cannot_judge, local_cause
from .masking import clip
from .patterns import Pattern
from .request import (
    BODY_CAP,
    REDIRECTS,
    Hop,
    Request,
    client_error_reason,
    decode,
    fetch,
    parse_request,
)
from .result import Result, Status

MAX_BURST = 1000  # requests a rate-limit check may send in one run
BURST_CONCURRENCY = 10  # requests of a burst in flight at once
COOKIE_FLAGS = ("Secure", "HttpOnly", "SameSite")
EXCERPT = 60  # characters of a body a summary quotes when a pattern is not found


@dataclass(frozen=True)
class CheckSpec:
    """One request, judged by every check configured."""

    request: Request
    expect_status: tuple[int, ...] | None = None  # None: any 2xx
    max_latency: float | None = None  # seconds; slower is FAIL
    headers_present: tuple[str, ...] = ()  # some missing: PARTIAL, all missing: FAIL
    headers_absent: tuple[str, ...] = ()  # e.g. Server, X-Powered-By
    header_patterns: Mapping[str, Pattern] = field(default_factory=dict)
    cookie_flags: tuple[str, ...] = ()  # flags every Set-Cookie must carry
    cookies: tuple[str, ...] = ()  # only these cookies (default: all set)
    body_regex: Pattern | None = None
    json: tuple[Assertion, ...] = ()
    cors_origin: str | None = None  # a foreign Origin that must not be allowed
    security_headers: SecurityHeaders | None = None  # HSTS, CSP, framing, nosniff values


@dataclass(frozen=True)
class RedirectSpec:
    """An http:// URL that must redirect to https:// on the same host, which must answer."""

    request: Request


@dataclass(frozen=True)
class RateLimitSpec:
    """A burst of at most ``requests`` requests, one of which must get ``status``."""

    request: Request
    requests: int
    status: int = 429  # the answer that shows the limit works


Spec = CheckSpec | RedirectSpec | RateLimitSpec
# The options of a check on one response, which neither other probe uses.
CHECK_OPTIONS = tuple(f.name for f in fields(CheckSpec) if f.name != "request")


def parse_spec(f: Fields) -> Spec:
    request = parse_request(f)
    checks = _parse_checks(f.defaults_from(CheckSpec), request)
    redirect = f.optional_flag("https_redirect")
    burst = f.sub("rate_limit")
    if redirect and f.has("rate_limit"):
        f.problem("rate_limit", "and https_redirect are both set: each is a probe of its own")
    elif redirect or burst is not None:
        mode, sends = (
            ("https_redirect", "a redirect check sends its own request")
            if redirect
            else ("rate_limit", "a rate-limit check sends its own requests")
        )
        for key in CHECK_OPTIONS:
            if f.has(key):
                f.problem(key, f"is not used with {mode}: {sends}; make it an item of its own")
    if redirect:
        if not request.url.startswith("http://") and f.usable("url"):
            f.problem(
                "https_redirect",
                f'needs an http:// url to send the request to (got "{request.url}")',
            )
        return RedirectSpec(request)
    if burst is not None:
        return _parse_rate_limit(burst.defaults_from(RateLimitSpec), request)
    return checks


def _parse_checks(f: Fields, request: Request) -> CheckSpec:
    spec = CheckSpec(
        request=request,
        expect_status=f.optional_integers("expect_status"),
        max_latency=f.optional_duration("max_latency"),
        headers_present=f.texts("headers_present"),
        headers_absent=f.texts("headers_absent"),
        header_patterns=f.regex_map("header_patterns"),
        cookie_flags=f.texts("cookie_flags"),
        cookies=f.texts("cookies"),
        body_regex=f.optional_regex("body_regex"),
        json=f.parsed("json", parse_assertions, ()),
        cors_origin=f.optional_text("cors_origin"),
        security_headers=_parse_security_headers(f),
    )
    bad_flags = [c for c in spec.cookie_flags if c not in COOKIE_FLAGS]
    if bad_flags:
        f.problem("cookie_flags", f'must be among {", ".join(COOKIE_FLAGS)} (got "{bad_flags[0]}")')
    if f.has("cookies") and not f.has("cookie_flags"):
        f.problem("cookies", "needs cookie_flags: the flags these cookies must carry")
    return spec


def _parse_security_headers(f: Fields) -> SecurityHeaders | None:
    sub = f.sub("security_headers")
    return parse_security_headers(sub) if sub is not None else None


def _parse_rate_limit(f: Fields, request: Request) -> RateLimitSpec:
    spec = RateLimitSpec(request, f.integer("requests", minimum=2), f.integer("status"))
    if spec.requests > MAX_BURST:
        f.problem("requests", f"must be at most {MAX_BURST} (got {spec.requests})")
    return spec


def status_ok(spec: CheckSpec, code: int) -> bool:
    if spec.expect_status is None:
        return 200 <= code < 300
    return code in spec.expect_status


def expected_status(spec: CheckSpec) -> str:
    if spec.expect_status is None:
        return "2xx"
    return " or ".join(str(c) for c in spec.expect_status)


# -- checks on one response: each gives (status, what was wrong) or None when it passes --------

Check = tuple[Status, str] | None


def check_headers_present(spec: CheckSpec, headers: Mapping[str, str]) -> Check:
    missing = [h for h in spec.headers_present if h not in headers]
    if not missing:
        return None
    have = len(spec.headers_present) - len(missing)
    status = Status.FAIL if not have else Status.PARTIAL
    return (
        status,
        f"missing headers {', '.join(missing)} ({have} of {len(spec.headers_present)} present)",
    )


def check_headers_absent(spec: CheckSpec, headers: Mapping[str, str]) -> Check:
    present = [f"{h}: {headers[h]}" for h in spec.headers_absent if h in headers]
    if not present:
        return None
    return Status.FAIL, f"headers that must be absent are sent: {'; '.join(present)}"


def check_header_patterns(spec: CheckSpec, headers: Mapping[str, str]) -> Check:
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


def check_cookies(spec: CheckSpec, response: aiohttp.ClientResponse) -> Check:
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


def check_cors(spec: CheckSpec, headers: Mapping[str, str]) -> Check:
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


def check_json(spec: CheckSpec, body: bytes, charset: str | None) -> tuple[Check, Verdict | None]:
    try:
        document = json.loads(decode(body, charset))
    except ValueError:
        return (Status.FAIL, "body is not JSON, expected a document for the json assertions"), None
    verdict = check_assertions(spec.json, document)
    if not verdict.failures:
        return None, verdict
    status = Status.PARTIAL if verdict.passed else Status.FAIL
    return (status, "; ".join(verdict.failures)), verdict


# -- what a check that passes verified, in words: a PASS summary lists them ---------------------


def _names(names: tuple[str, ...] | list[str], noun: str) -> str:
    """``X-Frame-Options and CSP`` for up to three names, else ``5 headers``."""
    if not names or len(names) > 3:
        return f"{len(names)} {noun}s"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def held_headers_present(spec: CheckSpec) -> str:
    return f"{_names(spec.headers_present, 'header')} set"


def held_headers_absent(spec: CheckSpec) -> str:
    return f"{_names(spec.headers_absent, 'header')} not sent"


def held_header_patterns(spec: CheckSpec, headers: Mapping[str, str]) -> str:
    """The values that matched, as sent (each header's pattern is in the config)."""
    return "; ".join(
        f'{name}: "{clip(headers.get(name, ""), 80)}"' for name in spec.header_patterns
    )


def held_cookies(spec: CheckSpec, response: aiohttp.ClientResponse) -> str:
    names = spec.cookies or tuple(
        cookie_flags(v)[0] for v in response.headers.getall("Set-Cookie", [])
    )
    flags = ", ".join(spec.cookie_flags)
    return f"cookie{'s' * (len(names) > 1)} {_names(list(names), 'cookie')} with {flags}"


def held_cors(spec: CheckSpec, headers: Mapping[str, str]) -> str:
    allowed = headers.get("Access-Control-Allow-Origin")
    refused = f"foreign origin {spec.cors_origin} refused"
    if allowed is None:
        return refused + " (no Access-Control-Allow-Origin)"
    return refused + f' (allows "{clip(allowed, 80)}")'


# -- the probe ------------------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    """The start of a body as a summary quotes it: whitespace collapsed, masked, short."""
    words = " ".join(text.split())
    return f'"{clip(words, EXCERPT)}"' if words else "empty"


def _shown(request: Request) -> str:
    """The request as a summary names it when the target stays silent."""
    return f"{request.method} {request.url}"


TOO_MANY_REQUESTS = 429


def rate_limited(url: str, headers: Mapping[str, str], evidence: dict[str, object]) -> Result:
    """A 429 the item did not ask for is no answer to its question: the target's rate limit
    (spent by this or another client, such as a rate_limit item's burst) stopped the look."""
    after = headers.get("Retry-After")
    wait = f", retry after {clip(after, 20)}" if after else ""
    return Result(
        Status.FAIL,
        f"cannot judge {url}: rate limited by the target (429{wait})",
        {**evidence, "error": "rate limited (429)"},
        error=True,
    )


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    if isinstance(spec, RedirectSpec):
        return await probe_redirect(spec, ctx)
    if isinstance(spec, RateLimitSpec):
        return await probe_rate_limit(spec, ctx)
    return await probe_checks(spec, ctx)


async def probe_checks(spec: CheckSpec, ctx: ProbeContext) -> Result:
    """The response meets every check configured (status 2xx unless told otherwise)."""
    request = spec.request
    ctx.log(f"{request.method} {request.url}")
    started = time.monotonic()
    evidence: dict[str, object] = {"url": request.url, "method": request.method}
    extra = {"Origin": spec.cors_origin} if spec.cors_origin else None
    try:
        response, body = await ctx.wait(fetch(request, ctx, extra=extra), _shown(request))
    except aiohttp.ClientError as exc:
        if local := local_cause(exc):
            return cannot_judge(request.url, local, evidence)
        reason = client_error_reason(exc)
        ctx.log(f"request failed: {reason}")
        return Result(
            Status.FAIL,
            f"request failed ({reason}), expected {expected_status(spec)}",
            {**evidence, "error": reason},
        )
    latency = time.monotonic() - started
    code = response.status
    text = decode(body, response.charset)
    evidence.update(status=code, latency_seconds=round(latency, 4), bytes=len(body))
    ctx.log(f"status {code} after {latency:.3f}s, {len(body)} bytes")

    if code == TOO_MANY_REQUESTS and not status_ok(spec, code):
        return rate_limited(request.url, response.headers, evidence)
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
            Status.FAIL,
            f"body {spec.body_regex.missing()}{cut}; it begins {_excerpt(text)}",
            evidence,
        )

    checks: list[Check] = []
    # What each check verified, in words, for the PASS summary (used only when all pass).
    held: list[str] = [f"status {code} in {latency * 1000:.0f} ms"]
    if spec.body_regex is not None:
        held.append(f"body {spec.body_regex.found()}")
    if spec.headers_present:
        checks.append(check_headers_present(spec, response.headers))
        held.append(held_headers_present(spec))
        evidence["headers_missing"] = [h for h in spec.headers_present if h not in response.headers]
    if spec.headers_absent:
        checks.append(check_headers_absent(spec, response.headers))
        held.append(held_headers_absent(spec))
    if spec.header_patterns:
        checks.append(check_header_patterns(spec, response.headers))
        held.append(held_header_patterns(spec, response.headers))
    if spec.cookie_flags:
        checks.append(check_cookies(spec, response))
        held.append(held_cookies(spec, response))
        evidence["cookies"] = {
            n: sorted(f) for n, f in map(cookie_flags, response.headers.getall("Set-Cookie", []))
        }
    if spec.cors_origin:
        checks.append(check_cors(spec, response.headers))
        held.append(held_cors(spec, response.headers))
        evidence["cors_allow_origin"] = response.headers.get("Access-Control-Allow-Origin")
    if spec.json:
        check, assertions = check_json(spec, body, response.charset)
        checks.append(check)
        evidence["json"] = assertions.observed if assertions is not None else None
        held += assertions.held if assertions is not None else ()
    if spec.security_headers is not None:
        verdict = judge(spec.security_headers, response.headers, response.url.scheme == "https")
        evidence["security_headers"] = verdict.evidence
        held += verdict.held
        if verdict.problems:
            worst = min((s for s, _ in verdict.problems), key=_SEVERITY.index)
            checks.append((worst, "; ".join(m for _, m in verdict.problems)))
    problems = [c for c in checks if c is not None]
    if problems:
        status = Status.FAIL if any(s is Status.FAIL for s, _ in problems) else Status.PARTIAL
        return Result(status, "; ".join(m for _, m in problems), evidence)
    return Result(Status.PASS, "; ".join(held), evidence)


_SEVERITY = (Status.FAIL, Status.PARTIAL)  # the worst first


async def probe_redirect(spec: RedirectSpec, ctx: ProbeContext) -> Result:
    """PASS when the http:// URL redirects (301/308; 302/307 PARTIAL) to https:// on the same
    host, and the chain ends in an answer over https."""
    request = spec.request
    ctx.log(f"{request.method} {request.url}, following redirects to the final answer")
    hops: list[Hop] = []
    failure: str | None = None
    try:
        await ctx.wait(
            fetch(request, ctx, follow=True, read_body=False, chain=hops, same_host=True),
            _shown(request),
        )
    except aiohttp.ClientError as exc:
        if local := local_cause(exc):  # this machine's failure: no answer about the redirect
            where = str(hops[-1].url.with_user(None)) if hops else request.url
            return cannot_judge(where, local, {"url": request.url})
        failure = client_error_reason(exc)
        ctx.log(f"request failed: {failure}")
    evidence: dict[str, object] = {
        "url": request.url,
        "chain": [
            f"{hop.status or ('no answer' if hop.sent else 'not followed')} "
            f"{hop.url.with_user(None)}"
            for hop in hops
        ],
    }
    if failure is not None:
        evidence["error"] = failure
    limited = next((hop for hop in hops if hop.status == TOO_MANY_REQUESTS), None)
    if limited is not None:
        return rate_limited(str(limited.url.with_user(None)), {}, evidence)
    status, summary = judge_redirect(hops, failure)
    return Result(status, summary, evidence)


def _host(hop: Hop) -> str:
    return (hop.url.host or "").rstrip(".")


def judge_redirect(hops: list[Hop], failure: str | None) -> tuple[Status, str]:
    """The verdict on a redirect chain that starts over plain http (``failure``: why the last
    request got no answer)."""
    first = hops[0]
    host = _host(first)
    https_home = f"https://{first.url.with_port(None).host_port_subcomponent}/"
    if first.status is None:
        return Status.FAIL, f"request failed ({failure}), expected a redirect to {https_home}"
    expected = "expected a redirect to https://"
    if first.status not in REDIRECTS:
        return Status.FAIL, f"status {first.status} over plain http, {expected}"
    if len(hops) == 1:
        return Status.FAIL, f"status {first.status} without a Location, {expected}"
    landing = next((hop for hop in hops if hop.url.scheme == "https"), None)
    before = hops[: hops.index(landing)] if landing is not None else hops
    left = next((hop for hop in before if _host(hop) != host), None)
    if left is not None:
        return (
            Status.FAIL,
            f"redirects to {left.url} over plain http (another host), expected {https_home}",
        )
    if landing is None:
        shown = ", then ".join(str(hop.url) for hop in hops[1:])
        why = f" ({failure})" if failure else ""
        return Status.FAIL, f"status {first.status} to {shown}{why}, {expected}"
    if _host(landing) != host:
        return (
            Status.FAIL,
            f"redirects to {landing.url} (another host), expected {https_home}",
        )
    after = hops[hops.index(landing) :]
    downgrade = next((hop for hop in after if hop.url.scheme != "https"), None)
    if downgrade is not None:
        return (
            Status.FAIL,
            f"redirects to {landing.url}, then back to plain http at {downgrade.url}, "
            "expected to stay on https://",
        )
    final = hops[-1]
    port = f" (port {landing.url.port}, not 443)" if landing.url.port != 443 else ""
    went = f"status {first.status} to {landing.url}{port}"
    elsewhere = ""
    if not final.sent:  # a later hop leaves for another host over https: not followed
        elsewhere = f", then to {final.url} (another host, not followed)"
        final = hops[-2]
    if final.status is None:
        which = "which" if final is landing else f"then {final.url}"
        return Status.FAIL, f"{went}, {which} did not answer ({failure}), expected an answer"
    if failure is not None:
        return Status.FAIL, f"{went}, then {failure}, expected an answer"
    if final.status in REDIRECTS and not elsewhere:
        return Status.FAIL, f"{went}, then status {final.status} without a Location"
    answered = f"answered {final.status}" + (f" at {final.url}" if final is not landing else "")
    answered += elsewhere
    if first.status in (301, 308):
        return Status.PASS, f"{went}, {answered}"
    return (
        Status.PARTIAL,
        f"{went}, {answered}; expected a permanent redirect (301 or 308)",
    )


async def probe_rate_limit(limit: RateLimitSpec, ctx: ProbeContext) -> Result:
    """Send up to ``limit.requests`` requests; PASS as soon as one answers ``limit.status``."""
    ctx.log(f"burst of up to {limit.requests} requests to {limit.request.url}")
    evidence: dict[str, object] = {"url": limit.request.url, "burst": limit.requests}
    sent, codes = 0, []
    limited_at: int | None = None
    errors: list[BaseException] = []

    async def one() -> None:
        nonlocal sent, limited_at
        while sent < limit.requests and limited_at is None and not errors:
            sent += 1
            number = sent
            try:
                response, _ = await fetch(limit.request, ctx, read_body=False)
            except aiohttp.ClientError as exc:
                errors.append(exc)
                return
            codes.append(response.status)
            if response.status == limit.status and limited_at is None:
                limited_at = number

    # A burst cut short by the budget has not shown whether the limit works: cannot judge.
    await ctx.wait(
        asyncio.gather(*(one() for _ in range(min(BURST_CONCURRENCY, limit.requests)))),
        f"burst to {_shown(limit.request)}",
    )
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
            return cannot_judge(limit.request.url, local, evidence)
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
