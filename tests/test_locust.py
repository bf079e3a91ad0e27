"""Locust stats CSVs from real runs (tests/fixtures/locust, made by make_fixtures.py) judged."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from support.servers import serve_app

from probes.compare import Expect, parse_expect
from probes.fields import Fields, Reading
from probes.locust import (
    Criteria,
    DurationBound,
    LocustError,
    judge_files,
    parse_history,
    parse_options,
    parse_stats,
    percentile_key,
)
from probes.problems import Problems, SpecError
from probes.result import Status

FIXTURES = Path(__file__).parent / "fixtures" / "locust"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


HEALTHY, HEALTHY_HISTORY = read("healthy_stats.csv"), read("healthy_stats_history.csv")
FAILING, FAILING_HISTORY = read("failing_stats.csv"), read("failing_stats_history.csv")
P95 = {"95%": Expect("<", 1000)}


def test_the_real_files_parse():
    stats = parse_stats(HEALTHY)
    assert stats.requests == 1023 and stats.failures == 0
    assert stats.percentiles["95%"] == 7 and stats.rps == pytest.approx(93.25, abs=0.01)
    history = parse_history(HEALTHY_HISTORY)
    assert history.duration == 11 and history.peak_users == 5 and history.requests == 1023


def test_a_healthy_run_passes_and_says_what_it_saw():
    criteria = Criteria(
        requests=Expect(">=", 500),
        percentiles={**P95, "99%": Expect("<", 2000)},
        rps=Expect(">=", 50),
        duration=DurationBound(">=", 10),
    )
    result = judge_files("healthy_stats.csv", HEALTHY, criteria, HEALTHY_HISTORY)
    assert result.status is Status.PASS and not result.error
    assert result.summary == (
        "healthy_stats.csv: 1,023 requests (>= 500), 0 % failed (at most 1 %, shown by at least "
        "100 requests), p95 7 ms (< 1000 ms), p99 9 ms (< 2000 ms), "
        "93.3 requests/s (>= 50 requests/s), ran 11s (>= 10s)"
    )
    assert result.evidence["duration_seconds"] == 11


def test_a_run_where_most_requests_failed_never_passes_load_test_completed():
    result = judge_files("failing_stats.csv", FAILING, Criteria(), FAILING_HISTORY)
    assert result.status is Status.FAIL and not result.error
    assert result.summary == (
        "failing_stats.csv: 410 of 455 requests failed (90 %), expected at most 1 %"
    )


def test_a_fast_p95_over_failed_requests_is_not_judged():
    # The failing server answered as fast as the healthy one: its p95 (9 ms) looks fine.
    assert parse_stats(FAILING).percentiles["95%"] == 9
    result = judge_files("failing_stats.csv", FAILING, Criteria(percentiles=P95))
    assert result.status is Status.FAIL and not result.error
    assert result.summary.endswith(
        "; p95 not judged (90 % of requests failed, more than 5 %, and their times are in "
        "the figures)"
    )
    # With the failure bound widened by the config, the percentile still cannot be judged:
    # a probe error, never a PASS.
    lenient = Criteria(failure_ratio=Expect("<", 0.95), percentiles=P95, rps=Expect(">", 1))
    result = judge_files("failing_stats.csv", FAILING, lenient)
    assert result.status is Status.FAIL and result.error
    assert result.summary.startswith("failing_stats.csv: cannot judge p95, requests/s: 90 %")


def test_a_short_run_is_not_a_soak():
    result = judge_files(
        "healthy_stats.csv",
        HEALTHY,
        Criteria(duration=DurationBound(">=", 3600)),
        HEALTHY_HISTORY,
    )
    assert result.status is Status.FAIL
    assert result.summary == "healthy_stats.csv: ran 11s, expected >= 1h"


def test_a_slow_percentile_fails_with_observed_beside_expected():
    result = judge_files(
        "healthy_stats.csv", HEALTHY, Criteria(percentiles={"95%": Expect("<", 5)})
    )
    assert result.status is Status.FAIL
    assert result.summary == "healthy_stats.csv: p95 7 ms, expected < 5 ms"


def test_too_few_requests_and_too_low_a_rate_fail():
    criteria = Criteria(requests=Expect(">=", 10_000), rps=Expect(">=", 150))
    result = judge_files("healthy_stats.csv", HEALTHY, criteria)
    assert result.summary == (
        "healthy_stats.csv: 1,023 requests, expected >= 10000; "
        "93.3 requests/s, expected >= 150 requests/s"
    )


def light(requests: int) -> bytes:
    """The healthy run's stats with its Aggregated row cut to ``requests`` requests, none failed."""
    lines = HEALTHY.decode().splitlines(keepends=True)
    cut = [
        line.replace(",Aggregated,1023,0,", f",Aggregated,{requests},0,")
        for line in lines
        if not line.startswith("GET") and not line.startswith("POST")
    ]
    return "".join(cut).encode()


@pytest.mark.parametrize(
    ("bound", "needed"), [("< 0.001", 1000), ("<= 0.01", 100), ("< 0.05", 20), ("<= 0", 0)]
)
def test_the_fewest_requests_that_can_show_a_failure_ratio_is_one_over_the_bound(bound, needed):
    assert Criteria(failure_ratio=parse_expect(bound, "failure_ratio")).min_requests == needed


def test_twelve_requests_without_a_failure_cannot_show_under_a_tenth_of_a_percent():
    criteria = Criteria(failure_ratio=Expect("<", 0.001))
    result = judge_files("peak_stats.csv", light(12), criteria)
    assert result.status is Status.FAIL and not result.error
    assert result.summary == (
        "peak_stats.csv: 12 requests are too few to show a failure ratio under 0.1 %, "
        "expected at least 1,000 (1 / the bound)"
    )
    result = judge_files("peak_stats.csv", light(1000), criteria)
    assert result.status is Status.PASS, result.summary
    assert "0 % failed (under 0.1 %, shown by at least 1,000 requests)" in result.summary


def test_history_from_another_run_cannot_be_judged():
    result = judge_files("failing_stats.csv", FAILING, Criteria(), HEALTHY_HISTORY)
    assert result.status is Status.FAIL and result.error
    assert "they are from different runs" in result.summary


def test_no_requests_means_the_test_did_not_run():
    header = HEALTHY.splitlines()[0]
    zeros = b",Aggregated,0,0,0,0.0,0,0,0,0.0,0.0" + b",N/A" * 11
    result = judge_files(
        "empty_stats.csv", header + b"\n" + zeros + b"\n", Criteria(percentiles=P95)
    )
    assert (result.status, result.summary) == (
        Status.FAIL,
        "empty_stats.csv: no requests recorded: the load test did not run",
    )


def test_files_that_are_not_locust_csvs():
    assert judge_files("x.csv", b"<testsuite/>", Criteria()).summary == (
        "x.csv has no column Name, Request Count, Failure Count, Requests/s, "
        "expected a Locust stats CSV"
    )
    result = judge_files("x.csv", HEALTHY, Criteria(), HEALTHY)
    assert result.summary.startswith("x.csv: the stats history has no column Timestamp")
    with pytest.raises(LocustError, match="Aggregated rows, expected one"):
        parse_stats(HEALTHY.replace(b",Aggregated,", b",Total,"))


@pytest.mark.parametrize("raw", ["p95", "95", "95%", " P95 "])
def test_percentile_names(raw):
    assert percentile_key(raw) == "95%"


def test_percentile_names_locust_does_not_write_are_refused():
    with pytest.raises(LocustError, match="not one of Locust's percentiles"):
        percentile_key("p97")


def options(raw: dict, tmp_path: Path):
    problems = Problems("")
    f = Fields(raw, "report", Reading(tmp_path, problems))
    opts = parse_options(f)
    f.done()
    if problems:
        raise SpecError("", "; ".join(problems.lines))
    return opts


def test_options_read_from_config(tmp_path):
    opts = options(
        {
            "history": "load/peak_stats_history.csv",
            "requests": ">= 1000",
            "failure_ratio": "< 0.001",
            "percentiles": {"p95": "< 1000", "99%": "< 2000"},
            "duration": ">= 1h",
        },
        tmp_path,
    )
    assert opts.history == tmp_path / "load/peak_stats_history.csv"
    assert opts.criteria.duration == DurationBound(">=", 3600)
    assert opts.criteria.failure_ratio == Expect("<", 0.001)
    assert set(opts.criteria.percentiles) == {"95%", "99%"}
    assert options({}, tmp_path).criteria == Criteria()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"duration": ">= 1h"}, "report.duration needs history"),
        ({"history": "h.csv", "duration": "1h"}, 'report.duration must be a bound such as ">= 1h"'),
        ({"percentiles": {"p97": "< 1"}}, "report.percentiles.p97 'p97' is not one of Locust's"),
        ({"percentiles": ["95%"]}, "report.percentiles must be a mapping"),
        ({"timing_max_failure_ratio": 5}, "report.timing_max_failure_ratio must be a ratio"),
    ],
)
def test_bad_options_name_the_field(tmp_path, raw, message):
    with pytest.raises(SpecError) as info:
        options(raw, tmp_path)
    assert str(info.value).startswith(message)


@pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust not installed")
async def test_a_live_locust_run_against_a_throttling_server_does_not_pass(tmp_path):
    """The installed Locust still writes what the parser reads, and a throttled run fails."""

    async def throttled(request: web.Request) -> web.Response:
        return web.Response(status=429, text="slow down")

    app = web.Application()
    app.router.add_get("/{tail:.*}", throttled)
    (tmp_path / "locustfile.py").write_text((FIXTURES / "locustfile.py").read_text())
    async with serve_app(app) as url:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "locust",
            "-f",
            "locustfile.py",
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "2s",
            "--host",
            url,
            "--csv",
            "run",
            "--only-summary",
            "--loglevel",
            "WARNING",
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.wait_for(proc.wait(), 60)
    stats = (tmp_path / "run_stats.csv").read_bytes()
    history = (tmp_path / "run_stats_history.csv").read_bytes()
    result = judge_files("run_stats.csv", stats, Criteria(percentiles=P95), history)
    assert result.status is Status.FAIL
    assert "requests failed (100 %), expected at most 1 %" in result.summary
