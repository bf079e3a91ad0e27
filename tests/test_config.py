"""The config loader: what a valid file gives, and the exact message for each mistake."""

import textwrap

import pytest

from exporter import config
from exporter.config import ConfigError
from probes.fields import Fields, Reading, Secret
from probes.problems import Problems
from probes.registry import KINDS

HEAD = """\
checklist:
  name: Test
defaults:
  interval: 30s
  timeout: 5s
categories:
  - id: security
    title: Security Validation
    items:
"""


def load_items(tmp_path, items_yaml, env=None, head=HEAD):
    path = tmp_path / "config.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(items_yaml), "      "))
    return config.load(path, env or {})


def error_of(tmp_path, items_yaml, env=None, head=HEAD):
    with pytest.raises(ConfigError) as exc:
        load_items(tmp_path, items_yaml, env, head)
    return exc.value.errors


def test_valid_item_with_defaults_and_overrides(tmp_path):
    checklist = load_items(
        tmp_path,
        """
        - id: S-011
          title: HTTPS enforced (TLS 1.2+)
          priority: critical
          interval: 5m
          notes: Verify nginx config
          probe:
            http:
              url: ${APP_URL}/health
              expect_status: [200, 204]
        - id: S-012
          title: Other
          priority: HIGH
          probe:
            tcp: {target: "127.0.0.1:5432", expect: closed}
    """,
        env={"APP_URL": "https://app.example"},
    )
    first, second = checklist.items
    assert (first.id, first.category, first.priority, first.interval, first.timeout) == (
        "S-011",
        "security",
        "critical",
        300.0,
        5.0,
    )
    assert first.spec.request.url == "https://app.example/health"
    assert first.spec.expect_status == (200, 204)
    assert first.raw_probe == {"http": {"url": "${APP_URL}/health", "expect_status": [200, 204]}}
    assert first.probed and not first.missing
    assert (second.priority, second.interval) == ("high", 30.0)
    assert checklist.thresholds == config.Thresholds(0.95, 0.90)


def test_unset_variable_makes_item_not_configured_but_valid(tmp_path):
    (item,) = load_items(
        tmp_path,
        """
        - id: S-011
          title: HTTPS
          priority: critical
          probe: {http: {url: "${APP_URL}/health"}}
    """,
    ).items
    assert item.missing == ("APP_URL",)
    assert not item.probed
    assert item.spec is None  # a spec is built from real values only


@pytest.mark.parametrize(
    "probe",
    [
        '{file: {path: README.md, must_match: ["${PATTERN}"]}}',
        '{http: {url: "https://x", cookie_flags: "${FLAGS}"}}',
        '{http: {url: "https://x", cookie_flags: ["${FLAGS}"]}}',
    ],
)
def test_unset_variable_anywhere_in_a_probe_leaves_it_not_configured(tmp_path, probe):
    (item,) = load_items(
        tmp_path,
        f"""
        - id: X-1
          title: t
          priority: high
          probe: {probe}
    """,
    ).items
    assert item.missing and not item.probed


# -- items waiting for variables: checked as far as they can be, never probed --------------------

ITEM = """
- id: X-1
  title: t
  priority: high
  probe: {probe}
"""


def one_item(tmp_path, probe, env=None):
    (item,) = load_items(tmp_path, ITEM.format(probe=probe), env).items
    return item


@pytest.mark.parametrize(
    "probe, missing",
    [
        ('{http: {url: "${APP_URL}/health", expect_status: [200]}}', ("APP_URL",)),
        # Fields that need a variable are not checked (a URL without its scheme yet, a duration).
        ('{http: {url: "${HOST}/x", max_latency: "${LATENCY}"}}', ("HOST", "LATENCY")),
        ('{http: {url: "https://x", json: [{path: v, op: "==", value: "${V}"}]}}', ("V",)),
        ('{http: {url: "https://x", basic_auth: {username: u, password: "${PW}"}}}', ("PW",)),
        ('{http: {url: "https://x", rate_limit: "${BURST}"}}', ("BURST",)),
        ('{tcp: {target: "${DB_HOST}:5432", expect: closed}}', ("DB_HOST",)),
        ('{tls: {target: "${APP_DOMAIN}:443", warn_days: 30, critical_days: 7}}', ("APP_DOMAIN",)),
        ('{sql: {dsn: "${DATABASE_URL}", query: SELECT 1, expect: "== 1"}}', ("DATABASE_URL",)),
        ('{report: {path: r.xml, format: "${FORMAT}", min_tests: 3}}', ("FORMAT",)),
        ('{http: "${PROBE}"}', ("PROBE",)),
        (
            '{all: [{tcp: {target: "${A}:1"}}, {dns: {name: x, resolver: "${B}"}}]}',
            ("A", "B"),
        ),
    ],
)
def test_item_waiting_for_variables_has_no_spec(tmp_path, probe, missing):
    item = one_item(tmp_path, probe)
    assert (item.missing, item.spec, item.probed) == (missing, None, False)


def test_item_waiting_for_a_variable_is_pending_not_configured(tmp_path):
    from exporter.snapshot import initial_state
    from probes.result import Status

    item = one_item(tmp_path, '{http: {url: "${APP_URL}/health"}}')
    result = initial_state(item, 0.0).result
    assert (result.status, result.summary) == (
        Status.PENDING,
        "not configured: APP_URL is not set",
    )


def test_item_is_probed_once_its_variable_is_set(tmp_path):
    item = one_item(tmp_path, '{tcp: {target: "${DB_HOST}:5432"}}', env={"DB_HOST": "db"})
    assert item.probed and str(item.spec.target) == "db:5432"


@pytest.mark.parametrize(
    "probe, message",
    [
        # A typo, a wrong type, a wrong choice beside a field that waits for a variable.
        (
            '{http: {url: "${APP_URL}/health", expect_stauts: [200]}}',
            "http.expect_stauts is not a known field (known: ",
        ),
        (
            '{http: {url: "${APP_URL}/health", expect_status: "200"}}',
            'http.expect_status must be a list of integers (got "200")',
        ),
        (
            '{http: {url: "${APP_URL}", basic_auth: {username: u, pasword: "${PW}"}}}',
            "http.basic_auth.pasword is not a known field "
            "(known: password, password_file, username)",
        ),
        (
            '{tls: {target: "${APP_DOMAIN}:443", warn_days: 30, critical_days: 40}}',
            "tls.critical_days (40) must not be above warn_days (30)",
        ),
        (
            '{tcp: {target: "${DB_HOST}:5432", expect: shut}}',
            'tcp.expect must be one of open, closed (got "shut")',
        ),
        (
            '{report: {path: "${REPO}/r.xml", format: cobertura, min_tests: 3}}',
            "report.min_tests is not a known field (known: ",
        ),
        (
            '{all: [{tcp: {target: "${A}:1"}}, {tcp: {target: "b:1", banner: "x("}}]}',
            "all[1].tcp.banner must be a regular expression in RE2 syntax (missing ): x(",
        ),
        ('{smtp: {host: "${MAIL_HOST}"}}', 'probe kind "smtp" is unknown'),
    ],
)
def test_mistake_in_an_item_waiting_for_variables_is_still_an_error(tmp_path, probe, message):
    (error,) = error_of(tmp_path, ITEM.format(probe=probe))
    assert error.startswith(f"config.yaml: categories[0].items[0] (X-1): {message}"), error


def test_value_that_is_wrong_once_its_variable_is_set_is_an_error(tmp_path):
    """Looks fine while waiting; the real value is checked like any other."""
    probe = '{http: {url: "${APP_URL}/health"}}'
    assert one_item(tmp_path, probe).missing == ("APP_URL",)
    assert error_of(tmp_path, ITEM.format(probe=probe), env={"APP_URL": "ftp://app"}) == [
        "config.yaml: categories[0].items[0] (X-1): "
        'http.url must start with http:// or https:// (got "ftp://app/health")'
    ]


def test_cross_field_checks_never_judge_a_value_they_do_not_have(tmp_path):
    """critical_days 40 may or may not exceed warn_days: not known until W is set."""
    probe = '{tls: {target: "a:443", warn_days: "${W}", critical_days: 40}}'
    assert one_item(tmp_path, probe).missing == ("W",)
    assert error_of(tmp_path, ITEM.format(probe=probe), env={"W": "30"}) == [
        'config.yaml: categories[0].items[0] (X-1): tls.warn_days must be a number (got "30")'
    ]


# -- every problem in one item's probe settings is reported ----------------------------------------


def test_every_problem_in_a_probe_is_listed(tmp_path):
    errors = error_of(
        tmp_path,
        ITEM.format(
            probe='{http: {url: "https://x", expect_status: "200", cookie_flags: [Strict], '
            "basic_auth: {user: u}, retries: 3}}"
        ),
    )
    where = "config.yaml: categories[0].items[0] (X-1): "
    assert errors == [
        where + "http.basic_auth.username is required",
        where + 'http.expect_status must be a list of integers (got "200")',
        where + 'http.cookie_flags must be among Secure, HttpOnly, SameSite (got "Strict")',
        where + "http.retries is not a known field (known: basic_auth, bearer_token, "
        "bearer_token_file, body, body_regex, ca_file, cookie_flags, cookies, cors_origin, "
        "expect_status, follow_redirects, header_patterns, headers, headers_absent, "
        "headers_present, https_redirect, json, max_latency, method, rate_limit, "
        "secret_headers, security_headers, server_name, url, verify)",
        where + "http.basic_auth.user is not a known field "
        "(known: password, password_file, username)",
    ]


def test_every_child_of_a_composite_is_checked(tmp_path):
    errors = error_of(
        tmp_path,
        ITEM.format(probe="{any: [{tcp: {target: x}}, {dns: {name: a, type: SRV}}, {ftp: {}}]}"),
    )
    assert [e.split(": ", 2)[2] for e in errors] == [
        'any[0].tcp.target must be host:port (got "x")',
        'any[1].dns.type must be one of A, AAAA, CNAME, MX, TXT (got "SRV")',
        f'any[2] kind "ftp" is unknown: expected one of {", ".join(KINDS)}',
    ]


@pytest.mark.parametrize(
    "probe, message",
    [
        # A value that is wrong takes its default, which a cross-field check must not judge.
        ('{tls: {target: "a:443", warn_days: x, critical_days: 40}}', "tls.warn_days must be"),
        ('{tcp: {target: "a:1", expect: shut, banner: SSH}}', "tcp.expect must be one of"),
        ("{disk: {path: /, min_free_ratio: 2, warn_free_ratio: 0.3}}", "disk.min_free_ratio"),
        ('{http: {url: "ftp://x", https_redirect: true}}', "http.url must start with"),
        (
            '{sql: {dsn: "postgresql://db/app", query: q, expect: "~ 1", result: rows}}',
            "sql.expect must start",
        ),
        ("{env: {name: 3.5}}", "env.name must be a variable name"),
    ],
)
def test_one_mistake_is_one_line(tmp_path, probe, message):
    (error,) = error_of(tmp_path, ITEM.format(probe=probe))
    assert error.startswith(f"config.yaml: categories[0].items[0] (X-1): {message}"), error


def test_only_the_settings_reader_sees_unresolved_values():
    """Probe modules get typed values: a placeholder for an unset variable never reaches them."""
    from pathlib import Path

    probes = Path(__file__).parents[1] / "probes"
    seen = sorted(p.name for p in probes.glob("*.py") if "Unresolved" in p.read_text())
    assert seen == ["fields.py"]


def test_variable_default_and_dollar_escape(tmp_path):
    (item,) = load_items(
        tmp_path,
        """
        - id: C-1
          title: cmd
          priority: low
          probe: {command: {argv: ["echo", "${GREETING:-hello}", "$$HOME"]}}
    """,
    ).items
    assert item.spec.argv == ("echo", "hello", "$HOME")
    assert not item.missing


def test_empty_variable_counts_as_unset(tmp_path):
    (item,) = load_items(
        tmp_path,
        """
        - id: C-1
          title: cmd
          priority: low
          probe: {command: {argv: ["echo", "${X}"]}}
    """,
        env={"X": ""},
    ).items
    assert item.missing == ("X",)


def test_not_applicable_item_needs_no_probe(tmp_path):
    (item,) = load_items(
        tmp_path,
        """
        - id: I-004
          title: Auto-scaling
          priority: medium
          applicable: false
    """,
    ).items
    assert not item.applicable and not item.probed


@pytest.mark.parametrize(
    ("env", "applicable", "missing"),
    [
        ({}, True, ()),  # the default
        ({"HAS_CDN": "false"}, False, ()),
        ({"HAS_CDN": "No"}, False, ()),
        ({"HAS_CDN": "0"}, False, ()),
        ({"HAS_CDN": "yes"}, True, ()),
        ({"HAS_CDN": "TRUE"}, True, ()),
    ],
)
def test_applicable_from_a_variable(tmp_path, env, applicable, missing):
    """A component a team may not have is N/A by a variable's value, not an item edit."""
    (item,) = load_items(
        tmp_path,
        """
        - id: I-007
          title: CDN configured
          priority: medium
          applicable: ${HAS_CDN:-true}
          probe: {tcp: {target: "a:1"}}
    """,
        env=env,
    ).items
    assert (item.applicable, item.missing) == (applicable, missing)
    assert item.probed is applicable


def test_applicable_waits_for_its_variable_when_it_has_no_default(tmp_path):
    (item,) = load_items(
        tmp_path,
        """
        - id: I-007
          title: CDN configured
          priority: medium
          applicable: ${HAS_CDN}
          probe: {tcp: {target: "a:1"}}
    """,
    ).items
    assert item.missing == ("HAS_CDN",) and not item.probed


def test_relative_paths_are_taken_from_the_config_folder(tmp_path):
    (item,) = load_items(
        tmp_path,
        """
        - id: T-001
          title: Training
          priority: critical
          probe: {attestation: {file: attestations/T-001.yaml, max_age: 90d}}
    """,
    ).items
    assert item.spec.file == tmp_path / "attestations" / "T-001.yaml"
    assert item.spec.max_age == 90 * 86400


def test_secret_fields_read_value_or_file(tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    problems = Problems("config.yaml")
    f = Fields({"password_file": "pw"}, "sql", Reading(tmp_path, problems))
    secret = f.secret("password")
    f.done()
    assert not problems.lines
    assert isinstance(secret, Secret) and secret.reveal() == "s3cret"
    assert str(secret) == repr(secret) == f"{secret}" == "<secret>"


BAD_ITEMS = [
    (
        "expect_status not a list",
        """
        - id: S-011
          title: t
          priority: critical
          probe: {http: {url: "https://x", expect_status: "200"}}
    """,
        "config.yaml: categories[0].items[0] (S-011): "
        'http.expect_status must be a list of integers (got "200")',
    ),
    (
        "unknown probe field",
        """
        - id: S-011
          title: t
          priority: critical
          probe: {tcp: {target: "db:5432", expected: closed}}
    """,
        "config.yaml: categories[0].items[0] (S-011): tcp.expected is not a known field "
        "(known: banner, expect, local_ok, target)",
    ),
    (
        "unknown kind",
        """
        - id: S-011
          title: t
          priority: critical
          probe: {smtp: {host: x}}
    """,
        "config.yaml: categories[0].items[0] (S-011): "
        'probe kind "smtp" is unknown: expected one of '
        "http, tcp, file, command, attestation, tls, dns, promql, sql, report, drill, table, "
        "env, disk, secrets, alerting, signoff, decision, all, any",
    ),
    (
        "two kinds",
        """
        - id: S-011
          title: t
          priority: critical
          probe: {http: {url: "https://x"}, tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (S-011): probe must have exactly one key, "
        "the probe kind: one of http, tcp, file, command, attestation, tls, dns, promql, sql, "
        "report, drill, table, env, disk, secrets, alerting, signoff, decision, all, any "
        "(got http, tcp)",
    ),
    (
        "bad duration",
        """
        - id: S-011
          title: t
          priority: critical
          interval: 5 minutes
          probe: {tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (S-011): "
        'interval must be a duration such as 30s, 5m or 1h (got "5 minutes")',
    ),
    (
        "bad regex",
        """
        - id: S-011
          title: t
          priority: critical
          probe: {http: {url: "https://x", body_regex: "ok("}}
    """,
        "config.yaml: categories[0].items[0] (S-011): "
        "http.body_regex must be a regular expression in RE2 syntax (missing ): ok(; "
        "no lookaround or backreferences, see https://github.com/google/re2/wiki/Syntax) "
        '(got "ok(")',
    ),
    (
        "bad priority",
        """
        - id: S-011
          title: t
          priority: urgent
          probe: {tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (S-011): "
        'priority must be one of critical, high, medium, low (got "urgent")',
    ),
    (
        "unknown item key",
        """
        - id: S-011
          title: t
          priority: high
          ownr: me
          probe: {tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (S-011): ownr is not a known field "
        "(known: id, title, priority, interval, timeout, intervals, applicable, owner, phase, "
        "remediation, notes, probe)",
    ),
    (
        "interval under 100ms",
        """
        - {id: S-011, title: t, priority: high, interval: 50ms, probe: {tcp: {target: "a:1"}}}
    """,
        'config.yaml: categories[0].items[0] (S-011): interval must be at least 100ms (got "50ms")',
    ),
    (
        "missing probe",
        """
        - id: S-011
          title: t
          priority: high
    """,
        "config.yaml: categories[0].items[0] (S-011): probe is required (or set applicable: false)",
    ),
    (
        "timeout longer than interval",
        """
        - id: S-011
          title: t
          priority: high
          interval: 10s
          timeout: 1m
          probe: {tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (S-011): "
        "timeout (1m) must not be longer than interval (10s)",
    ),
    (
        "bad tcp target",
        """
        - id: S-015
          title: t
          priority: high
          probe: {tcp: {target: "db.internal"}}
    """,
        "config.yaml: categories[0].items[0] (S-015): "
        'tcp.target must be host:port (got "db.internal")',
    ),
    (
        "missing required field",
        """
        - id: S-015
          title: t
          priority: high
          probe: {command: {}}
    """,
        "config.yaml: categories[0].items[0] (S-015): command.argv is required",
    ),
    (
        "bad child of all",
        """
        - id: S-015
          title: t
          priority: high
          probe:
            all:
              - tcp: {target: "a:1"}
              - tcp: {target: "a:1", expect: shut}
    """,
        "config.yaml: categories[0].items[0] (S-015): "
        'all[1].tcp.expect must be one of open, closed (got "shut")',
    ),
    (
        "argv element not a string",
        """
        - id: A-002
          title: t
          priority: high
          probe: {command: {argv: [ruff, check, true]}}
    """,
        "config.yaml: categories[0].items[0] (A-002): command.argv[2] must be a string (got true)",
    ),
    (
        "item without id",
        """
        - title: t
          priority: high
    """,
        "config.yaml: categories[0].items[0]: id must be a non-empty string (got null)",
    ),
    (
        "applicable not a bool",
        """
        - id: S-015
          title: t
          priority: high
          applicable: "maybe"
          probe: {tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (S-015): applicable must be true or false, or a "
        'variable holding one of true, yes, on, 1, false, no, off, 0 (got "maybe")',
    ),
    (
        "applicable from a variable that is not a bool",
        """
        - id: I-007
          title: CDN configured
          priority: medium
          applicable: ${HAS_CDN:-maybe}
          probe: {tcp: {target: "a:1"}}
    """,
        "config.yaml: categories[0].items[0] (I-007): applicable must be true or false, or a "
        'variable holding one of true, yes, on, 1, false, no, off, 0 (got "maybe" from '
        "${HAS_CDN:-maybe})",
    ),
]


@pytest.mark.parametrize("name,items_yaml,message", BAD_ITEMS, ids=[b[0] for b in BAD_ITEMS])
def test_bad_item_gives_located_message(tmp_path, name, items_yaml, message):
    assert error_of(tmp_path, items_yaml) == [message]


def test_duplicate_id_names_the_first_place(tmp_path):
    errors = error_of(
        tmp_path,
        """
        - {id: S-001, title: a, priority: high, probe: {tcp: {target: "a:1"}}}
        - {id: S-001, title: b, priority: high, probe: {tcp: {target: "a:1"}}}
    """,
    )
    assert errors == [
        "config.yaml: categories[0].items[1] (S-001): id S-001 is already used at "
        "categories[0].items[0]"
    ]


def test_every_error_is_listed_at_once(tmp_path):
    errors = error_of(
        tmp_path,
        """
        - {id: A-1, title: a, priority: nope, probe: {tcp: {target: "a:1"}}}
        - {id: A-2, title: b, priority: high, probe: {tcp: {target: "x"}}}
    """,
    )
    assert len(errors) == 2
    assert errors[0].startswith("config.yaml: categories[0].items[0] (A-1): priority")
    assert errors[1].startswith("config.yaml: categories[0].items[1] (A-2): tcp.target")


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "categories: []\n",
            "config.yaml: categories: must be a list of categories with items (got a list)",
        ),
        ("- a\n- b\n", "config.yaml: must be a mapping with checklist and categories (got a list)"),
        (
            "decision: {go: 95}\ncategories: [{id: a, items: []}]\n",
            "config.yaml: decision: go must be a ratio between 0 and 1 (got 95)",
        ),
        (
            "decision: {go: 0.8, caution: 0.9}\ncategories: [{id: a, items: []}]\n",
            "config.yaml: decision: caution (0.9) must not be above go (0.8)",
        ),
        (
            "extra: 1\ncategories: [{id: a, items: []}]\n",
            "config.yaml: extra is not a known field "
            "(known: checklist, decision, defaults, engine, tls, signoff, launch, categories)",
        ),
        (
            "categories: [{id: a, items: []}, {id: a, items: []}]\n",
            'config.yaml: categories[1]: id "a" is used by another category',
        ),
        (
            "engine: {concurrency: 0}\ncategories: [{id: a, items: []}]\n",
            "config.yaml: engine: concurrency must be a whole number of at least 1 (got 0)",
        ),
        (
            "defaults: {interval: 0s}\ncategories: [{id: a, items: []}]\n",
            'config.yaml: defaults: interval must be at least 100ms (got "0s")',
        ),
        (
            "defaults: {interval: 1ms, timeout: 1ms}\ncategories: [{id: a, items: []}]\n",
            'config.yaml: defaults: interval must be at least 100ms (got "1ms")\n'
            'config.yaml: defaults: timeout must be at least 100ms (got "1ms")',
        ),
    ],
)
def test_bad_top_level_gives_located_message(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        config.load(path, {})
    assert exc.value.errors == message.split("\n")


def test_invalid_yaml_names_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("categories:\n  - id: a\n   items: [\n")
    with pytest.raises(ConfigError) as exc:
        config.load(path, {})
    assert exc.value.errors == [
        f"{path}: line 3, column 4: invalid YAML: did not find expected '-' indicator"
    ]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        config.load(tmp_path / "nope.yaml", {})
    assert exc.value.errors == [
        f"{tmp_path / 'nope.yaml'}: cannot read (No such file or directory)"
    ]


def test_alias_bomb_is_refused(tmp_path):
    lines = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\ncategories: [{id: a, items: [{id: A, title: *a9}]}]\n")
    with pytest.raises(ConfigError) as exc:
        config.load(path, {})
    assert exc.value.errors == [
        f"{path}: line 1, column 1: invalid YAML: anchors and aliases expand "
        "to more than 1,000,000 values: refusing to expand"
    ]


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("a: &a [*a]\ncategories: []\n")
    with pytest.raises(ConfigError) as exc:
        config.load(path, {})
    assert exc.value.errors == [
        f"{path}: line 1, column 4: invalid YAML: an alias refers to its own anchor"
    ]


def test_shipped_config_is_the_whole_checklist():
    from pathlib import Path

    checklist = config.load(Path(__file__).parents[1] / "config.yaml", {})
    items = checklist.launch_items  # P020's post-launch tasks are not checklist items
    assert len(items) == 145
    assert len({i.category for i in items}) == 12
    assert sum(i.priority == "critical" for i in items) == 81
    assert len({i.id for i in checklist.items}) == 145 + 19
