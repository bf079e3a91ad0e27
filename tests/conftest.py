"""Fixtures shared by the whole suite."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# Session fixtures that start real programs: postgres (a throwaway PostgreSQL cluster).
pytest_plugins = ["support.postgres"]


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config (dedented YAML) to tmp_path/config.yaml and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
