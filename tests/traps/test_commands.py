"""No shipped item runs the application's tests, migrations or anything that writes.

A command runs with this exporter's rights and environment, which point at production: the
shipped A-001 ran the application's test suite from here and its fixtures emptied the production
database (issue 11). Items read what CI produces instead. Any command item that remains must be
a read-only program on the list below, with the reason it is read-only, and must say
"read-only" in its notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from exporter.config import read_yaml
from probes.composite import written_children
from traps.shipped import CONFIG

# (program, first word that is not an option) -> why it cannot write to what it checks.
READ_ONLY: dict[tuple[str, str], str] = {
    ("git", "rev-parse"): "prints object names; reads the repository, writes nothing",
    ("git", "log"): "reads history; with --no-optional-locks it does not even refresh the index",
    ("poetry", "check"): "with --lock, compares pyproject.toml with poetry.lock; runs no "
    "project code and writes nothing (Poetry 1.6+)",
}
# Programs that run project code, tests, migrations or load, whatever their arguments.
NEVER = re.compile(
    r"^(python[\d.]*|pytest|py\.test|tox|nox|unittest|alembic|django-admin|manage\.py|flask|"
    r"rails|rake|npm|npx|yarn|pnpm|make|sh|bash|zsh|locust|k6|artillery|jmeter|ab|wrk|hey|"
    r"psql|pg_restore|pg_dump|mysql|redis-cli|curl|wget|ruff|mypy|uv|pip)$"
)


def commands(probe: Mapping[str, Any]) -> Iterator[list[str]]:
    ((kind, body),) = probe.items()
    if kind in ("all", "any"):
        for child in written_children(body):
            yield from commands(child)
    elif kind == "command":
        yield [str(a) for a in body["argv"]]


def verdict(argv: list[str]) -> str | None:
    """Why ``argv`` may not ship, or None when it is on the read-only list."""
    program = argv[0].rsplit("/", 1)[-1]
    if NEVER.match(program) or any(NEVER.match(a.rsplit("/", 1)[-1]) for a in argv[1:2]):
        return f"{program} runs project code, tests, migrations or load"
    words = iter(argv[1:])
    first = next((w for w in words if not w.startswith("-") and "${" not in w), "")
    if (program, first) not in READ_ONLY:
        return f"{program} {first} is not on the read-only list"
    return None


def shipped_commands() -> list[tuple[str, str, list[str]]]:
    doc = read_yaml(CONFIG)
    return [
        (item["id"], str(item.get("notes", "")), argv)
        for category in doc["categories"]
        for item in category["items"]
        for argv in commands(item["probe"])
    ]


def test_no_shipped_command_runs_tests_migrations_or_anything_that_writes():
    refused = {item: why for item, _, argv in shipped_commands() if (why := verdict(argv))}
    assert refused == {}


def test_a_remaining_command_item_says_it_is_read_only():
    loud = [item for item, notes, _ in shipped_commands() if "read-only" not in notes.lower()]
    assert loud == []


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "-m", "pytest", "-q"],  # the shipped A-001 before issue 11
        ["/opt/venv/bin/python3.11", "-c", "import app.core.settings"],
        ["alembic", "check"],  # D-001: runs the project's env.py
        ["env", "pytest"],
        ["ruff", "check", "."],  # writes .ruff_cache into the checkout
        ["locust", "--headless", "-u", "100"],
        ["git", "-C", "${APP_REPO}", "grep", "-nIE", "secret"],  # S-002: prints the secret
    ],
)
def test_the_old_command_items_would_be_refused(argv):
    assert verdict(argv) is not None


def test_read_only_programs_pass_with_their_options():
    assert verdict(["git", "-C", "${APP_REPO}", "--no-optional-locks", "log", "-1"]) is None
    assert verdict(["poetry", "check", "--lock"]) is None
