"""A probe that fails for a reason on this machine is a probe error, never a verdict.

The attack: at the descriptor limit, a ``tcp {expect: closed}`` firewall item on an OPEN port
passed with "closed (Too many open files)". Every kind that connects somewhere runs here twice
in a child process (``support.exhausted``): as is, where it gives its verdict on a real target,
and with the child's descriptors really exhausted (RLIMIT_NOFILE lowered, then filled), where it
must say "cannot judge" and count as a probe error.
"""

from __future__ import annotations

import asyncio
import errno
import json
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
import dns.flags
import dns.message
import dns.rrset
import pytest
import trustme
from aiohttp import web
from support.procs import ROOT
from support.servers import serve_app

from probes.local_errors import local_cause, local_reason_in_libpq


@asynccontextmanager
async def tls_server(tmp_path) -> AsyncIterator[tuple[str, str]]:
    """A TLS 1.2+ server with a certificate for 127.0.0.1; yields (host:port, CA file)."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ca.issue_cert("127.0.0.1").configure_cert(ctx)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}", str(ca_file)
    finally:
        server.close()


class Resolver(asyncio.DatagramProtocol):
    """Answers every A question with 127.0.0.1."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        name = query.question[0].name.to_text()
        response.answer.append(dns.rrset.from_text_list(name, 60, "IN", "A", ["127.0.0.1"]))
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def resolver() -> AsyncIterator[str]:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Resolver, local_addr=("127.0.0.1", 0)
    )
    try:
        yield f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()


def prometheus_like() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def query(request: web.Request) -> web.Response:
        result = [{"metric": {"__name__": "up"}, "value": [0, "1"]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    async def alertmanagers(request: web.Request) -> web.Response:
        active = [{"url": "http://alertmanager:9093/api/v2/alerts"}]
        return web.json_response({"status": "success", "data": {"activeAlertmanagers": active}})

    app = web.Application()
    app.router.add_get("/", ok)
    app.router.add_post("/api/v1/query", query)
    app.router.add_get("/api/v1/alertmanagers", alertmanagers)
    return app


async def test_running_out_of_descriptors_is_a_probe_error_never_a_verdict(tmp_path, postgres):
    async with AsyncExitStack() as stack:
        tls_target, ca_file = await stack.enter_async_context(tls_server(tmp_path))
        web_base = await stack.enter_async_context(serve_app(prometheus_like()))
        dns_server = await stack.enter_async_context(resolver())
        # (name, probe, its verdict as is); every one is an open, answering target.
        cases = [
            (
                "tcp-closed",
                {"tcp": {"target": tls_target, "expect": "closed", "local_ok": True}},
                "fail",
            ),
            ("tcp-open", {"tcp": {"target": tls_target}}, "pass"),
            ("http", {"http": {"url": f"{web_base}/"}}, "pass"),
            ("promql", {"promql": {"url": web_base, "query": "up", "expect": "== 1"}}, "pass"),
            (
                "alerting",
                {"alerting": {"prometheus": web_base, "checks": ["active_alertmanager"]}},
                "pass",
            ),
            ("tls", {"tls": {"target": tls_target, "ca_file": ca_file}}, "pass"),
            ("tls-old-versions", {"tls": {"target": tls_target, "ca_file": ca_file}}, "pass"),
            ("dns", {"dns": {"name": "app.test", "type": "A", "resolver": dns_server}}, "pass"),
            ("sql", {"sql": {"dsn": postgres.dsn, "query": "SELECT 1", "expect": "== 1"}}, "pass"),
            ("command", {"command": {"argv": [sys.executable, "-c", "pass"]}}, "pass"),
        ]
        path = tmp_path / "cases.json"
        path.write_text(
            json.dumps(
                [
                    {
                        "name": name,
                        "probe": probe,
                        "base_dir": str(tmp_path),
                        "between_tls_handshakes": name == "tls-old-versions",
                    }
                    for name, probe, _ in cases
                ]
            )
        )
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "support.exhausted",
            str(path),
            cwd=ROOT / "tests",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), 300)
    assert child.returncode == 0, err.decode()[-3000:]
    results = json.loads(out.splitlines()[-1])  # after the log lines
    for name, _, verdict in cases:
        (status, error, summary), exhausted = results[name]
        assert (status, error) == (verdict, False), (name, summary)
        status, error, summary = exhausted
        assert status == "fail" and error, (name, summary)
        assert summary.startswith("cannot judge ") and "Too many open files" in summary, name
    assert results["tcp-closed"][0][2].endswith("accepts connections, expected closed")


@pytest.mark.parametrize(
    "exc,local",
    [
        (OSError(errno.EMFILE, "Too many open files"), True),
        (OSError(errno.ENFILE, "Too many open files in system"), True),
        (OSError(errno.ENOBUFS, "No buffer space available"), True),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), True),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), True),
        (PermissionError(errno.EACCES, "Permission denied"), True),
        (PermissionError(errno.EPERM, "Operation not permitted"), True),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), False),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
        (OSError(errno.EHOSTUNREACH, "No route to host"), False),
        (TimeoutError(), False),
        # OpenSSL's error 1 is no EPERM.
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), False),
        # asyncio's several addresses at once, errno lost.
        (OSError("Multiple exceptions: [Errno 111] Connect call failed, [Errno 99] no"), True),
        (OSError("Multiple exceptions: [Errno 111] Connect call failed, [Errno 111] again"), False),
    ],
)
def test_which_failures_are_this_machines(exc, local):
    assert (local_cause(exc) is not None) is local


def test_client_errors_are_classified_by_what_they_wrap():
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    emfile = aiohttp.ClientConnectorError(key, OSError(errno.EMFILE, "Too many open files"))
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(errno.ECONNREFUSED, "no"))
    untrusted = aiohttp.ClientConnectorCertificateError(key, ssl.SSLCertVerificationError(1, "x"))
    assert local_cause(emfile) is not None
    assert local_cause(refused) is None and local_cause(untrusted) is None


@pytest.mark.parametrize(
    "message,reason",
    [
        (
            'connection to server at "10.0.0.5", port 5432 failed: Network is unreachable',
            "Network is unreachable",
        ),
        ("could not create socket: Too many open files", "Too many open files"),
        ('connection to server at "db" failed: FATAL:  permission denied for database', None),
        ('connection to server at "db", port 5432 failed: Connection refused', None),
    ],
)
def test_libpq_messages_that_name_a_local_failure(message, reason):
    assert local_reason_in_libpq(message) == reason
