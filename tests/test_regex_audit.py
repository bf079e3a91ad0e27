"""Every regular expression in exporter/ and probes/ runs in time linear in its text.

Python's ``re`` backtracks, holds the GIL while it does, and cannot be interrupted: one pattern
that is quadratic (or worse) in a text a target or a file can shape freezes the whole daemon
(a repository line of ``password:`` and 3,500 spaces held it for 11 s). Operators' patterns go
through RE2 (``test_patterns.py``); this file holds the exporter's own to the same promise.

``support/regex_audit.py`` lists each call site with how the code runs it; here each one is
timed over adversarial texts (long runs of each character it reads, after each text that starts
a match, and those texts repeated) of 2 KiB and 64 KiB, against the time the same code takes
over ordinary text of the same length. No absolute time is asserted: a linear pattern stays
within a small multiple of that baseline, a quadratic one is thousands of times over it at
64 KiB.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.regex_audit import ENTRIES, Entry, adversarial, markdown_table, plain

ROOT = Path(__file__).resolve().parent.parent
SIZES = (2 * 1024, 64 * 1024)
RATIO = 50  # adversarial time over baseline; a linear scan stays far below it
CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}
# A linear baseline for code that rejects ordinary text at once (an anchored pattern, a
# literal prefix): tokenising the same text.
REFERENCE = re.compile(r"\w+|\s+|[^\w\s]+")


def call_sites() -> set[tuple[str, str]]:
    """(file, pattern) of every ``re.X(...)`` and ``re2.X(...)`` call in exporter/ and probes/;
    the pattern is its text when it is a literal, else its source."""
    found = set()
    for folder in ("exporter", "probes"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("re", "re2")
                    and node.func.attr in CALLS
                ):
                    arg = node.args[0]
                    text = arg.value if isinstance(arg, ast.Constant) else ast.unparse(arg)
                    found.add((path.relative_to(ROOT).as_posix(), str(text)))
    return found


def test_every_pattern_in_the_code_is_audited():
    """A new or edited pattern fails here until it has an entry (and a verdict) of its own."""
    audited = {(e.path, e.key) for e in ENTRIES}
    sites = call_sites()
    assert sorted(sites - audited) == [], "audit these in tests/support/regex_audit.py"
    assert sorted(audited - sites) == [], "stale entries in tests/support/regex_audit.py"


def test_the_table_in_security_md_is_the_audit():
    """docs/security.md shows this audit; ``python -c 'from support.regex_audit import
    markdown_table; print(markdown_table())'`` (in tests/) writes the table again."""
    assert markdown_table() in (ROOT / "docs" / "security.md").read_text()


def cpu(run: Callable[[str], object], text: str, repeat: int = 3) -> float:
    """The least CPU time of ``repeat`` runs of ``run(text)``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run(text)
        best = min(best, time.process_time() - started)
    return best


def baseline(entry: Entry, size: int) -> float:
    text = plain(size)
    return max(cpu(entry.run, text), cpu(REFERENCE.findall, text))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.path}:{ENTRIES.index(e)}")
def test_each_pattern_is_linear_over_adversarial_text(entry: Entry):
    for size in SIZES:  # 2 KiB first: a cubic pattern fails there in well under a second
        base = baseline(entry, size)
        worst, label = max(
            (cpu(entry.run, text, 1), label) for label, text in adversarial(entry, size)
        )
        if worst > RATIO * base:  # measure again before calling it: the machine may be busy
            text = dict(adversarial(entry, size))[label]
            worst, base = cpu(entry.run, text), baseline(entry, size)
        assert worst <= RATIO * base, (
            f"{entry.path}: {label} ({size:,} characters) took {worst * 1000:.1f} ms, "
            f"{worst / base:.0f} times ordinary text ({base * 1000:.2f} ms)"
        )


def test_the_audit_catches_a_backtracking_pattern():
    """The measure itself: the annotated-assignment rule as it was written for ``re``."""
    from detect_secrets.plugins import keyword

    cubic = re.compile(
        keyword.DENYLIST_REGEX
        + r"\s*:\s*[^\v=:'\"`<>{}]+?\s*=\s*"
        + rf"({keyword.QUOTE})({keyword.SECRET})(\2)",
        flags=re.IGNORECASE,
    )
    entry = Entry("old", "old", lambda t: list(cubic.finditer(t)), "cubic", seeds=("password:",))
    size = 1024  # 0.3 s; 4 KiB would take 20
    text = dict(adversarial(entry, size))["'password:' + ' ' * n + 'x'"]
    assert cpu(entry.run, text, 1) > RATIO * baseline(entry, size)
