"""Errors a user sees share one base: the command line prints them and exits 2, nothing else."""

from __future__ import annotations

import pytest

from exporter import cli, config
from exporter.attest import AttestError
from exporter.errors import ConfigError, UsageError, UserError


@pytest.fixture(autouse=True)
def quiet_logs(monkeypatch):
    """main() configures logging for the whole process: leave the other tests' alone."""
    monkeypatch.setattr(cli.logs, "setup", lambda level, fmt: None)


def test_every_error_a_user_sees_shares_one_base():
    assert all(issubclass(e, UserError) for e in (ConfigError, AttestError, UsageError))
    assert config.ConfigError is ConfigError


def test_command_line_prints_a_user_error_and_exits_2(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("decision: {go: 95}\ncategories: []\n")
    assert cli.main(["validate", "--config.file", str(path)]) == cli.EXIT_CONFIG
    assert capsys.readouterr().err.splitlines() == [
        "config.yaml: decision: go must be a ratio between 0 and 1 (got 95)",
        "config.yaml: categories: must be a list of categories with items (got a list)",
    ]


def test_an_error_that_is_not_the_users_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(path):
        raise RuntimeError("a bug, not a config mistake")

    monkeypatch.setattr(config, "load", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["validate", "--config.file", str(tmp_path / "config.yaml")])
