"""The core probe kinds against real things: loopback HTTP and TCP servers, files, processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from support.servers import closed_port, serve_app, silent_tcp

from probes.context import ProbeContext, Resources, run_probe
from probes.problems import Problems
from probes.registry import KINDS
from probes.result import Status


@pytest.fixture
async def resources():
    res = Resources()
    yield res
    await res.aclose()


async def run(raw: dict, resources: Resources, timeout: float = 3.0, base_dir: Path = Path(".")):
    problems = Problems("config.yaml")
    probe = KINDS.read_probe(raw, base_dir, problems)
    assert probe is not None and not probe.waiting, problems.lines
    ctx = ProbeContext(resources, timeout, debug=[], item="T-001")
    # As the engine runs it: under the one rule for silence, and its last-resort limit.
    return await run_probe(KINDS[probe.kind].probe, probe.spec, ctx, timeout)


def app() -> web.Application:
    async def ok(request):
        return web.Response(text="status: ok", headers={"X-Frame-Options": "DENY"})

    async def status(request):
        return web.Response(status=int(request.match_info["code"]), text="nope")

    async def slow(request):
        await asyncio.sleep(float(request.query.get("s", "1")))
        return web.Response(text="late")

    async def redirect(request):
        raise web.HTTPFound("/ok")

    async def odd_charset(request):
        return web.Response(
            body=b"status: ok", headers={"Content-Type": "text/plain; charset=utf8mb4"}
        )

    application = web.Application()
    application.router.add_get("/odd-charset", odd_charset)
    application.router.add_get("/ok", ok)
    application.router.add_get("/status/{code}", status)
    application.router.add_get("/slow", slow)
    application.router.add_get("/redirect", redirect)
    return application


@pytest.fixture
async def site():
    async with serve_app(app()) as base:
        yield base


# -- http ---------------------------------------------------------------------------------


async def test_http_pass(site, resources):
    r = await run({"http": {"url": f"{site}/ok", "body_regex": "status: ok"}}, resources)
    assert r.status is Status.PASS
    assert r.summary.startswith("status 200 in ")
    assert r.evidence["status"] == 200


async def test_http_wrong_status_shows_observed_and_expected(site, resources):
    r = await run({"http": {"url": f"{site}/status/503"}}, resources)
    assert (r.status, r.summary) == (Status.FAIL, "status 503, expected 2xx")
    r = await run({"http": {"url": f"{site}/status/404", "expect_status": [404]}}, resources)
    assert r.status is Status.PASS


async def test_http_headers_some_missing_is_partial_all_missing_is_fail(site, resources):
    r = await run(
        {
            "http": {
                "url": f"{site}/ok",
                "headers_present": ["X-Frame-Options", "Strict-Transport-Security"],
            }
        },
        resources,
    )
    assert (r.status, r.summary) == (
        Status.PARTIAL,
        "missing headers Strict-Transport-Security (1 of 2 present)",
    )
    r = await run(
        {"http": {"url": f"{site}/ok", "headers_present": ["Content-Security-Policy"]}}, resources
    )
    assert r.status is Status.FAIL


async def test_http_charset_python_does_not_know_reads_as_utf8(site, resources):
    r = await run({"http": {"url": f"{site}/odd-charset", "body_regex": "status: ok"}}, resources)
    assert (r.status, r.error) == (Status.PASS, False)


async def test_http_body_regex_mismatch(site, resources):
    r = await run({"http": {"url": f"{site}/ok", "body_regex": "healthy"}}, resources)
    assert r.status is Status.FAIL
    assert r.summary.startswith('body does not match /healthy/; it begins "')


async def test_http_latency_bound(site, resources):
    r = await run({"http": {"url": f"{site}/slow?s=0.3", "max_latency": "100ms"}}, resources)
    assert r.status is Status.FAIL
    assert r.summary.endswith("expected < 100ms")


async def test_http_follows_redirects_unless_told_not_to(site, resources):
    assert (await run({"http": {"url": f"{site}/redirect"}}, resources)).status is Status.PASS
    r = await run({"http": {"url": f"{site}/redirect", "follow_redirects": False}}, resources)
    assert (r.status, r.summary) == (Status.FAIL, "status 302, expected 2xx")


async def test_http_connection_refused(resources):
    r = await run({"http": {"url": f"http://{closed_port()}/"}}, resources)
    assert (r.status, r.summary) == (
        Status.FAIL,
        "request failed (connection refused), expected 2xx",
    )


async def test_http_server_that_never_answers_fails_within_budget(resources):
    async with silent_tcp() as target:
        started = time.monotonic()
        r = await run({"http": {"url": f"http://{target}/"}}, resources, timeout=0.5)
        assert time.monotonic() - started < 5  # bounded by the budget, not by the server
    assert (r.status, r.summary, r.error) == (
        Status.FAIL,
        f"GET http://{target}/: no answer within the 500ms timeout; cannot judge",
        True,
    )


# -- tcp ----------------------------------------------------------------------------------


async def test_tcp_open(site, resources):
    target = site.removeprefix("http://")
    r = await run({"tcp": {"target": target}}, resources)
    assert (r.status, r.summary) == (Status.PASS, f"{target} open")


async def test_tcp_must_be_closed(site, resources):
    target = closed_port()
    r = await run({"tcp": {"target": target, "expect": "closed"}}, resources)
    assert (r.status, r.summary) == (
        Status.PASS,
        f"{target} closed (connection refused), expected closed",
    )
    open_target = site.removeprefix("http://")
    r = await run({"tcp": {"target": open_target, "expect": "closed"}}, resources)
    assert (r.status, r.summary) == (
        Status.FAIL,
        f"{open_target} accepts connections, expected closed",
    )


async def test_tcp_closed_expected_but_name_does_not_resolve_cannot_pass(resources):
    r = await run(
        {"tcp": {"target": "db.no-such-host.invalid:5432", "expect": "closed"}}, resources
    )
    assert r.status is Status.FAIL and r.error
    assert r.summary.startswith(
        "db.no-such-host.invalid:5432: cannot resolve db.no-such-host.invalid: "
    )
    assert r.summary.endswith(", cannot judge")


async def test_tcp_refused_when_open_expected(resources):
    target = closed_port()
    r = await run({"tcp": {"target": target}}, resources)
    assert (r.status, r.summary) == (
        Status.FAIL,
        f"{target} not reachable (connection refused), expected open",
    )


async def test_tcp_banner_from_server_that_never_answers(resources):
    async with silent_tcp() as target:
        r = await run({"tcp": {"target": target, "banner": "^SSH-"}}, resources, timeout=0.5)
    # Accepted but silent: no banner to judge, so no verdict either way.
    assert (r.status, r.summary, r.error) == (
        Status.FAIL,
        f"{target} banner: no answer within the 500ms timeout; cannot judge",
        True,
    )


async def test_tcp_banner_matches():
    async def greet(reader, writer):
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    target = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    res = Resources()
    try:
        r = await run({"tcp": {"target": target, "banner": "^SSH-2"}}, res)
    finally:
        server.close()
        await res.aclose()
    assert r.status is Status.PASS


# -- file ---------------------------------------------------------------------------------


async def test_file_exists_fresh_and_matches(tmp_path, resources):
    (tmp_path / "RTO-RPO.md").write_text("# DR\nRTO: 1h\nRPO: 15min\n")
    r = await run(
        {"file": {"path": "RTO-RPO.md", "max_age": "1d", "content_regex": "RPO"}},
        resources,
        base_dir=tmp_path,
    )
    assert r.status is Status.PASS
    assert r.summary.startswith("RTO-RPO.md present (24 bytes")


async def test_file_missing(tmp_path, resources):
    r = await run({"file": {"path": "nope.md"}}, resources, base_dir=tmp_path)
    assert (r.status, r.summary) == (Status.FAIL, f"{tmp_path / 'nope.md'} does not exist")


async def test_file_too_old(tmp_path, resources):
    path = tmp_path / "backup.dump"
    path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(path, (two_days_ago, two_days_ago))
    r = await run({"file": {"path": str(path), "max_age": "26h"}}, resources)
    assert (r.status, r.summary) == (
        Status.FAIL,
        "backup.dump is 2 days old, expected at most 1d2h",
    )


async def test_file_content_mismatch(tmp_path, resources):
    (tmp_path / "README.md").write_text("hello\n")
    r = await run(
        {"file": {"path": "README.md", "content_regex": "(?i)architecture"}},
        resources,
        base_dir=tmp_path,
    )
    assert (r.status, r.summary) == (Status.FAIL, "README.md does not match /(?i)architecture/")


# -- command ------------------------------------------------------------------------------


async def test_command_exit_zero_and_output(resources):
    r = await run(
        {
            "command": {
                "argv": [sys.executable, "-c", "print('All checks passed!')"],
                "stdout_regex": "passed",
            }
        },
        resources,
    )
    assert (r.status, r.summary) == (Status.PASS, "exit code 0")


async def test_command_nonzero_exit_shows_stderr(resources):
    r = await run(
        {
            "command": {
                "argv": [
                    sys.executable,
                    "-c",
                    "import sys; sys.stderr.write('3 errors found'); sys.exit(1)",
                ]
            }
        },
        resources,
    )
    assert (r.status, r.summary) == (Status.FAIL, "exit code 1, expected 0: 3 errors found")


async def test_command_summary_is_one_line(resources):
    r = await run(
        {
            "command": {
                "argv": [sys.executable, "-c", "import sys; sys.exit('line 1\\nFound 3 errors.')"]
            }
        },
        resources,
    )
    assert (r.status, r.summary) == (Status.FAIL, "exit code 1, expected 0: Found 3 errors.")
    assert r.evidence["stderr_tail"] == "line 1\nFound 3 errors."


async def test_command_expected_exit_code(resources):
    r = await run(
        {"command": {"argv": [sys.executable, "-c", "raise SystemExit(1)"], "expect_exit": [1]}},
        resources,
    )
    assert r.status is Status.PASS


async def test_command_is_not_run_through_a_shell(tmp_path, resources):
    marker = tmp_path / "marker"
    r = await run({"command": {"argv": ["echo", f"x; touch {marker}"]}}, resources)
    assert r.status is Status.PASS
    assert r.evidence["stdout_tail"] == f"x; touch {marker}"
    assert not marker.exists()


async def test_command_missing_program(resources):
    r = await run({"command": {"argv": ["/nonexistent/tool"]}}, resources)
    assert (r.status, r.summary) == (
        Status.FAIL,
        "cannot run /nonexistent/tool (No such file or directory)",
    )


async def test_command_past_its_timeout_is_killed_with_its_children(tmp_path, resources):
    pidfile = tmp_path / "child.pid"
    script = (
        f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
        f"'import time; time.sleep(60)']); open({str(pidfile)!r}, 'w').write(str(p.pid)); "
        "time.sleep(60)"
    )
    r = await run({"command": {"argv": [sys.executable, "-c", script]}}, resources, timeout=3)
    assert r.status is Status.FAIL and r.error
    assert r.summary == (
        f"command {Path(sys.executable).name}: no answer within the 3s timeout; cannot judge "
        "(killed with its process group)"
    )
    child = int(pidfile.read_text())
    for _ in range(50):  # the group got SIGKILL; give the kernel a moment to reap
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"child {child} outlived the timeout")


# -- attestation --------------------------------------------------------------------------


def attest(path: Path, **fields) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"item": "T-001", **fields}))


async def test_attestation_missing_is_pending(tmp_path, resources):
    r = await run({"attestation": {"file": "att/T-001.yaml"}}, resources, base_dir=tmp_path)
    assert (r.status, r.summary) == (Status.PENDING, "not attested yet: T-001.yaml does not exist")


async def test_attestation_pass_with_expiry(tmp_path, resources):
    today = dt.date.today()
    attest(
        tmp_path / "T-001.yaml",
        status="pass",
        validated_by="Jane Doe",
        date=today,
        evidence=["workshop 2026-11 slides"],
        expires=today + dt.timedelta(days=30),
    )
    r = await run({"attestation": {"file": "T-001.yaml"}}, resources, base_dir=tmp_path)
    assert r.status is Status.PASS
    assert r.summary == (
        f"PASS attested, signed by Jane Doe on {today:%Y-%m-%d}, valid until "
        f"{today + dt.timedelta(days=30):%Y-%m-%d}"
    )
    assert r.evidence["evidence"] == ["workshop 2026-11 slides"]
    assert (
        r.expires_at
        == dt.datetime.combine(today + dt.timedelta(days=30), dt.time(), dt.UTC).timestamp()
    )


async def test_attestation_expired_is_fail_and_says_who_signed(tmp_path, resources):
    attest(
        tmp_path / "T-001.yaml",
        status="pass",
        validated_by="Jane Doe",
        date=dt.date(2026, 1, 5),
        expires=dt.date(2026, 4, 5),
    )
    r = await run({"attestation": {"file": "T-001.yaml"}}, resources, base_dir=tmp_path)
    assert (r.status, r.summary) == (
        Status.FAIL,
        "expired on 2026-04-05 (signed by Jane Doe on 2026-01-05)",
    )


async def test_attestation_older_than_max_age_is_fail(tmp_path, resources):
    signed = dt.date.today() - dt.timedelta(days=120)
    attest(tmp_path / "T-001.yaml", status="pass", validated_by="Ops", date=signed)
    r = await run(
        {"attestation": {"file": "T-001.yaml", "max_age": "90d"}}, resources, base_dir=tmp_path
    )
    assert r.status is Status.FAIL
    assert r.summary.startswith("attestation is 120 days")
    assert r.summary.endswith(f"old, expected at most 90d (signed by Ops on {signed:%Y-%m-%d})")


@pytest.mark.parametrize(
    "content,summary",
    [
        (
            b"status: [",
            "T-001.yaml at line 2, column 1: invalid YAML: did not find expected node content",
        ),
        (
            b"- a list\n",
            "T-001.yaml must be a mapping with item, status, validated_by, date and evidence",
        ),
        (
            b"status: maybe\nvalidated_by: x\ndate: 2026-01-01\n",
            "T-001.yaml status must be one of pass, partial, fail, pending, na (got 'maybe')",
        ),
        (b"status: pass\ndate: 2026-01-01\n", "T-001.yaml validated_by is required: who signed it"),
        (
            b"status: pass\nvalidated_by: x\ndate: someday\n",
            "T-001.yaml date must be a date such as 2026-11-01 (got 'someday')",
        ),
        (b"\xff\xfe\x00", "T-001.yaml is not UTF-8 text"),
        (
            b"status: pass\nvalidated_by: x\ndate: 2026-01-01\nsigned: yes\n",
            "T-001.yaml has unknown field 'signed' "
            "(known: item, status, validated_by, date, evidence, notes, expires)",
        ),
    ],
)
async def test_attestation_malformed_is_fail_with_reason(tmp_path, resources, content, summary):
    (tmp_path / "T-001.yaml").write_bytes(content)
    r = await run({"attestation": {"file": "T-001.yaml"}}, resources, base_dir=tmp_path)
    assert (r.status, r.summary) == (Status.FAIL, summary)


async def test_attestation_partial_and_na_statuses(tmp_path, resources):
    attest(tmp_path / "a.yaml", status="partial", validated_by="x", date=dt.date.today())
    attest(tmp_path / "b.yaml", status="na", validated_by="x", date=dt.date.today())
    assert (
        await run({"attestation": {"file": "a.yaml"}}, resources, base_dir=tmp_path)
    ).status is Status.PARTIAL
    assert (
        await run({"attestation": {"file": "b.yaml"}}, resources, base_dir=tmp_path)
    ).status is Status.NA


# -- all / any ----------------------------------------------------------------------------


async def test_all_pass_partial_fail(site, resources):
    good = {"http": {"url": f"{site}/ok"}}
    bad = {"http": {"url": f"{site}/status/500"}}
    both = await run({"all": [good, good]}, resources)
    assert both.summary.startswith(f"all 2 probes pass: http {site}/ok: status 200 in ")
    r = await run({"all": [good, bad]}, resources)
    assert (r.status, r.summary) == (
        Status.PARTIAL,
        f"1 of 2 probes pass; http {site}/status/500: status 500, expected 2xx",
    )
    assert (await run({"all": [bad, bad]}, resources)).status is Status.FAIL


async def test_any(site, resources):
    good = {"http": {"url": f"{site}/ok"}}
    bad = {"tcp": {"target": closed_port()}}
    assert (await run({"any": [bad, good]}, resources)).status is Status.PASS
    r = await run({"any": [bad]}, resources)
    assert r.status is Status.FAIL and r.summary.startswith("no probe passes; tcp: ")
