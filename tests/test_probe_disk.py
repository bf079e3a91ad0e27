"""Disk probe on the real filesystem under tmp_path, thresholds set around its real free ratio."""

from __future__ import annotations

import os

import pytest
from support.probing import config_error, run

from probes.result import Status


def free_ratio(path) -> float:
    st = os.statvfs(path)
    return st.f_bavail / st.f_blocks


async def test_enough_free_space_passes(tmp_path):
    result = await run({"disk": {"path": str(tmp_path), "min_free_ratio": 0}}, tmp_path)
    assert result.status is Status.PASS
    assert result.evidence["free_ratio"] == pytest.approx(free_ratio(tmp_path), abs=0.01)
    assert result.summary.startswith(f"{tmp_path}: ")
    assert result.summary.endswith(", at least 0%")


async def test_between_thresholds_is_partial(tmp_path):
    result = await run(
        {"disk": {"path": str(tmp_path), "min_free_ratio": 0, "warn_free_ratio": 1}}, tmp_path
    )
    assert result.status is Status.PARTIAL
    assert result.summary.endswith(", expected at least 100%")


async def test_too_little_free_space_fails(tmp_path):
    result = await run({"disk": {"path": str(tmp_path), "min_free_ratio": 1}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.endswith(", expected at least 100%")


async def test_missing_path_fails(tmp_path):
    result = await run({"disk": {"path": str(tmp_path / "gone")}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == f"{tmp_path / 'gone'} cannot be examined (No such file or directory)"


# Timeout: statvfs runs in a thread, so the engine's timeout applies; a hung network mount, the
# only way it blocks, cannot be made on loopback without root mounts.


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"path": "/", "min_free_ratio": 50},
            "disk.min_free_ratio must be a ratio between 0 and 1 (got 50)",
        ),
        (
            {"path": "/", "min_free_ratio": 0.5, "warn_free_ratio": 0.2},
            "disk.warn_free_ratio (0.2) must not be below min_free_ratio (0.5)",
        ),
        ({"min_free_ratio": 0.5}, "disk.path is required"),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"disk": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )
