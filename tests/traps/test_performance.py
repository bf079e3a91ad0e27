"""Traps for the Performance items."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

from support.procs import ROOT

from exporter.config import parse, read_yaml
from exporter.engine import Engine
from probes.result import Status
from traps.shipped import kinds, passes, run_shipped, sign
from traps.stacks import Prometheus, closed_url

LOCUST = ROOT / "tests" / "fixtures" / "locust"  # CSVs from real Locust runs (make_fixtures.py)


def locust_run(folder: Path, scenario: str, prefix: str, stretch: float = 1.0) -> Path:
    """A real Locust run's CSVs under ``folder/prefix``, its history moved to have ended a
    minute ago (and spread ``stretch`` times), as ``locust --csv prefix`` wrote them."""
    stats = folder / f"{prefix}_stats.csv"
    stats.parent.mkdir(parents=True, exist_ok=True)
    stats.write_bytes((LOCUST / f"{scenario}_stats.csv").read_bytes())
    lines = (LOCUST / f"{scenario}_stats_history.csv").read_text().splitlines(keepends=True)
    stamps = [int(line.split(",", 1)[0]) for line in lines[1:]]
    ended = time.time() - 60
    moved = [
        f"{math.floor(ended - (stamps[-1] - stamp) * stretch)}," + line.split(",", 1)[1]
        for line, stamp in zip(lines[1:], stamps, strict=True)
    ]
    (folder / f"{prefix}_stats_history.csv").write_text(lines[0] + "".join(moved))
    return folder


PEAK = {"LOAD_PEAK_RPS": "50"}  # the healthy run averaged 93 requests/s


async def test_p001_a_real_locust_run_passes(tree):
    good = locust_run(tree("good", {}), "healthy", "reports/load/peak")
    assert passes(await run_shipped("P-001", {"APP_REPO": str(good), **PEAK}, good))


async def test_p001_a_run_where_the_requests_failed_is_not_a_load_test(tree):
    bad = locust_run(tree("bad", {}), "failing", "reports/load/peak")
    result = await run_shipped("P-001", {"APP_REPO": str(bad), **PEAK}, bad)
    assert not passes(result) and "410 of 455 requests failed" in result.summary


async def test_p001_below_the_expected_peak_or_an_old_run_fails(tree):
    good = locust_run(tree("good", {}), "healthy", "reports/load/peak")
    result = await run_shipped("P-001", {"APP_REPO": str(good), "LOAD_PEAK_RPS": "200"}, good)
    assert not passes(result) and "expected >= 200" in result.summary
    # The run's own history says when it ran: 40 days ago, whatever the files' times say.
    history = good / "reports/load/peak_stats_history.csv"
    rows = history.read_text().splitlines(keepends=True)
    shifted = [f"{int(r.split(',', 1)[0]) - 40 * 86400}," + r.split(",", 1)[1] for r in rows[1:]]
    history.write_text(rows[0] + "".join(shifted))
    result = await run_shipped("P-001", {"APP_REPO": str(good), **PEAK}, good)
    assert not passes(result) and "by its history's last Timestamp" in result.summary


async def test_p001_the_run_is_named_by_its_variable(tree):
    repo = locust_run(tree("repo", {}), "healthy", "out/loadtest")
    env = {"APP_REPO": str(repo), "LOAD_RUN_PATH": "out/loadtest", **PEAK}
    assert passes(await run_shipped("P-001", env, repo))


async def test_p002_p003_fast_failures_are_no_latency_evidence(tree):
    # The failing run's p95 is 9 ms: 429s and 500s answered fast. Its percentiles are not
    # judged, and a run that mostly failed shows no latency under load.
    bad = locust_run(tree("bad", {}), "failing", "reports/load/peak")
    good = locust_run(tree("good", {}), "healthy", "reports/load/peak")
    for item, label in (("P-002", "p95"), ("P-003", "p99")):
        result = await run_shipped(item, {"APP_REPO": str(bad), **PEAK}, bad)
        assert not passes(result) and f"{label}, requests/s not judged" in result.summary, item
        assert passes(await run_shipped(item, {"APP_REPO": str(good), **PEAK}, good)), item


async def test_p004_a_run_with_failures_fails_no_failure_at_all_is_zero(tree):
    bad = locust_run(tree("bad", {}), "failing", "reports/load/peak")
    good = locust_run(tree("good", {}), "healthy", "reports/load/peak")
    result = await run_shipped("P-004", {"APP_REPO": str(bad), **PEAK}, bad)
    assert not passes(result) and "expected under 0.1 %" in result.summary
    # No failed request at all: a failure ratio of 0, fine in an unusual way.
    result = await run_shipped("P-004", {"APP_REPO": str(good), **PEAK}, good)
    assert passes(result), result.summary
    assert "shown by at least 1,000 requests" in result.summary


def light_run(folder: Path, prefix: str = "reports/load/peak") -> Path:
    """The healthy run as one user would have made it: its Aggregated row cut to 12 requests
    at 0.5 requests/s (none failed, the same fast percentiles), its history to the rows up to
    the 12th request, as the audit's "light" run."""
    locust_run(folder, "healthy", prefix)
    stats = folder / f"{prefix}_stats.csv"
    head, *rows = stats.read_text().splitlines(keepends=True)
    aggregated = next(r for r in rows if ",Aggregated," in r).split(",")
    aggregated[2], aggregated[9] = "12", "0.5"  # Request Count, Requests/s
    stats.write_text(head + ",".join(aggregated))
    history = folder / f"{prefix}_stats_history.csv"
    head, *rows = history.read_text().splitlines(keepends=True)
    total = head.split(",").index("Total Request Count")
    kept = [r for r in rows if int(r.split(",")[total]) <= 12]
    history.write_text(head + "".join(kept))
    return folder


async def test_p002_p003_p004_a_fast_one_user_run_is_not_under_load(tree):
    # Fast and without failures, but 12 requests at 0.5 requests/s: not the peak P-001 asks
    # for, and far too few to show an error rate under 0.1 %.
    light = light_run(tree("light", {}))
    good = locust_run(tree("good", {}), "healthy", "reports/load/peak")
    for item in ("P-002", "P-003", "P-004", "P-001"):
        result = await run_shipped(item, {"APP_REPO": str(light), **PEAK}, light)
        assert not passes(result), (item, result.summary)
        assert "0.5 requests/s, expected >= 50 requests/s" in result.summary, item
        assert passes(await run_shipped(item, {"APP_REPO": str(good), **PEAK}, good)), item
    result = await run_shipped("P-004", {"APP_REPO": str(light), **PEAK}, light)
    assert "12 requests are too few to show a failure ratio under 0.1 %" in result.summary


async def test_p002_p003_p004_pass_summaries_name_the_bounds(tree):
    good = locust_run(tree("good", {}), "healthy", "reports/load/peak")
    said = {"P-002": "p95 7 ms (< 1000 ms)", "P-003": "p99 9 ms (< 2000 ms)"}
    said["P-004"] = "0 % failed (under 0.1 %"
    for item, words in said.items():
        result = await run_shipped(item, {"APP_REPO": str(good), **PEAK}, good)
        assert words in result.summary and "(>= 50 requests/s)" in result.summary, item


def assert_minutes_since_a_restart(summary: str, past: int, history: Prometheus) -> None:
    """The minutes a "covers only" summary names: the job's backfilled past, plus however long
    the session's Prometheus has scraped it live (the fixture is shared, so that varies)."""
    covered = int(re.search(r"covers only (\d+)m of", summary)[1])
    live = (time.time() - history.began) / 60
    assert past <= covered <= round(past + live) + 1 < 60, (covered, past, live)


async def test_p005_eleven_seconds_of_load_is_not_a_sustained_hour(tree):
    short = locust_run(tree("short", {}), "healthy", "reports/load/soak")
    # The same run's rows spread over 73 minutes, as an hour-long run writes its history.
    soak = locust_run(tree("soak", {}), "healthy", "reports/load/soak", stretch=400)
    env = {"PROMETHEUS_URL": closed_url()}  # memory is the promql part's question
    result = await run_shipped("P-005", {"APP_REPO": str(short), **env}, short)
    assert not passes(result) and "ran 11s, expected >= 1h" in result.summary
    result = await run_shipped("P-005", {"APP_REPO": str(soak), **env}, soak)
    assert not passes(result)  # no Prometheus to show the memory
    assert result.summary.startswith("1 of 2 probes pass"), result.summary
    assert "expected >= 1h" not in result.summary


async def test_p005_eight_minutes_of_memory_since_a_restart_are_not_an_hour(tree, history):
    """The soak run lasted an hour; the memory part must see an hour too."""
    soak = locust_run(tree("soak", {}), "healthy", "reports/load/soak", stretch=400)
    env = {"APP_REPO": str(soak), "PROMETHEUS_URL": history.url}
    result = await run_shipped("P-005", {**env, "APP_JOB": "app-restarted"}, soak)
    # Never a PASS, nor half credit: the hour the memory part needs is not there to judge.
    assert result.status is Status.FAIL and result.error, result.summary
    assert re.search(
        r"cannot judge: data covers only \d+m of the 1h window \(.*\); now memory max/min 1 "
        r"\(.*\), expected < 1\.2",
        result.summary,
    ), result.summary
    assert_minutes_since_a_restart(result.summary, 8, history)
    result = await run_shipped("P-005", {**env, "APP_JOB": "app-leaking"}, soak)
    assert result.status is Status.PARTIAL, result.summary
    assert re.search(r"memory max/min 1\.2\d .*, expected < 1\.2", result.summary)
    result = await run_shipped("P-005", {**env, "APP_JOB": "app-soak"}, soak)
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
        assert result.error and result.summary.startswith("cannot judge: control failed")
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


async def test_p008_every_sql_item_at_once_on_a_role_allowed_two_connections(tmp_path, database):
    """`check` runs every item at once: each sql item opened its own connection, and on a role
    allowed five, half the runs FAILed items with "too many connections". The items share a
    pool of two per DSN now: every one is judged, none refused."""
    role = f"app_{database.name}"
    database.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 2", f"GRANT pg_monitor TO {role}")
    env = {"DATABASE_URL": database.dsn(role)}
    items = [
        item
        for category in read_yaml(ROOT / "config.yaml")["categories"]
        for item in category["items"]
        if "probe" in item and set(kinds(item["probe"])) == {"sql"}
    ]
    assert len(items) >= 8, [i["id"] for i in items]
    doc = {"categories": [{"id": "db", "title": "Database", "items": items}]}
    engine = Engine(parse(doc, tmp_path / "config.yaml", env))
    try:
        await engine.run_round()
    finally:
        await engine.resources.aclose()
        database.cluster.psql(f"DROP ROLE IF EXISTS {role}")
    results = {i: s.result for i, s in engine.states.items()}
    for item_id, result in results.items():
        assert result is not None and "too many connections" not in result.summary, item_id
        assert "connection slots" not in result.summary, (item_id, result.summary)
    assert passes(results["P-008"]), results["P-008"].summary


async def test_p009_a_peak_two_days_ago_fails_two_days_of_data_cannot_judge(tmp_path, history):
    env = {"PROMETHEUS_URL": history.url}
    # 240 clients now, 9000 for an hour two days ago: the value now would pass
    result = await run_shipped("P-009", {**env, "REDIS_JOB": "redis-peaks"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False)
    assert re.fullmatch(
        r'peak clients 90% \(instance="127\.0\.0\.1:\d+"\), expected < 80%', result.summary
    ), result.summary
    result = await run_shipped("P-009", {**env, "REDIS_JOB": "redis-two-days"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith("cannot judge: data covers only "), result.summary
    assert "of the 7d window" in result.summary
    result = await run_shipped("P-009", {**env, "REDIS_JOB": "redis-week"}, tmp_path)
    assert passes(result), result.summary


async def test_p012_ten_minutes_of_hits_are_not_an_hour(tmp_path, history):
    env = {"PROMETHEUS_URL": history.url}
    result = await run_shipped("P-012", {**env, "REDIS_JOB": "redis-restarted"}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert re.match(r"cannot judge: data covers only \d+m of the 1h window", result.summary)
    assert_minutes_since_a_restart(result.summary, 10, history)
    result = await run_shipped("P-012", {**env, "REDIS_JOB": "redis-misses"}, tmp_path)
    assert (result.status, result.summary) == (Status.FAIL, "hit rate 10%, expected > 70%")
    result = await run_shipped("P-012", {**env, "REDIS_JOB": "redis-week"}, tmp_path)
    assert (result.status, result.summary) == (Status.PASS, "hit rate 83%, expected > 70%")


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


async def test_p006_p007_a_zero_or_unresolved_deploy_limit_is_no_limit(tree):
    """The audit's compose file: `deploy.resources.limits: {memory: 0, cpus: 0}` on the database
    (YAML integers, which JMESPath holds true), and the other spellings of no limit."""
    for name, memory, cpus in [
        ("integers", "0", "0"),
        ("decimals", '"0.0"', "0.0"),
        ("units", "0m", '"0"'),
        ("empty", '""', '""'),
        ("unresolved", '"${DB_MEM_LIMIT}"', '"${DB_CPUS}"'),
    ]:
        db = f"    deploy:\n      resources:\n        limits: {{memory: {memory}, cpus: {cpus}}}"
        bad = tree(name, {"docker-compose.prod.yml": COMPOSE.format(db=db)})
        for item in ("P-006", "P-007"):
            result = await run_shipped(item, {"APP_REPO": str(bad)}, bad)
            assert not passes(result), (name, item, result.summary)
    db = '    deploy:\n      resources:\n        limits: {memory: 2g, cpus: "1.5"}'
    good = tree("good", {"docker-compose.prod.yml": COMPOSE.format(db=db)})
    for item in ("P-006", "P-007"):
        result = await run_shipped(item, {"APP_REPO": str(good)}, good)
        assert passes(result), (item, result.summary)
