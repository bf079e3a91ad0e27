"""TLS probe against real TLS servers on loopback with certificates made by trustme."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trustme
from support.nginx import Nginx, certificate, nginx
from support.probing import config_error, run
from support.procs import ROOT

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
    assert result.summary.endswith("; TLS 1.1 and below refused")
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
            "(known: ca_file, critical_days, judge, min_version, server_name, "
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


# -- one item, one question: judge on a real nginx ----------------------------------------------


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> Iterator[Nginx]:
    """nginx serving app.test: TLS 1.2+ (MODERN), also TLS 1.1 (OLD, as the audit's trap
    writes it), a self-signed certificate (SELF) and one that expires in 10 days (SOON)."""
    workdir = tmp_path_factory.mktemp("tls-edge")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
    chain, key = certificate(ca, workdir, "app.test")
    soon = ca.issue_cert("app.test", not_after=NOW + dt.timedelta(days=10, hours=1))
    soon.private_key_and_cert_chain_pem.write_to_path(str(workdir / "soon.pem"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "90",
         "-subj", "/CN=app.test", "-addext", "subjectAltName=DNS:app.test",
         "-keyout", str(workdir / "self.key"), "-out", str(workdir / "self.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    def server(port: str, cert: Path, key: Path, extra: str = "") -> str:
        return (
            f"server {{ listen 127.0.0.1:@{port}@ ssl; server_name app.test; "
            f"ssl_certificate {cert}; ssl_certificate_key {key}; {extra} "
            'return 200 "ok\\n"; }\n'
        )

    servers = (
        server("MODERN", chain, key, "ssl_protocols TLSv1.2 TLSv1.3;")
        + server(
            "OLD", chain, key, "ssl_protocols TLSv1.1 TLSv1.2; ssl_ciphers DEFAULT:@SECLEVEL=0;"
        )
        + server("SELF", workdir / "self.pem", workdir / "self.key")
        + server("SOON", workdir / "soon.pem", workdir / "soon.pem")
    )
    with nginx(workdir, servers, ["MODERN", "OLD", "SELF", "SOON"]) as running:
        yield running


def judged(edge: Nginx, port: str, judge: str | None) -> dict:
    tls = {"target": edge.target(port), "server_name": "app.test", "ca_file": "ca.pem"}
    return {"tls": {**tls, **({"judge": judge} if judge else {})}}


@pytest.mark.parametrize(
    "port, judge, status, summary",
    [
        ("MODERN", "protocol", Status.PASS, ": TLSv1.3; TLS 1.1 and below refused"),
        ("OLD", "protocol", Status.FAIL, " accepts TLSv1.1, expected refusal below TLS 1.2"),
        ("SELF", "protocol", Status.PASS, "TLS 1.1 and below refused"),  # S-012's question
        ("SOON", "protocol", Status.PASS, "TLS 1.1 and below refused"),  # S-012's question
        ("OLD", "certificate", Status.PASS, "certificate valid "),  # S-011's question
        ("SELF", "certificate", Status.FAIL, "certificate is self-signed"),
        ("SOON", "certificate", Status.PARTIAL, "certificate expires in 10 days"),
        ("OLD", None, Status.FAIL, " accepts TLSv1.1"),  # both, the default
        ("SELF", None, Status.FAIL, "certificate is self-signed"),
    ],
)
async def test_judge_answers_its_own_question(edge, port, judge, status, summary):
    result = await run(judged(edge, port, judge), edge.workdir)
    assert result.status is status, result.summary
    assert summary in result.summary
    if judge == "certificate":
        assert "lower_versions" not in result.evidence and "refused" not in result.summary
    if judge == "protocol":
        assert result.expires_at is None and "certificate" not in result.summary


async def test_a_server_that_refuses_tls_1_1_refuses_on_the_wire(edge):
    result = await run(judged(edge, "MODERN", "protocol"), edge.workdir)
    assert result.evidence["lower_versions"] == "refused (alert protocol version)"


# OpenSSL's own configuration switching TLS 1.0/1.1 off for every context, as a distribution's
# crypto policy can: the probe cannot offer them, so it cannot judge whether they are refused.
NO_OLD_PROTOCOLS = """\
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Protocol = ALL, -TLSv1, -TLSv1.1
"""

IN_A_PROCESS = """\
import asyncio, json, sys
from pathlib import Path
from support.probing import run
result = asyncio.run(run(json.loads(sys.argv[1]), Path(sys.argv[2])))
print(json.dumps({"status": result.status.value, "summary": result.summary,
                  "error": result.error}))
"""


def run_without_old_protocols(edge: Nginx, probe: dict) -> dict:
    conf = edge.workdir / "no-old-protocols.cnf"
    conf.write_text(NO_OLD_PROTOCOLS)
    env = {**os.environ, "OPENSSL_CONF": str(conf), "PYTHONPATH": str(ROOT / "tests")}
    done = subprocess.run(
        [sys.executable, "-c", IN_A_PROCESS, json.dumps(probe), str(edge.workdir)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("judge", ["protocol", None])
def test_old_versions_this_openssl_cannot_offer_are_not_judged(edge, judge):
    result = run_without_old_protocols(edge, judged(edge, "MODERN", judge))
    assert result["status"] == "fail" and result["error"] is True
    assert result["summary"] == (
        f"{edge.target('MODERN')}: this machine's OpenSSL cannot offer TLS 1.1 "
        "(NO_PROTOCOLS_AVAILABLE); cannot judge whether the server refuses it"
    )


def test_the_certificate_is_judged_without_old_versions(edge):
    result = run_without_old_protocols(edge, judged(edge, "MODERN", "certificate"))
    assert result["status"] == "pass", result["summary"]


async def test_an_empty_server_name_is_the_targets_host(edge):
    # ${APP_SERVER_NAME:-} unset: the name is 127.0.0.1, which the certificate does not hold.
    probe = judged(edge, "MODERN", "certificate")
    probe["tls"]["server_name"] = ""
    result = await run(probe, edge.workdir)
    assert result.status is Status.FAIL
    assert result.summary.startswith(
        f"{edge.target('MODERN')}: certificate does not match 127.0.0.1 (expires "
    )
