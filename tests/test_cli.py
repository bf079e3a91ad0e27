"""The command line: check's exit codes and formats, validate's report, flags.

Commands run in this process (support.cli); a child process only where the test is about one:
a terminal or a pipe, serving and its logs, the ``python -m exporter`` entry, scripts/run.sh.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli as cli

ROOT = Path(__file__).resolve().parents[1]


def items_config(write_config, statuses: list[tuple[str, bool]]) -> Path:
    """A config whose items pass or fail as told (a command that exits 0 or 1)."""
    lines = ["categories:", "  - id: a", "    title: A", "    items:"]
    for n, (priority, ok) in enumerate(statuses):
        lines.append(
            f"      - {{id: X-{n:02}, title: item {n}, priority: {priority}, "
            f'probe: {{command: {{argv: ["{"true" if ok else "false"}"]}}}}}}'
        )
    return write_config("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "statuses,code",
    [
        ([("critical", True)] * 20, 0),  # GO
        ([("critical", True)] * 19 + [("high", False)], 0),  # exactly 95 %: GO
        ([("critical", True)] * 9 + [("high", False)], 3),  # 90 %: GO WITH CAUTION
        ([("critical", True)] * 8 + [("high", False)] * 2, 1),  # 80 %: NO-GO
        ([("critical", False)] + [("high", True)] * 19, 1),  # a critical item fails: NO-GO
    ],
    ids=["go", "go-at-95", "caution", "no-go-total", "no-go-critical"],
)
def test_check_exit_code_is_the_decision(write_config, statuses, code):
    done = cli("check", "--config.file", str(items_config(write_config, statuses)))
    assert done.returncode == code, done.stdout + done.stderr


def test_check_json_document(write_config):
    path = items_config(write_config, [("critical", True), ("high", False)])
    done = cli("check", "--config.file", str(path), "--format", "json")
    doc = json.loads(done.stdout)
    assert set(doc) >= {
        "checklist",
        "decision",
        "total_score",
        "critical_score",
        "categories",
        "items",
    }
    assert (doc["decision"], doc["total_score"], doc["critical_score"]) == ("no_go", 0.5, 1.0)
    assert doc["categories"] == [
        {
            "id": "a",
            "title": "A",
            "score": 0.5,
            "counts": {"pass": 1, "partial": 0, "fail": 1, "pending": 0, "na": 0},
        }
    ]
    first = doc["items"][0]
    assert set(first) == {
        "id",
        "title",
        "category",
        "priority",
        "owner",
        "phase",
        "status",
        "summary",
        "duration_seconds",
        "checked_at",
        "error",
        "evidence",
    }
    assert (first["id"], first["status"], first["summary"]) == ("X-00", "pass", "exit code 0")
    assert (first["owner"], first["phase"]) == (None, None)
    assert doc["launch"]["phase"] == "pre_launch"
    assert [s["role"] for s in doc["launch"]["signoffs"]][-1] == "CTO"


def test_check_table_shows_decision_and_reason(write_config):
    path = items_config(write_config, [("critical", False), ("high", True)])
    done = cli("check", "--config.file", str(path))
    assert done.returncode == 1
    assert "Decision        NO-GO: 1 critical item fails." in done.stdout


def test_check_selected_items_only(write_config):
    path = items_config(write_config, [("critical", False), ("high", True)])
    done = cli("check", "--config.file", str(path), "--item", "X-01", "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == 0
    assert [i["id"] for i in doc["items"]] == ["X-01"]


def test_check_unknown_item_is_a_usage_error(write_config):
    path = items_config(write_config, [("high", True)])
    done = cli("check", "--config.file", str(path), "--item", "NOPE-1")
    assert done.returncode == 2
    assert "unknown item NOPE-1" in done.stderr


def test_check_bad_config_exits_2_with_located_errors(write_config):
    path = write_config(
        "categories:\n  - id: a\n    items:\n"
        "      - {id: A-1, title: t, priority: nope, probe: {command: {argv: [x]}}}\n"
    )
    done = cli("check", "--config.file", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "config.yaml: categories[0].items[0] (A-1): priority must be one of "
        'critical, high, medium, low (got "nope")'
    )


def test_validate_lists_unconfigured_items_and_their_variables(write_config):
    path = write_config("""
        categories:
          - id: a
            items:
              - {id: A-1, title: t, priority: high, probe: {http: {url: "${APP_URL}/health"}}}
              - {id: A-2, title: t, priority: high,
                 probe: {command: {argv: ["${TOOL}", "${APP_REPO}"]}}}
              - {id: A-3, title: t, priority: high, probe: {command: {argv: ["true"]}}}
    """)
    done = cli("validate", "--config.file", str(path), env={"APP_URL": ""})
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "config.yaml: valid: 3 items in 1 categories",
        "2 items are not configured (PENDING until these variables are set):",
        "  A-1: APP_URL",
        "  A-2: TOOL, APP_REPO",
        "variables needed: APP_REPO, APP_URL, TOOL",
    ]


def test_validate_lists_every_error(write_config):
    path = write_config("""
        categories:
          - id: a
            items:
              - {id: A-1, title: t, priority: nope, probe: {command: {argv: ["x"]}}}
              - {id: A-1, title: t, priority: high, probe: {command: {argv: ["x"]}}}
    """)
    done = cli("validate", "--config.file", str(path))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 2


def test_shipped_config_validates():
    done = cli("validate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("config.yaml: valid: 145 items in 12 categories")


def test_bad_listen_address_is_a_usage_error():
    done = cli("--web.listen-address", "localhost")
    assert done.returncode == 2
    assert "--web.listen-address must be HOST:PORT or :PORT (got 'localhost')" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        "",
        "check",
        "validate",
        "import",
        "attest",
        "accept-risk",
        "revoke-risk",
        "sign",
        "revoke-signoff",
        "decide",
        "remediate",
    ],
)
def test_version_on_every_command(command):
    done = cli(*([command] if command else []), "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == version_lines()


def version_lines() -> list[str]:
    from exporter import build

    me = build()
    assert len(me.revision) == 40  # this checkout's commit, from git
    return [
        f"readiness-exporter, version {me.version} (branch: {me.branch}, revision: {me.revision})",
        f"  python version:   {me.python}",
    ]


def test_python_dash_m_exporter_is_the_command_line(write_config):
    """The entry the image and scripts/run.sh use, ``python -m exporter``, in a child: what
    ``main`` returns is the process's exit code, the report goes to stdout and errors to
    stderr (the in-process tests above see ``main``'s return and the redirected streams)."""

    def python_m_exporter(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "exporter", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )

    done = python_m_exporter("--version")
    assert (done.returncode, done.stdout.splitlines(), done.stderr) == (0, version_lines(), "")
    no_go = items_config(write_config, [("critical", False)])
    done = python_m_exporter("check", "--config.file", str(no_go), "--format", "json")
    assert (done.returncode, json.loads(done.stdout)["decision"], done.stderr) == (1, "no_go", "")
    done = python_m_exporter("chekc")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("readiness-exporter: unknown command 'chekc'")


@pytest.mark.parametrize(
    "word, hint",
    [("chekc", " (did you mean check?)"), ("validat", " (did you mean validate?)"), ("serve", "")],
)
def test_mistyped_command_gets_a_suggestion(word, hint):
    done = cli(word, "--config.file", "config.yaml")
    assert done.returncode == 2
    assert done.stderr == (
        f"readiness-exporter: unknown command '{word}'{hint}; commands: check, validate, "
        "import, attest, accept-risk, revoke-risk, sign, revoke-signoff, decide, remediate, or "
        "none to serve\n"
    )


def test_item_families_flag(write_config, tmp_path):
    from support.procs import http_get, start_exporter

    path = items_config(write_config, [("high", True)])
    done = cli("--config.file", str(path), "--metrics.item-families", "status,runs")
    assert done.returncode == 2
    assert "--metrics.item-families: unknown family runs (expected some of status, info" in (
        done.stderr
    )
    proc, base = start_exporter(
        path, tmp_path / "exporter.log", extra=["--metrics.item-families", "status,probe_runs"]
    )
    try:
        text = http_get(f"{base}/metrics")[1].decode()
    finally:
        proc.stop()
    assert 'readiness_probe_runs_total{item="X-00"}' in text
    assert 'readiness_item_status{category="a",item="X-00"' in text
    assert "readiness_item_info" not in text and "readiness_item_interval_seconds" not in text
    # Until --web.external-url is given, the URL Prometheus would default to.
    port = base.rpartition(":")[2]
    url = f"http://{socket.gethostname()}:{port}/"
    assert f'readiness_exporter_web_info{{external_url="{url}"}} 1.0' in text


# -- check at a terminal and in a pipe -----------------------------------------------------


def run_attached(
    args: list[str], stdout_tty: bool, stderr_tty: bool, env: dict | None = None
) -> tuple[int, str, str]:
    """Run the CLI with stdout and stderr on pseudo-terminals or pipes; (code, out, err)."""
    import os
    import pty
    import select

    ends = [pty.openpty() if tty else os.pipe() for tty in (stdout_tty, stderr_tty)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "exporter", *args],
        stdin=subprocess.DEVNULL,
        stdout=ends[0][1],
        stderr=ends[1][1],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "150", "TERM": "xterm", **(env or {})},
    )
    for _, write_end in ends:
        os.close(write_end)
    got = {read_end: b"" for read_end, _ in ends}
    still_open = set(got)
    while still_open:
        ready, _, _ = select.select(list(still_open), [], [], 60)
        assert ready, "the CLI wrote nothing for 60 s"
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: a pseudo-terminal whose other side has closed
                chunk = b""
            if chunk:
                got[fd] += chunk
            else:
                still_open.discard(fd)
                os.close(fd)
    # A terminal writes each newline as CR LF.
    out, err = (got[r].decode().replace("\r\n", "\n") for r, _ in ends)
    return proc.wait(60), out, err


def check_config(write_config, hang: bool = False) -> Path:
    hanging = (
        "      - {id: H-1, title: hangs, priority: high, timeout: 1s, probe: {command: "
        f'{{argv: ["{sys.executable}", "-c", "import time; time.sleep(60)"]}}}}}}\n'
        if hang
        else ""
    )
    return write_config(
        "categories:\n  - id: a\n    title: A\n    items:\n"
        '      - {id: P-1, title: passes, priority: high, probe: {command: {argv: ["true"]}}}\n'
        '      - {id: F-1, title: fails, priority: critical, probe: {command: {argv: ["false"]}}}\n'
        + hanging
    )


def test_check_at_a_terminal_shows_progress_and_colour(write_config):
    path = check_config(write_config, hang=True)
    code, out, err = run_attached(["check", "--config.file", str(path)], True, True)
    assert code == 1
    # Progress on stderr while it runs, naming what it waits for; then how long it took.
    assert "\r\x1b[Kchecking: " in err and "waiting for H-1" in err
    assert re.search(r"\r\x1b\[Kchecked 3 items in \d+\.\ds; slowest: H-1 \d+\.\ds, ", err), err
    # Colour on stdout: the decision and each status.
    assert "Decision        \x1b[1;31mNO-GO\x1b[0m: 1 critical item fails." in out
    # The status column is as wide as "FAIL (cannot judge)" (H-1 ran out of time).
    assert "  F-1  \x1b[31mFAIL               \x1b[0m  critical" in out
    assert "  P-1  \x1b[32mPASS               \x1b[0m  high" in out


@pytest.mark.parametrize(
    "stdout_tty, env, flag, coloured",
    [
        (True, {"NO_COLOR": "1"}, [], False),  # a terminal, but the user said no colour
        (True, {"NO_COLOR": ""}, [], True),  # an empty NO_COLOR does not count
        (True, {"TERM": "dumb"}, [], False),
        (True, {}, ["--color", "never"], False),
        (False, {}, [], False),  # a pipe
        (False, {"NO_COLOR": "1"}, ["--color", "always"], True),  # asked for, explicitly
    ],
    ids=["no-color", "empty-no-color", "dumb", "never", "pipe", "always"],
)
def test_check_colour_follows_the_terminal_no_color_and_the_flag(
    write_config, stdout_tty, env, flag, coloured
):
    path = check_config(write_config)
    code, out, err = run_attached(
        ["check", "--config.file", str(path), *flag], stdout_tty, True, env
    )
    assert code == 1
    assert ("\x1b[" in out) is coloured
    assert "checked 2 items in" in err  # stderr is a terminal in every case


def test_check_in_a_pipe_prints_the_report_and_nothing_else(write_config):
    path = check_config(write_config, hang=True)
    code, out, err = run_attached(["check", "--config.file", str(path)], False, False)
    assert code == 1
    assert err == ""
    assert "\x1b" not in out and "\r" not in out
    lines = out.splitlines()
    # Decision, scores and blockers first, the table after, the decision again last.
    assert lines[2] == "Decision        NO-GO: 1 critical item fails."
    assert lines[6] == "Critical items failing (1):"
    assert lines[7].startswith("  F-1  FAIL                 critical  fails")
    assert lines.index("A   33.3%") > 7
    assert lines[-1] == lines[2]


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_log_lines_as_prometheus_writes_them(write_config, tmp_path, fmt):
    from support.procs import http_get, start_exporter, wait_until

    path = items_config(write_config, [("high", False)])
    extra = [] if fmt == "logfmt" else ["--log.format", "json"]  # logfmt is the default
    proc, base = start_exporter(path, tmp_path / "exporter.log", extra=extra)
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 20, "first round done")
    assert proc.stop() == 0
    lines = [ln for ln in proc.log_path.read_text().splitlines() if ln]
    assert lines, "the exporter logged nothing"
    if fmt == "json":
        entries = [json.loads(ln) for ln in lines]
        assert [list(e)[:4] for e in entries] == [["time", "level", "source", "msg"]] * len(lines)
        listening = next(e for e in entries if e["msg"] == "listening")
        assert listening["level"] == "INFO" and listening["items"] == 1
    else:
        quoted = r'"(?:[^"\\]|\\.)*"'
        pattern = re.compile(
            r"time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(DEBUG|INFO|WARN|ERROR) "
            rf'source=[\w.]+\.py:\d+ msg=(\w+|{quoted})( \w+=([^\s"]+|{quoted}))*'
        )
        assert [ln for ln in lines if not pattern.fullmatch(ln)] == []
        assert any(
            re.match(r".* level=INFO source=daemon\.py:\d+ msg=listening address=\S+ items=1 ", ln)
            for ln in lines
        ), lines
        assert any(' msg="shutting down"' in ln for ln in lines)


def test_run_script_installs_the_runtime_once_and_again_when_pyproject_changes(tmp_path):
    """scripts/run.sh, run for real in a copy of the project whose .venv records its calls."""
    import shutil
    import textwrap

    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run.sh", root / "scripts" / "run.sh")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    calls = tmp_path / "calls"
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in {
        # pip is recorded, not run; the exporter says how it was started.
        "python": f'echo "python $*" >> {calls}\n',
        "readiness-exporter": f'echo "exporter $*" >> {calls}\n',
    }.items():
        (bin_dir / name).write_text(textwrap.dedent(f"#!/bin/sh\n{body}"))
        (bin_dir / name).chmod(0o755)

    def start(*args: str) -> list[str]:
        calls.write_text("")
        done = subprocess.run(
            ["bash", str(root / "scripts" / "run.sh"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return calls.read_text().splitlines()

    first = start("--web.listen-address", ":10146")
    assert first == [
        "python -m pip install -q --disable-pip-version-check -e .",  # no [test] extras
        "exporter --config.file config.yaml --web.listen-address :10146",
    ]
    assert start() == ["exporter --config.file config.yaml"]  # nothing installed again
    with (root / "pyproject.toml").open("a") as f:
        f.write("# a new dependency, say\n")
    assert start()[0].startswith("python -m pip install")
    assert start() == ["exporter --config.file config.yaml"]


def test_revoke_signoff_withdraws_the_role_s_latest_signature(write_config):
    path = write_config(
        "categories: [{id: f, items: [{id: F-1, title: eng, priority: critical, "
        "probe: {signoff: {role: CTO}}}]}]\n"
    )
    config = ("--config.file", str(path))
    signed = cli("sign", "cto", "--by", "Carl", *config)
    assert signed.returncode == 0, signed.stderr
    done = cli("revoke-signoff", "CTO", "--by", "Carl Chen", *config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CTO: the signature of Carl is revoked by Carl Chen"
    again = cli("revoke-signoff", "CTO", "--by", "Carl", *config)
    assert again.returncode == 2
    assert "CTO has no signature to revoke" in again.stderr
    unknown = cli("revoke-signoff", "Janitor", "--by", "Carl", *config)
    assert unknown.returncode == 2 and "unknown role 'Janitor'" in unknown.stderr
