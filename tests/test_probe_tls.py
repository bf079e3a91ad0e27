"""TLS probe against real TLS servers on loopback with certificates made by trustme."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trustme
from support.probing import config_error, run, silent_server

from probes.result import Status

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(
    cert=None,
    *,
    lowest=ssl.TLSVersion.TLSv1_2,
    highest=ssl.TLSVersion.MAXIMUM_SUPPORTED,
    pem: tuple[bytes, bytes] | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if cert is not None:
        cert.configure_cert(ctx)
    else:
        assert pem is not None
        import tempfile

        with tempfile.NamedTemporaryFile("wb", suffix=".pem") as fh:
            fh.write(pem[0] + pem[1])
            fh.flush()
            ctx.load_cert_chain(fh.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = lowest
        ctx.maximum_version = highest
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # lets a test server speak TLS 1.1
    return ctx


@asynccontextmanager
async def tls_server(ctx: ssl.SSLContext | None) -> AsyncIterator[str]:
    """A loopback TLS server (plain TCP with ctx None) that reads until the client leaves."""

    async def handle(reader, writer):
        try:
            await reader.read()
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.close()


async def test_valid_certificate_passes_and_exports_expiry(ca, ca_file, tmp_path):
    not_after = NOW + dt.timedelta(days=90)
    cert = ca.issue_cert("localhost", not_after=not_after)
    async with tls_server(server_context(cert)) as target:
        result = await run(
            {"tls": {"target": target, "server_name": "localhost", "ca_file": ca_file}}, tmp_path
        )
    assert result.status is Status.PASS, result.summary
    assert "TLS 1.1 refused" in result.summary
    assert "valid 90 days" in result.summary or "valid 89 days" in result.summary
    assert result.expires_at == pytest.approx(not_after.replace(microsecond=0).timestamp(), abs=1)
    assert result.evidence["self_signed"] is False


async def test_certificate_inside_warning_window_is_partial(ca, ca_file, tmp_path):
    cert = ca.issue_cert("localhost", not_after=NOW + dt.timedelta(days=10, hours=1))
    async with tls_server(server_context(cert)) as target:
        result = await run(
            {
                "tls": {
                    "target": target,
                    "server_name": "localhost",
                    "ca_file": ca_file,
                    "warn_days": 30,
                }
            },
            tmp_path,
        )
    assert result.status is Status.PARTIAL
    assert result.summary.endswith("certificate expires in 10 days, expected at least 30")


async def test_certificate_inside_critical_window_fails(ca, ca_file, tmp_path):
    cert = ca.issue_cert("localhost", not_after=NOW + dt.timedelta(days=3, hours=1))
    async with tls_server(server_context(cert)) as target:
        result = await run(
            {"tls": {"target": target, "server_name": "localhost", "ca_file": ca_file}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.summary.endswith("certificate expires in 3.0 days, expected at least 7")


async def test_expired_certificate_fails_with_its_date(ca, ca_file, tmp_path):
    expired = NOW - dt.timedelta(days=2)
    cert = ca.issue_cert("localhost", not_before=NOW - dt.timedelta(days=30), not_after=expired)
    async with tls_server(server_context(cert)) as target:
        result = await run(
            {"tls": {"target": target, "server_name": "localhost", "ca_file": ca_file}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.summary == f"{target}: certificate has expired (expired {expired:%Y-%m-%d})"
    assert result.expires_at == pytest.approx(expired.replace(microsecond=0).timestamp(), abs=1)


async def test_self_signed_certificate_fails(ca, tmp_path):
    # The CA's own certificate served as the leaf: issuer equals subject.
    ctx = server_context(pem=(ca.cert_pem.bytes(), ca.private_key_pem.bytes()))
    async with tls_server(ctx) as target:
        result = await run({"tls": {"target": target, "server_name": "localhost"}}, tmp_path)
    assert result.status is Status.FAIL
    assert "certificate is self-signed, expected one issued by a trusted CA" in result.summary
    assert result.evidence["self_signed"] is True


async def test_wrong_host_fails(ca, ca_file, tmp_path):
    cert = ca.issue_cert("other.example")
    async with tls_server(server_context(cert)) as target:
        result = await run(
            {"tls": {"target": target, "server_name": "localhost", "ca_file": ca_file}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"{target}: certificate does not match localhost")


async def test_server_accepting_tls_1_1_fails(ca, ca_file, tmp_path):
    cert = ca.issue_cert("localhost")
    ctx = server_context(cert, lowest=ssl.TLSVersion.TLSv1_1)
    async with tls_server(ctx) as target:
        result = await run(
            {"tls": {"target": target, "server_name": "localhost", "ca_file": ca_file}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.summary == f"{target} accepts TLSv1.1, expected refusal below TLS 1.2"


async def test_tls_1_2_server_fails_a_1_3_minimum(ca, ca_file, tmp_path):
    cert = ca.issue_cert("localhost")
    async with tls_server(server_context(cert)) as target:
        result = await run(
            {
                "tls": {
                    "target": target,
                    "server_name": "localhost",
                    "ca_file": ca_file,
                    "min_version": "1.3",
                }
            },
            tmp_path,
        )
    assert result.status is Status.FAIL
    assert result.summary == f"{target} accepts TLSv1.2, expected refusal below TLS 1.3"


async def test_tls_1_1_only_server_fails_the_handshake(ca, ca_file, tmp_path):
    cert = ca.issue_cert("localhost")
    ctx = server_context(cert, lowest=ssl.TLSVersion.TLSv1_1, highest=ssl.TLSVersion.TLSv1_1)
    async with tls_server(ctx) as target:
        result = await run(
            {"tls": {"target": target, "server_name": "localhost", "ca_file": ca_file}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"{target}: handshake failed:")
    assert result.summary.endswith("expected a TLS 1.2+ handshake")


async def test_silent_server_times_out(tmp_path):
    async with silent_server() as port:
        target = f"127.0.0.1:{port}"
        result = await run({"tls": {"target": target}}, tmp_path, timeout="1s")
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == f"{target}: no answer within the 1s timeout; cannot judge"


async def test_closed_port_fails(tmp_path):
    async with tls_server(None) as target:
        pass
    result = await run({"tls": {"target": target}}, tmp_path)
    assert result.status is Status.FAIL
    assert "connection refused" in result.summary


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"target": "localhost:443", "min_version": "1.1"},
            'tls.min_version must be one of 1.2, 1.3 (got "1.1")',
        ),
        ({"target": "localhost"}, 'tls.target must be host:port (got "localhost")'),
        (
            {"target": "localhost:443", "warn_days": 5, "critical_days": 10},
            "tls.critical_days (10) must not be above warn_days (5)",
        ),
        (
            {"target": "localhost:443", "verify": False},
            "tls.verify is not a known field "
            "(known: ca_file, critical_days, min_version, server_name, "
            "target, warn_days)",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"tls": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )


def test_exporter_publishes_the_certificate_expiry(ca, tmp_path, write_config):
    """End to end: the daemon runs the tls probe and exports the leaf's notAfter on /metrics."""
    import socket
    import threading

    from support.procs import http_get, start_exporter, wait_until

    not_after = NOW + dt.timedelta(days=60)
    ctx = server_context(ca.issue_cert("localhost", not_after=not_after))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    config = write_config(f"""
        categories:
        - id: security
          title: Security
          items:
          - id: S-012
            title: Valid SSL certificates (not self-signed)
            priority: critical
            probe:
              tls: {{target: "127.0.0.1:{port}", server_name: localhost, ca_file: ca.pem}}
    """)
    proc, base = start_exporter(config, tmp_path / "exporter.log")
    try:
        line = 'readiness_item_expiry_timestamp_seconds{item="S-012"}'

        def exported() -> bool:
            return line in http_get(f"{base}/metrics")[1].decode()

        wait_until(exported, 20, "expiry metric")
        text = http_get(f"{base}/metrics")[1].decode()
    finally:
        proc.stop()
        stop.set()
        listener.close()
    value = next(ln.split()[-1] for ln in text.splitlines() if ln.startswith(line))
    assert float(value) == pytest.approx(not_after.replace(microsecond=0).timestamp(), abs=1)
    assert (
        'readiness_item_status{category="security",item="S-012",priority="critical",'
        'status="pass"} 1.0'
    ) in text.splitlines()
