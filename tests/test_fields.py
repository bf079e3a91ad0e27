"""The probe settings reader: typed getters, defaults from the spec, addresses parsed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from probes import dns, tcp, tls
from probes.address import HostPort, parse_resolver, parse_target
from probes.fields import Fields, Reading, Unresolved, format_age
from probes.problems import Problems, SpecError


def reader(raw: dict, tmp_path: Path) -> tuple[Fields, Problems]:
    problems = Problems("config.yaml")
    return Fields(raw, "x", Reading(tmp_path, problems)), problems


@dataclass(frozen=True)
class Spec:
    name: str
    retries: int = 3
    ratio: float = 0.5
    tags: tuple[str, ...] = ("a",)
    labels: dict[str, str] = field(default_factory=lambda: {"env": "prod"})
    note: str | None = None


def test_absent_fields_take_the_defaults_written_on_the_spec(tmp_path):
    f, problems = reader({"name": "n"}, tmp_path)
    f = f.defaults_from(Spec)
    spec = Spec(
        name=f.text("name"),
        retries=f.integer("retries"),
        ratio=f.ratio("ratio"),
        tags=f.texts("tags"),
        labels=f.text_map("labels"),
        note=f.optional_text("note"),
    )
    f.done()
    assert problems.lines == []
    assert spec == Spec("n")


def test_a_field_without_a_default_is_required(tmp_path):
    f, problems = reader({}, tmp_path)
    assert f.defaults_from(Spec).text("name") == ""  # a stand-in, for a spec thrown away
    assert problems.lines == ["config.yaml: x.name is required"]


def test_a_wrong_value_is_recorded_and_reading_goes_on(tmp_path):
    f, problems = reader({"name": 3.5, "retries": "many", "ratio": 2}, tmp_path)
    f = f.defaults_from(Spec)
    assert (f.text("name"), f.integer("retries"), f.ratio("ratio")) == ("3.5", 3, 0.5)
    assert problems.lines == [
        'config.yaml: x.retries must be an integer (got "many")',
        "config.yaml: x.ratio must be a ratio between 0 and 1 (got 2)",
    ]
    assert f.usable("name") and not f.usable("retries") and not f.usable("ratio")


def test_a_value_waiting_for_a_variable_is_not_checked(tmp_path):
    f, problems = reader(
        {"retries": Unresolved(("N",)), "tags": ["a", Unresolved(("T", "U"))]}, tmp_path
    )
    f = f.defaults_from(Spec)
    assert (f.integer("retries"), f.texts("tags")) == (3, ("a",))
    assert problems.lines == []
    assert f.reading.waiting == ["N", "T", "U"]
    assert not f.usable("retries")


def test_a_default_of_another_type_is_a_programming_error(tmp_path):
    f, _ = reader({}, tmp_path)
    with pytest.raises(TypeError, match=r"x\.note: the default None is not a str"):
        f.defaults_from(Spec).text("note")


def test_unknown_keys_of_every_mapping_are_reported(tmp_path):
    f, problems = reader({"name": "n", "nmae": "m", "auth": {"user": "u"}}, tmp_path)
    f.text("name")
    auth = f.sub("auth")
    assert auth is not None
    auth.optional_text("username")
    f.done()
    assert problems.lines == [
        "config.yaml: x.nmae is not a known field (known: auth, name)",
        "config.yaml: x.auth.user is not a known field (known: username)",
    ]


def test_a_secret_is_never_quoted(tmp_path):
    # The names the http kind uses: reading a secret adds its name to the global SECRET_KEYS.
    f, problems = reader(
        {"bearer_token": ["hunter2"], "secret_headers": {"X-Key": {"v": "hunter2"}}}, tmp_path
    )
    f.optional_secret("bearer_token")
    f.secret_map("secret_headers")
    assert problems.lines == [
        "config.yaml: x.bearer_token must be a string",
        "config.yaml: x.secret_headers must be a mapping of header names to values "
        "such as ${API_KEY}",
    ]


@pytest.mark.parametrize(
    "text, host, port, shown",
    [
        ("db.example:5432", "db.example", 5432, "db.example:5432"),
        ("[::1]:443", "::1", 443, "[::1]:443"),
        ("::1:443", "::1", 443, "[::1]:443"),
    ],
)
def test_target_is_parsed_once(text, host, port, shown):
    target = parse_target(text, "tcp.target")
    assert (target.host, target.port, str(target)) == (host, port, shown)


@pytest.mark.parametrize("text", ["db.example", ":5432", "db:0", "db:65536", "db:http", "db:"])
def test_target_that_is_not_host_port(text):
    with pytest.raises(SpecError) as info:
        parse_target(text, "tcp.target")
    assert str(info.value) == f'tcp.target must be host:port (got "{text}")'


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10.0.0.2", HostPort("10.0.0.2", 53)),
        ("127.0.0.1:5353", HostPort("127.0.0.1", 5353)),
        ("[::1]:5353", HostPort("::1", 5353)),
        ("[::1]", HostPort("::1", 53)),
        ("::1", HostPort("::1", 53)),
    ],
)
def test_resolver_is_an_ip_with_an_optional_port(text, expected):
    assert parse_resolver(text, "dns.resolver") == expected


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "dns.google",
            "must be an IP address with an optional port, such as 10.0.0.2 or 127.0.0.1:5353 "
            '(got "dns.google")',
        ),
        ("127.0.0.1:99999", 'has an invalid port (got "127.0.0.1:99999")'),
    ],
)
def test_resolver_that_is_not_an_address(text, message):
    with pytest.raises(SpecError) as info:
        parse_resolver(text, "dns.resolver")
    assert str(info.value) == f"dns.resolver {message}"


def test_tcp_tls_and_dns_keep_the_parsed_address(tmp_path):
    specs = [
        parse_spec(reader(raw, tmp_path)[0])
        for parse_spec, raw in (
            (tcp.parse_spec, {"target": "db:5432"}),
            (tls.parse_spec, {"target": "[::1]:443"}),
            (dns.parse_spec, {"name": "x", "resolver": "127.0.0.1"}),
        )
    ]
    assert [s.target for s in specs[:2]] == [HostPort("db", 5432), HostPort("::1", 443)]
    assert specs[2].resolver == HostPort("127.0.0.1", 53)


@pytest.mark.parametrize(
    "seconds, bound, text",
    [
        (0.2, None, "under a second"),
        (1, None, "1 second"),
        (40, None, "40 seconds"),
        (200, None, "3 minutes 20 seconds"),
        (5400, None, "1 hour 30 minutes"),
        (15 * 3600 + 1200, None, "15 hours"),  # from 10 of a unit on, the next is left out
        (86400 + 6 * 3600, None, "1 day 6 hours"),
        (3 * 86400 + 5, None, "3 days"),
        (133.2 * 86400, None, "133 days"),
        # rounded down to "1 day 2 hours" it would read as within 1d2h: every unit is written
        (86400 + 2 * 3600 + 1800, 86400 + 2 * 3600, "1 day 2 hours 30 minutes"),
        (0.5, 0.2, "500 milliseconds"),
    ],
)
def test_ages_read_as_a_person_says_them(seconds, bound, text):
    assert format_age(seconds, bound) == text
