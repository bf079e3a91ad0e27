"""Env probe on the test process's real environment: set, long enough, not a placeholder."""

from __future__ import annotations

import pytest
from support.probing import config_error, run

from probes.result import Status

STRONG = "k3Jq9-vXr2LmP8sWzT4yBn6HcQ1fGd7E"  # 32 characters


def leaks(result, value: str) -> bool:
    return value in repr(result)


async def test_long_real_value_passes_without_leaking(tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", STRONG + "x")
    result = await run({"env": {"name": "JWT_SECRET", "min_length": 33}}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary == "JWT_SECRET is set (33 characters, at least 33)"
    assert not leaks(result, STRONG)


async def test_short_value_fails_with_its_length_only(tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", STRONG)
    result = await run({"env": {"name": "JWT_SECRET", "min_length": 33}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == "JWT_SECRET has 32 characters, expected at least 33"
    assert not leaks(result, STRONG)


@pytest.mark.parametrize(
    "value",
    ["changeme", "CHANGE_ME", "your-secret-here", "<secret>", "xxxxxxxx", "dev", "password"],
)
async def test_placeholder_fails(tmp_path, monkeypatch, value):
    monkeypatch.setenv("API_KEY", value)
    result = await run({"env": {"name": "API_KEY"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == "API_KEY holds a placeholder value, expected a real one"
    assert not leaks(result, value)


@pytest.mark.parametrize(
    "value", ["abc9f3e1" + "0" * 56, "1234f9c8" + "e" * 56, "insecurely-long-" + STRONG]
)
async def test_real_secrets_that_start_like_a_placeholder_pass(tmp_path, monkeypatch, value):
    monkeypatch.setenv("JWT_SECRET", value)
    result = await run({"env": {"name": "JWT_SECRET", "min_length": 33}}, tmp_path)
    assert result.status is Status.PASS, result.summary


async def test_placeholder_check_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBUG", "0")
    result = await run({"env": {"name": "DEBUG", "reject_placeholders": False}}, tmp_path)
    assert result.status is Status.PASS


async def test_unset_variable_fails(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_THERE_AT_ALL", raising=False)
    result = await run({"env": {"name": "NOT_THERE_AT_ALL", "min_length": 8}}, tmp_path)
    assert result.status is Status.FAIL
    assert (
        result.summary == "NOT_THERE_AT_ALL is not set, expected a value of at least 8 characters"
    )


# No timeout case: the probe reads a mapping in memory and cannot block.


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"name": "JWT-SECRET"},
            'env.name must be a variable name such as JWT_SECRET (got "JWT-SECRET")',
        ),
        ({"name": "X", "min_length": 0}, "env.min_length must be at least 1 (got 0)"),
        (
            {"name": "X", "value": "y"},
            "env.value is not a known field (known: min_length, name, reject_placeholders)",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"env": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )
