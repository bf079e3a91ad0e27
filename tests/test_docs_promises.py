"""docs/security.md and docs/reliability.md name, for every promise, the test that proves it:
each name must be a test of the file it is read with, and each promise must name one.

A reference is ``test_file.py::test_name``; a bare ``::test_name`` belongs to the last file named
before it on the same line (a table row), so a row never leans on the row above it. A
parametrized case is ``test_file.py::…[id]``. The reviewer found 17 references that named a
test of another file than the one they were read with; nothing caught it.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("docs/security.md", "docs/reliability.md")
TESTS = {p.relative_to(ROOT / "tests").as_posix(): p for p in (ROOT / "tests").rglob("test_*.py")}
REF = re.compile(
    r"(?P<file>test_[\w*]+\.py)(?:::(?P<named>\w+|…\[[^\]`]*\]))?"
    r"|(?<![\w.:])::(?P<bare>\w+)"
    r"|(?<![\w:])(?P<case>…\[[^\]`]*\])"
)


def _index() -> dict[str, set[str]]:
    """Function name -> the test files (by name) that define it."""
    index: dict[str, set[str]] = {}
    for path in TESTS.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                index.setdefault(node.name, set()).add(path.name)
    return index


DEFINED = _index()


def _defined(name: str) -> set[str]:
    """The test files (by name) that hold a test or helper called ``name``."""
    return DEFINED.get(name, set())


def _files(pattern: str) -> list[Path]:
    return [p for rel, p in TESTS.items() if fnmatch.fnmatch(Path(rel).name, pattern)]


def wrong_references(text: str) -> list[str]:
    """Each reference that names no test of the file it is read with, with its line."""
    wrong = []
    for number, line in enumerate(text.splitlines(), 1):
        current: str | None = None
        for m in REF.finditer(line):
            if m["file"]:
                current = m["file"]
                if not _files(current):
                    wrong.append(f"line {number}: {current} does not exist")
                    continue
            name = m["named"] or m["bare"] or m["case"]
            if name is None:
                continue
            if current is None:
                wrong.append(f"line {number}: {name} does not say which file it is in")
            elif name.startswith("…["):
                case = name[2:-1].rstrip("*").rstrip("-")
                if not any(case in p.read_text() for p in _files(current)):
                    wrong.append(f"line {number}: no case {name} in {current}")
            elif not any(p.name in _defined(name) for p in _files(current)):
                found = ", ".join(sorted(_defined(name))) or "no file"
                wrong.append(f"line {number}: {name} is not in {current} (it is in {found})")
    return wrong


@pytest.mark.parametrize("doc", DOCS)
def test_every_reference_names_a_test_of_its_file(doc):
    assert wrong_references((ROOT / doc).read_text()) == []


def test_a_reference_to_the_wrong_file_is_caught():
    text = "| a | `test_bad_input.py::test_billion_laughs_is_refused_quickly` |\n| b | `::x` |\n"
    assert wrong_references(text) == ["line 2: x does not say which file it is in"]
    assert wrong_references("`test_attest.py::test_broken_report_is_a_clear_fail`") == [
        "line 1: test_broken_report_is_a_clear_fail is not in test_attest.py "
        "(it is in test_bad_input.py)"
    ]


def test_every_promise_in_security_md_names_its_proof():
    """Each row of a table with a Proof column names at least one test in that column."""
    missing = []
    proof_column = None
    for number, line in enumerate((ROOT / "docs/security.md").read_text().splitlines(), 1):
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        if not cells:
            proof_column = None
        elif "Proof" in cells:
            proof_column = cells.index("Proof")
        elif (
            proof_column is not None
            and not set(cells[0]) <= {"-", ":"}
            and not REF.search(cells[proof_column] if proof_column < len(cells) else "")
        ):
            missing.append(f"line {number}: {cells[0][:60]}")
    assert missing == []
