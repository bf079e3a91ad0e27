"""PromQL probe against a real Prometheus that scrapes a small target served by this test."""

from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support.probing import config_error, run
from support.procs import free_port, http_get, require, start_prometheus, wait_until

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
    scrapes = 0

    def do_GET(self):
        # Requests answered 200, growing at each scrape; no 5xx answered, so no 5xx series.
        Target.scrapes += 1
        requests = (
            "# TYPE test_requests_total counter\n"
            f'test_requests_total{{status="200"}} {Target.scrapes * 10}\n'
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(METRICS + requests.encode())

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
        # two scrapes at least: rate() has something to measure
        q = urllib.parse.quote("rate(test_requests_total[1m]) > 0")
        status, body = http_get(f"{url}/api/v1/query?query={q}")
        return status == 200 and bool(json.loads(body)["data"]["result"])

    try:
        wait_until(scraped, 30, "two scrapes")
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
    assert result.summary == '0.4 (route="fast"), expected < 1'


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
    assert result.summary == '1 of 2 series fail: 1.5 (route="slow"), expected < 1'
    assert result.evidence["series_count"] == 2


async def test_every_series_failing_fails(prometheus, tmp_path):
    result = await run(
        {"promql": {"url": prometheus, "expect": "< 1", "query": "max(test_latency_seconds)"}},
        tmp_path,
    )
    assert result.status is Status.FAIL
    assert result.summary == "1.5, expected < 1"


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
    assert result.summary == f"no data from {prometheus} for metric_nobody_exports"


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
    named = ", ".join(f'up 1 (instance="host-{n:05d}:9100", job="node")' for n in range(3))
    assert (result.status, result.summary) == (
        Status.PASS,
        f"all {series} series pass: {named} and {series - 3} more, expected == 1",
    )


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


# -- what no series means -------------------------------------------------------------------

# P-004's ratio as the shipped config writes it: no 5xx series is an error rate of 0.
ERROR_RATIO = (
    '(sum(rate(test_requests_total{{job="{job}",status=~"5.."}}[1m])) or vector(0))'
    ' / sum(rate(test_requests_total{{job="{job}"}}[1m]))'
)


async def test_no_5xx_series_at_all_is_an_error_rate_of_zero(prometheus, tmp_path):
    probe = {
        "url": prometheus,
        "query": ERROR_RATIO.format(job="app"),
        "expect": "< 0.001",
        "summary": {"name": "error rate", "unit": "percent"},
    }
    result = await run({"promql": probe}, tmp_path)
    assert (result.status, result.summary) == (Status.PASS, "error rate 0%, expected < 0.1%")
    # Without `or vector(0)` the numerator is empty, and so is the ratio: the false FAIL.
    bare = probe["query"].replace(" or vector(0)", "")
    result = await run({"promql": {**probe, "query": bare}}, tmp_path)
    assert result.status is Status.FAIL and result.summary.startswith("no data from ")


async def test_no_traffic_at_all_is_no_data_not_an_error_rate_of_zero(prometheus, tmp_path):
    """`or vector(0)` on the numerator only: with no requests at all the ratio stays empty."""
    query = ERROR_RATIO.format(job="nobody")
    result = await run(
        {"promql": {"url": prometheus, "query": query, "expect": "< 0.001"}}, tmp_path
    )
    assert (result.status, result.summary) == (
        Status.FAIL,
        f"no data from {prometheus} for {query[:99]}…",
    )


async def test_empty_zero_compares_nothing_counted_as_zero(prometheus, tmp_path):
    probe = {
        "url": prometheus,
        "query": "sum(increase(test_errors_total[1m]))",
        "expect": "< 1",
        "empty": "zero",
    }
    result = await run({"promql": probe}, tmp_path)
    assert (result.status, result.summary) == (
        Status.PASS,
        "0 (no series: read as 0), expected < 1",
    )
    result = await run({"promql": {**probe, "expect": "> 0"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "0 (no series: read as 0), expected > 0",
    )


async def test_empty_pass_for_a_query_that_lists_what_is_wrong(prometheus, tmp_path):
    probe = {"url": prometheus, "query": "test_latency_seconds > 1", "empty": "pass"}
    result = await run({"promql": probe}, tmp_path)
    assert result.status is Status.PASS  # one route is slower than 1 s: a series, and no expect
    result = await run({"promql": {**probe, "query": "test_latency_seconds > 100"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.PASS,
        f"no series from {prometheus} for test_latency_seconds > 100, as none is fine "
        "(empty: pass)",
    )


async def test_zero_over_a_window_needs_the_window_covered(prometheus, tmp_path):
    """No error series over an hour reads as 0 only when an hour of data is there."""
    probe = {
        "url": prometheus,
        "query": "sum(increase(test_errors_total[1h]))",
        "expect": "< 1",
        "empty": "zero",
        "cover": {"window": "1h", "series": 'up{job="app"}'},
    }
    result = await run({"promql": probe}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    # the test's Prometheus has scraped for seconds (none of the 36 s steps, or a minute)
    assert re.fullmatch(
        r"cannot judge: data covers (none of the 1h window \(looked at every 36s\) from "
        r'http://127\.0\.0\.1:\d+ for up\{job="app"\}|only \dm of the 1h window .*)',
        result.summary,
    ), result.summary


# -- summaries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, extra, status, summary",
    [
        (
            'label_replace(vector(0.0021), "job", "api", "", "")',
            {"expect": "< 0.001", "summary": {"name": "error rate", "unit": "percent"}},
            Status.FAIL,
            'error rate 0.21% (job="api"), expected < 0.1%',
        ),
        ("vector(0.09571195621330023)", {"expect": "< 1"}, Status.PASS, "0.0957, expected < 1"),
        # rounded to 3 digits it would read 0.001, as if equal to the bound
        ("vector(0.00099951)", {"expect": "< 0.001"}, Status.PASS, "0.0009995, expected < 0.001"),
        (
            "max by (route) (test_latency_seconds)",
            {"expect": "< 0.3", "summary": {"unit": "s"}},
            Status.FAIL,
            '2 of 2 series fail: 1.5 s (route="slow"), 400 ms (route="fast"), expected < 300 ms',
        ),
        (
            "vector(1181116006)",
            {"expect": "< 2e9", "summary": {"name": "memory used", "unit": "bytes"}},
            Status.PASS,
            "memory used 1.1 GiB, expected < 1.86 GiB",
        ),
        (
            "test_latency_seconds",
            {"expect": "< 2", "summary": {"labels": ["route"], "digits": 2}},
            Status.PASS,
            'all 2 series pass, the closest test_latency_seconds 1.5 (route="slow"), expected < 2',
        ),
        (
            "test_latency_seconds",
            {"expect": "< 1", "summary": {"labels": ["route"]}},
            Status.PARTIAL,
            '1 of 2 series fail: test_latency_seconds 1.5 (route="slow"), expected < 1',
        ),
    ],
)
async def test_summaries_name_round_and_give_the_unit(
    prometheus, tmp_path, query, extra, status, summary
):
    result = await run({"promql": {"url": prometheus, "query": query, **extra}}, tmp_path)
    assert (result.status, result.summary) == (status, summary)


# -- windows covered by data -----------------------------------------------------------------


def backfill(folder: Path, series: dict[str, list[tuple[float, float]]]) -> None:
    """TSDB blocks in ``folder`` holding ``series`` (``name{labels}`` -> (time, value)), made
    by promtool as a Prometheus whose history began before the test."""
    promtool = require("promtool")
    families: dict[str, list[str]] = {}
    for name_labels, points in series.items():
        name = name_labels.split("{")[0]
        families.setdefault(name, []).extend(f"{name_labels} {v} {t:.3f}" for t, v in points)
    text = "".join(
        f"# TYPE {name} gauge\n" + "\n".join(lines) + "\n" for name, lines in families.items()
    )
    source = folder.parent / "history.om"
    source.write_text(text + "# EOF\n")
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            str(source),
            str(folder),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def every(step: float, start: float, end: float, value=lambda t: 1.0) -> list[tuple[float, float]]:
    out, t = [], start
    while t <= end:
        out.append((t, value(t)))
        t += step
    return out


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A Prometheus whose data began before the test: an application's memory for 70 minutes
    (job long), for the 8 minutes since a restart (job short), for 70 minutes with a 30-minute
    hole (job gap); Redis memory for 8 days (instance old) and 2 days (instance new)."""
    workdir = tmp_path_factory.mktemp("history")
    now = time.time() - 5
    minute, day = 60.0, 86400.0
    rss = lambda t: 2e8 * (1 + 0.02 * math.sin(t / 600))  # noqa: E731 - a gentle wave
    backfill(
        workdir / "data",
        {
            'app_rss_bytes{job="long"}': every(15, now - 70 * minute, now, rss),
            'app_rss_bytes{job="short"}': every(15, now - 8 * minute, now),
            'app_rss_bytes{job="gap"}': every(15, now - 70 * minute, now - 50 * minute, rss)
            + every(15, now - 20 * minute, now, rss),
            'redis_memory_used_bytes{instance="old"}': every(
                60, now - 8 * day, now, lambda t: 1.1e9
            ),
            'redis_memory_used_bytes{instance="new"}': every(
                60, now - 2 * day, now, lambda t: 1.1e9
            ),
            'redis_memory_max_bytes{instance="old"}': every(60, now - 8 * day, now, lambda t: 2e9),
            'redis_memory_max_bytes{instance="new"}': every(60, now - 2 * day, now, lambda t: 2e9),
        },
    )
    proc, url = start_prometheus(workdir, "global: {scrape_interval: 15s}\n")
    try:
        yield url
    finally:
        proc.stop()


MEMORY_GROWTH = (
    'max_over_time(app_rss_bytes{{job="{job}"}}[1h])'
    ' / min_over_time(app_rss_bytes{{job="{job}"}}[1h])'
)


async def test_eight_minutes_of_data_are_not_an_hour(history, tmp_path):
    """P-005: a claim about an hour passed on the 8 minutes since a restart."""
    probe = {"url": history, "query": MEMORY_GROWTH.format(job="short"), "expect": "< 1.2"}
    plain = await run({"promql": probe}, tmp_path)
    assert plain.status is Status.PASS  # what it said before: the trap
    covered = await run({"promql": {**probe, "cover": "1h"}}, tmp_path)
    assert (covered.status, covered.error) == (Status.FAIL, True)
    assert covered.summary == (
        'cannot judge: data covers only 8m of the 1h window (job="short"); '
        'now 1 (job="short"), expected < 1.2'
    )
    assert covered.evidence["window_seconds"] == 3600


async def test_an_hour_of_data_is_judged(history, tmp_path):
    probe = {
        "url": history,
        "query": MEMORY_GROWTH.format(job="long"),
        "expect": "< 1.2",
        "cover": "1h",
    }
    result = await run({"promql": probe}, tmp_path)
    assert (result.status, result.error) == (Status.PASS, False), result.summary
    assert re.fullmatch(r'1\.0\d+ \(job="long"\), expected < 1\.2', result.summary)
    result = await run({"promql": {**probe, "expect": "< 1.01"}}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False), result.summary


async def test_a_hole_in_the_window_shows_in_the_series_named(history, tmp_path):
    """The query's own [1h] range bridges a hole; the series it reads does not."""
    probe = {"url": history, "query": MEMORY_GROWTH.format(job="gap"), "expect": "< 1.2"}
    bridged = await run({"promql": {**probe, "cover": "1h"}}, tmp_path)
    assert bridged.status is Status.PASS
    named = await run(
        {"promql": {**probe, "cover": {"window": "1h", "series": 'app_rss_bytes{job="gap"}'}}},
        tmp_path,
    )
    assert (named.status, named.error) == (Status.FAIL, True)
    covered = int(
        re.fullmatch(r"cannot judge: data covers only (\d+)m of the 1h window.*", named.summary)[1]
    )
    # 30 of the window's 60 minutes have data, and 5 more of lookback after the first half
    assert 30 <= covered <= 36, named.summary


async def test_a_peak_over_a_week_needs_a_week_of_data(history, tmp_path):
    """I-011: the peak of two days is not the peak of the week."""
    query = (
        'max_over_time(redis_memory_used_bytes{{instance="{i}"}}[7d]) '
        '/ redis_memory_max_bytes{{instance="{i}"}}'
    )
    probe = {"url": history, "expect": "< 0.8", "cover": "7d", "summary": {"unit": "percent"}}
    old = await run({"promql": {**probe, "query": query.format(i="old")}}, tmp_path)
    assert (old.status, old.summary) == (Status.PASS, '55% (instance="old"), expected < 80%')
    new = await run({"promql": {**probe, "query": query.format(i="new")}}, tmp_path)
    assert (new.status, new.error) == (Status.FAIL, True)
    assert re.fullmatch(
        r"cannot judge: data covers only (1d2\dh|2d|2d\dh) of the 7d window "
        r'\(instance="new"\); now 55% \(instance="new"\), expected < 80%',
        new.summary,
    ), new.summary


async def test_no_data_in_the_window_at_all(history, tmp_path):
    probe = {
        "url": history,
        "query": "vector(0)",
        "expect": "== 0",
        "cover": {"window": "1h", "series": "metric_nobody_exports"},
    }
    result = await run({"promql": probe}, tmp_path)
    assert (result.status, result.error, result.summary) == (
        Status.FAIL,
        True,
        f"cannot judge: data covers none of the 1h window (looked at every 36s) from {history} "
        "for metric_nobody_exports",
    )


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"url": "http://p:9090", "query": "up", "empty": "none"},
            'promql.empty must be one of fail, pass, zero (got "none")',
        ),
        (
            {"url": "http://p:9090", "query": "up", "empty": "zero"},
            "promql.empty zero needs expect: 0 is compared with it",
        ),
        (
            {"url": "http://p:9090", "query": "up", "cover": "an hour"},
            'promql.cover must be a duration such as 30s, 5m, 1h or 90d (got "an hour")',
        ),
        (
            {"url": "http://p:9090", "query": "up", "cover": {"series": "up"}},
            "promql.cover.window is required",
        ),
        (
            {"url": "http://p:9090", "query": "up", "cover": {"window": "1h", "of": "up"}},
            "promql.cover.of is not a known field (known: window, series)",
        ),
        (
            {"url": "http://p:9090", "query": "up", "summary": {"unit": "ms"}},
            'promql.summary.unit must be one of s, ratio, percent, bytes (got "ms")',
        ),
        (
            {"url": "http://p:9090", "query": "up", "summary": {"digits": 0}},
            "promql.summary.digits must be at least 1 (got 0)",
        ),
    ],
)
def test_bad_options_are_located(tmp_path, probe, message):
    assert (
        config_error({"promql": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
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
