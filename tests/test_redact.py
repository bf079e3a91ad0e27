"""What the board and the item API show of a probe's config and evidence: no credentials."""

import pytest

from exporter.redact import MASK, mask_credentials, redact
from probes.fields import SECRET_KEYS


def test_authorization_and_cookie_headers_are_masked_other_headers_kept():
    raw = {
        "http": {
            "url": "https://app/health",
            "headers": {
                "Authorization": "Bearer abc",
                "Cookie": "s=1",
                "X-Api-Key": "k",
                "Accept": "text/html",
            },
        }
    }
    shown = redact(raw)["http"]["headers"]
    assert shown == {
        "Authorization": MASK,
        "Cookie": MASK,
        "X-Api-Key": MASK,
        "Accept": "text/html",
    }


def test_secret_fields_and_credential_env_values_are_masked():
    SECRET_KEYS.add("dsn")
    raw = {
        "command": {"argv": ["psql"], "env": {"PGPASSWORD": "pw", "PGHOST": "db"}},
        "postgres": {"dsn": "${DB_DSN}", "password_file": "/run/pw"},
    }
    shown = redact(raw)
    assert shown["command"]["env"] == {"PGPASSWORD": MASK, "PGHOST": "db"}
    assert shown["postgres"] == {"dsn": MASK, "password_file": MASK}
    assert raw["command"]["env"]["PGPASSWORD"] == "pw", "the config itself is left alone"


def test_url_passwords_are_masked_wherever_they_appear():
    assert mask_credentials("postgres://app:s3cret@db:5432/x") == f"postgres://app:{MASK}@db:5432/x"
    assert redact(["see https://u:p@host/path"]) == [f"see https://u:{MASK}@host/path"]
    assert mask_credentials("https://host/a:b@c") == "https://host/a:b@c"


@pytest.mark.parametrize(
    "text,expected",
    [
        ('X-Echo "auth=Basic cHJvYmU6czNjcmV0 key=None"', f'X-Echo "auth=Basic {MASK} key=None"'),
        ("authorization: bearer eyJhbGciOi.eyJzdWIi.sig-_~+/==", f"authorization: bearer {MASK}"),
        (
            'WWW-Authenticate: Basic realm="readiness-exporter"',
            'WWW-Authenticate: Basic realm="readiness-exporter"',
        ),
        ("bearer_token and basic_auth are both set", "bearer_token and basic_auth are both set"),
    ],
)
def test_authorization_values_are_masked_wherever_they_appear(text, expected):
    assert mask_credentials(text) == expected
