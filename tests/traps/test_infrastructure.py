"""Traps for the Infrastructure Readiness items."""

from __future__ import annotations

from test_probe_dns import responder  # the loopback DNS responder (never the system resolver)

from exporter.config import parse
from traps.conftest import age
from traps.shipped import coming, passes, run_shipped, shipped_item


async def test_i001_fewer_servers_than_expected_fails(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url, "NODE_JOB": "node-good"}
    assert not passes(await run_shipped("I-001", {**env, "MIN_SERVERS": "2"}, tmp_path))
    assert passes(await run_shipped("I-001", env, tmp_path))


async def test_i002_a_node_out_of_memory_fails_another_jobs_node_does_not(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    result = await run_shipped("I-002", {**env, "NODE_JOB": "node-bad"}, tmp_path)
    assert not passes(result) and 'job="node-bad"} 0.95, expected < 0.8' in result.summary
    # node-bad's memory (same Prometheus, another job) is not node-good's. (node-good's CPU
    # reads busy here: this Prometheus holds seconds of a 15-minute window. A whole PASS needs
    # backfilled data, with the coming window coverage.)
    result = await run_shipped("I-002", {**env, "NODE_JOB": "node-good"}, tmp_path)
    memory = result.evidence["probes"][1]
    assert memory["status"] == "pass", memory["summary"]


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


async def test_i008_a_filesystem_running_out_within_the_horizon_fails(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    # 40 GB available, losing 100 MB a second: empty long before 90 days.
    assert not passes(await run_shipped("I-008", {**env, "NODE_JOB": "node-shrinking"}, tmp_path))
    # 40 % free and flat: fine here (I-003 judges the 50 %)
    assert passes(await run_shipped("I-008", {**env, "NODE_JOB": "node-good"}, tmp_path))


DUMP = b"\x1f\x8b" + b"\x00" * 4096


async def test_i009_a_dump_older_than_a_day_fails(tree):
    bad = tree("bad", {"db.sql.gz": DUMP})
    age(bad / "db.sql.gz", 30 / 24)
    good = tree("good", {"db.sql.gz": DUMP, "backup.log": "ok\n"})
    assert not passes(await run_shipped("I-009", {"BACKUP_DIR": str(bad)}, bad))
    assert passes(await run_shipped("I-009", {"BACKUP_DIR": str(good)}, good))


@coming("file: glob rules (judge the newest match)")
async def test_i009_an_old_failed_dump_beside_a_good_one_is_fine(tree):
    good = tree("good", {"db-2026-11-30.sql.gz": DUMP, "db-2026-03-02.sql.gz": b"\x1f\x8b"})
    age(good / "db-2026-03-02.sql.gz", 270)
    assert passes(await run_shipped("I-009", {"BACKUP_DIR": str(good)}, good))


async def test_i011_i012_redis_near_maxmemory_or_failing_aof_fails(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    for item in ("I-011", "I-012"):
        result = await run_shipped(item, {**env, "REDIS_JOB": "redis-bad"}, tmp_path)
        assert not passes(result), item
        # redis-good has not saved for three days, with nothing changed since: fine
        result = await run_shipped(item, {**env, "REDIS_JOB": "redis-good"}, tmp_path)
        assert passes(result), result.summary
