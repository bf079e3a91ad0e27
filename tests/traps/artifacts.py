"""Reports written by the real tools, as CI writes them: pytest's JUnit, ruff's and mypy's JUnit,
coverage.py's Cobertura XML. Each runs once per session in a folder of its own (the tools find
no config of this project there) and writes nothing else of note.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "MYPY"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _project(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    # An empty config of its own, so no tool climbs up to this project's pyproject.toml.
    (folder / "pytest.ini").write_text("[pytest]\n")
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def pytest_junit(folder: Path, source: str) -> Path:
    """The JUnit XML pytest writes for a test file holding ``source``."""
    cwd = _project(folder, {"test_suite.py": source})
    out = cwd / "junit.xml"
    done = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:cloudcoil",
            f"--junitxml={out}",
            "test_suite.py",
        ],
        cwd,
    )
    assert out.exists(), done.stdout + done.stderr
    return out


def ruff_junit(folder: Path, source: str) -> Path:
    """``ruff check --output-format junit`` of a module holding ``source``."""
    cwd = _project(folder, {"module.py": source})
    out = cwd / "ruff-junit.xml"
    done = _run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--output-format",
            "junit",
            "-o",
            str(out),
            "module.py",
        ],
        cwd,
    )
    assert out.exists(), done.stdout + done.stderr
    return out


def mypy_junit(folder: Path, source: str) -> Path:
    """``mypy --junit-xml`` of a module holding ``source``."""
    cwd = _project(folder, {"module.py": source})
    out = cwd / "mypy-junit.xml"
    done = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--junit-xml",
            str(out),
            "module.py",
        ],
        cwd,
    )
    assert out.exists(), done.stdout + done.stderr
    return out


def coverage_xml(folder: Path, covered: int, lines: int) -> Path:
    """coverage.py's Cobertura XML for a module of ``lines`` statements, ``covered`` of them run.

    The module runs ``covered - 1`` assignments and a ``def`` whose body (the other statements)
    is never called.
    """
    module = "".join(f"v{i} = {i}\n" for i in range(covered - 1))
    module += "def never():\n" + "".join(f"    w{i} = {i}\n" for i in range(lines - covered))
    cwd = _project(folder, {"module.py": module, "run.py": "import module\n"})
    data = cwd / ".coverage"
    for argv in (
        ["run", f"--data-file={data}", "--include=module.py", "run.py"],
        ["xml", f"--data-file={data}", "-o", "coverage.xml"],
    ):
        done = _run([sys.executable, "-m", "coverage", *argv], cwd)
        assert done.returncode == 0, done.stdout + done.stderr
    return cwd / "coverage.xml"


@dataclass(frozen=True)
class Reports:
    """One of each report a trap needs, made by the real tools."""

    junit_passed: Path  # 3 tests, all passed
    junit_failed: Path  # 3 tests, 1 failed
    junit_skipped: Path  # 3 tests, all skipped: "3 tests, 0 failures" and nothing executed
    ruff_clean: Path
    ruff_dirty: Path  # F401
    mypy_clean: Path
    mypy_error: Path
    coverage_075: Path  # line-rate exactly 0.75: not "> 75%"
    coverage_080: Path


def make_reports(root: Path) -> Reports:
    return Reports(
        junit_passed=pytest_junit(
            root / "passed",
            """\
            def test_booking(): assert 1 + 1 == 2
            def test_reservation_flow(): assert "room".upper() == "ROOM"
            def test_cancel(): assert [] == []
            """,
        ),
        junit_failed=pytest_junit(
            root / "failed",
            """\
            def test_booking(): assert 1 + 1 == 2
            def test_reservation_flow(): assert "room" == "suite"
            def test_cancel(): assert [] == []
            """,
        ),
        junit_skipped=pytest_junit(
            root / "skipped",
            """\
            import pytest
            pytestmark = pytest.mark.skip(reason="PMS_URL not set in CI")
            def test_booking(): assert False
            def test_reservation_flow(): assert False
            def test_cancel(): assert False
            """,
        ),
        ruff_clean=ruff_junit(root / "ruff-clean", "import os\n\nprint(os.sep)\n"),
        ruff_dirty=ruff_junit(root / "ruff-dirty", "import os\nimport sys\n\nprint(os.sep)\n"),
        mypy_clean=mypy_junit(root / "mypy-clean", "def f(x: int) -> int:\n    return x + 1\n"),
        mypy_error=mypy_junit(root / "mypy-error", "def f(x: int) -> str:\n    return x + 1\n"),
        coverage_075=coverage_xml(root / "coverage-075", covered=3, lines=4),
        coverage_080=coverage_xml(root / "coverage-080", covered=4, lines=5),
    )
