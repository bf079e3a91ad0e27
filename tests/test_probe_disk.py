"""Disk probe on the real filesystem under tmp_path, thresholds set around its real free ratio,
and the arithmetic on statvfs figures of the trial's volume (ext4 with many reserved blocks)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from support.probing import config_error, run

from probes.disk import free_space
from probes.result import Status

GIB = 1024**3

BLOCK = 4096


def statvfs(size: float, used: float, available: float) -> os.statvfs_result:
    """A statvfs result for a filesystem of ``size`` GiB, ``used`` and ``available`` GiB; the
    rest is free but reserved for root."""
    blocks, used_blocks, avail = (round(g * GIB / BLOCK) for g in (size, used, available))
    free = blocks - used_blocks  # f_bfree: every free block, reserved ones included
    return os.statvfs_result((BLOCK, BLOCK, blocks, free, avail, 1000, 900, 900, 0, 255))


def test_reserved_blocks_are_not_used_space():
    # The trial's volume: df said 24 % used and 73.6 GiB available on a 252 GiB ext4 volume
    # whose reserved blocks (155 GiB) are neither used nor available to the database.
    space = free_space(statvfs(size=252.0, used=23.2, available=73.6))
    assert space.available / GIB == pytest.approx(73.6, abs=0.01)
    assert space.usable / GIB == pytest.approx(23.2 + 73.6, abs=0.01)  # used + available
    assert space.reserved / GIB == pytest.approx(252.0 - 23.2 - 73.6, abs=0.01)
    # 73.6 / 96.8: df's Use% 24 % is 76 % free; f_bavail / f_blocks read it as 29 %.
    assert space.ratio == pytest.approx(0.7603, abs=0.0001)
    assert space.available / space.size == pytest.approx(0.29, abs=0.01)


def test_without_reserved_blocks_free_is_available_over_size():
    space = free_space(statvfs(size=100.0, used=60.0, available=40.0))
    assert space.reserved == 0 and space.ratio == pytest.approx(0.4)


def df_free_percent(path) -> int:
    """100 less df's Use% for ``path``: what a person running df reads as free."""
    out = subprocess.run(
        ["df", "--output=pcent", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return 100 - int(out.splitlines()[-1].strip().rstrip("%"))


@pytest.mark.skipif(shutil.which("df") is None, reason="df (coreutils) is not installed")
async def test_the_ratio_is_what_df_shows_on_the_real_filesystem(tmp_path):
    result = await run({"disk": {"path": str(tmp_path), "min_free_ratio": 0}}, tmp_path)
    shown = int(result.summary.split(": ", 1)[1].split("%", 1)[0])
    # Other programs write to this filesystem between the two looks: a point either way.
    assert abs(shown - df_free_percent(tmp_path)) <= 1, result.summary
    st = os.statvfs(tmp_path)
    used = st.f_blocks - st.f_bfree
    assert result.evidence["free_ratio"] == pytest.approx(
        st.f_bavail / (used + st.f_bavail), abs=0.01
    )


async def test_enough_free_space_passes(tmp_path):
    result = await run({"disk": {"path": str(tmp_path), "min_free_ratio": 0}}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary.startswith(f"{tmp_path}: ")
    assert " free as df counts it (" in result.summary
    assert re.search(r" [\d.]+ [KMGTP]?i?B available to unprivileged writers", result.summary)
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
