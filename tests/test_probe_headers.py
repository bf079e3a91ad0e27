"""Security header policies (http ``security_headers``) judged on what a real nginx sends.

Every weak set sits beside a strong one: headers that look enabled but switch the protection
off (the trial's ``max-age=0``, ``default-src * 'unsafe-inline' 'unsafe-eval'``,
``X-Frame-Options: ALLOWALL``) must not PASS, and policies that are strong in an unusual way
(a nonce with ``'strict-dynamic'`` beside ``'unsafe-inline'``, ``frame-ancestors`` without
X-Frame-Options, a quoted max-age) must.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from multidict import CIMultiDict
from support.nginx import Nginx, certificate, nginx
from support.probing import config_error, run

from probes.headers import (
    CspPolicy,
    HeaderSyntaxError,
    HstsPolicy,
    SecurityHeaders,
    age,
    allowed,
    judge,
    parse_csp,
    parse_hsts,
)
from probes.result import Status

STRONG_HSTS = "max-age=31536000; includeSubDomains"

# location -> the headers nginx adds to its answer (add_header ... always; one line each)
PAGES: dict[str, list[tuple[str, str]]] = {
    # The trial's nginx (issue 11): every name present, every protection off.
    "trial": [
        ("Strict-Transport-Security", "max-age=0"),
        ("Content-Security-Policy", "default-src * 'unsafe-inline' 'unsafe-eval'"),
        ("X-Frame-Options", "ALLOWALL"),
    ],
    "strong": [
        ("Strict-Transport-Security", STRONG_HSTS),
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
    ],
    # Google's strict CSP: 'unsafe-inline' and https: are there for old browsers only.
    "nonce": [
        ("Strict-Transport-Security", 'max-age="63072000"; includeSubDomains; preload'),
        (
            "Content-Security-Policy",
            "script-src 'nonce-r4nd0m' 'strict-dynamic' 'unsafe-inline' https:; "
            "object-src 'none'; base-uri 'none'",
        ),
        ("X-Frame-Options", "SAMEORIGIN"),
    ],
    "hsts-short": [("Strict-Transport-Security", "max-age=3600; includeSubDomains")],
    "hsts-nosub": [("Strict-Transport-Security", "max-age=31536000")],
    "hsts-twice": [
        ("Strict-Transport-Security", STRONG_HSTS),
        ("Strict-Transport-Security", "max-age=0"),
    ],
    "hsts-invalid": [("Strict-Transport-Security", "max-age=31536000; max-age=60")],
    "csp-scripts-unsafe": [
        ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'")
    ],
    "csp-scheme": [("Content-Security-Policy", "default-src 'self' https: data:")],
    "csp-no-scripts": [("Content-Security-Policy", "img-src 'self'; style-src 'self'")],
    "csp-report-only": [("Content-Security-Policy-Report-Only", "default-src 'self'")],
    # Two enforced policies: a load must pass both, so the strict one wins for scripts.
    "csp-two": [
        ("Content-Security-Policy", "default-src *"),
        ("Content-Security-Policy", "default-src 'self'"),
    ],
    "xfo-ignored": [
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors *"),
    ],
    "xfo-allow-from": [("X-Frame-Options", "ALLOW-FROM https://partner.example")],
    "xfo-deny": [("X-Frame-Options", "deny")],
    "sniff": [("X-Content-Type-Options", "sniff-please")],
}


def _quoted(value: str) -> str:
    """An nginx double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _locations() -> str:
    blocks = []
    for name, headers in PAGES.items():
        lines = "".join(f"        add_header {k} {_quoted(v)} always;\n" for k, v in headers)
        blocks.append(
            f'    location = /{name} {{\n{lines}        return 200 "{name}\\n";\n    }}\n'
        )
    return "".join(blocks)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def site(tmp_path_factory, ca) -> Iterator[Nginx]:
    workdir: Path = tmp_path_factory.mktemp("nginx")
    chain, key = certificate(ca, workdir, "app.test", "127.0.0.1")
    ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
    servers = f"""
server {{
    listen 127.0.0.1:@HTTPS@ ssl;
    server_name app.test;
    ssl_certificate {chain};
    ssl_certificate_key {key};
{_locations()}
}}
server {{
    listen 127.0.0.1:@HTTP@;
{_locations()}
}}
"""
    with nginx(workdir, servers, ["HTTPS", "HTTP"]) as server:
        yield server


async def headers_probe(site: Nginx, page: str, policy: dict, scheme: str = "https"):
    name = "HTTPS" if scheme == "https" else "HTTP"
    probe = {
        "http": {
            "url": site.url(name, scheme, f"/{page}"),
            "ca_file": str(site.workdir / "ca.pem"),
            "security_headers": policy,
        }
    }
    return await run(probe, site.workdir)


ALL_THREE = {"hsts": True, "csp": True, "frame_protection": True}


async def test_the_trials_headers_switch_every_protection_off(site):
    result = await headers_probe(site, "trial", ALL_THREE)
    assert result.status is Status.FAIL
    assert result.summary == (
        "HSTS max-age 0 s (switches HSTS off), expected at least 180 d; "
        "CSP default-src allows *, 'unsafe-inline', 'unsafe-eval' (script-src falls back to it); "
        "X-Frame-Options ALLOWALL lets any site frame the page, expected DENY or SAMEORIGIN "
        "(or CSP frame-ancestors)"
    )
    assert result.evidence["security_headers"]["hsts"] == ["max-age=0"]


async def test_strong_headers_pass_and_say_what_held(site):
    result = await headers_probe(site, "strong", {**ALL_THREE, "nosniff": True})
    assert result.status is Status.PASS, result.summary
    assert result.summary.endswith(
        "HSTS max-age 365 d, includeSubDomains; "
        "CSP default-src, script-src (from default-src) allow no wildcard or unsafe source; "
        "framing refused by CSP frame-ancestors 'none'; X-Content-Type-Options nosniff"
    )


async def test_a_nonce_with_strict_dynamic_neutralizes_unsafe_inline_and_https(site):
    result = await headers_probe(site, "nonce", ALL_THREE)
    assert result.status is Status.PASS, result.summary
    assert "HSTS max-age 730 d, includeSubDomains" in result.summary  # quoted max-age read
    assert "framing refused (X-Frame-Options SAMEORIGIN)" in result.summary


async def test_hsts_over_plain_http_cannot_take_effect(site):
    result = await headers_probe(site, "strong", {"hsts": True}, scheme="http")
    assert result.status is Status.FAIL
    assert result.summary.startswith("HSTS cannot take effect over plain http")


@pytest.mark.parametrize(
    "page, policy, status, summary",
    [
        ("hsts-short", {"hsts": True}, Status.FAIL, "HSTS max-age 60 min, expected at least 180 d"),
        (
            "hsts-short",
            {"hsts": {"min_max_age": "30m"}},
            Status.PASS,
            None,
        ),
        (
            "hsts-nosub",
            {"hsts": True},
            Status.PARTIAL,
            "HSTS max-age 365 d without includeSubDomains, expected includeSubDomains",
        ),
        ("hsts-nosub", {"hsts": {"include_subdomains": False}}, Status.PASS, None),
        (
            "hsts-twice",
            {"hsts": True},
            Status.FAIL,
            "2 Strict-Transport-Security headers, expected one (a browser reads only the "
            "first, and joined by a proxy they are one invalid value)",
        ),
        (
            "hsts-invalid",
            {"hsts": True},
            Status.FAIL,
            "HSTS header invalid (max-age given twice): browsers ignore it, expected at least "
            "180 d of max-age",
        ),
        (
            "xfo-deny",
            {"hsts": True},
            Status.FAIL,
            "no Strict-Transport-Security header, expected at least 180 d of HSTS max-age",
        ),
    ],
)
async def test_hsts(site, page, policy, status, summary):
    result = await headers_probe(site, page, policy)
    assert result.status is status, result.summary
    if summary is not None:
        assert result.summary == summary


@pytest.mark.parametrize(
    "page, summary",
    [
        ("csp-scripts-unsafe", "CSP script-src allows 'unsafe-inline'"),
        ("csp-scheme", "CSP default-src allows https:, data: (script-src falls back to it)"),
        (
            "csp-no-scripts",
            "CSP sets neither script-src nor default-src: script-src loads from anywhere, "
            "expected a policy that restricts them",
        ),
        (
            "csp-report-only",
            "CSP is report-only (Content-Security-Policy-Report-Only enforces nothing), "
            "expected Content-Security-Policy",
        ),
        ("xfo-deny", "no Content-Security-Policy header, expected a policy that restricts scripts"),
    ],
)
async def test_csp_that_lets_scripts_in_fails(site, page, summary):
    result = await headers_probe(site, page, {"csp": True})
    assert (result.status, result.summary) == (Status.FAIL, summary)


async def test_csp_two_policies_both_apply(site):
    result = await headers_probe(site, "csp-two", {"csp": True})
    assert result.status is Status.PASS, result.summary


async def test_csp_forbid_and_directives_are_the_operators(site):
    # Only 'unsafe-eval' forbidden: default-src 'self' https: data: passes.
    result = await headers_probe(site, "csp-scheme", {"csp": {"forbid": ["'unsafe-eval'"]}})
    assert result.status is Status.PASS, result.summary
    assert result.summary.endswith("allow none of 'unsafe-eval'")


@pytest.mark.parametrize(
    "page, status, summary",
    [
        ("xfo-deny", Status.PASS, "framing refused (X-Frame-Options DENY)"),
        (
            "xfo-ignored",
            Status.FAIL,
            "CSP frame-ancestors * lets any site frame the page (X-Frame-Options DENY is "
            "ignored beside it), expected 'none', 'self' or a list of origins",
        ),
        (
            "xfo-allow-from",
            Status.FAIL,
            "X-Frame-Options ALLOW-FROM https://partner.example (obsolete: browsers ignore it) "
            "lets any site frame the page, expected DENY or SAMEORIGIN (or CSP frame-ancestors)",
        ),
        (
            "hsts-nosub",
            Status.FAIL,
            "no X-Frame-Options or CSP frame-ancestors: any site can frame the page, expected "
            "X-Frame-Options DENY or SAMEORIGIN",
        ),
    ],
)
async def test_frame_protection(site, page, status, summary):
    result = await headers_probe(site, page, {"frame_protection": True})
    assert result.status is status, result.summary
    assert result.summary.endswith(summary)


async def test_nosniff_only_when_asked(site):
    wrong = await headers_probe(site, "sniff", {"nosniff": True})
    missing = await headers_probe(site, "trial", {"nosniff": True})
    not_asked = await headers_probe(site, "sniff", {"frame_protection": True})
    assert (wrong.status, wrong.summary) == (
        Status.FAIL,
        "X-Content-Type-Options sniff-please, expected nosniff",
    )
    assert missing.summary == "no X-Content-Type-Options header, expected nosniff"
    assert "X-Content-Type-Options" not in not_asked.summary


# -- reading the headers, case by case -------------------------------------------------------


@pytest.mark.parametrize(
    "value, directives",
    [
        ("max-age=31536000", {"max-age": "31536000"}),
        ('MAX-AGE="600" ; includeSubDomains', {"max-age": "600", "includesubdomains": None}),
        ("max-age=60;;preload;", {"max-age": "60", "preload": None}),
        ('max-age=60; ext="a;b"', {"max-age": "60", "ext": "a;b"}),  # a quoted ; is no separator
    ],
)
def test_parse_hsts(value, directives):
    assert parse_hsts(value) == directives


@pytest.mark.parametrize(
    "value, why",
    [
        ("includeSubDomains", "no max-age"),
        ("max-age=", "max-age '' is not a number of seconds"),
        ("max-age=-1", "max-age '-1' is not a number of seconds"),
        ("max-age=1; max-age=2", "max-age given twice"),
        ("max-age=1, max-age=2", "unexpected ','"),  # two fields joined by a proxy
        ("max-age=1; includeSubDomains=yes", "includeSubDomains takes no value"),
        ('max-age="1', "an unterminated quoted value"),
    ],
)
def test_hsts_the_browser_ignores(value, why):
    with pytest.raises(HeaderSyntaxError, match=f"^{why}$"):
        parse_hsts(value)


def test_parse_csp_policies_and_repeated_directives():
    policies = parse_csp(["script-src 'self'; SCRIPT-SRC *; img-src *, default-src 'none'"])
    assert policies == [
        {"script-src": ("'self'",), "img-src": ("*",)},
        {"default-src": ("'none'",)},
    ]


@pytest.mark.parametrize(
    "sources, scripts, through",
    [
        (["'self'"], True, []),
        (["*"], True, ["*"]),
        (["https://*"], True, ["*"]),
        (["*.example.com"], True, []),
        (["'UNSAFE-INLINE'"], True, ["'unsafe-inline'"]),
        (["'unsafe-inline'", "'sha256-abc='"], True, []),
        (["'unsafe-inline'", "'nonce-x'"], False, []),
        (["'strict-dynamic'", "'nonce-x'", "https:", "*"], True, []),
        (["'strict-dynamic'", "https:"], False, ["https:"]),  # not a script list: applies
        (["'strict-dynamic'", "'unsafe-eval'"], True, ["'unsafe-eval'"]),
        (["HTTP:", "data:"], True, ["http:", "data:"]),
    ],
)
def test_allowed_sources(sources, scripts, through):
    forbid = ("*", "http:", "https:", "data:", "'unsafe-inline'", "'unsafe-eval'")
    assert allowed(sources, forbid, scripts) == through


@pytest.mark.parametrize(
    "values, held",
    [
        (["DENY"], True),
        (["sameorigin"], True),
        (["DENY", "DENY"], True),  # the same value twice is one value
        (["DENY, SAMEORIGIN"], True),  # conflicting values block framing (HTML standard)
        (["ALLOWALL"], False),
        (["foo, bar"], False),
        ([], False),
    ],
)
def test_x_frame_options_as_the_html_standard_reads_it(values, held):
    headers = CIMultiDict(("X-Frame-Options", v) for v in values)
    verdict = judge(SecurityHeaders(frame_protection=True), headers, https=True)
    assert bool(verdict.held) is held, verdict.problems


def test_age_in_the_unit_people_use():
    assert [age(s) for s in (0, 60, 7200, 86400, 15552000, 31536000)] == [
        "0 s",
        "60 s",
        "2 h",
        "24 h",
        "180 d",
        "365 d",
    ]


def test_policy_defaults():
    assert HstsPolicy().min_max_age == 180 * 86400 and HstsPolicy().include_subdomains
    assert CspPolicy().directives == ("default-src", "script-src")


@pytest.mark.parametrize(
    "policy, message",
    [
        ({}, "http.security_headers must ask for at least one of hsts, csp, frame_protection"),
        ({"hsts": "yes"}, 'http.security_headers.hsts must be true or false (got "yes")'),
        (
            {"hsts": {"min_max_age": "half a year"}},
            "http.security_headers.hsts.min_max_age must be a duration",
        ),
        (
            {"csp": {"directives": ["frame-ancestors"]}},
            "http.security_headers.csp.directives must be fetch directives such as "
            'default-src, script-src (got "frame-ancestors"; framing is frame_protection\'s '
            "question)",
        ),
        ({"nosniff": True, "hsst": True}, "http.security_headers.hsst is not a known field"),
    ],
)
def test_bad_policies_are_located(tmp_path, policy, message):
    line = config_error({"http": {"url": "https://a/", "security_headers": policy}}, tmp_path)
    assert line.startswith(f"config.yaml: categories[0].items[0] (T-001): {message}")
