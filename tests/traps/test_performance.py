"""Traps for the Performance items."""

from __future__ import annotations

from support.procs import ROOT

from probes.result import Status
from traps.shipped import coming, passes, run_shipped, sign

LOCUST = ROOT / "tests" / "fixtures" / "locust"  # CSVs from real Locust runs (make_fixtures.py)


async def test_p001_a_real_locust_run_passes(tree):
    good = tree("good", {"reports/load/peak_stats.csv": LOCUST / "healthy_stats.csv"})
    assert passes(await run_shipped("P-001", {"APP_REPO": str(good)}, good))


@coming("report: format: locust (failure ratio)")
async def test_p001_a_run_where_the_requests_failed_is_not_a_load_test(tree):
    bad = tree("bad", {"reports/load/peak_stats.csv": LOCUST / "failing_stats.csv"})
    assert not passes(await run_shipped("P-001", {"APP_REPO": str(bad)}, bad))


async def test_p004_a_fifth_of_requests_failing_fails_no_5xx_series_at_all_is_zero(
    tmp_path, scraping
):
    env = {"PROMETHEUS_URL": scraping.url}
    result = await run_shipped("P-004", {**env, "APP_JOB": "app-bad"}, tmp_path)
    assert not passes(result)
    # app-good has no status="5xx" series at all: an error rate of 0, not "no data".
    result = await run_shipped("P-004", {**env, "APP_JOB": "app-good"}, tmp_path)
    assert passes(result), result.summary


COMPOSE = """\
services:
  api:
    image: agente-api:1.4
    deploy:
      resources:
        limits: {{memory: 1g, cpus: "0.5"}}
  db:
    image: postgres:15
{db}
"""


async def test_p006_p007_a_limit_of_zero_is_no_limit(tree):
    bad = tree(
        "bad", {"docker-compose.prod.yml": COMPOSE.format(db="    mem_limit: 0\n    cpus: 0")}
    )
    good = tree(
        "good", {"docker-compose.prod.yml": COMPOSE.format(db='    mem_limit: 2g\n    cpus: "1.5"')}
    )
    for item in ("P-006", "P-007"):
        assert not passes(await run_shipped(item, {"APP_REPO": str(bad)}, bad)), item
        assert passes(await run_shipped(item, {"APP_REPO": str(good)}, good)), item


async def test_p006_the_compose_file_is_a_variable(tree):
    repo = tree("repo", {"compose.yml": COMPOSE.format(db="    mem_limit: 2g\n    cpus: 1")})
    env = {"APP_REPO": str(repo), "COMPOSE_FILE_PATH": "compose.yml"}
    assert passes(await run_shipped("P-006", env, repo))


async def test_p008_a_role_that_cannot_see_other_sessions_cannot_pass(tmp_path, database):
    role = f"ro_{database.name}"
    database.execute(f"CREATE ROLE {role} LOGIN")
    try:
        result = await run_shipped("P-008", {"DATABASE_URL": database.dsn(role)}, tmp_path)
        assert not passes(result)
    finally:
        database.cluster.psql(f"DROP ROLE IF EXISTS {role}")


async def test_p008_a_pool_near_the_client_slots_fails_the_exporter_does_not_count(
    tmp_path, database
):
    env = {"DATABASE_URL": database.dsn()}
    result = await run_shipped("P-008", env, tmp_path)
    assert passes(result), result.summary
    # max_connections 20 - 3 reserved = 17 client slots; 14 held by the application is 0.82.
    held = [database.connect(application_name="agente-api") for _ in range(14)]
    try:
        result = await run_shipped("P-008", env, tmp_path)
        assert not passes(result)
    finally:
        for conn in held:
            conn.close()


async def test_p009_p012_redis_near_maxclients_or_mostly_missing_fails(tmp_path, scraping):
    for item in ("P-009", "P-012"):
        env = {"PROMETHEUS_URL": scraping.url}
        result = await run_shipped(item, {**env, "REDIS_JOB": "redis-bad"}, tmp_path)
        assert not passes(result), item
        result = await run_shipped(item, {**env, "REDIS_JOB": "redis-good"}, tmp_path)
        assert passes(result), result.summary


async def test_p010_two_targets_with_traffic_on_one_is_not_scaled_out(tmp_path, scraping):
    env = {"PROMETHEUS_URL": scraping.url}
    result = await run_shipped("P-010", {**env, "APP_JOB": "app-one-serving"}, tmp_path)
    assert not passes(result)
    result = await run_shipped("P-010", {**env, "APP_JOB": "app-good"}, tmp_path)
    assert passes(result), result.summary


async def test_p013_a_baseline_of_tbd_is_not_documented(tree):
    bad = tree("bad", {"docs/performance-baselines.md": "| Endpoint | P95 |\n| /book | TBD |\n"})
    good = tree(
        "good",
        {
            "docs/performance-baselines.md": "| Endpoint | P50 | P95 | P99 |\n"
            "| --- | --- | --- | --- |\n"
            "| /book | 120 ms | 480 ms | 900 ms |\n"
        },
    )
    assert not passes(await run_shipped("P-013", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("P-013", {"APP_REPO": str(good)}, good))


async def test_p014_ninety_nine_point_ninety_five_is_not_the_target(tree):
    bad = tree("bad", {"docs/sla.md": "# SLA\n\nAvailability target: 99.95%\n"})
    good = tree("good", {"docs/sla.md": "# SLA\n\n| Uptime | 99.9% |\n"})
    assert not passes(await run_shipped("P-014", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("P-014", {"APP_REPO": str(good)}, good))


async def test_p015_no_loaded_latency_rule_is_no_alert(tmp_path, scraping, bad_rules):
    assert not passes(await run_shipped("P-015", {"PROMETHEUS_URL": bad_rules.url}, tmp_path))
    assert passes(await run_shipped("P-015", {"PROMETHEUS_URL": scraping.url}, tmp_path))


async def test_p011_a_warm_cache_on_a_small_database_is_no_capacity_evidence(tmp_path, database):
    # The old probe: a buffer cache hit ratio >= 0.99, which any small database reaches.
    # P-011 is a person's reading of a database load test now: unsigned it waits, PENDING.
    result = await run_shipped("P-011", {"DATABASE_URL": database.dsn()}, tmp_path)
    assert result.status is Status.PENDING
    sign(tmp_path, "P-011")
    assert passes(await run_shipped("P-011", {}, tmp_path))
