"""The command line called in-process: ``exporter.cli.main(argv)``, its output captured.

A child Python costs about a second of start-up and imports on this machine; most command-line
tests are about what a command prints and returns, which the same call in this process shows.
Tests whose subject is the process itself still start one: signals, a terminal, serving, the
``python -m exporter`` entry point and its exit codes, a regression that would hang the suite,
and test_secret_leaks (all a real process writes, its children's output and what is logged at
exit included, must be free of secrets; redirecting ``sys.stdout`` would not see all of it).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from exporter import cli
from exporter.daemon import Daemon
from exporter.redact import LOGS, NOTHING

from .procs import ROOT


@dataclass(frozen=True)
class Ran:
    """What a command returned and printed, named as ``subprocess.CompletedProcess`` names it."""

    returncode: int
    stdout: str
    stderr: str


async def _never_serve(self: Daemon, *args: object, **kwargs: object) -> None:
    raise AssertionError("the command line started serving: a test of it would never return")


@contextlib.contextmanager
def _environment(env: Mapping[str, str], unset: Iterable[str]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name in list(unset):
            os.environ.pop(name, None)
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _logging_as_in_a_new_process() -> Iterator[None]:
    """``main`` sets up logging for the whole process, and an engine tells the log mask its
    checklist's credentials: each command starts as a new process would, with no mask left by an
    earlier one (which could hide a leak), and the test run's logging comes back after."""
    root = logging.getLogger()
    handlers, level, mask = root.handlers[:], root.level, LOGS.redactor
    LOGS.redactor = NOTHING
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        LOGS.redactor = mask
        structlog.reset_defaults()


def run_cli(
    *argv: str,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    cwd: Path = ROOT,
) -> Ran:
    """``readiness-exporter *argv`` in this process, in ``cwd``, with ``env`` added to the
    environment and the names in ``unset`` taken out of it; serving is refused."""
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    serve = Daemon.serve
    Daemon.serve = _never_serve  # type: ignore[method-assign]
    try:
        os.chdir(cwd)
        with (
            _environment(env or {}, unset),
            _logging_as_in_a_new_process(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = cli.main(list(argv))
            except SystemExit as exc:  # argparse: --version, --help, usage errors
                if isinstance(exc.code, str):
                    print(exc.code, file=err)
                code = 1 if isinstance(exc.code, str) else (exc.code or 0)
    finally:
        Daemon.serve = serve  # type: ignore[method-assign]
        os.chdir(previous)
    return Ran(code, out.getvalue(), err.getvalue())
