"""The one list of placeholder values, and the two kinds that ask it (env, file).

The env kind judged one variable against a list of its own while S-001's file pattern missed
``changethis``, the FastAPI template's placeholder (issue 11). Both now ask
``probes.placeholders``; these tests hold the list to real placeholders and to real values.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid

import pytest
from support.probing import run

from probes.placeholders import is_placeholder, placeholder_settings, setting_value, url_password
from probes.result import Status

PLACEHOLDERS = [
    "changethis",  # full-stack-fastapi-template's .env
    "changeme",
    "CHANGE_ME",
    "change-me",
    "change me",
    "changeit",  # Java keystores
    "change-me-in-production",
    "please-change",
    "ChangeMe!",
    "replace-me",
    "to-be-changed",
    "your-secret-here",
    "your_api_key",
    "<secret>",
    "${JWT_SECRET}",
    "{{ vault_secret }}",
    "secret",
    "Secret123",
    "password",
    "password1",
    "passw0rd",
    "mysecret",
    "supersecret",
    "secret_key",
    "api-key-here",
    "dev-secret",
    "test_secret",
    "my_test_secret_key",
    "local-dev-password",
    "example",
    "dummy",
    "todo",
    "TBD",
    "xxx",
    "XXXXXXXX",
    "****",
    "...",
    "none",
    "null",
    "admin",
    "root",
    "postgres",  # the official image's default
    "guest",  # RabbitMQ's default
    "12345678",
    "0",
    "django-insecure-9x!k2@ab$c",  # Django's startproject key
    "sk_test_51HqLyjWDarjtT1zdp7dc",  # a Stripe test-mode key
    "AKIAIOSFODNN7EXAMPLE",  # AWS's documentation key
    # FastAPI's OAuth2/JWT tutorial's SECRET_KEY, copied into thousands of applications
    "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
    "secret" * 6,  # 36 characters of one word
    "0123456789abcdef" * 3,
    "ab" * 20,
]

# Real values of the kinds that sit in production env files, and words that merely contain a
# placeholder: none of them may be called a placeholder.
REAL = [
    secrets.token_urlsafe(32),
    secrets.token_hex(32),
    str(uuid.uuid4()),
    base64.b64encode(secrets.token_bytes(24)).decode(),
    "abc9f3e1" + "0" * 56,
    "insecurely-long-k3Jq9-vXr2LmP8sWzT4yBn6HcQ1fGd7E",
    "Tr0ub4dor&3",
    "correct horse battery staple",
    "changethisnow2026!",
    "sk_live_51HqLyjWDarjtT1zdp7dc",
    "whsec_9fJ2kLmP8sWzT4yBn6HcQ1fG",
    "xoxb-2231-8829-Zq8tY2",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "$2b$12$KIXQJ1nC0mXzTqv9rZp3OeQ7Z8vVb6s5dWq1y2u3i4o5p6a7s8d9f",
    "secretary",
    "keystone",
    "passport",
    "tokens-are-fun-9f8a",
    "production",
    "5432",
    "true",
    "https://hooks.slack.com/services/T024BE7LD/B01HG7VNF/kv8tqzT2",
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_are_recognised_without_case_or_space(value):
    assert is_placeholder(value)
    assert is_placeholder(f"  {value.upper()} ")


@pytest.mark.parametrize("value", REAL)
def test_real_values_are_not_placeholders(value):
    assert not is_placeholder(value)


def test_an_empty_value_is_not_set_rather_than_a_placeholder():
    assert not is_placeholder("")
    assert not is_placeholder("   ")


def test_values_are_read_as_dotenv_and_yaml_read_them():
    assert setting_value('"changethis"  # set me') == "changethis"
    assert setting_value("'a # b'") == "a # b"
    assert setting_value("changethis # set me") == "changethis"
    assert setting_value("a#b") == "a#b"
    assert url_password("postgresql://app:change%74his@db:5432/app") == "changethis"
    assert url_password("redis://localhost:6379/0") is None
    assert url_password("https://example.com/a:b@c") is None


def test_a_file_of_megabytes_is_judged_in_linear_time():
    """Values and white space runs of megabytes (a file probe reads up to 4 MiB) cost one pass:
    a lazy value capture, a comment split on white space and the list's backtracking patterns
    each took hours on such lines."""
    n = 4 * 2**20 // 3
    text = (
        "SMTP_PASSWORD=a" + " " * n + "b\n"
        "API_KEY= " + " " * n + "changeme # the template's\n"
        "SECRET_KEY=" + "dev-secret-" * (n // 11) + "!\n"
    )
    started = time.monotonic()
    assert placeholder_settings(text) == [(2, "API_KEY")]
    assert time.monotonic() - started < 5
    assert not is_placeholder("your-" + "x" * 2000)  # longer than any placeholder


ENV_FILE = """\
# production settings
ENVIRONMENT=production
SECRET_KEY=ulJQx0Zq8Rk3v9T2mWb7YcN4pLs6Hd1F
FIRST_SUPERUSER_PASSWORD="m2d9Kq7Vx3Lp8Zr4"
SMTP_PASSWORD=changethis
export API_KEY='changeme' # from the template
ACCESS_TOKEN_EXPIRE_MINUTES=0
PASSWORD_MIN_LENGTH=8
SENTRY_DSN=
REDIS_URL=redis://localhost:6379/0
MAIL_FROM=noreply@example.com
DATABASE_URL=postgresql://app:postgres@db:5432/app
"""


def test_secret_named_settings_and_url_passwords_are_judged():
    assert placeholder_settings(ENV_FILE) == [
        (5, "SMTP_PASSWORD"),
        (6, "API_KEY"),
        (12, "DATABASE_URL"),
    ]
    assert placeholder_settings("db:\n  password: admin\n  host: localhost\n") == [(2, "password")]


async def test_file_placeholders_name_line_and_setting_never_the_value(tmp_path):
    env = tmp_path / ".env"
    env.write_text(ENV_FILE)
    result = await run({"file": {"path": str(env), "placeholders": True}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == (
        ".env line 5 (SMTP_PASSWORD), line 6 (API_KEY), line 12 (DATABASE_URL): "
        "placeholder value, expected a production secret"
    )
    for value in ("changethis", "changeme", "postgres@"):
        assert value not in repr(result)


async def test_file_with_real_secrets_and_harmless_localhost_passes(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        "\n".join(
            line
            for line in ENV_FILE.splitlines()
            if not line.startswith(("SMTP_PASSWORD", "export API_KEY", "DATABASE_URL"))
        )
        + f"\nDATABASE_URL=postgresql://app:{secrets.token_urlsafe(16)}@db:5432/app\n"
    )
    result = await run({"file": {"path": str(env), "placeholders": True}}, tmp_path)
    assert result.status is Status.PASS, result.summary


@pytest.mark.parametrize("value", ["changethis", "postgres", "my_test_secret_key", "   "])
async def test_env_kind_asks_the_same_list(tmp_path, monkeypatch, value):
    monkeypatch.setenv("JWT_SECRET", value)
    result = await run({"env": {"name": "JWT_SECRET"}}, tmp_path)
    assert result.status is Status.FAIL
    if value.strip():
        assert result.summary == "JWT_SECRET holds a placeholder value, expected a real one"
        assert value not in repr(result)
