"""``all`` / ``any`` with controls, on real loopback ports: a firewall check from a vantage
point that reaches nothing must not pass, and every summary names the child it speaks of."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from support.probing import config_error, run
from support.servers import closed_port, serve_app, silent_tcp

from probes.result import Status


@contextlib.asynccontextmanager
async def web_site() -> AsyncIterator[str]:
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="")

    app = web.Application()
    app.router.add_get("/status/{code}", status)
    async with serve_app(app) as base:
        yield base


def tcp(target: str, expect: str = "open") -> dict:
    if expect == "closed":  # loopback stands in for the outside (tcp's local_ok, for labs)
        return {"tcp": {"target": target, "expect": expect, "local_ok": True}}
    return {"tcp": {"target": target, "expect": expect}}


async def test_all_passes_when_all_do_is_partial_when_some_do_fails_when_none_do(tmp_path):
    async with web_site() as base:
        good = {"http": {"url": f"{base}/status/200"}}
        bad = {"http": {"url": f"{base}/status/500"}}
        both = await run({"all": [good, good]}, tmp_path)
        some = await run({"all": [good, bad]}, tmp_path)
        none = await run({"all": [bad, bad]}, tmp_path)
    assert both.status is Status.PASS
    assert both.summary.startswith(f"all 2 probes pass: http {base}/status/200: status 200 in ")
    assert (some.status, some.summary) == (
        Status.PARTIAL,
        f"1 of 2 probes pass; http {base}/status/500: status 500, expected 2xx",
    )
    assert none.status is Status.FAIL


async def test_all_with_a_judged_failure_beside_one_that_cannot_judge_is_a_plain_fail(tmp_path):
    # P-005 in the trial: the soak report is missing (a verdict) and the memory query had too
    # little data (cannot judge). The whole is known to fail: not a probe error. Beside it, a
    # passing probe with one that cannot judge stays "cannot judge", and so do two that cannot.
    missing = {"report": {"path": str(tmp_path / "absent.xml"), "format": "junit"}}
    async with web_site() as base, silent_tcp() as silent:
        good = {"http": {"url": f"{base}/status/200"}}
        unjudged = {"http": {"url": f"http://{silent}/"}}
        known = await run({"all": [missing, unjudged]}, tmp_path, timeout="1s")
        unknown = await run({"all": [good, unjudged]}, tmp_path, timeout="1s")
        neither = await run({"all": [unjudged, unjudged]}, tmp_path, timeout="1s")
    assert (known.status, known.error) == (Status.FAIL, False), known.summary
    assert known.summary.startswith("0 of 2 probes pass; report: absent.xml does not exist")
    assert (unknown.status, unknown.error) == (Status.FAIL, True)
    assert (neither.status, neither.error) == (Status.FAIL, True)


async def test_any_passes_when_one_does(tmp_path):
    bad = tcp(closed_port())
    async with silent_tcp() as up:
        one = await run({"any": [bad, tcp(up)]}, tmp_path)
    none = await run({"any": [bad]}, tmp_path)
    assert one.status is Status.PASS
    assert none.status is Status.FAIL and none.summary.startswith("no probe passes; tcp: ")


async def test_a_control_that_fails_makes_closed_ports_mean_nothing(tmp_path):
    # No egress, or the wrong address: the control port is not reachable either.
    control, db, redis = closed_port(), closed_port(), closed_port()
    firewall = {
        "all": {"control": [tcp(control)], "probes": [tcp(db, "closed"), tcp(redis, "closed")]}
    }
    result = await run(firewall, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == (
        f"cannot judge: control failed, tcp: {control} not reachable (connection refused), "
        "expected open"
    )
    roles = [(p["subject"], p.get("role")) for p in result.evidence["probes"]]
    assert roles == [(control, "control"), (db, None), (redis, None)]
    # The same list without a control reads every refusal as a closed port: PASS.
    plain = await run({"all": [tcp(db, "closed"), tcp(redis, "closed")]}, tmp_path)
    assert plain.status is Status.PASS


async def test_with_the_control_reachable_the_ports_are_judged(tmp_path):
    async with silent_tcp() as control, silent_tcp() as open_db:
        closed = closed_port()
        good = await run(
            {"all": {"control": [tcp(control)], "probes": [tcp(closed, "closed")]}}, tmp_path
        )
        bad = await run(
            {
                "all": {
                    "control": [tcp(control)],
                    "probes": [tcp(open_db, "closed"), tcp(closed, "closed")],
                }
            },
            tmp_path,
        )
    assert (good.status, good.error) == (Status.PASS, False)
    assert good.summary == (
        f"all 1 probes pass: tcp: {closed} closed (connection refused), expected closed "
        f"(control: tcp: {control} open)"
    )
    assert bad.status is Status.PARTIAL
    assert bad.summary.startswith(
        f"1 of 2 probes pass; tcp: {open_db} accepts connections, expected closed"
    )


async def test_any_with_a_control(tmp_path):
    control = closed_port()
    async with silent_tcp() as up:
        result = await run({"any": {"control": [tcp(control)], "probes": [tcp(up)]}}, tmp_path)
        passing = await run({"any": {"control": [tcp(up)], "probes": [tcp(up)]}}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith("cannot judge: control failed, tcp: ")
    assert passing.status is Status.PASS and passing.summary.startswith("1 of 1 probes pass: tcp: ")


async def test_all_without_partial_credit_fails_when_one_probe_fails(tmp_path):
    """``partial: false``: one failing probe answers the question (a DEBUG level anywhere)."""
    async with web_site() as base:
        probes = [{"http": {"url": f"{base}/status/200"}}, {"http": {"url": f"{base}/status/503"}}]
        strict = await run({"all": {"probes": probes, "partial": False}}, tmp_path)
        passing = await run({"all": {"probes": probes[:1], "partial": False}}, tmp_path)
    assert (strict.status, strict.error) == (Status.FAIL, False)
    assert strict.summary.startswith("1 of 2 probes pass; http ")
    assert passing.status is Status.PASS


async def test_a_failing_child_is_named_by_what_it_looks_at(tmp_path):
    async with web_site() as base:
        result = await run(
            {
                "all": [
                    {"http": {"url": f"{base}/status/200"}},
                    {"http": {"url": f"{base}/status/503"}},
                    {"file": {"path": "missing.md"}},
                ]
            },
            tmp_path,
        )
    assert result.status is Status.PARTIAL
    assert result.summary == (
        f"1 of 3 probes pass; http {base}/status/503: status 503, expected 2xx; "
        f"file: {tmp_path}/missing.md does not exist"
    )


async def test_a_password_in_a_childs_url_is_never_shown(tmp_path):
    async with web_site() as base:
        with_password = base.replace("http://", "http://ops:pa55w0rd-v4lue@")
        result = await run({"all": [{"http": {"url": f"{with_password}/status/500"}}]}, tmp_path)
    assert result.status is Status.FAIL
    assert "pa55w0rd-v4lue" not in repr(result)
    assert f"http {base}/status/500: status 500" in result.summary


async def test_a_child_whose_words_hold_a_url_and_an_at_sign_is_named_not_a_crash(tmp_path):
    """A query or an argv may hold "://" and "@" without being one URL (``LIKE 'https://%'
    AND email LIKE '%@x'``); naming the child read the whole text as a URL and raised."""
    argv = ["sh", "-c", "exit 3", "https://ops@host.test/x", "mail@example.test"]
    result = await run({"all": [{"command": {"argv": argv}}]}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False), result.summary
    assert "https://host.test/x mail@example.test" in result.summary, result.summary
    assert "ops@" not in result.summary


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"all": {"probes": [tcp("a:1")], "controls": [tcp("a:2")]}},
            "all.controls is not a known field (known: control, probes, partial)",
        ),
        (
            {"any": {"probes": [tcp("a:1")], "partial": False}},
            "any.partial is not a known field (known: control, probes)",
        ),
        (
            {"all": {"probes": [tcp("a:1")], "partial": "no"}},
            'all.partial must be true or false (got "no")',
        ),
        ({"all": {"control": [tcp("a:1")]}}, "all.probes is required: the probes to judge"),
        (
            {"any": {"control": "a:1", "probes": [tcp("a:1")]}},
            'any.control must be a list of probes (got "a:1")',
        ),
        (
            {"all": {"control": [{"tcp": {"target": "a"}}], "probes": [tcp("a:1")]}},
            'all.control[0].tcp.target must be host:port (got "a")',
        ),
    ],
)
def test_bad_composites_are_located(tmp_path, probe, message):
    assert (
        config_error(probe, tmp_path) == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )
