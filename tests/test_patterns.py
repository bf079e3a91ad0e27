"""Operators' patterns go through RE2: refused at load when RE2 cannot take them, and matched in
time linear in the text, so a backtracking pattern over a large body never freezes the daemon.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import faults
from support.probing import checklist, config_error, run
from support.procs import HealthWatch, http_get, probe_runs, start_exporter, wait_until

from probes.patterns import SYNTAX_URL, Pattern, PatternError, compile_pattern
from probes.result import Status

# Every field that takes an operator's pattern, as the smallest probe that holds one.
PATTERN_FIELDS: dict[str, Any] = {
    "http.body_regex": lambda p: {"http": {"url": "http://x", "body_regex": p}},
    "http.header_patterns.X-A": lambda p: {
        "http": {"url": "http://x", "header_patterns": {"X-A": p}}
    },
    "command.stdout_regex": lambda p: {"command": {"argv": ["true"], "stdout_regex": p}},
    "file.content_regex": lambda p: {"file": {"path": "a", "content_regex": p}},
    "file.must_match[0]": lambda p: {"file": {"path": "a", "must_match": [p]}},
    "file.must_not_match[0]": lambda p: {"file": {"path": "a", "must_not_match": [p]}},
    "tcp.banner": lambda p: {"tcp": {"target": "127.0.0.1:22", "banner": p}},
}


@pytest.mark.parametrize("field", sorted(PATTERN_FIELDS))
@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\1", "invalid escape sequence: \\1"),
        ("x(?=y)", "invalid perl operator: (?="),
        ("(?<!x)y", "invalid perl operator: (?<!"),
    ],
)
def test_what_re2_refuses_is_a_located_config_error(tmp_path, field, pattern, reason):
    message = config_error(PATTERN_FIELDS[field](pattern), tmp_path)
    assert message.endswith(
        f"{field} must be a regular expression in RE2 syntax ({reason}; no lookaround or "
        f"backreferences, see {SYNTAX_URL}) (got {show(pattern)})"
    ), message


def show(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


@pytest.mark.parametrize("field", sorted(PATTERN_FIELDS))
def test_every_pattern_field_is_compiled_by_re2_at_load(tmp_path, field):
    item = checklist(PATTERN_FIELDS[field]("(?i)^ok"), tmp_path).items[0]
    compiled = [v for v in _values(item.spec) if isinstance(v, Pattern)]
    assert [p.pattern for p in compiled] == ["(?i)^ok"]


def _values(spec: Any) -> list[Any]:
    out = []
    for value in vars(spec).values():
        if isinstance(value, (tuple, list)):
            out += list(value)
        elif isinstance(value, dict):
            out += list(value.values())
        else:
            out.append(value)
    return out


def test_flags_and_anchors_follow_re2():
    assert compile_pattern("(?i)hello").search("say HELLO") is not None
    # ^ and $ are the text's ends, as in Prometheus and blackbox_exporter; (?m) makes them lines'.
    assert compile_pattern("^b$").search("a\nb\nc") is None
    assert compile_pattern("(?m)^b$").search("a\nb\nc").start() == 2
    with pytest.raises(PatternError, match="missing \\)"):
        compile_pattern("(")


def test_text_that_is_not_utf_8_is_matched_not_raised():
    """aiohttp keeps undecodable header bytes as surrogates; RE2 reads UTF-8."""
    assert compile_pattern("^max-age").search("max-age=1\udcff") is not None
    with pytest.raises(PatternError, match="not UTF-8 text"):
        compile_pattern("\ud800")


def test_patterns_compare_by_their_text_so_a_reload_keeps_the_item():
    assert compile_pattern("a+") == compile_pattern("a+")
    assert compile_pattern("a+") != compile_pattern("a*")


async def test_file_patterns_find_the_line_of_a_hit(tmp_path):
    (tmp_path / "settings.py").write_text("x = 1\nDEBUG = True\n")
    result = await run(
        {"file": {"path": "settings.py", "must_not_match": ["(?im)^debug\\s*=\\s*true"]}},
        tmp_path,
    )
    assert (result.status, result.summary) == (
        Status.FAIL,
        "settings.py line 2 matches /(?im)^debug\\s*=\\s*true/, expected no match",
    )


async def test_a_backtracking_pattern_over_a_1_mib_body_gets_a_verdict(tmp_path):
    body = b"x" * 2**20  # one line, no END: Python's re takes minutes here (bench/regex.py)
    with faults.Server(faults.answers("200 OK", body, "text/plain")) as port:
        result = await run(
            {"http": {"url": f"http://127.0.0.1:{port}/", "body_regex": ".*END"}}, tmp_path
        )
    assert (result.status, result.summary, result.error) == (
        Status.FAIL,
        'body does not match /.*END/ (first 1 MiB read); it begins "' + "x" * 59 + '…"',
        False,
    )


def test_healthy_keeps_answering_while_such_probes_run(tmp_path: Path):
    """An exporter probing a 1 MiB one-line body with ``.*END`` every second still answers.

    ``/-/healthy`` is asked back to back; an answer slower than 5 s (the event loop held by a
    match) fails the test. The latencies are printed, not asserted.
    """
    body = b"x" * 2**20
    with faults.Server(faults.answers("200 OK", body, "text/plain")) as port:
        config = tmp_path / "config.yaml"
        config.write_text(
            "categories:\n  - id: c\n    title: C\n    items:\n"
            "      - {id: R-1, title: Regex, priority: high, interval: 1s, timeout: 1s,\n"
            f'         probe: {{http: {{url: "http://127.0.0.1:{port}/",\n'
            '                          body_regex: ".*END"}}}\n'
        )
        proc, base = start_exporter(config, tmp_path / "exporter.log")
        try:
            with HealthWatch(base) as health:
                wait_until(lambda: probe_runs(base, "R-1") >= 3, 60, "three runs of the regex item")
                item = http_get(f"{base}/api/v1/items/R-1")[1].decode()
        finally:
            proc.stop()
    assert not health.failures, health.failures[:5]
    assert "body does not match /.*END/ (first 1 MiB read)" in item
    print("\n" + health.report("three .*END probes of a 1 MiB body"))
