"""Comparisons a probe makes on an observed value, and JMESPath assertions on documents.

One expectation language for every kind that compares a value (http JSON bodies, file YAML/JSON
documents, report fields, PromQL samples, SQL scalars), written the way a person would write it::

    expect: "< 1"                          # shorthand: operator, then the value
    expect: {op: ">=", value: 0.75}        # the same as a mapping
    assert:                                # JMESPath assertions on a document
      - {path: status, op: "==", value: ok}
      - name: services without a memory limit   # optional: what a summary calls the value
        path: "values(services)[?!deploy.resources.limits.memory]"
        op: length
        value: 0

Operators: ``== != < <= > >=``, ``contains`` (a substring, list element or mapping key) and
``length`` (the observed list, string or mapping has exactly ``value`` elements, or, with a
string value such as ``">= 10"``, a length compared with that operator).

A summary names an assertion by its ``name`` (or its path, as written) and shows what was
observed: ``services without a memory limit: 2 ("api", "worker"), expected none`` when it
fails, ``services without a memory limit: none`` when it holds.
"""

from __future__ import annotations

import decimal
import functools
import json
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .masking import clip, clip_words
from .problems import SpecError, show

# Comparisons of observed values (numbers, strings): each answers a bool.
ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
OPS = (*ORDER, "contains", "length")
# How a summary words an operator before its value ("at least 10").
WORDS = {
    "==": "",
    "!=": "not ",
    "<": "less than ",
    "<=": "at most ",
    ">": "more than ",
    ">=": "at least ",
}
LABEL_CAP = 60  # characters of an unnamed assertion's path a summary shows


def as_number(value: Any) -> float | None:
    """``value`` as a float when it is a number or a numeric string (SQL and PromQL give strings).

    Any real number counts: PostgreSQL's ``numeric`` arrives from psycopg as ``Decimal``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (numbers.Real, decimal.Decimal)):  # Decimal is no numbers.Real
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def render(value: Any) -> str:
    """An observed or expected value as a summary shows it: short, JSON-like, never multi-line."""
    if isinstance(value, (float, decimal.Decimal)):
        return f"{value:g}"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return clip(text, 80)


@dataclass(frozen=True)
class Expect:
    """An operator and the value the observed one is compared with."""

    op: str
    value: Any
    length_op: str = "=="  # for ``length``: how the length is compared with ``value``

    def __str__(self) -> str:
        if self.op == "length":
            return f"length {self.length_op} {render(self.value)}"
        return f"{self.op} {render(self.value)}"

    def words(self) -> str:
        """The expectation as a person says it: ``at least 10``, ``none``, ``"ok"``."""
        if self.op == "length":
            if self.value == 0 and self.length_op in ("==", "<=", "<"):
                return "none" if self.length_op != "<" else f"fewer than {self.value}"
            return f"{WORDS[self.length_op]}{self.value}"
        if self.op == "contains":
            return f"contains {render(self.value)}"
        return f"{WORDS[self.op]}{render(self.value)}"

    def holds(self, observed: Any) -> bool:
        """Whether ``observed`` meets this expectation; never raises for odd types."""
        if self.op == "contains":
            if isinstance(observed, str):
                return str(self.value) in observed
            if isinstance(observed, (list, tuple, Mapping)):
                return self.value in observed
            return False
        if self.op == "length":
            if not isinstance(observed, (str, list, tuple, Mapping)):
                return False
            return ORDER[self.length_op](len(observed), self.value)
        return _ordered(self.op, observed, self.value)


def _ordered(op: str, observed: Any, expected: Any) -> bool:
    left, right = as_number(observed), as_number(expected)
    if op in ("==", "!="):
        if not isinstance(expected, str) and left is not None and right is not None:
            same = left == right  # 1 == 1.0 == "1" from a SQL or PromQL result
        else:
            same = observed == expected or (
                isinstance(observed, str)
                and isinstance(expected, str)
                and observed.strip() == expected.strip()
            )
        return same if op == "==" else not same
    if left is not None and right is not None:
        return ORDER[op](left, right)  # NaN compares false, as in PromQL
    if isinstance(observed, str) and isinstance(expected, str):
        return ORDER[op](observed, expected)
    return False


def _scalar_from_text(text: str) -> Any:
    """The value in a shorthand ``"< 1"``: a number when it reads as one, else the text."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    number = as_number(text)
    if number is not None:
        return (
            int(number)
            if number.is_integer() and "." not in text and "e" not in text.lower()
            else number
        )
    return text


def parse_expect(raw: object, where: str, also_known: tuple[str, ...] = ()) -> Expect:
    """An Expect from ``"< 1"`` or ``{op: "<", value: 1}``; raises SpecError naming ``where``."""
    if isinstance(raw, str):
        text = raw.strip()
        op = next((o for o in sorted(OPS, key=len, reverse=True) if text.startswith(o)), None)
        if op is None:
            raise SpecError(where, f"must start with one of {', '.join(OPS)} (got {show(raw)})")
        rest = text[len(op) :].strip()
        if not rest:
            raise SpecError(where, f"needs a value after {op} (got {show(raw)})")
        if op == "length":
            return _length(rest, where, raw)
        return Expect(op, _scalar_from_text(rest))
    if isinstance(raw, Mapping):
        known = (*also_known, "op", "value")
        unknown = [k for k in raw if k not in known]
        if unknown:
            raise SpecError(
                f"{where}.{unknown[0]}", f"is not a known field (known: {', '.join(known)})"
            )
        op = raw.get("op")
        if op not in OPS:
            raise SpecError(f"{where}.op", f"must be one of {', '.join(OPS)} (got {show(op)})")
        if "value" not in raw:
            raise SpecError(f"{where}.value", "is required")
        value = raw["value"]
        if op == "length":
            if isinstance(value, str):
                return _length(value, f"{where}.value", value)
            return _length(str(value), f"{where}.value", value)
        if op in ("<", "<=", ">", ">=") and as_number(value) is None and not isinstance(value, str):
            raise SpecError(
                f"{where}.value", f"must be a number or a string for {op} (got {show(value)})"
            )
        return Expect(str(op), value)
    raise SpecError(
        where, f'must be a comparison such as "< 1" or {{op: "<", value: 1}} (got {show(raw)})'
    )


def _length(text: str, where: str, raw: Any) -> Expect:
    text = text.strip()
    length_op = next((o for o in sorted(ORDER, key=len, reverse=True) if text.startswith(o)), "==")
    number = text[len(length_op) :].strip() if text.startswith(length_op) else text
    if not number.isdigit():
        raise SpecError(
            where,
            f'length must be compared with a whole number, such as 3 or ">= 3" (got {show(raw)})',
        )
    return Expect("length", int(number), length_op)


@dataclass(frozen=True)
class Assertion:
    """A JMESPath expression over a document and the expectation its result must meet."""

    path: str
    expect: Expect
    # Derived from ``path``; left out of equality so a reload compares assertions by their text
    # (compiled expressions compare by identity once jmespath's cache has moved on).
    compiled: Any = field(default=None, compare=False)
    name: str = ""  # what the value is, for people ("services without cpu limits")

    def observe(self, document: Any) -> Any:
        return self.compiled.search(document, options=_search_options())

    @property
    def label(self) -> str:
        """What a summary calls the value: the name given, else the path as written."""
        return self.name or clip_words(self.path, LABEL_CAP)

    def held(self, observed: Any) -> str:
        """What a PASS says of this assertion: ``healthy alerting rules: 12, at least 10``."""
        if self.expect.op == "contains":
            return f"{self.label}: {render(self.expect.value)} among them"
        shown = observed_text(observed, self.expect)
        if self.expect.op == "==" or shown == self.expect.words():
            return f"{self.label}: {shown}"
        return f"{self.label}: {shown}, {self.expect.words()}"

    def failed(self, observed: Any) -> str:
        """What a FAIL says: ``operations without a description: 3, expected none``."""
        if self.expect.op == "contains":
            return (
                f"{self.label}: no {render(self.expect.value)} among "
                f"{observed_text(observed, None)}"
            )
        return (
            f"{self.label}: {observed_text(observed, self.expect)}, expected {self.expect.words()}"
        )

    def __str__(self) -> str:
        return f"{self.label} {self.expect}"


def observed_text(observed: Any, expect: Expect | None) -> str:
    """An observed value as a summary shows it; a list or mapping by its count first when its
    length is what is judged (or it is judged as a whole): ``2 ("api", "worker")``, ``none``."""
    counted = expect is None or expect.op == "length"
    if counted and isinstance(observed, (list, tuple, Mapping)):
        if not observed:
            return "none"
        items = observed if not isinstance(observed, Mapping) else list(observed)
        names = [render(v) for v in items if not isinstance(v, (list, tuple, Mapping))]
        listed = f" ({clip(', '.join(names), 60)})" if len(names) == len(items) else ""
        return f"{len(items)}{listed}"
    return render(observed)


@functools.cache
def _search_options() -> Any:
    """JMESPath's options with ``package_name(s)``: a Python package's name as PEP 503 compares
    names (lower case, each run of -, _ and . one -), so Faker and pytest_mock are faker and
    pytest-mock. Built on first use: jmespath is imported only for items with a path."""
    import jmespath
    import jmespath.functions

    class Functions(jmespath.functions.Functions):
        @jmespath.functions.signature({"types": ["string"]})
        def _func_package_name(self, name: str) -> str:
            parts = name.lower().replace("_", "-").replace(".", "-").split("-")
            return "-".join(part for part in parts if part)

    return jmespath.Options(custom_functions=Functions())


def compile_path(path: object, where: str) -> Any:
    """A compiled JMESPath expression; raises SpecError with the parser's reason."""
    if not isinstance(path, str) or not path.strip():
        raise SpecError(
            where, f"must be a JMESPath expression such as items[0].name (got {show(path)})"
        )
    import jmespath  # here, not at start: 2 MB for the few items with a path
    import jmespath.exceptions

    try:
        return jmespath.compile(path)
    except jmespath.exceptions.JMESPathError as exc:
        reason = str(exc).splitlines()[0]
        raise SpecError(
            where, f"is not a valid JMESPath expression ({reason}) (got {show(path)})"
        ) from None


def parse_assertions(raw: object, where: str) -> tuple[Assertion, ...]:
    """Assertions from a list of ``{path, op, value}`` mappings (or ``{path, expect: "< 1"}``),
    each with an optional ``name``."""
    if not isinstance(raw, list) or not raw:
        raise SpecError(
            where, f"must be a list of {{path, op, value}} assertions (got {show(raw)})"
        )
    out = []
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise SpecError(here, f"must be a mapping with path, op and value (got {show(entry)})")
        compiled = compile_path(entry.get("path"), f"{here}.path")
        name = entry.get("name", "")
        if not isinstance(name, str) or ("name" in entry and not name.strip()):
            raise SpecError(f"{here}.name", f"must be a phrase naming the value (got {show(name)})")
        rest = {k: v for k, v in entry.items() if k not in ("path", "name")}
        if "expect" in entry:
            unknown = [k for k in rest if k != "expect"]
            if unknown:
                raise SpecError(
                    f"{here}.{unknown[0]}", "is not a known field (known: name, path, expect)"
                )
            expect = parse_expect(entry["expect"], f"{here}.expect")
        else:
            expect = parse_expect(rest, here, ("name", "path"))
        out.append(Assertion(str(entry["path"]), expect, compiled, " ".join(name.split())))
    return tuple(out)


@dataclass(frozen=True)
class Verdict:
    """How a document fared against its assertions: which failed, with what was observed, and
    what held (``held``: one phrase per assertion that holds, for a PASS summary)."""

    total: int
    failures: tuple[str, ...]
    observed: Mapping[str, Any]
    held: tuple[str, ...] = ()

    @property
    def passed(self) -> int:
        return self.total - len(self.failures)


def check_assertions(assertions: tuple[Assertion, ...], document: Any) -> Verdict:
    """Check every assertion on ``document``; failures read ``name: X, expected OP Y``."""
    import jmespath.exceptions

    failures, held, observed = [], [], {}
    for a in assertions:
        try:
            value = a.observe(document)
        except jmespath.exceptions.JMESPathError as exc:
            failures.append(f"{a.label}: cannot evaluate ({str(exc).splitlines()[0]})")
            continue
        observed[a.path] = value
        if a.expect.holds(value):
            held.append(a.held(value))
        else:
            failures.append(a.failed(value))
    return Verdict(len(assertions), tuple(failures), observed, tuple(held))
