"""Markdown headings and sections from markdown-it-py: the traps a regex falls into."""

from __future__ import annotations

import textwrap

import pytest

from probes.markdown import find, judge_headings, normalize, sections
from probes.result import Status


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def titles(text: str) -> list[tuple[int, str, int]]:
    return [(s.level, s.title, s.line) for s in sections(md(text))]


def test_a_heading_inside_fenced_code_is_not_a_heading():
    text = md(
        """
        # Runbook

        ```bash
        # Degraded mode
        systemctl stop worker
        ```

        ~~~
        ## Degraded mode
        ~~~

            # Degraded mode (indented code)
        """
    )
    assert titles(text) == [(1, "Runbook", 1)]
    assert judge_headings(text, ["Degraded mode"]) == (Status.FAIL, "has no heading Degraded mode")


def test_setext_headings_are_headings():
    text = md(
        """
        Disaster recovery
        =================

        Degraded mode
        -------------

        Serve cached availability; queue bookings.
        """
    )
    assert titles(text) == [(1, "Disaster recovery", 1), (2, "Degraded mode", 4)]
    assert judge_headings(text, ["degraded MODE"], require_content=True) is None


def test_exact_text_not_prefix():
    text = md(
        """
        ## RTO targets
        Tier 1: 1 hour.
        """
    )
    # "RTO" is not "RTO targets": a prefix match would have accepted it.
    assert judge_headings(text, ["RTO"]) == (Status.FAIL, "has no heading RTO")
    assert judge_headings(text, ["  rto   TARGETS "]) is None


def test_rto_tbd_is_a_heading_without_content():
    for text in (
        "## RTO: TBD\n",
        "## RTO\nTBD\n",
        "## RTO\n\n*To be defined.*\n\n<!-- fill me -->\n",
        "## RTO\n### Tier 1\n### Tier 2\n",
        "## RTO\n\n## RPO\n15 minutes\n",
    ):
        problem = judge_headings(text, ["RTO"], require_content=True)
        assert problem is not None and problem[0] is Status.FAIL, text
        assert "has no content" in problem[1], text
        # Present, it is still found when content is not asked for.
        assert judge_headings(text, ["RTO"]) is None, text


def test_rto_with_a_value_has_content():
    for text in (
        "## RTO: 1 hour\n",
        "## RTO\n| Tier | RTO |\n| --- | --- |\n| 1 | 1 h |\n",
        "## RTO\n### Tier 1\nOne hour.\n",
        "RTO\n---\nRestore within 60 min.\n",
    ):
        assert judge_headings(text, ["RTO"], require_content=True) is None, text


def test_some_missing_is_partial_and_names_them():
    text = "# Plan\n## Recovery\nsteps\n"
    assert judge_headings(text, ["Recovery", "Escalation", "Contacts"]) == (
        Status.PARTIAL,
        "has no heading Escalation, Contacts",
    )


def test_inline_markup_is_dropped_and_closing_hashes_too():
    text = "## **Degraded** `mode` ##\nok\n"
    assert titles(text) == [(2, "Degraded mode", 1)]


def test_headings_in_quotes_and_lists_are_not_the_documents():
    text = md(
        """
        > ## Degraded mode
        > quoted from another team's plan

        - ## Degraded mode
        """
    )
    assert titles(text) == []


def test_front_matter_is_not_a_setext_heading_and_lines_are_kept():
    text = "---\ntitle: Plan\nowner: ops\n---\n# Recovery\nsteps\n"
    assert titles(text) == [(1, "Recovery", 5)]


def test_sections_run_to_the_next_heading_of_the_same_level():
    text = md(
        """
        # Plan
        intro
        ## A
        a text
        ### A.1
        deep text
        ## B
        b text
        """
    )
    found = sections(text)
    a = find(found, "a")
    assert a is not None and "a text" in a.body and "deep text" in a.body
    assert "A.1" not in a.body and "b text" not in a.body
    plan = find(found, "plan")
    assert plan is not None and "b text" in plan.body


@pytest.mark.parametrize("raw", ["Degraded  mode", " DEGRADED MODE ", "degraded\tmode"])
def test_normalize(raw):
    assert normalize(raw) == "degraded mode"
