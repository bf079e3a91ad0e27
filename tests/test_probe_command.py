"""The command kind: exit codes and output, no shell, what a command gets of the exporter's
environment, what it leaves open, and what of its output is shown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from support.probing import run

from probes.result import Status

PY = sys.executable
PRINT_NAMES = "import os; print(*sorted(os.environ))"
# Python may set LC_CTYPE for itself (PEP 538) when it coerces the C locale.
INHERITED = {"PATH", "HOME", "LANG", "TZ", "LC_CTYPE"}


async def test_exit_zero_with_the_expected_output_passes(tmp_path):
    result = await run(
        {
            "command": {
                "argv": [PY, "-c", "print('All checks passed!')"],
                "stdout_regex": "passed",
            }
        },
        tmp_path,
    )
    assert (result.status, result.summary) == (Status.PASS, "exit code 0")


async def test_a_nonzero_exit_shows_stderr(tmp_path):
    fails = "import sys; sys.stderr.write('3 errors found'); sys.exit(1)"
    result = await run({"command": {"argv": [PY, "-c", fails]}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "exit code 1, expected 0: 3 errors found",
    )


async def test_the_summary_shows_the_last_line_and_the_evidence_all_of_it(tmp_path):
    fails = "import sys; sys.exit('line 1\\nFound 3 errors.')"
    result = await run({"command": {"argv": [PY, "-c", fails]}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "exit code 1, expected 0: Found 3 errors.",
    )
    assert result.evidence["stderr_tail"] == "line 1\nFound 3 errors."


async def test_an_expected_exit_code_passes(tmp_path):
    result = await run(
        {"command": {"argv": [PY, "-c", "raise SystemExit(1)"], "expect_exit": [1]}}, tmp_path
    )
    assert result.status is Status.PASS


async def test_a_command_is_not_run_through_a_shell(tmp_path):
    marker = tmp_path / "marker"
    result = await run({"command": {"argv": ["echo", f"x; touch {marker}"]}}, tmp_path)
    assert result.status is Status.PASS
    assert result.evidence["stdout_tail"] == f"x; touch {marker}"
    assert not marker.exists()


async def test_a_missing_program_fails(tmp_path):
    result = await run({"command": {"argv": ["/nonexistent/tool"]}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "cannot run /nonexistent/tool (No such file or directory)",
    )


# A command that outlives its timeout is killed with its process group: test_deadline.py
# (the summary) and test_faults.py (command-*: the children are gone) show it.


async def test_a_command_gets_a_minimal_environment(tmp_path, monkeypatch):
    """The exporter's environment holds other items' credentials: a command sees none of it."""
    monkeypatch.setenv("OTHER_ITEMS_TOKEN", "token-of-another-item")
    monkeypatch.setenv("TZ", "UTC")
    result = await run(
        {"command": {"argv": [PY, "-c", PRINT_NAMES], "env": {"DECLARED": "yes"}}}, tmp_path
    )
    names = set(result.evidence["stdout_tail"].split())
    assert result.status is Status.PASS
    assert "DECLARED" in names and {"PATH", "TZ"} <= names
    assert names - {"DECLARED"} <= INHERITED, names


async def test_a_command_that_needs_an_undeclared_variable_fails(tmp_path, monkeypatch):
    """It looks configured (the variable is set where the exporter runs) but is not declared."""
    monkeypatch.setenv("NEEDED_BY_THE_TOOL", "value")
    needs = "import os, sys; sys.exit(0 if 'NEEDED_BY_THE_TOOL' in os.environ else 7)"
    undeclared = await run({"command": {"argv": [PY, "-c", needs]}}, tmp_path)
    declared = await run(
        {
            "command": {
                "argv": [PY, "-c", needs],
                "env": {"NEEDED_BY_THE_TOOL": "${NEEDED_BY_THE_TOOL}"},
            }
        },
        tmp_path,
        env=dict(os.environ),
    )
    assert undeclared.status is Status.FAIL and undeclared.summary == "exit code 7, expected 0"
    assert declared.status is Status.PASS


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_children_that_leave_the_group_holding_the_output_leak_no_descriptor(tmp_path):
    """A child that calls setsid keeps the output pipes open past the kill of the group: the
    probe closes its ends anyway, run after run."""
    pids = tmp_path / "pids"
    # The background child is no group leader, so setsid(1) makes it a session of its own.
    leave = f'setsid sh -c "echo \\$\\$ >> {pids}; exec sleep 60" & echo started'
    probe = {"command": {"argv": ["sh", "-c", leave]}}
    runs = 8
    try:
        await run(probe, tmp_path, timeout="500ms")  # the first run starts what stays
        before = open_descriptors()
        for _ in range(runs):
            result = await run(probe, tmp_path, timeout="500ms")
            assert result.status is Status.FAIL and result.error, result.summary
        deadline = time.monotonic() + 10
        # Pipes close on the loop's next turns; no event tells when.
        while open_descriptors() > before and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        after = open_descriptors()
    finally:
        for pid in pids.read_text().split() if pids.exists() else ():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert len(pids.read_text().split()) == runs + 1, "the children did not leave the group"
    assert after <= before, f"{after - before} descriptors left open by {runs} runs"


TOKEN = "tok-" + "k7Qz" * 34  # 140 characters, a JWT's size


async def test_the_output_shown_is_masked_before_it_is_cut(tmp_path):
    """The tail shown starts inside the token, and the summary's line is cut inside it too:
    masked first, no piece of it shows."""
    prints = "import os; print(os.environ['API_TOKEN'] + 'y' * 190); raise SystemExit(2)"
    result = await run(
        {"command": {"argv": [PY, "-c", prints], "env": {"API_TOKEN": "${API_TOKEN}"}}},
        tmp_path,
        env={"API_TOKEN": TOKEN},
    )
    shown = f"{result.summary} {result.evidence}"
    assert result.evidence["stdout_tail"] == "<secret>" + "y" * 190
    assert result.summary.startswith("exit code 2, expected 0: <secret>yyy")
    assert not any(TOKEN[i : i + 6] in shown for i in range(len(TOKEN) - 5)), shown
