"""PromQL probe against a real Prometheus that scrapes a small target served by this test."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
from aiohttp import web
from support.probing import config_error, run, silent_server
from support.procs import free_port, http_get, start_prometheus, wait_until

from probes.result import Status

METRICS = b"""\
# HELP test_latency_seconds p95 latency by route.
# TYPE test_latency_seconds gauge
test_latency_seconds{route="fast"} 0.4
test_latency_seconds{route="slow"} 1.5
# HELP test_error_ratio Errors per request (NaN: no requests).
# TYPE test_error_ratio gauge
test_error_ratio NaN
"""


class Target(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(METRICS)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    target = ThreadingHTTPServer(("127.0.0.1", free_port()), Target)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    port = target.server_address[1]
    config = (
        f"global: {{scrape_interval: 1s}}\nscrape_configs:\n"
        f"- job_name: app\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    proc, url = start_prometheus(tmp_path_factory.mktemp("prom"), config)

    def scraped() -> bool:
        q = urllib.parse.quote("test_error_ratio")
        status, body = http_get(f"{url}/api/v1/query?query={q}")
        return status == 200 and bool(json.loads(body)["data"]["result"])

    try:
        wait_until(scraped, 30, "first scrape")
        yield url
    finally:
        proc.stop()
        target.shutdown()


async def test_sample_meeting_expectation_passes(prometheus, tmp_path):
    result = await run(
        {
            "promql": {
                "url": prometheus,
                "expect": "< 1",
                "query": 'max by (route) (test_latency_seconds{route="fast"})',
            }
        },
        tmp_path,
    )
    assert result.status is Status.PASS
    assert result.summary == '{route="fast"} 0.4, expected < 1'


async def test_some_series_failing_is_partial(prometheus, tmp_path):
    result = await run(
        {
            "promql": {
                "url": prometheus,
                "expect": {"op": "<", "value": 1},
                "query": "max by (route) (test_latency_seconds)",
            }
        },
        tmp_path,
    )
    assert result.status is Status.PARTIAL
    assert result.summary == '1 of 2 series fail: {route="slow"} 1.5, expected < 1'
    assert result.evidence["series_count"] == 2


async def test_every_series_failing_fails(prometheus, tmp_path):
    result = await run(
        {"promql": {"url": prometheus, "expect": "< 1", "query": "max(test_latency_seconds)"}},
        tmp_path,
    )
    assert result.status is Status.FAIL
    assert result.summary == "{} 1.5, expected < 1"


async def test_targets_up_with_min_series(prometheus, tmp_path):
    ok = await run({"promql": {"url": prometheus, "query": "up == 1", "min_series": 1}}, tmp_path)
    short = await run(
        {"promql": {"url": prometheus, "query": "up == 1", "min_series": 2}}, tmp_path
    )
    assert ok.status is Status.PASS and ok.summary == "1 series, expected at least 1"
    assert short.status is Status.FAIL and short.summary == "1 series, expected at least 2"


async def test_no_data_has_its_own_summary(prometheus, tmp_path):
    result = await run(
        {"promql": {"url": prometheus, "query": "metric_nobody_exports", "expect": "< 1"}}, tmp_path
    )
    assert result.status is Status.FAIL
    assert result.summary == "no data: the query returned no series, expected at least 1"


async def test_nan_has_its_own_summary(prometheus, tmp_path):
    result = await run(
        {"promql": {"url": prometheus, "query": "test_error_ratio", "expect": "< 0.001"}}, tmp_path
    )
    assert result.status is Status.FAIL
    assert result.summary == (
        "NaN: every sample is not a number (no traffic behind a ratio?), expected < 0.001"
    )


async def test_query_error_has_its_own_summary(prometheus, tmp_path):
    result = await run({"promql": {"url": prometheus, "query": "sum(rate(x[5m])"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.startswith("query error (bad_data): ")
    assert "parse error" in result.summary


async def test_credentials_reach_prometheus_behind_an_auth_proxy(prometheus, tmp_path):
    """Basic auth and bearer tokens as a reverse proxy in front of Prometheus checks them."""
    accepted = {"Basic " + base64.b64encode(b"ops:pw-8c1e-2d").decode(), "Bearer tok-51f0"}

    async def proxy(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") not in accepted:
            return web.Response(status=401, text="Unauthorized")
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{prometheus}{request.path}", data=await request.post()) as upstream,
        ):
            return web.Response(
                status=upstream.status, body=await upstream.read(), content_type="application/json"
            )

    app = web.Application()
    app.router.add_post("/api/v1/query", proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    env = {"PROM_PASSWORD": "pw-8c1e-2d", "PROM_TOKEN": "tok-51f0"}
    try:
        basic = await run(
            {
                "promql": {
                    "url": url,
                    "query": "up == 1",
                    "basic_auth": {"username": "ops", "password": "${PROM_PASSWORD}"},
                }
            },
            tmp_path,
            env=env,
        )
        bearer = await run(
            {"promql": {"url": url, "query": "up == 1", "bearer_token": "${PROM_TOKEN}"}},
            tmp_path,
            env=env,
        )
        anonymous = await run({"promql": {"url": url, "query": "up == 1"}}, tmp_path)
    finally:
        await runner.cleanup()
    assert basic.status is Status.PASS and bearer.status is Status.PASS
    assert "pw-8c1e" not in repr(basic) and "tok-51f0" not in repr(bearer)
    assert anonymous.status is Status.FAIL
    assert anonymous.summary == f"Prometheus answered status 401 without JSON at {url}/api/v1/query"


async def test_silent_server_times_out(tmp_path):
    async with silent_server() as port:
        result = await run(
            {"promql": {"url": f"http://127.0.0.1:{port}", "query": "up"}}, tmp_path, timeout="1s"
        )
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == (
        f"Prometheus at http://127.0.0.1:{port}: no answer within the 1s timeout; cannot judge"
    )


def answering(body: bytes) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/v1/query", answer)
    return app


def api_answer(series: int) -> bytes:
    """An instant-query answer in Prometheus's wire format, with ``series`` samples of 1."""
    result = [
        {
            "metric": {"__name__": "up", "instance": f"host-{n:05d}:9100", "job": "node"},
            "value": [1700000000.0, "1"],
        }
        for n in range(series)
    ]
    return json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": result}}
    ).encode()


@pytest.mark.parametrize("series", [10, 2000])
async def test_large_answers_are_read_whole(tmp_path, series):
    """Answers beyond one network read (about 64 KiB) are read up to the cap, not cut short."""
    from support.servers import serve_app

    async with serve_app(answering(api_answer(series))) as base:
        result = await run({"promql": {"url": base, "query": "up", "expect": "== 1"}}, tmp_path)
    assert (result.status, result.summary) == (Status.PASS, f"all {series} series, expected == 1")


async def test_answer_over_the_cap_says_so(tmp_path, monkeypatch):
    from support.servers import serve_app

    from probes import promql

    monkeypatch.setattr(promql, "RESPONSE_CAP", 64 * 1024)
    async with serve_app(answering(api_answer(2000))) as base:
        result = await run({"promql": {"url": base, "query": "up"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "the answer is larger than 64 KiB: narrow the query (up)",
    )


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"url": "http://p:9090", "query": "up", "expect": "~ 1"},
            "promql.expect must start with one of ==, !=, <, <=, >, >=, "
            'contains, length (got "~ 1")',
        ),
        (
            {"url": "p:9090", "query": "up"},
            'promql.url must start with http:// or https:// (got "p:9090")',
        ),
        ({"url": "http://p:9090"}, "promql.query is required"),
        (
            {
                "url": "http://p:9090",
                "query": "up",
                "bearer_token": "token-9a7e",
                "basic_auth": {"username": "u"},
            },
            "promql.bearer_token and basic_auth are both set: give only one",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"promql": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )
