"""Secrets never leak: plant a distinctive secret in every credential option of every probe kind,
run the probes passing and failing, exercise every output, and grep all of it: for each value,
its Basic form, and any 6 characters of it.

The same checklist has command items that spy on the others: one prints its whole environment
(where every item's ``${VAR}`` credentials live), one prints every credential file in the config
folder (as a careless script or a crash report would), cut so that the shown tail starts inside
a credential, and one writes just past the output cap so that the kept output ends inside one.

``LEAK_CASES`` is keyed by probe kind and must name every kind in ``probes.registry.KINDS``: a
new kind fails ``test_every_kind_has_a_secret_leak_case`` until someone writes its cases (or
states, in ``NO_CREDENTIALS``, why it has no credential options).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import json
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.procs import ROOT, free_port, http_get, start_exporter, wait_until
from support.routes import app_routes

from exporter import cli, redact
from exporter.config import ConfigError, load
from exporter.daemon import Daemon
from exporter.web.app import build_app
from probes.fields import Secret
from probes.registry import KINDS

PY = sys.executable


LETTERS = "ghjkmnpqrstvwxyz"  # no hex digits: 6 of them in a row never occur in output by chance


def secret(name: str, length: int = 24) -> str:
    """A value nobody would write by chance, so finding it, or 6 characters of it, is a leak."""
    digest = hashlib.shake_256(name.encode()).digest(length)
    return "LeakCanary-" + "".join(LETTERS[b % len(LETTERS)] for b in digest)


PLANTED = re.compile(rf"LeakCanary-[{LETTERS}]+")  # any secret(...)
FRAGMENT = 6  # characters of a credential that must not show anywhere


@dataclasses.dataclass(frozen=True)
class Case:
    """One probe (YAML flow mapping, ``{port}`` = the echo server) and the env it needs."""

    name: str
    probe: str
    env: dict[str, str]
    files: dict[str, str] = dataclasses.field(default_factory=dict)  # *_file name -> content


def http_cases() -> list[Case]:
    pw, token, body_pw = secret("http-url-password"), secret("http-bearer"), secret("http-body")
    env = {"LEAK_HTTP_PASSWORD": pw, "LEAK_HTTP_TOKEN": token, "LEAK_HTTP_BODY_PASSWORD": body_pw}
    url = "http://probe:${LEAK_HTTP_PASSWORD}@127.0.0.1:{port}"
    auth = '{Authorization: "Bearer ${LEAK_HTTP_TOKEN}", X-Api-Key: "${LEAK_HTTP_TOKEN}"}'
    return [
        Case(n, p, env)
        for n, p in [
            ("url-pass", f'{{http: {{url: "{url}/ok"}}}}'),
            ("url-500", f'{{http: {{url: "{url}/fail"}}}}'),
            (
                "url-refused",
                '{http: {url: "http://probe:${LEAK_HTTP_PASSWORD}@127.0.0.1:{closed}/"}}',
            ),
            ("url-loop", f'{{http: {{url: "{url}/loop"}}}}'),
            (
                "url-bad-port",
                '{http: {url: "http://probe:${LEAK_HTTP_PASSWORD}@127.0.0.1:99999/"}}',
            ),
            ("url-timeout", f'{{http: {{url: "{url}/slow"}}}}'),
            ("headers-pass", f'{{http: {{url: "http://127.0.0.1:{{port}}/ok", headers: {auth}}}}}'),
            (
                "headers-echoed-500",
                f'{{http: {{url: "http://127.0.0.1:{{port}}/fail", headers: {auth}}}}}',
            ),
            (
                "headers-regex",
                f'{{http: {{url: "http://127.0.0.1:{{port}}/ok", headers: {auth}, '
                f"body_regex: nothing-like-this}}}}",
            ),
            (
                "body-post",
                '{http: {url: "http://127.0.0.1:{port}/fail", method: POST, '
                'body: "{\\"password\\": \\"${LEAK_HTTP_BODY_PASSWORD}\\"}"}}',
            ),
        ]
    ] + [
        # The echo's X-Echo header carries the credential; a pattern it misses quotes the header.
        Case(
            "token-file-echoed",
            '{http: {url: "http://127.0.0.1:{port}/ok", header_patterns: '
            '{X-Echo: "^never$"}, bearer_token_file: leak-http-token.txt}}',
            {},
            {"leak-http-token.txt": secret("http-token-file")},
        ),
        # A JWT-sized token echoed back: the summary quotes 80 characters of the header.
        Case(
            "long-token-echoed",
            '{http: {url: "http://127.0.0.1:{port}/ok", header_patterns: '
            '{X-Echo: "^never$"}, secret_headers: {X-Api-Key: "${LEAK_HTTP_LONG_TOKEN}"}}}',
            {"LEAK_HTTP_LONG_TOKEN": secret("http-long-token", 126)},
        ),
        Case(
            "password-file-echoed",
            '{http: {url: "http://127.0.0.1:{port}/ok", header_patterns: '
            '{X-Echo: "^never$"}, basic_auth: {username: probe, '
            "password_file: leak-http-pw.txt}}}",
            {},
            {"leak-http-pw.txt": secret("http-password-file")},
        ),
    ]


def command_cases() -> list[Case]:
    token, env_pw = secret("command-argv-token"), secret("command-env-password")
    env = {"LEAK_CMD_TOKEN": token, "LEAK_CMD_ENV": env_pw}
    echo = (
        "import os,sys; print(sys.argv[1:], os.environ.get('API_PASSWORD')); "
        "print(sys.argv[1:], file=sys.stderr); sys.exit(int(sys.argv[1]))"
    )
    run = f'[{PY}, -c, "{echo}"'
    return [
        Case(n, p, env)
        for n, p in [
            (
                "argv-pass",
                f'{{command: {{argv: {run}, "0", "${{LEAK_CMD_TOKEN}}"], '
                f'stdout_regex: "^\\\\["}}}}',
            ),
            ("argv-fail", f'{{command: {{argv: {run}, "3", "${{LEAK_CMD_TOKEN}}"]}}}}'),
            (
                "argv-regex",
                f'{{command: {{argv: {run}, "0", "${{LEAK_CMD_TOKEN}}"], '
                f'stdout_regex: "^never$"}}}}',
            ),
            (
                "env-fail",
                f'{{command: {{argv: {run}, "4"], env: {{API_PASSWORD: "${{LEAK_CMD_ENV}}"}}}}}}',
            ),
            ("argv-missing-binary", '{command: {argv: ["/nonexistent/${LEAK_CMD_TOKEN}"]}}'),
            (
                "argv-timeout",
                f'{{command: {{argv: [{PY}, -c, "import time; time.sleep(30)", '
                f'"${{LEAK_CMD_TOKEN}}"]}}}}',
            ),
        ]
    ] + [
        Case(f"spy-{mode}", f'{{command: {{argv: [{PY}, spy.py, {mode}], cwd: "."}}}}', {}, SPY)
        for mode in ("environment", "credential-files", "past-the-cap")
    ]


# A script that shows what other items hold, in every way that used to get past the mask.
SPY = {
    "spy.py": textwrap.dedent("""\
        import base64, os, sys, urllib.parse
        mode = sys.argv[1]
        files = sorted(f for f in os.listdir(".") if f.startswith("leak-") and f.endswith(".txt"))
        found = {f: open(f).read().strip() for f in files}
        if mode == "environment":
            for name, value in sorted(os.environ.items()):
                if "LeakCanary" in value:
                    print(f"{name}={value}")
            print("variables:", *sorted(os.environ))
        elif mode == "credential-files":
            for name, value in found.items():
                print(name, value, urllib.parse.quote(value, safe=""))
                url = urllib.parse.urlsplit(value)
                if url.password:
                    print("the DSN's password alone:", url.password)
            basic = base64.b64encode(("probe:" + found["leak-http-pw.txt"]).encode()).decode()
            print("bare Basic credentials:", basic)
            # The last line: the shown tail (200 characters) starts inside the token.
            print(found["leak-http-token.txt"] + "y" * 190)
        else:
            # The output kept (64 KiB) ends 10 characters into the token.
            sys.stdout.write("x" * (64 * 1024 - 10) + found["leak-http-token.txt"] * 10)
        sys.exit(3)
    """)
}


def composite_cases(kind: str) -> list[Case]:
    cases = http_cases() + command_cases()
    env = {k: v for c in cases for k, v in c.env.items()}
    by_name = {c.name: c.probe for c in cases}
    return [
        Case("mixed", f"{{{kind}: [{by_name['url-500']}, {by_name['argv-fail']}]}}", env),
        Case("passing", f"{{{kind}: [{by_name['headers-pass']}, {by_name['argv-pass']}]}}", env),
    ]


def promql_cases() -> list[Case]:
    pw, token = secret("promql-password"), secret("promql-bearer")
    env = {"LEAK_PROM_PASSWORD": pw, "LEAK_PROM_TOKEN": token}
    # The echo server is no Prometheus: these fail with what it sent back, echoes included.
    return [
        Case(n, p, env)
        for n, p in [
            (
                "url-password",
                '{promql: {url: "http://probe:${LEAK_PROM_PASSWORD}@127.0.0.1:{port}/ok", '
                "query: up}}",
            ),
            (
                "bearer",
                '{promql: {url: "http://127.0.0.1:{port}/fail", query: up, '
                'bearer_token: "${LEAK_PROM_TOKEN}"}}',
            ),
            (
                "basic-auth",
                '{promql: {url: "http://127.0.0.1:{port}/ok", query: up, '
                'basic_auth: {username: probe, password: "${LEAK_PROM_PASSWORD}"}}}',
            ),
            (
                "refused",
                '{promql: {url: "http://127.0.0.1:{closed}", query: up, '
                'bearer_token: "${LEAK_PROM_TOKEN}"}}',
            ),
        ]
    ] + [
        Case(
            "bearer-file",
            '{promql: {url: "http://127.0.0.1:{port}/fail", query: up, '
            "bearer_token_file: leak-prom-token.txt}}",
            {},
            {"leak-prom-token.txt": secret("promql-bearer-file")},
        ),
    ]


def alerting_cases() -> list[Case]:
    pw, token = secret("alerting-password"), secret("alerting-bearer")
    env = {"LEAK_ALERTING_PASSWORD": pw, "LEAK_ALERTING_TOKEN": token}
    # The echo server is neither Prometheus nor Alertmanager: every check fails with what it saw.
    prom = "prometheus: http://127.0.0.1:{port}/ok"
    am = "alertmanager: http://127.0.0.1:{port}/fail"
    return [
        Case(n, p, env)
        for n, p in [
            (
                "url-passwords",
                "{alerting: {prometheus: "
                '"http://probe:${LEAK_ALERTING_PASSWORD}@127.0.0.1:{port}", alertmanager: "http://am:${LEAK_ALERTING_PASSWORD}@127.0.0.1:{port}/fail"}}',
            ),
            ("bearer", f'{{alerting: {{{prom}, {am}, bearer_token: "${{LEAK_ALERTING_TOKEN}}"}}}}'),
            (
                "basic-auth",
                f"{{alerting: {{{prom}, {am}, "
                'basic_auth: {username: probe, password: "${LEAK_ALERTING_PASSWORD}"}}}',
            ),
            (
                "refused",
                '{alerting: {prometheus: "http://127.0.0.1:{closed}", '
                'bearer_token: "${LEAK_ALERTING_TOKEN}"}}',
            ),
        ]
    ] + [
        Case(
            "bearer-file",
            f"{{alerting: {{{prom}, {am}, bearer_token_file: leak-alerting-token.txt}}}}",
            {},
            {"leak-alerting-token.txt": secret("alerting-bearer-file")},
        ),
    ]


def sql_cases() -> list[Case]:
    env = {"LEAK_SQL_PASSWORD": secret("sql-password")}
    return [
        Case(n, p, env)
        for n, p in [
            (
                "dsn-url-refused",
                '{sql: {dsn: "postgresql://probe:${LEAK_SQL_PASSWORD}@127.0.0.1:{closed}/app", '
                'query: "SELECT 1", expect: "== 1"}}',
            ),
            (
                "dsn-keywords-refused",
                '{sql: {dsn: "host=127.0.0.1 port={closed} user=probe '
                'password=${LEAK_SQL_PASSWORD}", query: "SELECT 1", expect: "== 1"}}',
            ),
        ]
    ] + [
        Case(
            "dsn-file-refused",
            '{sql: {dsn_file: leak-dsn.txt, query: "SELECT 1", expect: "== 1"}}',
            {},
            {
                "leak-dsn.txt": f"postgresql://probe:{secret('sql-dsn-file')}@127.0.0.1:{{closed}}/app\n"
            },
        ),
    ]


def env_cases() -> list[Case]:
    # The variable's value is the secret: the env probe reads it from the exporter's environment.
    env = {"LEAK_ENV_SECRET": secret("env-value")}
    return [
        Case(n, p, env)
        for n, p in [
            ("long-enough", "{env: {name: LEAK_ENV_SECRET, min_length: 5}}"),
            ("too-short", "{env: {name: LEAK_ENV_SECRET, min_length: 100}}"),
        ]
    ]


def secrets_cases() -> list[Case]:
    # No credential option: this kind is a spy. It scans the config folder, where every other
    # item's credential files and spy.py lie, and a file with a hard-coded secret of its own;
    # its findings may name a file, a line and a type, never what the line holds.
    hardcoded = secret("secrets-hard-coded")
    return [
        Case(
            "config-folder",
            '{secrets: {path: ".", files: all}}',
            {},
            {"settings.py": f'STRIPE_API_KEY = "{hardcoded}"\npassword = "{hardcoded}"\n'},
        )
    ]


LEAK_CASES: dict[str, Callable[[], list[Case]]] = {
    "http": http_cases,
    "command": command_cases,
    "promql": promql_cases,
    "alerting": alerting_cases,
    "sql": sql_cases,
    "env": env_cases,
    "secrets": secrets_cases,
    "all": lambda: composite_cases("all"),
    "any": lambda: composite_cases("any"),
}
# Kinds without a credential option, and why; an entry here is a claim a reviewer can check.
NO_CREDENTIALS = {
    "tcp": "target host:port and a banner pattern only",
    "file": "a path, a max age and a content pattern only",
    "attestation": "the path of an evidence file a person signs; it holds no credentials",
    "signoff": "a role's name; it reads signatures the engine holds, no target",
    "decision": "no settings; it reads the recorded decision the engine holds, no target",
    "tls": "a host:port, a server name, a CA file and thresholds: certificates are public",
    "dns": "a name, a record type, a resolver address and expected values",
    "report": "the path of a report file and its thresholds",
    "disk": "a path and free-space ratios",
    "table": "the path of a Markdown file, a column header and row bounds",
    "drill": "a glob of drill notes and an age bound",
}


def test_every_kind_has_a_secret_leak_case():
    for kind in KINDS:
        assert kind in LEAK_CASES or kind in NO_CREDENTIALS, f"kind {kind} has no secret-leak case"
    for kind in NO_CREDENTIALS:
        assert kind in KINDS and kind not in LEAK_CASES, kind


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers like a careless server: reflects credentials back in headers and bodies."""

    def do_GET(self) -> None:
        seen = f"auth={self.headers.get('Authorization')} key={self.headers.get('X-Api-Key')}"
        if self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        if self.path.startswith("/slow"):
            threading.Event().wait(8)
        code = 200 if self.path.startswith("/ok") else 500
        body = f"{code} {seen} body={self._body()}".encode()
        self.send_response(code)
        self.send_header("X-Echo", seen)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def _body(self) -> str:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace") if n else ""

    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            pass  # the probe hung up first (a timeout, a redirect loop): that is the point


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def all_cases() -> list[tuple[str, Case]]:
    return [(kind, case) for kind, make in LEAK_CASES.items() for case in make()]


def build_config(port: int, closed: int, folder: Path) -> tuple[str, dict[str, str]]:
    """The config's text and environment; the cases' credential files are written to ``folder``."""
    items, env = [], {}
    for n, (kind, case) in enumerate(all_cases()):
        probe = case.probe.replace("{port}", str(port)).replace("{closed}", str(closed))
        items.append(
            f"      - {{id: L-{n:03d}, title: '{kind} {case.name}', priority: high, "
            f"interval: 1h, timeout: 3s, probe: {probe}}}"
        )
        env.update(case.env)
        for name, content in case.files.items():
            (folder / name).write_text(content.replace("{closed}", str(closed)))
    text = (
        textwrap.dedent("""\
        checklist: {name: Secret leak test}
        categories:
          - id: leaks
            title: Leaks
            items:
        """)
        + "\n".join(items)
        + "\n"
    )
    # Not an item's credential: a secret the daemon's environment holds for something else, which
    # only the environment that commands get (PATH, HOME, LANG, TZ) keeps out of their output.
    env["LEAK_DAEMON_ONLY"] = secret("daemon-environment-only")
    return text, env


def planted(env: dict[str, str]) -> list[str]:
    """Every planted value, from variables and files, and the forms it travels in (Basic auth's
    base64 of ``probe:<password>``)."""
    contents = [*env.values(), *(c for _, case in all_cases() for c in case.files.values())]
    values = sorted({m for text in contents for m in PLANTED.findall(text)})
    return values + [base64.b64encode(f"probe:{v}".encode()).decode() for v in values]


def fragments(secrets: list[str]) -> set[str]:
    """Every run of FRAGMENT characters of the planted values (their base64 forms left out)."""
    return {
        value[i : i + FRAGMENT]
        for value in secrets
        if value.startswith("LeakCanary-")
        for i in range(len(value) - FRAGMENT + 1)
    }


def assert_clean(where: str, text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text, f"secret {value} leaked in {where}:\n{text[:3000]}"
    # A piece of a credential lies in a run of the characters credentials are made of.
    pieces = fragments(secrets)
    for word in set(re.findall(rf"[A-Za-z-]{{{FRAGMENT},}}", text)):
        for i in range(len(word) - FRAGMENT + 1):
            piece = word[i : i + FRAGMENT]
            assert piece not in pieces, f"{piece!r} of a secret leaked in {where} ({word!r})"


def test_secrets_leak_nowhere(tmp_path, echo_port):
    text, env = build_config(echo_port, free_port(), tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(text)
    secrets = planted(env)
    outputs: dict[str, str] = {}

    # `check` in every format, and `validate`.
    for fmt in cli.FORMATS:
        out = subprocess.run(
            [
                PY,
                "-m",
                "exporter",
                "check",
                "--config.file",
                str(config),
                "--format",
                fmt,
                "--log.level",
                "debug",
            ],
            capture_output=True,
            text=True,
            env={**_env(), **env},
            cwd=ROOT,
            timeout=120,
        )
        outputs[f"check --format {fmt}"] = out.stdout + out.stderr
        assert out.returncode == 1, out.stderr[-2000:]
    out = subprocess.run(
        [PY, "-m", "exporter", "validate", "--config.file", str(config)],
        capture_output=True,
        text=True,
        env={**_env(), **env},
        cwd=ROOT,
        timeout=60,
    )
    outputs["validate"] = out.stdout + out.stderr
    # One item alone: the others' credentials are still masked in what it shows.
    spies = [f"L-{n:03d}" for n, (_, case) in enumerate(all_cases()) if case.name.startswith("spy")]
    out = subprocess.run(
        [PY, "-m", "exporter", "check", "--config.file", str(config), "--format", "json"]
        + [arg for spy in spies for arg in ("--item", spy)],
        capture_output=True,
        text=True,
        env={**_env(), **env},
        cwd=ROOT,
        timeout=60,
    )
    outputs["check --item (the spies alone)"] = out.stdout + out.stderr
    assert len(json.loads(out.stdout)["items"]) == len(spies) == 3, out.stderr[-2000:]

    # The daemon: every GET endpoint once every item has a result, then a failing reload.
    proc, base = start_exporter(
        config, tmp_path / "exporter.log", env=env, extra=["--log.level", "debug"]
    )
    try:
        n_items = len(all_cases())
        wait_until(lambda: _probed(base) >= n_items, 60, "every item probed")
        for method, path in _routes(config, env):
            if method == "GET":
                outputs[f"GET {path}"] = http_get(base + path)[1].decode("utf-8", "replace")
            elif method == "POST" and path != "/-/reload":  # probe-now and the like
                outputs[f"POST {path}"] = _post(base + path)[1]
        # A reload that fails on an item whose credential is in the wrong place.
        config.write_text(
            text.replace(
                'interval: 1h, timeout: 3s, probe: {http: {url: "http://probe',
                'interval: 1h, timeout: 3s, probe: {http: {url: "ftp://probe',
                1,
            )
        )
        status, body = _post(base + "/-/reload")
        outputs["POST /-/reload (failing)"] = body
        assert status == 500 and "must start with http://" in body
        outputs["GET /metrics after reload"] = http_get(base + "/metrics")[1].decode()
    finally:
        assert proc.stop() == 0
    outputs["exporter log (debug)"] = (tmp_path / "exporter.log").read_text()

    # The outputs must have said something about the failures, or the test proves nothing.
    for where, output in outputs.items():
        assert_clean(where, output, secrets)
    joined = "\n".join(outputs.values())
    assert "<secret>" in joined
    n_items = len(all_cases())
    for route in (
        "GET /items/",
        "GET /api/v1/items/",
        "POST /items/",
    ):  # every item's page, API, probe-now
        assert sum(where.startswith(route) for where in outputs) == n_items, route
    assert "exit code 3" in outputs["check --format table"]
    # Commands get PATH, HOME, LANG and TZ, nothing else (Python may add LC_CTYPE for itself).
    spy = next(
        i
        for i in json.loads(outputs["GET /api/v1/status"])["items"]
        if i["title"] == "command spy-environment"
    )
    shown = re.search(r"variables: ([A-Z_ ]*)$", spy["summary"])
    assert shown is not None, spy
    assert set(shown[1].split()) <= {"PATH", "HOME", "LANG", "TZ", "LC_CTYPE"}, spy
    assert "request failed" in outputs["check --format json"]
    # The secrets item found the hard-coded one (and so had it in hand) and named only its place.
    scan = next(
        i
        for i in json.loads(outputs["GET /api/v1/status"])["items"]
        if i["title"] == "secrets config-folder"
    )
    assert "settings.py:1" in scan["summary"], scan


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _probed(base: str) -> int:
    try:
        body = http_get(base + "/metrics")[1].decode()
    except OSError:
        return 0
    return len(re.findall(r"^readiness_item_last_probe_timestamp_seconds\{", body, re.M))


def _routes(config: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """(method, path) of every route, item routes once per item (item pages, probe-now, API)."""
    daemon = Daemon(config, env)
    return app_routes(build_app(daemon), [item.id for item in daemon.engine.checklist.items])


def _post(url: str) -> tuple[int, str]:
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# -- the pieces, one by one ------------------------------------------------------------------


def test_config_errors_never_quote_a_credential(write_config):
    token = secret("config-error")
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: X-1
                title: Wrong scheme, credential in the URL
                priority: high
                probe: {http: {url: "ftp://user:${PW}@example.test/"}}
              - id: X-2
                title: Wrong type, credential-named variable
                priority: high
                probe: {http: {url: "${API_TOKEN}"}}
    """)
    with pytest.raises(ConfigError) as exc:
        load(path, {"PW": token, "API_TOKEN": token})
    assert len(exc.value.errors) == 2
    assert token not in str(exc.value)
    assert "<secret>" in str(exc.value)


def test_secret_fields_are_found_in_any_spec(tmp_path):
    """Fields.secret options (kinds that land later) are masked by value and by file content."""
    secret_file = tmp_path / "password"
    secret_file.write_text(secret("from-file") + "\n")

    @dataclasses.dataclass(frozen=True)
    class Spec:
        dsn: str
        password: Secret
        nested: tuple

    spec = Spec("db", Secret(secret("inline")), ({"token": Secret(file=secret_file)},))
    values, files = redact.secrets_in_spec(spec)
    r = redact.Redactor(values, files)
    text = f"login failed for {secret('inline')} / {secret('from-file')} at postgres://u:pw@h/db"
    assert r.text(text) == "login failed for <secret> / <secret> at postgres://u:<secret>@h/db"
    assert str(spec.password) == "<secret>" and repr(spec).count("<secret>") == 2


@pytest.mark.parametrize(
    "text,expected",
    [
        ("GET http://user:pw@host/x failed", "GET http://user:<secret>@host/x failed"),
        ("https://:tok@h", "https://:<secret>@h"),
        ("redis://default:p%40ss@cache:6379/0", "redis://default:<secret>@cache:6379/0"),
        ("http://host:8080/path@x", "http://host:8080/path@x"),  # a port, not a password
        ("mail me at a@b.example", "mail me at a@b.example"),
        ("'postgres://u:secret@db'", "'postgres://u:<secret>@db'"),
    ],
)
def test_url_passwords_are_masked_in_any_text(text, expected):
    assert redact.mask_credentials(text) == expected


def test_only_credential_variables_are_masked():
    pattern = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})")
    env = {
        "APP_URL": "https://app.example",
        "DB_PASSWORD": "pw-value",
        "X": "x-value",
        "Y": "y-value",
        "Z": "z-value",
        "W": "w-value",
    }
    raw = {
        "http": {
            "url": "${APP_URL}/health",
            "headers": {"Authorization": "Bearer ${X}"},
            "password": "${Y}",
            "body": "${DB_PASSWORD}",
        },
        "command": {"argv": ["a", "${W}"], "env": {"ANY": "${Z}"}},
    }
    found = redact.sensitive_variables(raw, env, pattern)
    assert sorted(found) == ["pw-value", "x-value", "y-value", "z-value"]
    url = {"http": {"url": "https://user:${W}@host/${APP_URL}"}}
    assert redact.sensitive_variables(url, env, pattern) == ["w-value"]


def test_redacted_result_keeps_everything_else():
    from probes.result import Result, Status

    r = redact.Redactor(["hunter22"])
    result = Result(
        Status.FAIL,
        "exit code 1: hunter22",
        {"argv": ["x", "hunter22"], "n": 3},
        expires_at=5.0,
        error=True,
    )
    clean = r.result(result)
    assert clean == Result(
        Status.FAIL,
        "exit code 1: <secret>",
        {"argv": ["x", "<secret>"], "n": 3},
        expires_at=5.0,
        error=True,
    )
    assert json.dumps(clean.evidence).count("<secret>") == 1


async def test_engine_masks_what_a_raising_probe_says(write_config, capsys):
    """A probe bug whose exception quotes its spec: the engine's log, result and debug lines
    still show no credential (the real http probe is swapped for one that raises)."""
    from exporter.engine import Engine
    from probes import registry

    pw, token = secret("raised-password"), secret("raised-token")
    path = write_config("""
        categories:
          - id: c
            title: C
            items:
              - id: R-1
                title: Raises
                priority: high
                probe: {http: {url: "http://probe:${PW}@127.0.0.1:1/", headers: {X-Token: "${T}"}}}
    """)
    checklist = load(path, {"PW": pw, "T": token})

    async def raising(spec, ctx):
        request = spec.request
        ctx.log(f"about to fail on {request.url} with {dict(request.headers)}")
        raise RuntimeError(f"cannot handle {request.url} {dict(request.headers)}")

    kinds = registry.KINDS.with_kinds(http=registry.Kind(registry.KINDS["http"].parse, raising))
    engine = Engine(checklist, kinds=kinds)
    debug: list[str] = []
    try:
        state = await engine.run_item("R-1", debug)
    finally:
        await engine.stop()
    shown = "\n".join(
        [
            state.result.summary,
            json.dumps(dict(state.result.evidence)),
            *debug,
            *capsys.readouterr(),
        ]
    )
    assert state.result.error and "probe error: RuntimeError: cannot handle" in state.result.summary
    assert "http://probe:<secret>@127.0.0.1:1/" in state.result.summary
    assert pw not in shown and token not in shown, shown


async def test_a_dsn_psycopg_cannot_parse_is_never_quoted(tmp_path):
    """psycopg's parse errors quote the DSN: 'missing "=" after "<piece of the password>"'."""
    from support.probing import run

    piece = secret("dsn-piece", 12)
    dsn = f"host=127.0.0.1 port={free_port()} user=probe password=first-part {piece}"
    result = await run({"sql": {"dsn": dsn, "query": "SELECT 1", "expect": "== 1"}}, tmp_path)
    assert result.status.value == "fail" and result.error
    assert result.summary == (
        "dsn is neither a postgresql:// URL nor key=value pairs (psycopg's message is not "
        "shown: it quotes the DSN)"
    )
    assert piece not in repr(result)


def test_web_config_errors_never_quote_a_key_pasted_for_its_path(tmp_path):
    """A private key pasted into key_file (or given as the web config itself) is not quoted."""
    from exporter.web import webconfig

    key = "-----BEGIN PRIVATE KEY-----\n" + secret("pasted-key", 64) + "\n-----END PRIVATE KEY-----"
    path = tmp_path / "web.yml"
    path.write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: |\n"
        + "".join(f"    {line}\n" for line in key.splitlines())
    )
    with pytest.raises(ConfigError) as exc:
        webconfig.load(path)
    assert exc.value.errors == [
        "web.yml: tls_server_config.key_file must be the path of a PEM file (value not shown)"
    ]
    path.write_text(key + "\n")
    with pytest.raises(ConfigError) as exc:
        webconfig.load(path)
    assert "pasted" not in str(exc.value) and "PRIVATE" not in str(exc.value), exc.value
    # A key's body pasted on one line reads as a path: the error names the field, not the value.
    (tmp_path / "a.crt").write_text("not checked before the key is found\n")
    path.write_text(f"tls_server_config: {{cert_file: a.crt, key_file: {secret('one-line', 64)}}}")
    with pytest.raises(ConfigError) as exc:
        webconfig.load(path).ssl_context()
    assert exc.value.errors == [
        "web.yml: tls_server_config.key_file: cannot be read (No such file or directory)"
    ]
