"""--web.config.file: the exporter-toolkit format, TLS and basic auth on a real exporter process."""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import bcrypt
import pytest
import trustme
from support.procs import ROOT, http_get, start_exporter, wait_until
from support.routes import app_routes

from exporter.config import ConfigError
from exporter.daemon import Daemon
from exporter.web import webconfig
from exporter.web.app import build_app

EXAMPLE = ROOT / "docs" / "web-config.example.yml"
PASSWORD = "s3cret-Pa55"
CONFIG = """
    checklist: {name: Web config test}
    categories:
      - id: sec
        title: Security
        items:
          - id: S-001
            title: A file is there
            priority: high
            interval: 1h
            probe: {file: {path: config.yaml}}
"""


def bcrypt_hash(password: str) -> str:
    # $2y$ is what htpasswd writes; Python's bcrypt reads it.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


def request(
    url: str,
    auth: tuple[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one request; errors are answers, not exceptions."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10, context=tls) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def write_tls_files(ca: trustme.CA, folder: Path) -> None:
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(folder / "server.crt")
    server.private_key_pem.write_to_path(folder / "server.key")
    ca.cert_pem.write_to_path(folder / "clients-ca.crt")


def test_example_file_passes_promtool_and_our_loader():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/test.sh installs it as root)")
    out = subprocess.run(
        [promtool, "check", "web-config", str(EXAMPLE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    cfg = webconfig.load(EXAMPLE)
    assert cfg.tls is None
    assert bcrypt.checkpw(b"change-me", cfg.users["prometheus"])


def test_tls_file_passes_promtool_and_our_loader(tmp_path, ca):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    write_tls_files(ca, tmp_path)
    web = tmp_path / "web.yml"
    web.write_text(f"""tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: clients-ca.crt
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS13
basic_auth_users:
  alice: {bcrypt_hash(PASSWORD)}
""")
    out = subprocess.run(
        [promtool, "check", "web-config", str(web)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    cfg = webconfig.load(web)
    assert cfg.tls is not None and cfg.tls.cert_file == tmp_path / "server.crt"
    ctx = cfg.ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3


BAD = [
    (
        "tls_server_config: {cert_file: a.crt}\n",
        ["web.yml: tls_server_config.key_file is required"],
    ),
    (
        "tls_server_config: {cert_file: a.crt, key_file: a.key, min_version: TLS9}\n",
        [
            "web.yml: tls_server_config.min_version must be one of "
            'TLS10, TLS11, TLS12, TLS13 (got "TLS9")'
        ],
    ),
    (
        "tls_server_config: {cert_file: a.crt, key_file: a.key, "
        "client_auth_type: RequireAndVerifyClientCert}\n",
        [
            "web.yml: tls_server_config.client_ca_file is required with client_auth_type "
            "RequireAndVerifyClientCert"
        ],
    ),
    (
        "tls_server_config: {cert_file: a.crt, key_file: a.key, "
        "client_auth_type: RequireAnyClientCert, client_ca_file: c}\n",
        [
            "web.yml: tls_server_config.client_auth_type RequireAnyClientCert is not supported: "
            "Python's TLS cannot accept a client certificate it does not verify; "
            "use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
        ],
    ),
    (
        "tls_server_config: {cert_file: a.crt, key_file: a.key, "
        "cipher_suites: [TLS_AES_128_GCM_SHA256]}\n",
        ["web.yml: tls_server_config.cipher_suites is not supported by readiness-exporter"],
    ),
    (
        "basic_auth_users: {alice: hunter2-plain-password}\n",
        [
            "web.yml: basic_auth_users.alice must be a bcrypt hash ($2y$10$... , 60 characters), "
            "e.g. from htpasswd -nBC 10 USER"
        ],
    ),
    (
        "basic_auth_users: [alice]\n",
        ["web.yml: basic_auth_users must be a mapping of user names to bcrypt hashes (got a list)"],
    ),
    (
        "basic_auth: {alice: x}\n",
        [
            "web.yml: basic_auth is not a known field (known: tls_server_config, basic_auth_users, "
            "http_server_config)"
        ],
    ),
    (
        "http_server_config: {http2: true}\n",
        ["web.yml: http_server_config is not supported by readiness-exporter"],
    ),
    (  # every problem in the file, each on its line
        "tls_server_config: {cert_file: a.crt, min_version: TLS9}\n"
        "basic_auth_users: {alice: hunter2-plain-password, 'b:c': x}\n"
        "extra: 1\n",
        [
            "web.yml: extra is not a known field (known: tls_server_config, basic_auth_users, "
            "http_server_config)",
            "web.yml: tls_server_config.key_file is required",
            "web.yml: tls_server_config.min_version must be one of "
            'TLS10, TLS11, TLS12, TLS13 (got "TLS9")',
            "web.yml: basic_auth_users.alice must be a bcrypt hash ($2y$10$... , 60 characters), "
            "e.g. from htpasswd -nBC 10 USER",
            "web.yml: basic_auth_users.b:c user names must be non-empty strings without ':'",
        ],
    ),
    ("tls_server_config: [\n", None),  # invalid YAML: located by line
]


@pytest.mark.parametrize("text,errors", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_web_config_is_refused_with_a_located_message(tmp_path, text, errors):
    path = tmp_path / "web.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        webconfig.load(path)
    if errors is None:
        assert exc.value.errors[0].startswith(f"{path}: line ")
    else:
        assert exc.value.errors == errors
    assert "hunter2" not in str(exc.value)


def test_missing_certificate_is_a_config_error(tmp_path):
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config: {cert_file: none.crt, key_file: none.key}\n")
    with pytest.raises(
        ConfigError, match=r"web.yml: tls_server_config.cert_file: cannot be read \(No such file"
    ):
        webconfig.load(path).ssl_context()


def test_bad_web_config_stops_serve_with_exit_code_2(tmp_path, write_config):
    config = write_config(CONFIG)
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users: {alice: plain}\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "--config.file",
            str(config),
            "--web.config.file",
            str(web),
            "--web.listen-address",
            "127.0.0.1:0",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2
    assert "web.yml: basic_auth_users.alice must be a bcrypt hash" in out.stderr


def every_path(config: Path) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, item routes for S-001."""
    return app_routes(build_app(Daemon(config)), ["S-001"])


@pytest.fixture
def secured(tmp_path, ca, write_config):
    """An exporter with TLS and basic auth; yields (base URL, client TLS context, config)."""
    config = write_config(CONFIG)
    write_tls_files(ca, tmp_path)
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config: {{cert_file: server.crt, key_file: server.key}}\n"
        f"basic_auth_users:\n  alice: {bcrypt_hash(PASSWORD)}\n"
    )
    tls = ssl.create_default_context()
    ca.configure_trust(tls)
    proc, base = start_exporter(
        config, tmp_path / "exporter.log", extra=["--web.config.file", str(web)], health_tls=tls
    )
    try:
        yield base, tls, config
    finally:
        assert proc.stop() == 0
        assert PASSWORD not in proc.log_path.read_text()


def test_every_endpoint_but_healthy_asks_for_credentials(secured):
    base, tls, config = secured
    routes = every_path(config)
    assert ("GET", "/metrics") in routes and ("POST", "/-/reload") in routes
    assert ("GET", "/static/board.css") in routes
    for method, path in routes:
        status, headers, _ = request(base + path, tls=tls, method=method)
        if path == "/-/healthy":  # the one route in webconfig.OPEN_ROUTES
            assert status == 200, path
            continue
        assert status == 401, f"{method} {path} answered {status} without credentials"
        assert headers["WWW-Authenticate"] == 'Basic realm="readiness-exporter", charset="UTF-8"'
        for auth in [("alice", "wrong"), ("mallory", PASSWORD), ("", ""), ("alice", "")]:
            assert request(base + path, auth, tls, method)[0] == 401, (method, path, auth)
        assert request(base + path, ("alice", PASSWORD), tls, method)[0] != 401, (method, path)
    status, _, body = request(base + "/metrics", ("alice", PASSWORD), tls)
    assert status == 200 and b"readiness_item_status" in body


def test_garbage_authorization_headers_get_401(secured):
    base, tls, _ = secured
    for header in [
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer abc",
        "basic " + "A" * 4000,
    ]:
        status, headers, _ = request(base + "/metrics", tls=tls, headers={"Authorization": header})
        assert status == 401, header
        assert "WWW-Authenticate" in headers


def test_plain_http_to_a_tls_port_gets_no_metrics(secured):
    base, _, _ = secured
    with pytest.raises(OSError):
        request(base.replace("https://", "http://") + "/metrics", ("alice", PASSWORD))
    # (the connection is reset or answered with garbage: either way no metrics leave)


def test_client_certificate_required(tmp_path, ca, write_config):
    config = write_config(CONFIG)
    write_tls_files(ca, tmp_path)
    web = tmp_path / "web.yml"
    web.write_text(
        "tls_server_config: {cert_file: server.crt, key_file: server.key, "
        "client_ca_file: clients-ca.crt, client_auth_type: RequireAndVerifyClientCert}\n"
    )
    client = ca.issue_cert("scraper@example.test")
    with_cert = ssl.create_default_context()
    ca.configure_trust(with_cert)
    client.configure_cert(with_cert)
    without = ssl.create_default_context()
    ca.configure_trust(without)
    proc, base = start_exporter(
        config,
        tmp_path / "exporter.log",
        extra=["--web.config.file", str(web)],
        health_tls=with_cert,
    )
    try:
        assert request(base + "/metrics", tls=with_cert)[0] == 200
        with pytest.raises((ssl.SSLError, OSError)):
            request(base + "/metrics", tls=without)
    finally:
        assert proc.stop() == 0


def test_unknown_user_costs_a_bcrypt_check_too(monkeypatch):
    """Timing must not tell which users exist: an unknown user is checked against a dummy hash."""
    import asyncio

    checked: list[bytes] = []
    real = webconfig._checkpw
    monkeypatch.setattr(webconfig, "_checkpw", lambda pw, h: checked.append(h) or real(pw, h))
    auth = webconfig.BasicAuth({"alice": bcrypt_hash(PASSWORD).encode()})

    def header(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    assert asyncio.run(auth.check(header("mallory", PASSWORD))) is False
    assert checked == [auth.dummy_hash]
    assert asyncio.run(auth.check(header("alice", "wrong"))) is False
    assert asyncio.run(auth.check(header("alice", PASSWORD))) is True
    assert len(checked) == 3
    # A correct login is remembered; a wrong one never is.
    assert asyncio.run(auth.check(header("alice", PASSWORD))) is True
    assert asyncio.run(auth.check(header("alice", "wrong"))) is False
    assert len(checked) == 4


def test_the_dummy_hash_never_lets_anyone_in():
    import asyncio

    auth = webconfig.BasicAuth({})
    header = "Basic " + base64.b64encode(b"nobody:no such user").decode()
    assert asyncio.run(auth.check(header)) is False


def test_the_dummy_hash_has_the_cost_the_users_have():
    """Users hashed at cost 12 take ~4x longer than cost 10: unknown users must too."""
    users = {
        "alice": bcrypt.hashpw(b"a", bcrypt.gensalt(5)),
        "bob": bcrypt.hashpw(b"b", bcrypt.gensalt(5)),
        "carol": bcrypt.hashpw(b"c", bcrypt.gensalt(4)),
    }
    assert webconfig.bcrypt_cost(webconfig.BasicAuth(users).dummy_hash) == 5
    assert webconfig.bcrypt_cost(webconfig.BasicAuth({}).dummy_hash) == 10  # htpasswd's


def test_a_wrong_password_flood_neither_queues_nor_locks_out_a_correct_login(
    tmp_path, write_config
):
    """40 concurrent wrong passwords from 127.0.0.2 at cost 10: past the bounded queue they get
    429 at once; a first correct login from 127.0.0.1 meanwhile gets in (it waited 28 s when
    every check queued)."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    config = write_config(CONFIG)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  alice: {hashed}\n")
    proc, base = start_exporter(
        config, tmp_path / "exporter.log", extra=["--web.config.file", str(web)]
    )
    port = int(base.rsplit(":", 1)[1])

    def login(source: str, password: str) -> tuple[int, float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        token = base64.b64encode(f"alice:{password}".encode()).decode()
        started = time.monotonic()
        try:
            conn.request("GET", "/metrics", headers={"Authorization": f"Basic {token}"})
            return conn.getresponse().status, time.monotonic() - started
        finally:
            conn.close()

    try:
        with ThreadPoolExecutor(40) as pool:
            flood = [pool.submit(login, "127.0.0.2", f"wrong-{n}") for n in range(40)]
            correct = login("127.0.0.1", PASSWORD)
            answers = [f.result()[0] for f in flood]
    finally:
        assert proc.stop() == 0
    print(
        f"\nwrong-password flood: {answers.count(401)} checked (401), {answers.count(429)} "
        f"turned away (429); the correct login took {correct[1] * 1000:.0f} ms"
    )
    assert correct[0] == 200
    assert sorted(set(answers)) == [401, 429]


# -- the endpoints themselves, with or without a web config ----------------------------------


def test_no_endpoint_takes_a_target_from_the_request(tmp_path, write_config):
    """Query strings are ignored, state changes are POST only, routes take no free-form path."""
    config = write_config(CONFIG)
    proc, base = start_exporter(config, tmp_path / "exporter.log")
    try:
        for method, path in every_path(config):
            resource_paths = path
            assert "{" not in resource_paths, f"{path} takes a value from the request"
            if method == "POST":
                status, _, _ = request(base + path, method="GET")
                assert status == 405, f"GET {path} answered {status}: state changes must be POST"
        plain = request(base + "/")[2]
        evil = request(base + "/?target=http://169.254.169.254/&module=x&url=file:///etc/passwd")[2]
        assert b"169.254" not in evil and b"passwd" not in evil and len(evil) == len(plain)
        assert request(base + "/probe?target=127.0.0.1")[0] == 404
        assert request(base + "/../../etc/passwd")[0] == 404
    finally:
        assert proc.stop() == 0


def test_request_headers_and_bodies_are_size_limited(tmp_path, write_config):
    config = write_config(CONFIG)
    proc, base = start_exporter(config, tmp_path / "exporter.log")
    try:
        host, port = base.removeprefix("http://").split(":")
        answers = []
        for head in [
            f"X-Big: {'a' * 100_000}\r\n",  # one huge header
            "".join(f"X-H{i}: v\r\n" for i in range(500)),  # too many headers
        ]:
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
                answers.append(s.recv(200).split(b"\r\n")[0])
        assert all(a.split()[1] in (b"400", b"431") for a in answers), answers
        # A body over the limit on the POST endpoint: refused or ignored, never buffered whole.
        status, _, _ = request(base + "/-/reload", method="POST", data=b"x" * (4 * 1024 * 1024))
        assert status in (200, 413)
        assert request(base + "/metrics")[0] == 200
    finally:
        assert proc.stop() == 0


def raw_answer(base: str, request: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers of the answer to bytes sent as they are (malformed requests too)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := s.recv(4096)):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), headers


def test_every_answer_carries_the_security_headers(tmp_path, write_config):
    """Pages, API, metrics, assets, 404s, 405s and aiohttp's own 400 for a malformed request:
    no sniffing, no framing, and a Server header without versions."""
    config = write_config(CONFIG)
    proc, base = start_exporter(config, tmp_path / "exporter.log")
    try:
        answers = {f"{m} {p}": request(base + p, method=m)[:2] for m, p in every_path(config)}
        answers["GET /nope (404)"] = request(base + "/nope")[:2]
        answers["GET /-/reload (405)"] = request(base + "/-/reload")[:2]
        answers["malformed (400)"] = raw_answer(base, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        answers["garbage (400)"] = raw_answer(base, b"\x16\x03\x01garbage\r\n\r\n")
    finally:
        assert proc.stop() == 0
    assert answers["malformed (400)"][0] == 400 and answers["GET /nope (404)"][0] == 404
    for where, (_status, headers) in answers.items():
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("X-Frame-Options") == "DENY", where
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
        assert headers.get("Server") == "readiness-exporter", (where, headers.get("Server"))
    assert "Traceback" not in (tmp_path / "exporter.log").read_text()


def test_state_changes_from_another_site_are_refused(tmp_path, write_config):
    """POST and PUT /-/reload and probe-now: a page of another site (Origin, Sec-Fetch-Site)
    gets 403; the exporter's own pages, its external URL (a proxy) and curl get through."""
    config = write_config(CONFIG)
    proc, base = start_exporter(
        config,
        tmp_path / "exporter.log",
        extra=[
            "--web.external-url",
            "https://ops.example.test/readiness/",
            "--web.route-prefix",
            "/",
        ],
    )
    cross = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": base.replace("127.0.0.1", "127.0.0.2")},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://ops.example.test", "Sec-Fetch-Site": "cross-site"},
    ]
    allowed = [
        {},  # curl, a deploy script
        {"Origin": base, "Sec-Fetch-Site": "same-origin"},  # the exporter's own page
        {"Origin": "https://ops.example.test", "Sec-Fetch-Site": "same-origin"},  # via proxy
        {"Sec-Fetch-Site": "none"},  # typed into the address bar
    ]
    try:
        for method, path in [
            ("POST", "/-/reload"),
            ("PUT", "/-/reload"),
            ("POST", "/items/S-001/probe"),
        ]:
            for headers in cross:
                status, _, body = request(base + path, method=method, headers=headers)
                assert status == 403, (method, path, headers, status)
                assert b"from another site" in body
            for n, headers in enumerate(allowed):
                if path.endswith("/probe") and n:
                    continue  # one probe-now run: the next would meet the rate limit (429)
                status, _, body = request(base + path, method=method, headers=headers)
                assert status == 200, (method, path, headers, status, body)
        # Reads are not state changes: a cross-site GET is answered (the browser keeps it).
        assert request(base + "/-/ready", headers=cross[0])[0] in (200, 503)
    finally:
        assert proc.stop() == 0


def served_certificate(base: str, tls: ssl.SSLContext) -> bytes:
    """The DER certificate a new TLS connection to the exporter is shown."""
    host, port = base.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        tls.wrap_socket(raw, server_hostname=host) as conn,
    ):
        cert = conn.getpeercert(binary_form=True)
    assert cert is not None
    return cert


def test_a_rotated_certificate_is_served_without_a_restart(tmp_path, ca, write_config):
    """cert-manager style: the files change under a running exporter; the next connection sees
    the new certificate. A rotation caught half-way (new certificate, old key) keeps serving the
    old pair and says so, instead of failing handshakes."""
    config = write_config(CONFIG)
    write_tls_files(ca, tmp_path)
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config: {cert_file: server.crt, key_file: server.key}\n")
    tls = ssl.create_default_context()
    ca.configure_trust(tls)
    proc, base = start_exporter(
        config, tmp_path / "exporter.log", extra=["--web.config.file", str(web)], health_tls=tls
    )
    try:
        old = served_certificate(base, tls)
        assert old == ssl.PEM_cert_to_DER_cert((tmp_path / "server.crt").read_text())
        new = ca.issue_cert("127.0.0.1", "localhost")
        new.cert_chain_pems[0].write_to_path(tmp_path / "server.crt")  # the key not yet
        wait_until(
            lambda: (
                served_certificate(base, tls) == old
                and "TLS files changed but cannot be loaded" in proc.log()
            ),
            20,
            "the half-done rotation noticed",
        )
        new.private_key_pem.write_to_path(tmp_path / "server.key")
        wait_until(lambda: served_certificate(base, tls) != old, 20, "the new certificate served")
        assert served_certificate(base, tls) == ssl.PEM_cert_to_DER_cert(
            new.cert_chain_pems[0].bytes().decode()
        )
        assert http_get(base + "/-/healthy", tls=tls)[0] == 200
    finally:
        assert proc.stop() == 0
    log = proc.log_path.read_text()
    assert log.count("TLS files changed but cannot be loaded") == 1
    assert "TLS certificate reloaded" in log
