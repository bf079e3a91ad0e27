"""What the exporter shows of credentials: none. The config as the item page shows it, and the
checklist-wide ``Redactor`` that masks results, debug lines and logs."""

import base64
import logging
from urllib.parse import quote

import pytest

from exporter.config import ConfigError, load
from exporter.redact import MASK, LogMask, Redactor, mask_credentials, redact, secrets_in_spec
from probes import masking
from probes.credentials import Auth
from probes.fields import SECRET_KEYS, Secret


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


# -- masking the values the checklist holds ---------------------------------------------------

TOKEN = "tok3n-" + "a1b2c3d4e5" * 13 + "f"  # 137 characters, like a JWT


def test_forms_the_exporter_computes_are_masked_too():
    """URL-encoded forms, and Basic's base64 of user:password bare (a server echoing it)."""
    password = "p@ss word/42+x"
    r = Redactor([password])
    assert r.text(f"url http://u:{quote(password, safe='')}@h/") == f"url http://u:{MASK}@h/"
    assert r.text(f"form password={quote(password, safe='').replace('%20', '+')}") == (
        f"form password={MASK}"
    )
    values, files = secrets_in_spec(Auth(username="probe", password=Secret(password)))
    pair = base64.b64encode(f"probe:{password}".encode()).decode()
    assert Redactor(values, files).text(f"echo: {pair}") == f"echo: {MASK}"


def test_passwords_inside_urls_and_dsns_are_masked_on_their_own():
    r = Redactor(["postgresql://app:hunter2-secret@db:5432/app"])
    assert r.text("FATAL: password hunter2-secret rejected") == f"FATAL: password {MASK} rejected"
    basic = base64.b64encode(b"app:hunter2-secret").decode()
    assert r.text(basic) == MASK
    r = Redactor(["host=db user=app password='it\\'s a secret'"])  # libpq's quoting
    assert r.text("it's a secret") == MASK
    values, _ = secrets_in_spec({"url": "https://probe:url-password-1@example.test/"})
    assert Redactor(values).text("saw url-password-1") == f"saw {MASK}"


@pytest.mark.parametrize(
    "value,text,expected",
    [
        ("abc", "status abc", "status abc"),  # below MIN_WORD: never masked
        ("20x0", "status 20x0", f"status {MASK}"),  # short: only as a whole word
        ("20x0", "status 20x01 or a20x0", "status 20x01 or a20x0"),
        ("long-enough", "xxlong-enoughxx", f"xx{MASK}xx"),  # 8 or more: anywhere
    ],
)
def test_short_values_are_masked_only_as_whole_words(value, text, expected):
    assert Redactor([value]).text(text) == expected


def test_short_credentials_are_refused_at_load(write_config):
    """A password of "200" would turn "status 200" into "status <secret>": refused instead."""
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: X-1
                title: Short password
                priority: high
                probe:
                  http: {url: "http://127.0.0.1:1/", basic_auth: {username: u, password: "${PW}"}}
              - id: X-2
                title: Short header secret
                priority: high
                probe: {http: {url: "http://127.0.0.1:1/", secret_headers: {X-Key: "${PW}"}}}
    """)
    with pytest.raises(ConfigError) as exc:
        load(path, {"PW": "200"})
    assert exc.value.errors == [
        f"config.yaml: categories[0].items[{n}] (X-{n + 1}): http.{field} is shorter than 8 "
        "characters: a credential this short cannot be masked in output without masking "
        "ordinary words and numbers too"
        for n, field in enumerate(["basic_auth.password", "secret_headers.X-Key"])
    ]
    assert "200" not in str(exc.value).replace("categories[0]", "")


@pytest.mark.parametrize("password", ["200", "abcdefg"])
def test_short_passwords_in_urls_and_dsns_are_refused_at_load(write_config, password):
    """A URL's or a DSN's password is masked on its own, so it is held to the same 8 characters:
    a password "200" was accepted there, masked only as a whole word, and below 4 not at all."""
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: X-1
                title: Password in a URL
                priority: high
                probe: {http: {url: "http://u:${PW}@127.0.0.1:1/"}}
              - id: X-2
                title: Password in a DSN URL
                priority: high
                probe:
                  sql: {dsn: "postgresql://app:${PW}@127.0.0.1:1/app", query: "SELECT 1",
                        expect: "== 1"}
              - id: X-3
                title: Password in a DSN's keywords
                priority: high
                probe:
                  sql: {dsn: "host=127.0.0.1 user=app password=${PW}", query: "SELECT 1",
                        expect: "== 1"}
              - id: X-4
                title: Password in Prometheus's URL
                priority: high
                probe: {promql: {url: "https://u:${PW}@prometheus:9090", query: up, expect: "== 1"}}
    """)
    with pytest.raises(ConfigError) as exc:
        load(path, {"PW": password})
    assert exc.value.errors == [
        f"config.yaml: categories[0].items[{n}] (X-{n + 1}): {field} has a password shorter "
        "than 8 characters: a credential this short cannot be masked in output without masking "
        "ordinary words and numbers too"
        for n, field in enumerate(["http.url", "sql.dsn", "sql.dsn", "promql.url"])
    ]
    assert password not in str(exc.value).replace("categories[0]", "")


def test_a_url_password_is_measured_decoded(write_config):
    """%32%30%30 is 200 as the server (and the masking) sees it; in libpq's keyword form it is
    nine characters as written."""
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: X-1
                title: Encoded
                priority: high
                probe: {http: {url: "http://u:%32%30%30@127.0.0.1:1/"}}
    """)
    with pytest.raises(ConfigError, match=r"http\.url has a password shorter than 8 characters"):
        load(path, {})
    keywords = {"dsn": "host=db password=%32%30%30", "query": "SELECT 1", "expect": "== 1"}
    path.write_text(
        path.read_text().replace(
            '{http: {url: "http://u:%32%30%30@127.0.0.1:1/"}}', f"{{sql: {keywords}}}"
        )
    )
    assert [i.id for i in load(path, {}).items] == ["X-1"]


def test_passwords_of_8_characters_and_urls_without_one_load(write_config):
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: X-1
                title: Long enough
                priority: high
                probe: {http: {url: "http://u:${PW}@127.0.0.1:1/"}}
              - id: X-2
                title: No password
                priority: high
                probe: {http: {url: "http://u:@127.0.0.1:1/?password="}}
              - id: X-3
                title: User only
                priority: high
                probe:
                  sql: {dsn: "postgresql://app@127.0.0.1:1/app", query: "SELECT 1", expect: "== 1"}
    """)
    assert [i.id for i in load(path, {"PW": "8chars!!"}).items] == ["X-1", "X-2", "X-3"]


def test_a_piece_of_a_credential_at_either_end_of_a_text_is_masked():
    """A capped read can end inside a credential: its first (or last) characters are masked."""
    r = Redactor([TOKEN])
    assert r.text("output: " + TOKEN[:20]) == f"output: {MASK}"
    assert r.text(TOKEN[-20:] + " and more") == f"{MASK} and more"
    assert r.text("ends with tok3n") == "ends with tok3n"  # fewer than EDGE characters of it


def test_clip_masks_before_it_cuts():
    """80 of a JWT's 137 characters showed when texts were cut first and masked later."""
    text = f'header "Bearer-less {TOKEN}" seen'
    with masking.using(Redactor([TOKEN]).text):
        shown = [masking.clip(text, 40), masking.clip(text, 40, keep_end=True)]
    assert shown == [f'header "Bearer-less {MASK}" seen', f'header "Bearer-less {MASK}" seen']
    with masking.using(Redactor([TOKEN]).text):
        cut = masking.clip("x" * 100 + TOKEN, 60, keep_end=True)
    assert cut.endswith(MASK) and len(cut) <= 60 and "a1b2c3" not in cut
    # Outside a probe run only URL passwords and Authorization values are masked.
    assert masking.clip("http://u:pw@h Bearer abcdefgh", 80) == f"http://u:{MASK}@h Bearer {MASK}"


def test_file_credentials_are_read_at_each_redaction(tmp_path):
    """A rotated ``*_file`` credential is masked without a reload; so is its Basic form."""
    path = tmp_path / "password"
    path.write_text("first-password\n")
    _, files = secrets_in_spec(Auth(username="ops", password=Secret(file=path)))
    r = Redactor((), files)
    assert r.text("first-password") == MASK
    path.write_text("second-password\n")
    basic = base64.b64encode(b"ops:second-password").decode()
    assert r.text(f"second-password {basic}") == f"{MASK} {MASK}"
    path.unlink()
    assert r.text("nothing to read") == "nothing to read"


def test_checklist_masks_every_items_credentials(write_config, tmp_path):
    (tmp_path / "token.txt").write_text("file-token-of-item-two\n")
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: X-1
                title: One
                priority: high
                probe: {http: {url: "http://127.0.0.1:1/", bearer_token: "${T}"}}
              - id: X-2
                title: Two
                priority: high
                probe: {http: {url: "http://127.0.0.1:1/", bearer_token_file: token.txt}}
              - id: X-3
                title: Three
                priority: high
                probe: {env: {name: JWT_SECRET}}
    """)
    checklist = load(path, {"T": "env-token-of-item-one", "JWT_SECRET": "jwt-secret-value"})
    shown = checklist.redactor.text("env-token-of-item-one file-token-of-item-two jwt-secret-value")
    assert shown == f"{MASK} {MASK} {MASK}"
    assert checklist.item("X-1").redactor.text("file-token-of-item-two") != MASK


def test_log_entries_are_masked_tracebacks_included():
    mask = LogMask()
    mask.redactor = Redactor(["log-secret-value"])
    event = {
        "event": "probe raised",
        "error": "x log-secret-value",
        "nested": {"list": ["log-secret-value"]},
        "count": 3,
        "object": ValueError("log-secret-value"),
    }
    assert mask(logging.getLogger(), "info", event) == {
        "event": "probe raised",
        "error": f"x {MASK}",
        "nested": {"list": [MASK]},
        "count": 3,
        "object": f"ValueError('{MASK}')",
    }


def test_a_variable_named_for_the_query_it_holds_is_shown_and_credentials_are_not(write_config):
    """The trial's S-009 read ``<secret>: returned 0``: PASSWORD_HASH_QUERY is SQL, not a
    password. Beside it, every variable that does hold a credential stays masked."""
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: S-009
                title: Hashes
                priority: high
                probe:
                  sql:
                    dsn: "postgresql://app:${DB_PASSWORD}@127.0.0.1:1/app"
                    query: ${PASSWORD_HASH_QUERY}
                    expect: == 0
              - id: X-2
                title: Named like a query, used as a password
                priority: high
                probe:
                  http:
                    url: ${TOKEN_URL}
                    basic_auth: {username: u, password: "${LEGACY_PASS_QUERY}"}
              - id: X-3
                title: Paths and URLs
                priority: high
                probe: {http: {url: "${PASSWORD_RESET_URL}${SECRETS_PATH}"}}
              - id: X-4
                title: A URL with a password in it
                priority: high
                probe: {http: {url: "${ADMIN_SECRET_URL}"}}
    """)
    query = "SELECT count(*) FROM \"user\" WHERE hashed_password !~ '^[$]argon2'"
    env = {
        "DB_PASSWORD": "db-password-value",
        "PASSWORD_HASH_QUERY": query,
        "TOKEN_URL": "https://auth.example/oauth/token",
        "LEGACY_PASS_QUERY": "query-named-password",
        "PASSWORD_RESET_URL": "https://app.example/password-reset",
        "SECRETS_PATH": "/run/secrets/app",
        "ADMIN_SECRET_URL": "https://admin:admin-url-password@admin.example/",
    }
    checklist = load(path, env)
    shown = checklist.redactor.text(" | ".join(env.values()))
    assert shown.split(" | ") == [
        MASK,  # in a DSN's user-info, and named for a password
        query,  # the query, whole: SEED_CHECK_QUERY, its start, is no longer cut either
        "https://auth.example/oauth/token",
        MASK,  # named like a query, but given as a password: the option says what it is
        "https://app.example/password-reset",
        "/run/secrets/app",
        MASK,  # a URL named for a secret, with a user and password in it
    ]
    assert checklist.redactor.text('SELECT count(*) FROM "user"') == 'SELECT count(*) FROM "user"'


def test_only_credential_headers_are_masked_not_an_origin(write_config):
    """The trial's S-014 sends ``Origin: ${APP_FRONTEND_ORIGIN}``: an origin is no credential
    and was masked because every header value counted as one. Credential headers still are."""
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: S-014
                title: CORS
                priority: high
                probe:
                  http:
                    url: http://127.0.0.1:1/api/
                    method: OPTIONS
                    headers:
                      Origin: ${APP_FRONTEND_ORIGIN}
                      Access-Control-Request-Method: POST
                      Authorization: Bearer ${PARTNER}
                      X-Api-Key: ${PARTNER_KEY}
                      X-Hotel-Signature: ${HOTEL}
    """)
    env = {
        "APP_FRONTEND_ORIGIN": "https://dashboard.app.test",
        "PARTNER": "partner-bearer-value",
        "PARTNER_KEY": "partner-key-value",
        "HOTEL": "hotel-signature-value",
    }
    redactor = load(path, env).redactor
    origin = "CORS allows https://dashboard.app.test"
    assert redactor.text(origin) == origin
    for name in ("PARTNER", "PARTNER_KEY", "HOTEL"):
        assert redactor.text(f"echoed {env[name]} back") == f"echoed {MASK} back"


def test_a_texts_end_is_masked_only_when_it_holds_a_piece_of_the_secret():
    """A URL or DSN credential's start is what ordinary texts share (the trial's summaries
    ended in ``<secret>`` where they named the database or a host); a piece of its secret part
    at a text's end still is masked."""
    dsn = "postgresql://app:Pw9sdlkfj2xQ@db.internal:5432/app"
    webhook = "https://hooks.example.com/services/T000/B000/abcdefSECRETghij"
    r = Redactor([dsn, webhook])
    for text in (
        "connecting to postgresql://app:",
        "sent to https://hooks.example.com",
        "asked https://hooks.example.com/",
    ):
        assert r.text(text) == text
    assert r.text("output: postgresql://app:Pw9sdl") == f"output: postgresql://app:{MASK}"
    assert r.text("output: " + webhook[:45]) == f"output: {MASK}"
    assert r.text("output: " + dsn) == f"output: {MASK}"
    assert r.text("output: " + webhook) == f"output: {MASK}"
