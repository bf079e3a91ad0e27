"""The tcp kind on real loopback ports: open, closed (firewall items), banners.

A silent port (accepted, no banner) is one case of the rule for silence in test_deadline.py; a
port that drops connection attempts, the one where silence is the answer, is there too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from support.probing import run
from support.servers import closed_port, silent_tcp

from probes.result import Status


@asynccontextmanager
async def greeting(banner: bytes) -> AsyncIterator[str]:
    """A loopback port that sends ``banner`` to each connection and hangs up."""

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def test_an_open_port_passes(tmp_path):
    async with silent_tcp() as target:
        result = await run({"tcp": {"target": target}}, tmp_path)
    assert (result.status, result.summary) == (Status.PASS, f"{target} open")


async def test_a_refused_port_fails_when_it_must_be_open(tmp_path):
    target = closed_port()
    result = await run({"tcp": {"target": target}}, tmp_path)
    assert (result.status, result.error, result.summary) == (
        Status.FAIL,
        False,
        f"{target} not reachable (connection refused), expected open",
    )


async def test_a_port_that_must_be_closed(tmp_path):
    # loopback stands in for a port on another host (local_ok, for labs; vantage's tests show
    # that without it this machine's own address cannot judge)
    target = closed_port()
    closed = {"expect": "closed", "local_ok": True}
    refused = await run({"tcp": {"target": target, **closed}}, tmp_path)
    async with silent_tcp() as open_target:
        accepted = await run({"tcp": {"target": open_target, **closed}}, tmp_path)
    assert (refused.status, refused.summary) == (
        Status.PASS,
        f"{target} closed (connection refused), expected closed",
    )
    assert (accepted.status, accepted.summary) == (
        Status.FAIL,
        f"{open_target} accepts connections, expected closed",
    )


async def test_a_name_that_does_not_resolve_is_no_closed_port(tmp_path):
    """The port may be wide open on the real host: nothing was learnt about it."""
    result = await run(
        {"tcp": {"target": "db.no-such-host.invalid:5432", "expect": "closed"}}, tmp_path
    )
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith(
        "db.no-such-host.invalid:5432: cannot resolve db.no-such-host.invalid: "
    )
    assert result.summary.endswith(", cannot judge")


async def test_a_banner_is_matched(tmp_path):
    async with greeting(b"SSH-2.0-OpenSSH_9.2\r\n") as target:
        ssh = await run({"tcp": {"target": target, "banner": "^SSH-2"}}, tmp_path)
        other = await run({"tcp": {"target": target, "banner": "^220 "}}, tmp_path)
    assert ssh.status is Status.PASS
    assert (other.status, other.error, other.summary) == (
        Status.FAIL,
        False,
        f"{target} banner 'SSH-2.0-OpenSSH_9.2\\r\\n' does not match /^220 /",
    )
