"""Traps for the Infrastructure Readiness items."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import Cluster, start_cluster
from support.procs import wait_until
from test_probe_dns import responder  # the loopback DNS responder (never the system resolver)

from exporter.config import parse
from probes.result import Status
from traps.conftest import age
from traps.databases import receiving_wal, replicated, replication_states
from traps.shipped import passes, run_shipped, shipped_item


async def test_i001_fewer_servers_than_expected_fails(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url, "NODE_JOB": "node-good"}
    assert not passes(await run_shipped("I-001", {**env, "MIN_SERVERS": "2"}, tmp_path))
    assert passes(await run_shipped("I-001", env, tmp_path))


async def test_i002_a_node_busy_every_afternoon_fails_a_quiet_hour_does_not_hide_it(
    tmp_path, history
):
    env = {"PROMETHEUS_URL": history.url}
    # 10 % busy now, 92 % from 14:00 to 16:00 every day: the last 15 minutes would pass
    result = await run_shipped("I-002", {**env, "NODE_JOB": "node-afternoons"}, tmp_path)
    assert result.status is Status.PARTIAL, result.summary  # CPU fails, memory passes
    assert re.search(r'CPU busy p99 92% \(instance="[^"]+"\), expected < 80%', result.summary)
    # a week of headroom; other jobs' nodes in the same Prometheus do not count
    result = await run_shipped("I-002", {**env, "NODE_JOB": "node-week"}, tmp_path)
    assert passes(result), result.summary
    # two days of data are not a week: cannot judge, never a PASS
    result = await run_shipped("I-002", {**env, "NODE_JOB": "node-two-days"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True), result.summary
    assert result.summary.count("cannot judge: data covers only") == 2


async def test_i002_a_node_out_of_memory_fails(tmp_path, scraping):
    # seconds of data in the scraping Prometheus: cannot judge, and never a PASS
    env = {"PROMETHEUS_URL": scraping.url, "NODE_JOB": "node-bad"}
    assert not passes(await run_shipped("I-002", env, tmp_path))


async def test_i005_a_record_pointing_at_the_old_server_fails(tmp_path):
    async with responder() as server:
        env = {"APP_DOMAIN": "app.test", "DNS_RESOLVER": server}
        result = await run_shipped("I-005", {**env, "PUBLIC_HOST": "198.51.100.7"}, tmp_path)
        assert not passes(result)
        result = await run_shipped("I-005", {**env, "PUBLIC_HOST": "127.0.0.10"}, tmp_path)
        assert passes(result), result.summary


def test_i005_waits_for_a_resolver_rather_than_ask_one_nobody_chose(tmp_path):
    doc = {"categories": [{"id": "i", "title": "I", "items": [shipped_item("I-005")]}]}
    env = {"APP_DOMAIN": "app.example.com", "PUBLIC_HOST": "203.0.113.10"}
    (item,) = parse(doc, tmp_path / "config.yaml", env).items
    assert item.missing == ("DNS_RESOLVER",)


async def test_i006_one_healthy_backend_is_not_a_load_balancer(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    for job, should_pass in (("lb-bad", False), ("lb-good", True)):
        query = f'sum(haproxy_backend_active_servers{{job="{job}"}})'
        result = await run_shipped("I-006", {**env, "LB_BACKENDS_UP_QUERY": query}, tmp_path)
        assert passes(result) is should_pass, result.summary


async def test_i008_a_filesystem_running_out_within_the_horizon_fails(tmp_path, history):
    env = {"PROMETHEUS_URL": history.url}
    # 60 GB available, losing 1 GB a day for a week: empty long before 90 days
    result = await run_shipped("I-008", {**env, "NODE_JOB": "node-filling"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False), result.summary
    assert re.fullmatch(
        r"free space predicted -2\d\.\d GiB \(instance=\S+, "
        r'mountpoint="/var/lib/postgresql"\), expected > 0 B',
        result.summary,
    ), result.summary
    # 40 GB free and flat for a week: fine here (I-003 judges the 50 %)
    assert passes(await run_shipped("I-008", {**env, "NODE_JOB": "node-week"}, tmp_path))
    # a fit over two days is no week's trend
    result = await run_shipped("I-008", {**env, "NODE_JOB": "node-two-days"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True), result.summary
    # a mountpoint that is not there says so: no data, not a verdict about the disk
    result = await run_shipped(
        "I-008", {**env, "NODE_JOB": "node-week", "PG_DATA_MOUNT": "/srv/pg"}, tmp_path
    )
    assert result.summary.startswith(f"no data from {history.url} for "), result.summary


async def test_i008_minutes_of_data_are_no_trend(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    assert not passes(await run_shipped("I-008", {**env, "NODE_JOB": "node-shrinking"}, tmp_path))
    result = await run_shipped("I-008", {**env, "NODE_JOB": "node-good"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True), result.summary


async def test_i009_a_dump_older_than_a_day_fails(tree, dumps):
    bad = tree("bad", {"db.sql.gz": dumps.whole})
    age(bad / "db.sql.gz", 30 / 24)
    good = tree("good", {"db.sql.gz": dumps.whole, "backup.log": "ok\n"})
    assert not passes(await run_shipped("I-009", {"BACKUP_DIR": str(bad)}, bad))
    assert passes(await run_shipped("I-009", {"BACKUP_DIR": str(good)}, good))


async def test_i009_an_old_failed_dump_beside_a_good_one_is_fine(tree, dumps):
    good = tree("good", {"db-2026-11-30.sql.gz": dumps.whole, "db-2026-03-02.sql.gz": b"\x1f\x8b"})
    age(good / "db-2026-03-02.sql.gz", 270)
    assert passes(await run_shipped("I-009", {"BACKUP_DIR": str(good)}, good))


async def test_i009_a_dump_cut_short_is_no_backup(tree, dumps):
    """A real pg_dump's gzip cut at 4 KiB (bigger than min_size), and one whose pg_dump was
    killed half-way while gzip closed its stream: fresh, big enough, and neither restores."""
    for name, dump in (("cut", dumps.cut), ("text_cut", dumps.text_cut)):
        bad = tree(name, {"db.sql.gz": dump})
        result = await run_shipped("I-009", {"BACKUP_DIR": str(bad)}, bad)
        assert result.status is Status.FAIL and "truncated" in result.summary, result.summary
    good = tree("good", {"db.sql.gz": dumps.whole})
    assert passes(await run_shipped("I-009", {"BACKUP_DIR": str(good)}, good))


async def test_i011_a_peak_four_days_ago_or_no_maxmemory_fails(tmp_path, history):
    env = {"PROMETHEUS_URL": history.url}
    # 50 % now, 88 % for an hour four days ago: the value now would pass
    result = await run_shipped("I-011", {**env, "REDIS_JOB": "redis-peaks"}, tmp_path)
    assert result.status is Status.PARTIAL, result.summary  # maxmemory set, peak too high
    assert re.search(r'peak memory 88% \(instance="[^"]+"\), expected < 80%', result.summary)
    # maxmemory 0: no limit at all, said in words (the ratio is left without a series)
    result = await run_shipped("I-011", {**env, "REDIS_JOB": "redis-no-maxmemory"}, tmp_path)
    assert result.status is Status.FAIL, result.summary
    assert re.search(r'maxmemory 0 B \(instance="[^"]+"\), expected > 0 B', result.summary)
    # two days of data are not a week's peak
    result = await run_shipped("I-011", {**env, "REDIS_JOB": "redis-two-days"}, tmp_path)
    assert not passes(result) and "cannot judge: data covers only" in result.summary
    result = await run_shipped("I-011", {**env, "REDIS_JOB": "redis-week"}, tmp_path)
    assert passes(result), result.summary


async def test_i012_failing_aof_fails(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    result = await run_shipped("I-012", {**env, "REDIS_JOB": "redis-bad"}, tmp_path)
    assert not passes(result)
    # redis-good has not saved for three days, with nothing changed since: fine
    result = await run_shipped("I-012", {**env, "REDIS_JOB": "redis-good"}, tmp_path)
    assert passes(result), result.summary


@pytest.fixture(scope="module")
def primary() -> Iterator[Cluster]:
    """A PostgreSQL primary of I-010's own: its standbys and WAL stream stay out of the others'."""
    workdir = Path(tempfile.mkdtemp(prefix="readiness-traps-primary-"))
    try:
        cluster = start_cluster(workdir)
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def replay_gap(primary: Cluster) -> list[str]:
    """Each walsender's bytes not yet replayed (empty for pg_receivewal, which replays nothing)."""
    return primary.psql(
        "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text, '') "
        "FROM pg_stat_replication"
    ).splitlines()


async def test_i010_no_standby_or_only_pg_receivewal_is_no_replication(tmp_path, primary):
    env = {"DATABASE_URL": primary.dsn}
    result = await run_shipped("I-010", env, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False), result.summary
    # pg_receivewal streams WAL (state streaming, a row in pg_stat_replication) and replays none
    with receiving_wal(primary):
        wait_until(
            lambda: "pg_receivewal:streaming" in replication_states(primary), 30, "pg_receivewal"
        )
        result = await run_shipped("I-010", env, tmp_path)
    assert not passes(result), result.summary
    assert result.summary == (
        "standbys streaming and replaying within 16777216 bytes and 1 minute: 0, expected >= 1"
    )


async def test_i010_a_standby_that_stopped_replaying_is_not_replication(tmp_path, primary):
    env = {"DATABASE_URL": primary.dsn}
    with replicated(primary) as standby:
        wait_until(lambda: replay_gap(primary) == ["0"], 60, "the standby streaming, caught up")
        result = await run_shipped("I-010", env, tmp_path)
        assert passes(result), result.summary
        # Replay paused (or stuck on a conflict) while the primary writes ~30 MB of WAL: the row
        # still says streaming, and replay_lag keeps its last, small value.
        standby.psql("SELECT pg_wal_replay_pause()")
        primary.psql("CREATE TABLE filler AS SELECT g FROM generate_series(1, 500000) g")
        wait_until(
            lambda: int(replay_gap(primary)[0]) > 16 * 2**20, 60, "WAL the standby has not replayed"
        )
        assert replication_states(primary) == ["walreceiver:streaming"]
        assert (
            primary.psql("SELECT replay_lag < interval '1 minute' FROM pg_stat_replication") == "t"
        )
        result = await run_shipped("I-010", env, tmp_path)
        assert not passes(result), result.summary
        standby.psql("SELECT pg_wal_replay_resume()")
        wait_until(lambda: replay_gap(primary) == ["0"], 60, "the standby caught up")
        assert passes(await run_shipped("I-010", env, tmp_path))
    primary.psql("DROP TABLE filler")


@contextlib.contextmanager
def ext4_volume(root: Path, reserved_percent: int) -> Iterator[Path]:
    """A real 64 MiB ext4 filesystem (mkfs.ext4 -m ``reserved_percent``) loop-mounted under
    ``root``; skips where this process may not mount (not root, no loop devices)."""
    image, mountpoint = root / "volume.img", root / "mnt"
    mountpoint.mkdir()
    with image.open("wb") as f:
        f.truncate(64 * 2**20)
    if shutil.which("mkfs.ext4") is None or os.geteuid() != 0:
        pytest.skip("needs mkfs.ext4 and root to loop-mount a real filesystem")
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-m", str(reserved_percent), str(image)], check=True, timeout=60
    )
    mounted = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mountpoint)], capture_output=True, timeout=60
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot loop-mount here: {mounted.stderr.decode().strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True, timeout=60)


def fill(path: Path, mib: int) -> None:
    with path.open("wb") as f:
        f.write(os.urandom(mib * 2**20))
        f.flush()
        os.fsync(f.fileno())


def test_i003_free_blocks_reserved_for_root_are_not_free_space(tmp_path):
    """ext4 keeps blocks for root (5 % by default, 30 % here): 20 MiB written leaves most
    blocks free (f_bfree), but under half of the space the database's user can write."""
    with ext4_volume(tmp_path, reserved_percent=30) as volume:
        fill(volume / "base.dat", 20)
        st = os.statvfs(volume)
        assert st.f_bfree / st.f_blocks > 0.6  # "free" as blocks count it
        result = asyncio.run(run_shipped("I-003", {"DATA_PATH": str(volume)}, tmp_path))
        assert (result.status, result.error) == (Status.FAIL, False), result.summary
        assert re.fullmatch(
            rf"{volume}: 4\d% free as df counts it \(1\d\.\d MiB of 3\d\.\d MiB available to "
            r"unprivileged writers; 2\d\.\d MiB reserved for root left out\), "
            r"expected at least 50%",
            result.summary,
        ), result.summary
        (volume / "base.dat").unlink()
        fill(volume / "base.dat", 4)
        result = asyncio.run(run_shipped("I-003", {"DATA_PATH": str(volume)}, tmp_path))
        assert passes(result), result.summary
