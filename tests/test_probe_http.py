"""HTTP probe against a real aiohttp application on loopback (plain HTTP and TLS via trustme)."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Iterator

import pytest
import trustme
from aiohttp import web
from support.nginx import Nginx, certificate, nginx
from support.probing import checklist, config_error, run
from support.servers import closed_port

from exporter.config import ConfigError
from probes import http as http_kind
from probes.result import Status

TOKEN = "tok-3f9a1c77e2b04d5a"
SECURE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Frame-Options": "DENY",
}


def make_app() -> web.Application:
    hits = {"limited": 0}

    async def health(request):
        return web.json_response(
            {"status": "ok", "db": {"latency_ms": 12}, "checks": ["db", "redis"]},
            headers=SECURE_HEADERS,
        )

    async def leaky(request):
        return web.Response(
            text="hi", headers={"X-Powered-By": "Express", "Server": "nginx/1.18.0"}
        )

    async def login(request):
        response = web.Response(text="ok")
        response.headers.add("Set-Cookie", "session=abc; Path=/; Secure; HttpOnly; SameSite=Lax")
        response.headers.add("Set-Cookie", "csrftoken=x; Path=/; Secure")
        return response

    async def private(request):
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401)
        return web.json_response({"user": "probe"})

    async def basic(request):
        want = "Basic " + base64.b64encode(f"ops:{TOKEN}".encode()).decode()
        return web.Response(status=200 if request.headers.get("Authorization") == want else 401)

    async def api_key(request):
        return web.Response(status=200 if request.headers.get("X-Api-Key") == TOKEN else 403)

    async def cors(request):
        mode = request.match_info["mode"]
        headers = {}
        if mode == "reflect":
            headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "")
        elif mode == "star-credentials":
            headers.update(
                {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}
            )
        elif mode == "star":
            headers["Access-Control-Allow-Origin"] = "*"
        elif mode == "allowlist":
            headers["Access-Control-Allow-Origin"] = "https://app.example"
        return web.Response(text="", headers=headers)

    async def limited(request):
        hits["limited"] += 1
        return web.Response(status=429 if hits["limited"] > 5 else 200)

    async def unlimited(request):
        return web.Response(text="ok")

    async def plain(request):
        return web.Response(text="status: ok", headers={"X-Frame-Options": "DENY"})

    async def status(request):
        return web.Response(status=int(request.match_info["code"]), text="nope")

    async def slow(request):
        await asyncio.sleep(float(request.query.get("s", "1")))
        return web.Response(text="late")

    async def odd_charset(request):
        return web.Response(
            body=b"status: ok", headers={"Content-Type": "text/plain; charset=utf8mb4"}
        )

    async def redirect(request):
        status = int(request.query.get("status", "301"))
        target = request.query.get("to", "https://app.example/")
        return web.Response(status=status, headers={"Location": target})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/leaky", leaky)
    app.router.add_get("/login", login)
    app.router.add_get("/private", private)
    app.router.add_get("/basic", basic)
    app.router.add_get("/api-key", api_key)
    app.router.add_get("/cors/{mode}", cors)
    app.router.add_get("/limited", limited)
    app.router.add_get("/unlimited", unlimited)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/ok", plain)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/odd-charset", odd_charset)
    return app


async def serve(ssl_ctx: ssl.SSLContext | None = None):
    runner = web.AppRunner(make_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"{'https' if ssl_ctx else 'http'}://127.0.0.1:{port}"


@pytest.fixture
async def app():
    runner, url = await serve()
    yield url
    await runner.cleanup()


async def test_a_healthy_endpoint_passes_with_its_status_and_time(app, tmp_path):
    result = await run({"http": {"url": f"{app}/ok", "body_regex": "status: ok"}}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary.startswith("status 200 in ")
    assert result.evidence["status"] == 200


async def test_a_wrong_status_shows_observed_and_expected(app, tmp_path):
    unavailable = await run({"http": {"url": f"{app}/status/503"}}, tmp_path)
    expected = await run({"http": {"url": f"{app}/status/404", "expect_status": [404]}}, tmp_path)
    assert (unavailable.status, unavailable.summary) == (Status.FAIL, "status 503, expected 2xx")
    assert expected.status is Status.PASS


async def test_a_429_the_item_did_not_ask_for_cannot_judge(app, tmp_path):
    """429 says the target's rate limit stopped the look (another item's burst may have spent
    it), not what the item asks; an item that expects 429 is judged as usual."""
    limited = await run({"http": {"url": f"{app}/status/429"}}, tmp_path)
    preflight = await run(
        {"http": {"url": f"{app}/status/429", "expect_status": [200, 400, 403]}}, tmp_path
    )
    asked = await run({"http": {"url": f"{app}/status/429", "expect_status": [429]}}, tmp_path)
    for result in (limited, preflight):
        assert (result.status, result.error) == (Status.FAIL, True), result.summary
        assert result.summary == f"cannot judge {app}/status/429: rate limited by the target (429)"
    assert (asked.status, asked.error) == (Status.PASS, False), asked.summary


async def test_a_charset_python_does_not_know_reads_as_utf8(app, tmp_path):
    result = await run(
        {"http": {"url": f"{app}/odd-charset", "body_regex": "status: ok"}}, tmp_path
    )
    assert (result.status, result.error) == (Status.PASS, False)


async def test_a_body_that_does_not_match(app, tmp_path):
    result = await run({"http": {"url": f"{app}/ok", "body_regex": "healthy"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.startswith('body does not match /healthy/; it begins "'), result.summary


async def test_a_slow_answer_fails_the_latency_bound(app, tmp_path):
    result = await run({"http": {"url": f"{app}/slow?s=0.3", "max_latency": "100ms"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.endswith("expected < 100ms")


async def test_redirects_are_followed_unless_told_not_to(app, tmp_path):
    local = f"{app}/redirect?status=302&to=/ok"
    followed = await run({"http": {"url": local}}, tmp_path)
    kept = await run({"http": {"url": local, "follow_redirects": False}}, tmp_path)
    assert followed.status is Status.PASS
    assert (kept.status, kept.summary) == (Status.FAIL, "status 302, expected 2xx")


async def test_a_refused_connection_fails(tmp_path):
    result = await run({"http": {"url": f"http://{closed_port()}/"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "request failed (connection refused), expected 2xx",
    )


async def test_security_headers_present_and_absent(app, tmp_path):
    ok = await run(
        {
            "http": {
                "url": f"{app}/health",
                "headers_present": list(SECURE_HEADERS),
                "header_patterns": {"Strict-Transport-Security": r"max-age=\d{7,}"},
            }
        },
        tmp_path,
    )
    leaky = await run(
        {"http": {"url": f"{app}/leaky", "headers_absent": ["X-Powered-By", "Server"]}}, tmp_path
    )
    # A PASS says what was verified, not how many checks there were.
    assert ok.status is Status.PASS
    assert ok.summary.endswith(
        " ms; Content-Security-Policy, Strict-Transport-Security and X-Frame-Options set; "
        'Strict-Transport-Security: "max-age=63072000; includeSubDomains"'
    )
    assert leaky.status is Status.FAIL
    assert leaky.summary == (
        "headers that must be absent are sent: X-Powered-By: Express; Server: nginx/1.18.0"
    )


async def test_some_headers_missing_is_partial_all_missing_is_fail(app, tmp_path):
    result = await run(
        {
            "http": {
                "url": f"{app}/health",
                "headers_present": ["X-Frame-Options", "Permissions-Policy"],
            }
        },
        tmp_path,
    )
    none = await run(
        {"http": {"url": f"{app}/leaky", "headers_present": ["Content-Security-Policy"]}}, tmp_path
    )
    assert result.status is Status.PARTIAL
    assert result.summary == "missing headers Permissions-Policy (1 of 2 present)"
    assert none.status is Status.FAIL


async def test_cookie_flags(app, tmp_path):
    session = await run(
        {
            "http": {
                "url": f"{app}/login",
                "cookies": ["session"],
                "cookie_flags": ["Secure", "HttpOnly", "SameSite"],
            }
        },
        tmp_path,
    )
    every = await run(
        {"http": {"url": f"{app}/login", "cookie_flags": ["Secure", "HttpOnly", "SameSite"]}},
        tmp_path,
    )
    none = await run({"http": {"url": f"{app}/health", "cookie_flags": ["Secure"]}}, tmp_path)
    assert session.status is Status.PASS
    assert every.status is Status.PARTIAL
    assert every.summary == "cookies csrftoken without HttpOnly, SameSite"
    assert none.status is Status.FAIL
    assert none.summary == "no Set-Cookie in the response, expected cookies with Secure"


async def test_json_assertions(app, tmp_path):
    def probe(*asserts):
        return {"http": {"url": f"{app}/health", "json": list(asserts)}}

    ok = await run(
        probe(
            {"path": "status", "op": "==", "value": "ok"},
            {"path": "db.latency_ms", "expect": "< 100"},
            {"path": "checks", "op": "contains", "value": "redis"},
            {"path": "checks", "op": "length", "value": ">= 2"},
        ),
        tmp_path,
    )
    some = await run(
        probe(
            {"path": "status", "op": "==", "value": "ok"},
            {"path": "db.latency_ms", "op": "<", "value": 10},
        ),
        tmp_path,
    )
    none = await run(probe({"path": "status", "op": "!=", "value": "ok"}), tmp_path)
    assert ok.status is Status.PASS
    assert ok.summary.endswith(
        ' ms; status: "ok"; db.latency_ms: 12, less than 100; checks: "redis" among them; '
        'checks: 2 ("db", "redis"), at least 2'
    )
    assert some.status is Status.PARTIAL
    assert some.summary == "db.latency_ms: 12, expected less than 10"
    assert none.status is Status.FAIL
    assert none.summary == 'status: "ok", expected not "ok"'


async def test_credentials_are_sent_and_never_shown(app, tmp_path, monkeypatch):
    (tmp_path / "token").write_text(TOKEN + "\n")
    env = {"API_TOKEN": TOKEN}
    bearer = await run(
        {"http": {"url": f"{app}/private", "bearer_token": "${API_TOKEN}"}}, tmp_path, env=env
    )
    from_file = await run(
        {"http": {"url": f"{app}/private", "bearer_token_file": "token"}}, tmp_path
    )
    basic = await run(
        {
            "http": {
                "url": f"{app}/basic",
                "basic_auth": {"username": "ops", "password": "${API_TOKEN}"},
            }
        },
        tmp_path,
        env=env,
    )
    header = await run(
        {"http": {"url": f"{app}/api-key", "secret_headers": {"X-Api-Key": "${API_TOKEN}"}}},
        tmp_path,
        env=env,
    )
    without = await run({"http": {"url": f"{app}/private"}}, tmp_path)
    for result in (bearer, from_file, basic, header):
        assert result.status is Status.PASS, result.summary
        assert TOKEN not in repr(result)
    assert without.summary == "status 401, expected 2xx"


async def test_cors(app, tmp_path):
    def probe(mode):
        return {"http": {"url": f"{app}/cors/{mode}", "cors_origin": "https://evil.example"}}

    results = {
        m: await run(probe(m), tmp_path)
        for m in ("reflect", "star-credentials", "star", "allowlist", "none")
    }
    assert results["reflect"].status is Status.FAIL
    assert results["reflect"].summary == (
        "CORS reflects the foreign origin https://evil.example, expected it refused"
    )
    assert results["star-credentials"].summary == (
        "CORS allows * with credentials, expected a list of origins"
    )
    assert results["star"].status is Status.PARTIAL
    assert results["allowlist"].status is Status.PASS
    assert results["none"].status is Status.PASS


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> Iterator[Nginx]:
    """nginx as a site's edge: app.test over TLS, and plain-http servers that redirect well
    or badly. Names in Location headers are reached through ``server_name`` (app.test) or are
    never followed (other hosts), so no test asks a DNS server."""
    workdir = tmp_path_factory.mktemp("edge")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
    chain, key = certificate(ca, workdir, "app.test", "www.app.test")
    dead = closed_port().rsplit(":", 1)[1]
    servers = f"""
server {{
    listen 127.0.0.1:@HTTPS@ ssl;
    server_name app.test;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    location = /downgrade {{ return 301 http://app.test:@PLAIN@/; }}
    location = /www {{ return 301 https://www.app.test/; }}
    location / {{ return 200 "home\n"; }}
}}
server {{ listen 127.0.0.1:@TO_HTTPS@; return 301 https://app.test:@HTTPS@$request_uri; }}
server {{ listen 127.0.0.1:@TEMPORARY@; return 302 https://app.test:@HTTPS@$request_uri; }}
server {{ listen 127.0.0.1:@EVIL@; return 301 https://evil.example$request_uri; }}
server {{ listen 127.0.0.1:@PLAIN@; return 200 "welcome\n"; }}
server {{ listen 127.0.0.1:@HTTP_HOP@; return 301 http://app.test:@TO_HTTPS@$request_uri; }}
server {{ listen 127.0.0.1:@OTHER_HTTP@; return 301 http://other.example/; }}
server {{ listen 127.0.0.1:@DOWNGRADE@; return 301 https://app.test:@HTTPS@/downgrade; }}
server {{ listen 127.0.0.1:@DEAD@; return 301 https://app.test:{dead}/; }}
server {{ listen 127.0.0.1:@CANONICAL@; return 301 https://app.test:@HTTPS@/www; }}
server {{ listen 127.0.0.1:@NO_LOCATION@; return 301; }}
"""
    ports = [
        "HTTPS", "TO_HTTPS", "TEMPORARY", "EVIL", "PLAIN", "HTTP_HOP", "OTHER_HTTP",
        "DOWNGRADE", "DEAD", "CANONICAL", "NO_LOCATION",
    ]  # fmt: skip
    with nginx(workdir, servers, ports) as server:
        yield server


async def redirect(edge: Nginx, name: str, **extra):
    probe = {
        "http": {
            "url": edge.url(name),
            "https_redirect": True,
            "server_name": "app.test",
            "ca_file": str(edge.workdir / "ca.pem"),
            **extra,
        }
    }
    return await run(probe, edge.workdir)


async def test_https_redirect_to_the_same_host_that_answers_passes(edge):
    result = await redirect(edge, "TO_HTTPS")
    https = edge.ports["HTTPS"]
    assert (result.status, result.summary) == (
        Status.PASS,
        f"status 301 to https://app.test:{https}/ (port {https}, not 443), answered 200",
    )
    assert result.evidence["chain"] == [
        f"301 http://app.test:{edge.ports['TO_HTTPS']}/",
        f"200 https://app.test:{https}/",
    ]


@pytest.mark.parametrize(
    "server, status, summary",
    [
        ("TEMPORARY", Status.PARTIAL, "answered 200; expected a permanent redirect (301 or 308)"),
        ("EVIL", Status.FAIL, "redirects to https://evil.example/ (another host), expected "),
        ("PLAIN", Status.FAIL, "status 200 over plain http, expected a redirect to https://"),
        ("OTHER_HTTP", Status.FAIL, "redirects to http://other.example/ over plain http"),
        ("DOWNGRADE", Status.FAIL, "/downgrade, then back to plain http at http://app.test:"),
        ("DEAD", Status.FAIL, "which did not answer (connection refused), expected an answer"),
        ("NO_LOCATION", Status.FAIL, "status 301 without a Location, expected a redirect"),
        ("HTTP_HOP", Status.PASS, "answered 200"),  # same host over http first, then https
        ("CANONICAL", Status.PASS, "then to https://www.app.test/ (another host, not followed)"),
    ],
)
async def test_https_redirect_chain(edge, server, status, summary):
    result = await redirect(edge, server)
    assert result.status is status, result.summary
    assert summary in result.summary


async def test_https_redirect_without_server_name_compares_the_url_host(edge):
    # Reached as 127.0.0.1, the site names itself app.test: to the probe, another host.
    result = await redirect(edge, "TO_HTTPS", server_name="")
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"redirects to https://app.test:{edge.ports['HTTPS']}/ ")


async def test_https_redirect_judges_no_certificate_with_verify_off(edge, tmp_path):
    probe = {"http": {"url": edge.url("TO_HTTPS"), "https_redirect": True}}
    untrusted = await run({"http": {**probe["http"], "server_name": "app.test"}}, tmp_path)
    unverified = await run(
        {"http": {**probe["http"], "server_name": "app.test", "verify": False}}, tmp_path
    )
    assert untrusted.status is Status.FAIL
    assert "certificate not trusted" in untrusted.summary
    assert unverified.status is Status.PASS, unverified.summary


async def test_server_name_is_host_and_sni_for_response_checks(edge):
    probe = {
        "url": edge.url("HTTPS", "https"),
        "server_name": "app.test",
        "ca_file": str(edge.workdir / "ca.pem"),
        "body_regex": "^home",
    }
    result = await run({"http": probe}, edge.workdir)
    by_address = await run({"http": {**probe, "server_name": ""}}, edge.workdir)
    assert result.status is Status.PASS, result.summary
    assert by_address.status is Status.FAIL  # the certificate names app.test, not 127.0.0.1
    assert "certificate" in by_address.summary


async def test_rate_limit_burst(app, tmp_path):
    limited = await run(
        {"http": {"url": f"{app}/limited", "rate_limit": {"requests": 50}}}, tmp_path
    )
    unlimited = await run(
        {"http": {"url": f"{app}/unlimited", "rate_limit": {"requests": 20}}}, tmp_path
    )
    assert limited.status is Status.PASS
    assert limited.summary.startswith("status 429 after ")
    assert limited.evidence["sent"] <= 50
    assert unlimited.status is Status.FAIL
    assert unlimited.summary == "no 429 in 20 requests, expected the rate limit to answer 429"
    assert unlimited.evidence["sent"] == 20


async def test_tls_with_ca_file(tmp_path):
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    runner, url = await serve(ctx)
    try:
        trusted = await run({"http": {"url": f"{url}/health", "ca_file": "ca.pem"}}, tmp_path)
        untrusted = await run({"http": {"url": f"{url}/health"}}, tmp_path)
    finally:
        await runner.cleanup()
    assert trusted.status is Status.PASS
    assert untrusted.status is Status.FAIL
    assert untrusted.summary.startswith("request failed (certificate not trusted: ")


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"url": "http://a/", "expect_status": "200"},
            'http.expect_status must be a list of integers (got "200")',
        ),
        (
            {"url": "http://a/", "json": [{"path": "a[", "op": "==", "value": 1}]},
            "http.json[0].path is not a valid JMESPath expression",
        ),
        (
            {"url": "http://a/", "json": [{"path": "a", "op": "=~", "value": 1}]},
            'http.json[0].op must be one of ==, !=, <, <=, >, >=, contains, length (got "=~")',
        ),
        (
            {"url": "http://a/", "cookie_flags": ["Strict"]},
            'http.cookie_flags must be among Secure, HttpOnly, SameSite (got "Strict")',
        ),
        (
            {"url": "https://a/", "https_redirect": True},
            'http.https_redirect needs an http:// url to send the request to (got "https://a/")',
        ),
        (
            {"url": "http://a/", "rate_limit": {"requests": 5000}},
            "http.rate_limit.requests must be at most 1000 (got 5000)",
        ),
        (
            {"url": "http://a/", "basic_auth": {"password": "long-enough"}},
            "http.basic_auth.username is required",
        ),
        (
            {"url": "http://a/", "secret_headers": {"X-Api-Key": ["s3cr3t-value"]}},
            "http.secret_headers must be a mapping of header names to values such as ${API_KEY}",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    line = config_error({"http": probe}, tmp_path)
    assert line.startswith(f"config.yaml: categories[0].items[0] (T-001): {message}")
    assert "s3cr3t" not in line


# A valid value of each check option, to write beside a probe that sends its own requests.
CHECK_SAMPLES: dict[str, object] = {
    "expect_status": [200, 429],
    "max_latency": "1s",
    "headers_present": ["X-RateLimit-Limit"],
    "headers_absent": ["Server"],
    "header_patterns": {"X-RateLimit-Limit": "^[0-9]+$"},
    "cookie_flags": ["Secure"],
    "cookies": ["sid"],
    "body_regex": "ok",
    "json": [{"path": "status", "op": "==", "value": "ok"}],
    "cors_origin": "https://evil.example",
    "security_headers": {"nosniff": True},
}


def test_every_check_option_has_a_sample():
    assert sorted(CHECK_SAMPLES) == sorted(http_kind.CHECK_OPTIONS)


@pytest.mark.parametrize(
    ("mode", "sends"),
    [
        ({"https_redirect": True}, "https_redirect: a redirect check sends its own request"),
        ({"rate_limit": {"requests": 10}}, "rate_limit: a rate-limit check sends its own requests"),
    ],
)
@pytest.mark.parametrize("option", sorted(CHECK_SAMPLES))
def test_check_options_beside_a_probe_of_its_own_requests_are_refused(
    tmp_path, mode, sends, option
):
    """They were read, checked and dropped: ``validate`` said valid and the item never asked."""
    probe = {"url": "http://a/", **mode, option: CHECK_SAMPLES[option]}
    if option == "cookies":
        probe["cookie_flags"] = ["Secure"]
    with pytest.raises(ConfigError) as info:
        checklist({"http": probe}, tmp_path)
    expected = [
        f"config.yaml: categories[0].items[0] (T-001): http.{key} is not used with {sends}; "
        "make it an item of its own"
        for key in sorted(k for k in probe if k in CHECK_SAMPLES)
    ]
    assert sorted(info.value.errors) == expected


@pytest.mark.parametrize(
    "header",
    [
        "sid=abc; Partitioned; Secure; HttpOnly; SameSite=None",
        "sid=abc; Priority=High; Secure; HttpOnly; SameSite=Lax",
        'sid={"a":1}; Secure; HttpOnly; SameSite=Lax',
        "sid=abc; secure; httponly; samesite=strict",
    ],
)
def test_cookie_flags_read_from_any_valid_set_cookie(header):
    from probes.http import cookie_flags

    assert cookie_flags(header) == ("sid", {"Secure", "HttpOnly", "SameSite"})


def test_cookie_flags_samesite_needs_a_value():
    from probes.http import cookie_flags

    assert cookie_flags("sid=x; Path=/; SameSite") == ("sid", set())


async def test_credentials_stay_with_the_origin_on_redirect(tmp_path):
    """A redirect to another origin gets neither secret_headers, headers nor auth."""
    from aiohttp import web

    seen: dict[str, str] = {}

    async def landing(request):
        seen.update(request.headers)
        return web.Response(text="ok")

    other = web.Application()
    other.router.add_get("/", landing)
    runner = web.AppRunner(other, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.2", 0)  # another loopback address: another origin
    await site.start()
    other_url = f"http://127.0.0.2:{site._server.sockets[0].getsockname()[1]}/"

    async def first(request):
        assert request.headers["X-Api-Key"] == "k3y-value"
        raise web.HTTPFound(other_url)

    origin = web.Application()
    origin.router.add_get("/", first)
    from support.servers import serve_app

    try:
        async with serve_app(origin) as base:
            result = await run(
                {
                    "http": {
                        "url": base + "/",
                        "headers": {"X-Plain": "p"},
                        "secret_headers": {"X-Api-Key": "${LEAK_KEY}"},
                        "bearer_token": "${LEAK_TOKEN}",
                    }
                },
                tmp_path,
                env={"LEAK_KEY": "k3y-value", "LEAK_TOKEN": "t0ken-value"},
            )
    finally:
        await runner.cleanup()
    assert result.status is Status.PASS, result.summary
    assert seen and not {"X-Api-Key", "Authorization", "X-Plain"} & set(seen)


async def test_named_json_assertions_speak_the_names(app, tmp_path):
    """A ``name`` says what the value is; a failing list shows its count and members."""
    probe = {
        "http": {
            "url": f"{app}/health",
            "json": [
                {"name": "database latency (ms)", "path": "db.latency_ms", "expect": "< 100"},
                {"name": "dependencies checked", "path": "checks", "op": "length", "value": 0},
            ],
        }
    }
    result = await run(probe, tmp_path)
    assert result.status is Status.PARTIAL
    assert result.summary == 'dependencies checked: 2 ("db", "redis"), expected none'
    probe["http"]["json"][1]["value"] = ">= 2"
    result = await run(probe, tmp_path)
    assert result.status is Status.PASS
    assert result.summary.endswith(
        " ms; database latency (ms): 12, less than 100; dependencies checked: 2 "
        '("db", "redis"), at least 2'
    )


async def test_a_pass_names_each_check_it_made(app, tmp_path):
    """Not "3 checks pass": what held, check by check."""
    result = await run(
        {
            "http": {
                "url": f"{app}/login",
                "headers_absent": ["X-Powered-By"],
                "cookies": ["session"],
                "cookie_flags": ["Secure", "HttpOnly"],
                "cors_origin": "https://evil.example",
                "body_regex": {"name": "the word ok", "pattern": "^ok$"},
            }
        },
        tmp_path,
    )
    assert result.status is Status.PASS, result.summary
    assert result.summary.endswith(
        " ms; body has the word ok; X-Powered-By not sent; cookie session with Secure, "
        "HttpOnly; foreign origin https://evil.example refused (no Access-Control-Allow-Origin)"
    )
