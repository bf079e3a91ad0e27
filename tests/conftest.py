"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# Session fixtures that start real programs: postgres (a throwaway PostgreSQL cluster).
pytest_plugins = ["support.postgres"]


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (``timeout 900 pytest ...``, a CI job cancelled) stops the run as Ctrl-C does.

    By default SIGTERM ends Python at once: no ``finally``, no fixture teardown, and the
    programs tests started in their own sessions (nginx, Prometheus, exporters) run on. As a
    KeyboardInterrupt, pytest unwinds the test and tears its fixtures down, which stops them.
    """
    pid = os.getpid()

    def interrupt(signum: int, frame: object) -> None:
        if os.getpid() == pid:  # not in a forked child that kept the handler
            raise KeyboardInterrupt("SIGTERM: stopping the test run")
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config (dedented YAML) to tmp_path/config.yaml and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
