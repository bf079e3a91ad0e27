"""The comparison language shared by http, file, promql and sql: small named cases."""

from __future__ import annotations

import pytest

from probes.compare import Expect, check_assertions, parse_assertions, parse_expect
from probes.problems import SpecError


@pytest.mark.parametrize(
    "text, observed, holds",
    [
        ("< 1", 0.4, True),
        ("< 1", "0.4", True),  # PromQL and SQL give numbers as text
        ("< 1", 1.5, False),
        ("< 1", "NaN", False),  # NaN compares false, as in PromQL
        ("!= 1", "NaN", True),
        ("<= 1", 1, True),
        (">= 0.75", 0.75, True),
        ("> 0", 0, False),
        ("== 1", 1.0, True),
        ("== 1", "1", True),
        ("== on", "on", True),  # SHOW archive_mode
        ("== on", "off", False),
        ("== '42'", 42, False),  # a quoted value is text: 42 is not "42"
        ("!= ok", "down", True),
        ("contains redis", ["db", "redis"], True),
        ("contains slack", "receivers: slack_configs", True),
        ("contains x", 12, False),
        ("length 2", ["a", "b"], True),
        ("length >= 3", ["a", "b"], False),
        ("length 0", None, False),
        ("< 1", None, False),
        ("< b", "a", True),  # text against text
    ],
)
def test_shorthand(text, observed, holds):
    assert parse_expect(text, "x").holds(observed) is holds


def test_mapping_form_keeps_yaml_types():
    assert parse_expect({"op": "==", "value": False}, "x") == Expect("==", False)
    assert parse_expect({"op": "length", "value": 3}, "x") == Expect("length", 3, "==")
    assert str(parse_expect({"op": "length", "value": ">= 3"}, "x")) == "length >= 3"


@pytest.mark.parametrize(
    "raw, message",
    [
        ("~ 1", 'x must start with one of ==, !=, <, <=, >, >=, contains, length (got "~ 1")'),
        ("<", 'x needs a value after < (got "<")'),
        (
            "length lots",
            "x length must be compared with a whole number, "
            'such as 3 or ">= 3" (got "length lots")',
        ),
        ({"op": "<"}, "x.value is required"),
        ({"op": "<", "value": 1, "unit": "s"}, "x.unit is not a known field (known: op, value)"),
        (3, 'x must be a comparison such as "< 1" or {op: "<", value: 1} (got 3)'),
    ],
)
def test_bad_expectations(raw, message):
    with pytest.raises(SpecError) as info:
        parse_expect(raw, "x")
    assert str(info.value) == message


def test_assertions_report_observed_beside_expected():
    asserts = parse_assertions(
        [{"path": "a.b", "expect": "< 1"}, {"path": "c", "op": "contains", "value": 2}], "json"
    )
    verdict = check_assertions(asserts, {"a": {"b": 3}, "c": [1, 2]})
    assert verdict.passed == 1
    assert verdict.failures == ("a.b: 3, expected less than 1",)
    assert verdict.held == ("c: 2 among them",)


def test_a_named_assertion_is_summarised_by_its_name():
    asserts = parse_assertions(
        [
            {"name": "services without cpu limits", "path": "a", "op": "length", "value": 0},
            {"name": "healthy rules", "path": "n", "expect": ">= 10"},
        ],
        "assert",
    )
    verdict = check_assertions(asserts, {"a": ["api", "worker"], "n": 12})
    assert verdict.failures == ('services without cpu limits: 2 ("api", "worker"), expected none',)
    assert verdict.held == ("healthy rules: 12, at least 10",)
    verdict = check_assertions(asserts, {"a": [], "n": 3})
    assert verdict.held == ("services without cpu limits: none",)
    assert verdict.failures == ("healthy rules: 3, expected at least 10",)


def test_an_empty_name_is_refused():
    with pytest.raises(SpecError) as info:
        parse_assertions([{"name": " ", "path": "a", "expect": "== 1"}], "json")
    assert str(info.value) == 'json[0].name must be a phrase naming the value (got " ")'


def test_assertion_with_unknown_field_names_path_as_known():
    with pytest.raises(SpecError) as info:
        parse_assertions([{"path": "a", "op": "==", "value": 1, "note": "x"}], "json")
    assert str(info.value) == "json[0].note is not a known field (known: name, path, op, value)"


def test_assertions_compare_by_their_text_not_their_compiled_form():
    """A reload must see an unchanged assertion as unchanged, whatever jmespath's cache holds."""
    import dataclasses

    import jmespath

    from probes.compare import parse_assertions

    (first,) = parse_assertions(
        [{"path": "services.*.mem_limit", "op": "length", "value": ">= 1"}], "x"
    )
    # What a later load gets once jmespath's compile cache has dropped the expression.
    jmespath.parser.Parser.purge()
    again = dataclasses.replace(first, compiled=jmespath.compile("services.*.mem_limit"))
    assert first.compiled is not again.compiled
    assert first == again


def test_package_name_compares_as_pip_does():
    """PEP 503: lower case, each run of -, _ and . one -; in a filter over an SBOM's components."""
    doc = {"components": [{"name": n} for n in ("Faker", "pytest_mock", "zope.interface", "a-_.b")]}
    names = ["faker", "pytest-mock", "zope-interface", "a-b"]
    asserts = parse_assertions(
        [{"path": "components[*].package_name(name)", "op": "==", "value": names}], "assert"
    )
    verdict = check_assertions(asserts, doc)
    assert verdict.passed and not verdict.failures, verdict
