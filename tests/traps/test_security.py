"""Traps for the Security items."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import os
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web
from support.nginx import Nginx, certificate, nginx
from support.servers import closed_port

from probes.result import Status
from traps.apis import Reply, github_runs, serve
from traps.shipped import passes, run_shipped, run_shipped_together, sign

# S-001 ----------------------------------------------------------------------------------------

PRODUCTION_ENV = """\
ENVIRONMENT=production
SECRET_KEY=ulJQx0Zq8Rk3v9T2mWb7YcN4pLs6Hd1F
POSTGRES_PASSWORD=5FsuW2xq8LmT3vNz
REDIS_URL=redis://localhost:6379/0
EMAILS_FROM_EMAIL=noreply@example.com
SMTP_PASSWORD=
"""


async def test_s001_the_templates_own_placeholder_is_not_a_production_secret(tree):
    for name, line in [
        ("template", "SMTP_PASSWORD=changethis\n"),  # full-stack-fastapi-template
        ("dev", "JWT_SECRET=my_test_secret_key\n"),
        ("url", "DATABASE_URL=postgresql://app:postgres@db:5432/app\n"),
    ]:
        bad = tree(name, {".env": PRODUCTION_ENV + line})
        sign(bad, "S-001")
        result = await run_shipped("S-001", {"APP_ENV_FILE": str(bad / ".env")}, bad)
        assert not passes(result), name
        assert "placeholder value" in result.summary
        assert line.split("=", 1)[1].strip() not in repr(result)
    # localhost and example.com beside real secrets are fine; so is an optional setting left empty
    good = tree("good", {".env": PRODUCTION_ENV})
    sign(good, "S-001")
    assert passes(await run_shipped("S-001", {"APP_ENV_FILE": str(good / ".env")}, good))


async def test_s001_no_placeholder_is_not_rotated_until_someone_signs(tree):
    repo = tree("repo", {".env": PRODUCTION_ENV})
    result = await run_shipped("S-001", {"APP_ENV_FILE": str(repo / ".env")}, repo)
    assert not passes(result) and "not attested yet" in result.summary


# S-005 ----------------------------------------------------------------------------------------

PMS_KEY = "UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX"  # the shape of a QloApps/PrestaShop webservice key

# GET /api/ with a key that may read and write rooms, as PrestaShop's webservice documents it
RESOURCES = """<?xml version="1.0" encoding="UTF-8"?>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">
<api shopName="QloApps">
<hotel_room_types xlink:href="{base}/api/hotel_room_types" get="true" put="true" post="true" \
delete="false" head="true">
<description xlink:href="{base}/api/hotel_room_types" get="true">Room types</description>
</hotel_room_types>
</api>
</prestashop>
"""
UNAUTHORIZED = """<?xml version="1.0" encoding="UTF-8"?>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">
<errors><error><code><![CDATA[17]]></code><message><![CDATA[Authentication key is empty]]>\
</message></error></errors>
</prestashop>
"""


def webservice(request: web.Request) -> web.Response:
    """/api/ as QloApps answers it: 401 without a known key, the key's resources with it."""
    auth = request.headers.get("Authorization", "")
    if auth != "Basic " + base64.b64encode(f"{PMS_KEY}:".encode()).decode():
        realm = (
            'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key"'
        )
        return web.Response(
            status=401,
            text=UNAUTHORIZED,
            content_type="text/xml",
            headers={"WWW-Authenticate": realm},
        )
    base = f"{request.scheme}://{request.host}"
    return web.Response(text=RESOURCES.format(base=base), content_type="text/xml")


async def catch_all(request: web.Request) -> web.Response:
    """A front that answers every path with its home page (URL rewriting off, or an SPA)."""
    return web.Response(text="<!DOCTYPE html><title>Hotel</title><h1>Book a room</h1>")


async def test_s005_a_page_that_answers_200_to_any_key_is_not_the_webservice(tmp_path):
    env = {"PMS_API_KEY": PMS_KEY}
    async with serve({"GET /api/": catch_all}) as base:
        result = await run_shipped("S-005", {**env, "PMS_URL": base}, tmp_path)
        assert not passes(result), result.summary
        assert "body has no resource listing" in result.summary
        assert "status 200, expected 401" in result.summary
        assert PMS_KEY not in repr(result)

    async def handler(request: web.Request) -> web.Response:
        return webservice(request)

    async with serve({"GET /api/": handler}) as base:
        result = await run_shipped(
            "S-005",
            {"PMS_API_KEY": "WRONGKEY9N2ARSHWCXLT74KUKSSK34BFKX", "PMS_URL": base},
            tmp_path,
        )
        assert not passes(result), result.summary
        result = await run_shipped("S-005", {**env, "PMS_URL": base}, tmp_path)
        assert passes(result), result.summary
        assert PMS_KEY not in repr(result)


# S-007 ----------------------------------------------------------------------------------------

# FastAPI's OAuth2/JWT tutorial's SECRET_KEY ("openssl rand -hex 32"): 64 random-looking hex
# digits, published, and copied into thousands of applications' settings.
FASTAPI_TUTORIAL_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"


async def test_s007_a_published_or_repeated_long_secret_is_not_strong(tmp_path, monkeypatch):
    for weak in (FASTAPI_TUTORIAL_KEY, "secret" * 6):
        monkeypatch.setenv("JWT_SECRET", weak)
        result = await run_shipped("S-007", {}, tmp_path)
        assert (result.status, result.summary) == (
            Status.FAIL,
            "JWT_SECRET holds a placeholder value, expected a real one",
        )
        assert weak not in repr(result)
    # 33 characters from secrets.token_urlsafe: one past the title's 32
    monkeypatch.setenv("JWT_SECRET", "kR2vX9qLmP4sWzT7yBn6HcQ1fGd8EjA3u")
    result = await run_shipped("S-007", {}, tmp_path)
    assert passes(result), result.summary


# S-002 ----------------------------------------------------------------------------------------

STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented test-key shape, live prefix


def git_repo(root, files: dict[str, str]):
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "app"]):
        subprocess.run(["git", *argv], cwd=root, env=env, check=True, timeout=60)
    return root


async def test_s002_an_upper_case_key_is_found_and_never_shown(tmp_path):
    bad = git_repo(
        tmp_path / "bad",
        {
            "app/payments.py": f'import os\n\nSTRIPE_API_KEY = "{STRIPE}"\n',
            "app/main.py": "import os\nDB = os.environ['DATABASE_URL']\n",
        },
    )
    result = await run_shipped("S-002", {"APP_REPO": str(bad)}, bad)
    assert not passes(result)
    assert "app/payments.py:3" in result.summary
    assert STRIPE not in repr(result) and "STRIPE_API_KEY =" not in repr(result)


async def test_s002_lower_case_typed_and_minified_keys_are_found(tmp_path):
    # The shapes issue 11 saw the old regex miss, and a key inside a built bundle's long line.
    value = "Zq8" + "v3Kp9Lw2Rt6Yx1Nm4Bc7Hd0Jf5"
    shapes = {
        "lower": f'secret_key = "{value}"\n',
        "typed": f'class Settings:\n    api_key: str = "{value}"\n',
        "minified": "var a=1;" * 600 + f'const STRIPE_API_KEY="{STRIPE}";' + "var b=2;" * 600,
    }
    for name, text in shapes.items():
        bad = git_repo(tmp_path / name, {"app/main.py": "import os\n", f"app/{name}.py": text})
        result = await run_shipped("S-002", {"APP_REPO": str(bad)}, bad)
        assert not passes(result) and not result.error, (name, result.summary)
        assert f"app/{name}.py:" in result.summary, (name, result.summary)
        assert value not in repr(result) and STRIPE not in repr(result), name


# What full-stack-fastapi-template's backend holds (the trial of issue 11): an e-mail template
# that shows a password placeholder, tests with fake credentials, Alembic revision ids.
TEMPLATE_REPO = {
    "app/main.py": "import os\nAPI_KEY = os.environ['API_KEY']\n",
    # Built by MJML: one line of 3,586 characters in the trial, scanned in windows.
    "app/email-templates/build/new_account.html": (
        '<div style="font-size:16px;">Password: {{ password }}</div></td></tr><tr>'
        + '<td align="center" style="font-size:0px;padding:10px 25px;">' * 60
        + "\n"
    ),
    "tests/api/routes/test_login.py": (
        'login = {"username": "a@example.com", "password": "incorrect"}\n'
    ),
    "tests/fixtures/fake_tokens.py": f'FAKE = "{STRIPE}"\n',
    "app/alembic/versions/e2412789c190_initialize_models.py": (
        'revision = "e2412789c190"\ndown_revision = "4f9c2e8b1a7d"\n'
    ),
}


async def test_s002_fake_credentials_templates_and_revision_ids_are_not_hard_coded_keys(tmp_path):
    good = git_repo(tmp_path / "good", TEMPLATE_REPO)
    result = await run_shipped("S-002", {"APP_REPO": str(good)}, good)
    assert passes(result), result.summary


# S-003 ----------------------------------------------------------------------------------------


async def test_s003_secretstr_elsewhere_does_not_cover_the_database_password(tree):
    for name, settings in [
        (
            "plain",
            "class Settings(BaseSettings):\n    jwt_secret: SecretStr\n"
            "    postgres_password: str\n",
        ),
        ("dsn", "class Settings(BaseSettings):\n    database_url: PostgresDsn\n"),
    ]:
        bad = tree(name, {"app/core/settings.py": "from pydantic import SecretStr\n" + settings})
        assert not passes(await run_shipped("S-003", {"APP_REPO": str(bad)}, bad)), name
    # The SMTP password is not a database credential: not this item's question.
    good = tree(
        "good",
        {
            "app/core/settings.py": (
                "class Settings(BaseSettings):\n    POSTGRES_PASSWORD: SecretStr\n"
                "    SMTP_PASSWORD: str | None = None\n"
            )
        },
    )
    assert passes(await run_shipped("S-003", {"APP_REPO": str(good)}, good))


async def test_s003_the_settings_module_is_a_variable(tree):
    # full-stack-fastapi-template keeps its settings in app/core/config.py
    bad = tree("bad", {"app/core/config.py": "class Settings:\n    POSTGRES_PASSWORD: str = ''\n"})
    env = {"APP_REPO": str(bad), "APP_SETTINGS_PATH": "app/core/config.py"}
    result = await run_shipped("S-003", env, bad)
    assert not passes(result) and "config.py" in result.summary


# S-004, S-008, S-010, S-013, S-014, S-022: HTTP ---------------------------------------------


def graph(expires_at: int, scopes: list[str]) -> dict[str, Reply]:
    return {
        "GET /v23.0/{phone}": Reply(body={"id": "1234", "display_phone_number": "+34 600"}),
        "GET /v23.0/debug_token": Reply(
            body={
                "data": {
                    "is_valid": True,
                    "expires_at": expires_at,
                    "scopes": scopes,
                    "app_id": "42",
                }
            }
        ),
    }


async def test_s004_the_24_hour_setup_token_is_not_production_ready(tmp_path):
    tomorrow = int(time.time()) + 86400
    env = {
        "WHATSAPP_PHONE_NUMBER_ID": "1234",
        "WHATSAPP_ACCESS_TOKEN": "EAAG" + "x1" * 20,
        "WHATSAPP_APP_TOKEN": "42|app-secret-value",
    }
    async with serve(graph(tomorrow, ["whatsapp_business_messaging"])) as base:
        result = await run_shipped(
            "S-004", {**env, "WHATSAPP_GRAPH_URL": f"{base}/v23.0"}, tmp_path
        )
        assert not passes(result) and "expires_at" in result.summary
        assert env["WHATSAPP_ACCESS_TOKEN"] not in repr(result)
    async with serve(graph(0, ["whatsapp_business_messaging", "business_management"])) as base:
        result = await run_shipped(
            "S-004", {**env, "WHATSAPP_GRAPH_URL": f"{base}/v23.0"}, tmp_path
        )
        assert passes(result), result.summary


def page(set_cookies: list[str]) -> dict[str, Reply]:
    return {"GET /login": Reply(body="<form>", headers={"Set-Cookie": set_cookies})}


async def test_s008_a_session_cookie_without_secure_fails_samesite_is_not_asked(tmp_path):
    async with serve(page(["session=abc; Path=/; HttpOnly; SameSite=Lax"])) as base:
        assert not passes(await run_shipped("S-008", {"APP_URL": base}, tmp_path))
    # csrftoken is JavaScript-readable by design; the session cookie has no SameSite: both fine
    cookies = [
        "session=abc; Path=/; Secure; HttpOnly",
        "csrftoken=x; Path=/; Secure; SameSite=Strict",
    ]
    async with serve(page(cookies)) as base:
        result = await run_shipped("S-008", {"APP_URL": base}, tmp_path)
        assert passes(result), result.summary


def limited(after: int | None) -> dict[str, object]:
    seen = {"n": 0}

    async def handler(request: web.Request) -> web.Response:
        seen["n"] += 1
        if after is not None and seen["n"] > after:
            return web.Response(status=429, text="slow down")
        return web.json_response({"detail": "Not Found"}, status=404)

    return {"GET /api/v1/": handler}


async def test_s010_an_api_without_a_limiter_fails_one_with_429_passes(tmp_path):
    async with serve(limited(None)) as base:
        assert not passes(await run_shipped("S-010", {"APP_URL": base}, tmp_path))
    async with serve(limited(20)) as base:
        result = await run_shipped("S-010", {"APP_URL": base}, tmp_path)
        assert passes(result) and "429" in result.summary


# nginx's limit_req over /api/, as in the trial: S-010's burst spends the budget that DOC-002's
# OpenAPI document and S-014's preflights share, and they read 429 right after it.
LIMITED_API = """
limit_req_zone $binary_remote_addr zone=api:1m rate=1r/m;
types { application/json json; }
server {
    listen 127.0.0.1:@HTTP@;
    location /api/ {
        limit_req zone=api burst=5 nodelay;
        limit_req_status 429;
        root @DIR@/www;
        try_files /api.json =404;  # a file, not `return`: that answers before limit_req
    }
}
"""


async def test_a_429_after_s010s_burst_is_no_answer_for_doc002_and_s014(tmp_path):
    """Before the burst DOC-002 PASSes; after it, DOC-002 and S-014's preflight cannot judge
    (rate limited by the target), never a verdict on the document or on CORS."""
    www = tmp_path / "nginx" / "www"
    www.mkdir(parents=True)
    (www / "api.json").write_text(
        '{"paths": {"/api/v1/items/": {"get": {"description": "List items"}}}}'
    )
    with nginx(tmp_path / "nginx", LIMITED_API, ["HTTP"]) as edge:
        base = f"http://127.0.0.1:{edge.ports['HTTP']}"
        env = {"APP_URL": base, "APP_OPENAPI_PATH": "/api/v1/openapi.json"}
        assert passes(await run_shipped("DOC-002", env, tmp_path))
        burst = await run_shipped("S-010", env, tmp_path)
        assert passes(burst) and "429" in burst.summary, burst.summary
        after = await run_shipped("DOC-002", env, tmp_path)
        cors = await run_shipped(
            "S-014",
            {**env, "APP_HEALTH_PATH": "/api/v1/", "APP_FRONTEND_ORIGIN": FRONTEND},
            tmp_path,
        )
    assert after.status is Status.FAIL and after.error, after.summary
    assert "rate limited by the target (429)" in after.summary, after.summary
    assert cors.status is Status.FAIL and cors.error, cors.summary
    assert "rate limited by the target (429)" in cors.summary, cors.summary


FRONTEND = "https://app.hotel.example"


def cors(allowed: str | None, preflight_reflects_any: bool = False) -> dict[str, object]:
    async def any_path(request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        answer: dict[str, str] = {}
        if origin is not None and (
            origin == allowed or (preflight_reflects_any and request.method == "OPTIONS")
        ):
            answer = {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
            }
        if request.method == "OPTIONS":
            status = 200 if answer else 400
            return web.Response(status=status, headers=answer, text="")
        return web.json_response({"status": "ok"}, headers=answer)

    return {"GET /health": any_path, "OPTIONS /api/v1/": any_path}


async def test_s014_a_proxy_that_reflects_any_origin_on_preflight_fails(tmp_path):
    env = {"APP_FRONTEND_ORIGIN": FRONTEND}
    async with serve(cors(FRONTEND, preflight_reflects_any=True)) as base:
        result = await run_shipped("S-014", {**env, "APP_URL": base}, tmp_path)
        assert not passes(result) and "reflects the foreign origin" in result.summary
    async with serve(cors(None)) as base:  # no CORS at all: no whitelist either
        assert not passes(await run_shipped("S-014", {**env, "APP_URL": base}, tmp_path))
    async with serve(cors(FRONTEND)) as base:
        result = await run_shipped("S-014", {**env, "APP_URL": base}, tmp_path)
        assert passes(result), result.summary


WORKFLOW = """\
name: security
on: [push]
jobs:
  audit:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{step}
"""


async def test_s022_a_scanner_in_a_comment_or_a_red_run_is_not_scanning(tree):
    env = {"GITHUB_REPOSITORY": "hotel/agente", "GITHUB_TOKEN": "ghp_" + "r" * 36}
    commented = tree(
        "commented",
        {".github/workflows/security.yml": WORKFLOW.format(step="      # TODO: add trivy")},
    )
    scanning = tree(
        "scanning",
        {
            ".github/workflows/security.yml": WORKFLOW.format(
                step="      - run: pip-audit -r requirements.txt"
            )
        },
    )
    route = "GET /repos/hotel/agente/actions/workflows/security.yml/runs"
    async with serve({route: github_runs("success")}) as base:
        result = await run_shipped(
            "S-022", {**env, "APP_REPO": str(commented), "GITHUB_API_URL": base}, commented
        )
        assert not passes(result)
        assert passes(
            await run_shipped(
                "S-022", {**env, "APP_REPO": str(scanning), "GITHUB_API_URL": base}, scanning
            )
        )
    async with serve({route: github_runs("failure")}) as base:
        assert not passes(
            await run_shipped(
                "S-022", {**env, "APP_REPO": str(scanning), "GITHUB_API_URL": base}, scanning
            )
        )


async def test_s022_a_monorepo_workflow_folder_is_a_variable(tree):
    root = tree(
        "monorepo",
        {".github/workflows/security.yml": WORKFLOW.format(step="      - run: trivy fs .")},
    )
    (root / "backend").mkdir()
    env = {
        "GITHUB_REPOSITORY": "hotel/agente",
        "GITHUB_TOKEN": "ghp_" + "r" * 36,
        "APP_REPO": str(root / "backend"),
        "GITHUB_WORKFLOWS_DIR": "../.github/workflows",
    }
    route = "GET /repos/hotel/agente/actions/workflows/security.yml/runs"
    async with serve({route: github_runs("success")}) as base:
        assert passes(await run_shipped("S-022", {**env, "GITHUB_API_URL": base}, root))


# S-011, S-012: TLS on a port of its own ------------------------------------------------------


@contextlib.asynccontextmanager
async def tls_server(context: ssl.SSLContext) -> AsyncIterator[int]:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def server_context(ca: trustme.CA, days: int = 90) -> ssl.SSLContext:
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue_cert("127.0.0.1", not_after=now + dt.timedelta(days=days))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(context)
    return context


@pytest.fixture
def trusted(tmp_path, monkeypatch) -> trustme.CA:
    """A CA this process trusts through SSL_CERT_FILE, as a deployment's CA bundle would be."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return ca


async def test_s012_a_self_signed_certificate_on_a_custom_port_fails(tmp_path, trusted):
    async with tls_server(server_context(trustme.CA())) as port:  # a CA nobody trusts
        env = {"APP_DOMAIN": "127.0.0.1", "APP_HTTPS_PORT": str(port)}
        assert not passes(await run_shipped("S-012", env, tmp_path))
    async with tls_server(server_context(trusted)) as port:
        env = {"APP_DOMAIN": "127.0.0.1", "APP_HTTPS_PORT": str(port)}
        result = await run_shipped("S-012", env, tmp_path)
        assert passes(result), result.summary


# S-011, S-012, S-013 on a real nginx: the site's edge --------------------------------------------

# The trial's nginx (issue 11): every header name present, every protection switched off.
TRIAL_HEADERS = [
    ("Strict-Transport-Security", "max-age=0"),
    ("Content-Security-Policy", "default-src * 'unsafe-inline' 'unsafe-eval'"),
    ("X-Frame-Options", "ALLOWALL"),
]
STRONG_HEADERS = [
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("Content-Security-Policy", "default-src 'self'"),
    ("X-Frame-Options", "DENY"),
]
PAGES = {
    "trial": TRIAL_HEADERS,
    "strong": STRONG_HEADERS,
    # framing refused by CSP alone: no X-Frame-Options is needed (a false FAIL before)
    "frame-ancestors": [
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
    ],
    "no-frame": STRONG_HEADERS[:2],
    "short-hsts": [
        ("Strict-Transport-Security", "max-age=86400; includeSubDomains"),
        *STRONG_HEADERS[1:],
    ],
}


def nginx_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pages() -> str:
    out = ""
    for name, values in PAGES.items():
        adds = "".join(f"add_header {k} {nginx_quoted(v)} always; " for k, v in values)
        out += f'    location = /{name} {{ {adds}return 200 "{name}\\n"; }}\n'
    return out


@pytest.fixture(scope="module")
def edge_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def edge(tmp_path_factory, edge_ca) -> Iterator[Nginx]:
    """app.test behind nginx, as a team deploys it, and the ways it goes wrong: TLS 1.1 still
    on, a certificate about to expire or self-signed, plain http that serves the page or
    redirects to another host."""
    workdir = tmp_path_factory.mktemp("edge")
    chain, key = certificate(edge_ca, workdir, "app.test", "127.0.0.1")
    soon = edge_ca.issue_cert("app.test", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=10))
    soon.private_key_and_cert_chain_pem.write_to_path(str(workdir / "soon.pem"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
         "-subj", "/CN=app.test", "-addext", "subjectAltName=DNS:app.test",
         "-keyout", str(workdir / "self.key"), "-out", str(workdir / "self.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    def tls(port: str, cert: Path, key: Path, protocols: str = "TLSv1.2 TLSv1.3") -> str:
        return (
            f"server {{ listen 127.0.0.1:@{port}@ ssl; server_name app.test; "
            f"ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols {protocols}; "
            "ssl_ciphers DEFAULT:@SECLEVEL=0;\n"
            f'{pages()}    location / {{ return 200 "home\\n"; }}\n}}\n'
        )

    def redirect(port: str, to: str) -> str:
        return f"server {{ listen 127.0.0.1:@{port}@; return 301 {to}$request_uri; }}\n"

    servers = (
        tls("HTTPS", chain, key)
        + tls("OLD", chain, key, "TLSv1.1 TLSv1.2")  # the audit's trap: TLS 1.1 left on
        + tls("SOON", workdir / "soon.pem", workdir / "soon.pem")
        + tls("SELF", workdir / "self.pem", workdir / "self.key")
        + "".join(
            redirect(f"TO_{p}", f"https://app.test:@{p}@") for p in ("HTTPS", "OLD", "SOON", "SELF")
        )
        + redirect("TO_OTHER_HOST", "https://example.net")
        + 'server { listen 127.0.0.1:@PLAIN@; return 200 "<html>welcome</html>"; }\n'
    )
    ports = ["HTTPS", "OLD", "SOON", "SELF", "TO_HTTPS", "TO_OLD", "TO_SOON", "TO_SELF",
             "TO_OTHER_HOST", "PLAIN"]  # fmt: skip
    with nginx(workdir, servers, ports) as running:
        yield running


@pytest.fixture
def trusts_edge(edge_ca, tmp_path, monkeypatch) -> None:
    """This process trusts the edge's CA through SSL_CERT_FILE, as a deployment's bundle."""
    bundle = tmp_path / "edge-ca.pem"
    edge_ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def site(edge: Nginx, https: str, http: str) -> dict[str, str]:
    """S-011/S-012's variables for the edge reached at 127.0.0.1, named app.test."""
    return {
        "APP_DOMAIN": "127.0.0.1",
        "APP_SERVER_NAME": "app.test",
        "APP_HTTPS_PORT": str(edge.ports[https]),
        "APP_HTTP_PORT": str(edge.ports[http]),
    }


@pytest.mark.parametrize(
    "https, http, summary",
    [
        ("OLD", "TO_OLD", "accepts TLSv1.1, expected refusal below TLS 1.2"),
        ("HTTPS", "TO_OTHER_HOST", "redirects to https://example.net/ (another host)"),
        ("HTTPS", "PLAIN", "status 200 over plain http, expected a redirect to https://"),
    ],
)
async def test_s011_old_protocols_a_foreign_redirect_or_plain_http_are_not_https_enforced(
    edge, trusts_edge, tmp_path, https, http, summary
):
    result = await run_shipped("S-011", site(edge, https, http), tmp_path)
    assert not passes(result)
    assert summary in result.summary


@pytest.mark.parametrize("https", ["HTTPS", "SOON", "SELF"])
async def test_s011_asks_about_protocols_not_the_certificate(edge, trusts_edge, tmp_path, https):
    # A certificate that expires in 10 days or is self-signed is S-012's question.
    result = await run_shipped("S-011", site(edge, https, f"TO_{https}"), tmp_path)
    assert passes(result), result.summary
    assert "TLS 1.1 and below refused" in result.summary and "answered 200" in result.summary


async def test_s012_asks_about_the_certificate_not_the_protocols(edge, trusts_edge, tmp_path):
    # TLS 1.1 left on is S-011's question: the certificate is fine.
    result = await run_shipped("S-012", site(edge, "OLD", "TO_OLD"), tmp_path)
    assert passes(result), result.summary
    soon = await run_shipped("S-012", site(edge, "SOON", "TO_SOON"), tmp_path)
    assert soon.status is Status.PARTIAL and "expires in 10 days" in soon.summary
    self_signed = await run_shipped("S-012", site(edge, "SELF", "TO_SELF"), tmp_path)
    assert not passes(self_signed) and "self-signed" in self_signed.summary


async def test_s013_headers_that_switch_protection_off_are_not_enabled(edge, trusts_edge, tmp_path):
    env = {"APP_URL": f"https://127.0.0.1:{edge.ports['HTTPS']}"}
    weak = await run_shipped("S-013", {**env, "APP_HEADERS_PATH": "/trial"}, tmp_path)
    assert weak.status is Status.FAIL
    assert weak.summary == (
        "HSTS max-age 0 s (switches HSTS off), expected at least 180 d; "
        "CSP default-src allows *, 'unsafe-inline', 'unsafe-eval' (script-src falls back to it); "
        "X-Frame-Options ALLOWALL lets any site frame the page, expected DENY or SAMEORIGIN "
        "(or CSP frame-ancestors)"
    )
    for page in ("no-frame", "short-hsts"):
        result = await run_shipped("S-013", {**env, "APP_HEADERS_PATH": f"/{page}"}, tmp_path)
        assert not passes(result), page
    for page in ("strong", "frame-ancestors"):
        result = await run_shipped("S-013", {**env, "APP_HEADERS_PATH": f"/{page}"}, tmp_path)
        assert passes(result), result.summary


async def test_s013_headers_over_plain_http_are_not_hsts(edge, tmp_path):
    # An APP_URL over plain http: browsers ignore HSTS there, whatever its max-age.
    headers = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains"}
    routes = {"GET /health": Reply(body={"status": "ok"}, headers=headers)}
    async with serve(routes) as base:
        result = await run_shipped("S-013", {"APP_URL": base}, tmp_path)
    assert not passes(result) and "HSTS cannot take effect over plain http" in result.summary


# S-015, S-016: ports ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def listening(greeting: bytes = b"") -> AsyncIterator[int]:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def port_of(target: str) -> str:
    return target.rsplit(":", 1)[1]


async def test_s015_from_the_database_host_the_firewall_cannot_be_judged(tmp_path):
    """The trial's false FAIL: PUBLIC_HOST=127.0.0.1 on the database host read PostgreSQL's
    loopback listener as open to the internet; a port nothing listens on would read closed."""
    async with listening() as web_port, listening() as db_port:
        env = {"PUBLIC_HOST": "127.0.0.1", "PUBLIC_CONTROL_PORT": str(web_port)}
        for pg in (str(db_port), port_of(closed_port())):
            env |= {"PG_PUBLIC_PORT": pg, "REDIS_PUBLIC_PORT": port_of(closed_port())}
            result = await run_shipped("S-015", env, tmp_path)
            assert (result.status, result.error) == (Status.FAIL, True), result.summary
            assert result.summary.startswith(
                f"0 of 2 probes pass; tcp 127.0.0.1:{pg}: cannot judge: 127.0.0.1 is this "
                "machine; a firewall is judged from outside the network"
            )


async def test_s015_no_egress_is_not_a_firewall_and_an_open_database_port_fails(tmp_path):
    # A lab: loopback stands in for the public address seen from outside (local_ok).
    closed = {"PG_PUBLIC_PORT": port_of(closed_port()), "REDIS_PUBLIC_PORT": port_of(closed_port())}
    env = {"PUBLIC_HOST": "127.0.0.1", **closed}
    # The control port is not reachable either: every "closed" means nothing.
    control = port_of(closed_port())
    result = await run_shipped("S-015", {**env, "PUBLIC_CONTROL_PORT": control}, tmp_path, lab=True)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == (
        f"cannot judge: control failed, tcp: 127.0.0.1:{control} not reachable "
        "(connection refused), expected open"
    )
    async with listening() as web_port, listening() as db_port:
        result = await run_shipped(
            "S-015",
            {**env, "PUBLIC_CONTROL_PORT": str(web_port), "PG_PUBLIC_PORT": str(db_port)},
            tmp_path,
            lab=True,
        )
        assert not passes(result) and not result.error
        assert f"127.0.0.1:{db_port} accepts connections, expected closed" in result.summary
        result = await run_shipped(
            "S-015", {**env, "PUBLIC_CONTROL_PORT": str(web_port)}, tmp_path, lab=True
        )
        assert passes(result), result.summary


async def test_s016_a_closed_ssh_port_without_a_bastion_is_not_bastion_access(tmp_path):
    # A lab: loopback stands in for the public address seen from outside (local_ok).
    env = {"PUBLIC_HOST": "127.0.0.1", "SSH_PUBLIC_PORT": port_of(closed_port())}
    async with listening(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") as bastion:
        # No egress: the control port is not reachable, so port 22 "closed" means nothing.
        unreachable = {"PUBLIC_CONTROL_PORT": port_of(closed_port())}
        result = await run_shipped(
            "S-016",
            {**env, **unreachable, "BASTION_TARGET": f"127.0.0.1:{bastion}"},
            tmp_path,
            lab=True,
        )
        assert (result.status, result.error) == (Status.FAIL, True), result.summary
    async with listening() as web_port, listening(b"HTTP/1.1 400 Bad\r\n\r\n") as not_ssh:
        env["PUBLIC_CONTROL_PORT"] = str(web_port)
        result = await run_shipped(
            "S-016", {**env, "BASTION_TARGET": f"127.0.0.1:{not_ssh}"}, tmp_path, lab=True
        )
        assert not passes(result)
        async with listening(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") as bastion:
            target = {"BASTION_TARGET": f"127.0.0.1:{bastion}"}
            result = await run_shipped("S-016", {**env, **target}, tmp_path, lab=True)
            assert passes(result), result.summary
            # The same from the host itself: the SSH port's refusal here says nothing, and the
            # bastion's greeting alone is no half credit.
            result = await run_shipped("S-016", {**env, **target}, tmp_path)
            assert (result.status, result.error) == (Status.FAIL, True), result.summary
            assert "cannot judge: 127.0.0.1 is this machine" in result.summary


# S-009, S-018: PostgreSQL --------------------------------------------------------------------


async def test_s009_one_pbkdf2_hash_beside_bcrypt_ones_fails_and_no_hash_is_shown(
    tmp_path, database
):
    database.execute(
        "CREATE TABLE users (id serial, hashed_password text)",
        "INSERT INTO users (hashed_password) VALUES "
        "('$2b$12$KIXQJ1nC0mXzTqv9rZp3OeQ7Z8vVb6s5dWq1y2u3i4o5p6a7s8d9f'), "
        "('$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g'), (NULL)",
    )
    env = {"DATABASE_URL": database.dsn()}
    assert passes(await run_shipped("S-009", env, tmp_path))
    database.execute(
        "INSERT INTO users (hashed_password) VALUES ('pbkdf2_sha256$600000$salt$c2VjcmV0aGFzaA==')"
    )
    result = await run_shipped("S-009", env, tmp_path)
    assert not passes(result) and "returned 1, expected == 0" in result.summary
    assert "c2VjcmV0aGFzaA" not in repr(result)


async def test_s009_d007_the_queries_are_shown_and_the_password_is_not(tmp_path, database):
    """The trial's S-009 and D-007 read ``<secret>: returned 0``: PASSWORD_HASH_QUERY was masked
    for the "pass" in its name, and SEED_CHECK_QUERY, its start, with it."""
    database.execute(
        'CREATE TABLE "user" (id serial, hashed_password text)',
        'INSERT INTO "user" (hashed_password) VALUES '
        "('$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g')",
    )
    password = "trap-db-password-1"  # the credential that must never show
    env = {
        # trust authentication: the password is never asked for, only carried
        "DATABASE_URL": database.dsn().replace("postgres@", f"postgres:{password}@"),
        "PASSWORD_HASH_QUERY": 'SELECT count(*) FROM "user" '
        "WHERE hashed_password !~ '^[$](2[aby]|argon2(id|i|d))[$]'",
        "SEED_CHECK_QUERY": 'SELECT count(*) FROM "user"',
    }
    results = await run_shipped_together(["S-009", "D-007"], env, tmp_path)
    s009, d007 = results["S-009"], results["D-007"]
    assert passes(s009) and passes(d007)
    assert s009.summary.startswith('SELECT count(*) FROM "user" WHERE hashed_password !~ ')
    assert s009.summary.endswith(": returned 0, expected == 0")
    assert d007.summary == "seeded rows: 1, expected >= 1"
    for result in results.values():
        assert "<secret>" not in result.summary
        assert password not in repr(result) and password[:12] not in repr(result)


async def test_s018_ssl_on_with_a_plaintext_client_is_not_encrypted_in_transit(tmp_path, database):
    env = {"DATABASE_URL": database.dsn(sslmode="require")}
    with database.connect(sslmode="require"):
        result = await run_shipped("S-018", env, tmp_path)
        assert passes(result), result.summary
        with database.connect(sslmode="disable", application_name="agente-api"):
            result = await run_shipped("S-018", env, tmp_path)
            assert not passes(result)
            assert "returned 1, expected == 0" in result.summary


async def test_s018_a_role_that_cannot_see_other_sessions_cannot_pass(tmp_path, database):
    role = f"ro_{database.name}"
    database.execute(f"CREATE ROLE {role} LOGIN")
    try:
        with database.connect(sslmode="disable", application_name="agente-api"):
            result = await run_shipped(
                "S-018", {"DATABASE_URL": database.dsn(role, sslmode="require")}, tmp_path
            )
        # Without pg_read_all_stats the plaintext session reads as NULL: counted as none.
        assert (result.status, result.error) == (Status.FAIL, True)
        assert result.summary.startswith("cannot judge: control failed, sql: ")
        assert "pg_has_role" in result.summary and "returned 0, expected == 1" in result.summary
    finally:
        database.cluster.psql(f"DROP ROLE IF EXISTS {role}")


# S-019 -----------------------------------------------------------------------------------------


async def test_s019_a_retention_heading_with_tbd_is_not_a_policy(tree):
    bad = tree("bad", {"docs/data-retention-policy.md": "# Retention\n\nTBD\n"})
    good = tree(
        "good",
        {
            "docs/data-retention-policy.md": "# Data retention\n\n"
            "Guest data: 24 months after the last stay.\n"
        },
    )
    assert not passes(await run_shipped("S-019", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("S-019", {"APP_REPO": str(good)}, good))


async def test_s003_a_pass_or_secret_field_typed_str_beside_a_secret_url_fails(tree):
    """The audit's settings: `database_url: SecretStr` must not vouch for `DB_PASS: str`."""
    head = "from pydantic import SecretStr\n\nclass Settings(BaseSettings):\n"
    head += "    database_url: SecretStr\n"
    for name, field in [
        ("pass", '    DB_PASS: str = "postgres"\n'),
        ("secret", "    db_secret: str\n"),
        ("credentials", "    PG_CREDENTIALS: Optional[str] = None\n"),
        ("uri", "    SQLALCHEMY_DATABASE_URI: str\n"),
    ]:
        bad = tree(name, {"app/core/settings.py": head + field})
        result = await run_shipped("S-003", {"APP_REPO": str(bad)}, bad)
        assert result.status is Status.FAIL and "line 5" in result.summary, (name, result.summary)
    # A database word inside another word is none: feedback_url is no database credential.
    good = tree(
        "good",
        {
            "app/core/settings.py": head
            + "    DB_PASS: SecretStr\n    feedback_url: str = 'https://forms.example/f'\n"
        },
    )
    result = await run_shipped("S-003", {"APP_REPO": str(good)}, good)
    assert passes(result), result.summary


async def test_s019_a_promise_of_periods_is_no_policy(tree):
    """The audit's policy: a number with a unit ("within 30 days") that is no retention period,
    a TBD beside real periods, and a period with no word for what happens to the data."""
    for name, text in [
        ("audit", "# Data retention policy\n\nTBD: legal will send the periods within 30 days.\n"),
        (
            "tbd row",
            "# Data retention\n\n| Data | Retention |\n|---|---|\n| Guest data | 24 months |\n"
            "| Chat transcripts | TBD |\n",
        ),
        ("no word", "# Policy\n\nOur team answers requests in 30 days.\n"),
    ]:
        bad = tree(name, {"docs/data-retention-policy.md": text})
        result = await run_shipped("S-019", {"APP_REPO": str(bad)}, bad)
        assert not passes(result), (name, result.summary)
    for name, text in [
        (
            "table",
            "# Data retention\n\n| Data | Retention |\n|---|---|\n| Guest data | 24 months |\n",
        ),
        ("line", "Chat transcripts are deleted after 90 days.\n"),
        ("spanish", "## Conservación\n\nLos datos de huéspedes se conservan 5 años.\n"),
        ("before", "Payment records: 7 years retention (tax law).\n"),
    ]:
        good = tree(f"good-{name}", {"docs/data-retention-policy.md": text})
        result = await run_shipped("S-019", {"APP_REPO": str(good)}, good)
        assert passes(result), (name, result.summary)
