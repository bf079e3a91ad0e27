"""Traps for the Operational Readiness items."""

from __future__ import annotations

from probes.result import Status
from traps.apis import Reply, github_runs, serve
from traps.artifacts import pytest_junit
from traps.conftest import age
from traps.shipped import passes, run_shipped, sign
from traps.stacks import prometheus_for, query, wait_until

STEPS = "# Deployment runbook\n\n" + "".join(
    f"{i}. Step {i}: run `make deploy-{i}` and check the dashboard for errors.\n" * 4
    for i in range(1, 9)
)


async def test_o003_a_failing_rollback_test_is_not_safe_even_when_signed(tree, reports):
    path = "reports/migrations-rollback-junit.xml"
    bad = tree("bad", {path: reports.junit_failed})
    good = tree("good", {path: reports.junit_passed})
    for repo in (bad, good):
        sign(repo, "O-003")
    assert not passes(await run_shipped("O-003", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("O-003", {"APP_REPO": str(good)}, good))


async def test_o003_green_rollback_tests_without_a_signed_backup_step_are_half(tree, reports):
    repo = tree("repo", {"reports/migrations-rollback-junit.xml": reports.junit_passed})
    result = await run_shipped("O-003", {"APP_REPO": str(repo)}, repo)
    assert not passes(result) and "not attested yet" in result.summary


ROLLBACK_WITH_SKIPS = """\
import pytest

def test_upgrade_then_downgrade_the_newest_revision(): assert True

@pytest.mark.skip(reason="data migration: no fixture rows")
@pytest.mark.parametrize("revision", ["0007_split_guest_name", "0008_backfill_rates"])
def test_downgrade(revision): assert False
"""


async def test_o003_a_rollback_report_with_skipped_migrations_is_not_safe(tree):
    # Signed, nothing failed, one rollback ran: the two skipped ones were never rolled back.
    report = pytest_junit(tree("run", {}) / "rollback", ROLLBACK_WITH_SKIPS)
    bad = tree("bad", {"reports/migrations-rollback-junit.xml": report.read_text()})
    sign(bad, "O-003")
    result = await run_shipped("O-003", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "1 executed, 2 skipped" in result.summary


GITHUB = {"GITHUB_REPOSITORY": "hotel/agente", "GITHUB_TOKEN": "ghp_" + "r" * 36}


async def test_o004_a_red_or_missing_run_is_not_a_passing_pipeline(tmp_path):
    route = "GET /repos/hotel/agente/actions/workflows/ci.yml/runs"
    for conclusion in ("failure", None):
        async with serve({route: github_runs(conclusion)}) as base:
            env = {**GITHUB, "GITHUB_API_URL": base}
            assert not passes(await run_shipped("O-004", env, tmp_path)), conclusion
    async with serve({route: github_runs("success")}) as base:
        result = await run_shipped("O-004", {**GITHUB, "GITHUB_API_URL": base}, tmp_path)
        assert passes(result), result.summary


async def test_o005_bullets_and_command_blocks_are_steps_too(tree):
    # full-stack-fastapi-template's deployment.md: bulleted preparation, commands in blocks
    text = "# Deployment\n\n## Preparation\n\n" + "* Have a remote server ready.\n" * 20
    text += "\n```bash\ndocker compose -f compose.yml up -d\n```\n" * 10
    good = tree("good", {"docs/deployment-runbook.md": text})
    assert passes(await run_shipped("O-005", {"APP_REPO": str(good)}, good))


async def test_o005_a_todo_stub_is_not_a_runbook(tree):
    bad = tree("bad", {"docs/deployment-runbook.md": "# Deployment\n\nTODO\n"})
    good = tree("good", {"deployment.md": STEPS})  # at the monorepo's root
    (good / "backend").mkdir()
    assert not passes(await run_shipped("O-005", {"APP_REPO": str(bad)}, bad))
    env = {"APP_REPO": str(good / "backend"), "DEPLOY_RUNBOOK_PATH": "../deployment.md"}
    assert passes(await run_shipped("O-005", env, good))


async def test_o006_the_exporters_own_ten_rules_are_not_the_applications(
    tmp_path, scraping, bad_rules
):
    result = await run_shipped("O-006", {"PROMETHEUS_URL": bad_rules.url}, tmp_path)
    assert not passes(result)
    assert passes(await run_shipped("O-006", {"PROMETHEUS_URL": scraping.url}, tmp_path))


def pagerduty(users: int, oncall: int) -> dict[str, Reply]:
    people = [{"id": f"U{i}", "summary": f"Person {i}"} for i in range(users)]
    return {
        "GET /oncalls": Reply(body={"oncalls": [{"user": p} for p in people[:oncall]]}),
        "GET /schedules/{id}": Reply(body={"schedule": {"id": "PSCHED1", "users": people}}),
    }


PAGERDUTY = {"PAGERDUTY_TOKEN": "u+" + "p" * 18, "PAGERDUTY_SCHEDULE_ID": "PSCHED1"}


async def test_o007_and_t003_a_one_person_schedule_is_not_a_rotation(tmp_path):
    for item in ("O-007", "T-003"):
        async with serve(pagerduty(users=1, oncall=1)) as base:
            result = await run_shipped(item, {**PAGERDUTY, "PAGERDUTY_API_URL": base}, tmp_path)
            assert not passes(result), item
            assert PAGERDUTY["PAGERDUTY_TOKEN"] not in repr(result)
        async with serve(pagerduty(users=4, oncall=1)) as base:
            result = await run_shipped(item, {**PAGERDUTY, "PAGERDUTY_API_URL": base}, tmp_path)
            assert passes(result), result.summary


def runbook(n: int) -> str:
    return f"# Runbook {n}\n\n" + "".join(
        f"{i}. Check step {i} of scenario {n}.\n" for i in range(30)
    )


async def test_o008_nine_runbooks_and_a_readme_are_not_ten(tree):
    files = {f"docs/runbooks/scenario-{i}.md": runbook(i) for i in range(9)}
    bad = tree("bad", {**files, "docs/runbooks/README.md": "# Runbooks\n\nOne per scenario.\n"})
    assert not passes(await run_shipped("O-008", {"APP_REPO": str(bad)}, bad))


async def test_o008_ten_runbooks_pass(tree):
    good = tree("good", {f"docs/runbooks/scenario-{i}.md": runbook(i) for i in range(10)})
    assert passes(await run_shipped("O-008", {"APP_REPO": str(good)}, good))


async def test_o009_escalation_mentioned_in_passing_is_not_a_procedure(tree):
    bad = tree("bad", {"docs/ON-CALL-GUIDE.md": "# On call\n\nWe escalate when needed.\n"})
    good = tree(
        "good",
        {
            "docs/ON-CALL-GUIDE.md": "# On call\n\n## Escalation\n\n"
            "1. Level 1: on-call engineer (15 min)\n2. Level 2: team lead (30 min)\n"
        },
    )
    assert not passes(await run_shipped("O-009", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("O-009", {"APP_REPO": str(good)}, good))


async def test_o010_an_empty_template_is_not_a_process(tree):
    bad = tree("bad", {"docs/templates/post-mortem.md": ""})
    good = tree(
        "good",
        {
            "docs/templates/post-mortem.md": "# Post-mortem\n\n## Timeline\n\n"
            "## Root cause\n\n## Action items\n"
        },
    )
    assert not passes(await run_shipped("O-010", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("O-010", {"APP_REPO": str(good)}, good))


async def test_o010_setext_headings_are_headings(tree):
    good = tree(
        "good",
        {
            "docs/templates/post-mortem.md": "Post-mortem\n===========\n\n"
            "Timeline\n--------\n\nRoot cause\n"
            "----------\n\nAction items\n------------\n"
        },
    )
    assert passes(await run_shipped("O-010", {"APP_REPO": str(good)}, good))


async def test_o011_a_truncated_newest_dump_fails_a_log_beside_good_dumps_does_not(tree, dumps):
    bad = tree("bad", {"db-2026-11-30.sql.gz": b"\x1f\x8b" + b"\x00" * 510})
    good = tree(
        "good",
        {
            **{f"db-2026-11-{d}.sql.gz": dumps.whole for d in range(24, 31)},
            "backup.log": "2026-11-30 03:00 dump ok\n",
        },
    )
    assert not passes(await run_shipped("O-011", {"BACKUP_DIR": str(bad)}, bad))
    for day in range(24, 30):
        age(good / f"db-2026-11-{day}.sql.gz", 30 - day)
    result = await run_shipped("O-011", {"BACKUP_DIR": str(good)}, good)
    assert passes(result), result.summary


async def test_o011_a_newest_dump_cut_at_4_kib_fails_beside_six_good_ones(tree, dumps):
    """Bigger than min_size, fresh, and a dump a day: only reading it to its end shows the
    newest (the one a restore would use) is cut short; so is one whose pg_dump was killed."""
    for name, newest in (("cut", dumps.cut), ("text_cut", dumps.text_cut)):
        bad = tree(
            name,
            {
                **{f"db-2026-11-{d}.sql.gz": dumps.whole for d in range(24, 30)},
                "db-2026-11-30.sql.gz": newest,
            },
        )
        for day in range(24, 30):
            age(bad / f"db-2026-11-{day}.sql.gz", 30 - day)
        result = await run_shipped("O-011", {"BACKUP_DIR": str(bad)}, bad)
        assert result.status is Status.FAIL, result.summary
        assert "db-2026-11-30.sql.gz" in result.summary and "truncated" in result.summary


async def test_o011_a_fresh_dump_after_days_without_one_is_not_daily(tree, dumps):
    # Fine today, but only 3 dumps in the last 8 days: the job does not run daily.
    gaps = tree("gaps", {f"db-2026-11-{d}.sql.gz": dumps.whole for d in range(20, 31)})
    for day in range(20, 31):
        age(gaps / f"db-2026-11-{day}.sql.gz", 30 - day if day >= 28 else 30 - day + 10)
    result = await run_shipped("O-011", {"BACKUP_DIR": str(gaps)}, gaps)
    assert not passes(result) and "matches changed on 3 days within 8d" in result.summary


async def test_o011_seven_dumps_made_in_one_hour_are_one_day_not_a_week(tree, dumps):
    # The trial's stack: a dump job run by hand a few times. Seven fresh, complete dumps
    # minutes apart passed "7 within 8 days" as a week of daily backups.
    burst = tree("burst", {f"db-{n}.sql.gz": dumps.whole for n in range(7)})
    for n in range(7):
        age(burst / f"db-{n}.sql.gz", n * 0.005)  # 7 minutes apart
    result = await run_shipped("O-011", {"BACKUP_DIR": str(burst)}, burst)
    assert not passes(result) and "(7 of 7 matches)" in result.summary, result.summary


async def test_o015_healthy_alertmanager_with_failing_receivers_is_not_operational(
    tmp_path, deliveries
):
    live, _, dead = deliveries
    env = {"PROMETHEUS_URL": dead.prometheus, "ALERTMANAGER_URL": dead.alertmanager}
    result = await run_shipped("O-015", env, tmp_path)
    assert not passes(result) and "notifications failed" in result.summary
    env = {"PROMETHEUS_URL": live.prometheus, "ALERTMANAGER_URL": live.alertmanager}
    result = await run_shipped("O-015", env, tmp_path)
    assert passes(result), result.summary


async def test_o015_a_prometheus_that_sends_no_alerts_is_not_operational(tmp_path, deliveries):
    live, _, _ = deliveries
    # Scrapes the live Alertmanager (its counters look fine), but has no alerting section.
    proc, prom = prometheus_for(tmp_path / "prom", live.alertmanager, alerting=False)
    try:
        wait_until(
            lambda: bool(query(prom, "alertmanager_notification_requests_total")),
            "Alertmanager scraped",
        )
        env = {"PROMETHEUS_URL": prom, "ALERTMANAGER_URL": live.alertmanager}
        result = await run_shipped("O-015", env, tmp_path)
        assert not passes(result)
        assert "Prometheus has 0 active Alertmanagers" in result.summary
    finally:
        proc.stop()


async def test_o016_a_fresh_grafana_has_no_dashboards(tmp_path):
    env = {"GRAFANA_TOKEN": "glsa_" + "t" * 32}
    for count, should_pass in ((1, False), (6, True)):
        found = [{"uid": f"d{i}", "type": "dash-db"} for i in range(count)]
        async with serve({"GET /api/search": Reply(body=found)}) as base:
            result = await run_shipped("O-016", {**env, "GRAFANA_URL": base}, tmp_path)
            assert passes(result) is should_pass, result.summary


async def test_o017_a_ready_loki_without_the_applications_lines_is_not_aggregating(tmp_path):
    seen = {}

    def loki(result: list) -> dict:
        async def handler(request):
            seen["query"] = request.query.get("query")
            from aiohttp import web

            return web.json_response(
                {"status": "success", "data": {"resultType": "vector", "result": result}}
            )

        return {"GET /ready": Reply(body="ready"), "GET /loki/api/v1/query": handler}

    async with serve(loki([])) as base:
        assert not passes(await run_shipped("O-017", {"LOKI_URL": base}, tmp_path))
    assert seen["query"] == 'sum(count_over_time({job="agente-api"}[15m]))'
    async with serve(loki([{"metric": {}, "value": [0, "3000"]}])) as base:
        assert passes(await run_shipped("O-017", {"LOKI_URL": base}, tmp_path))


async def test_o018_a_redirect_to_the_homepage_is_not_a_status_page(tmp_path):
    home = {
        "GET /api/v2/components.json": Reply(status=301, headers={"Location": "/"}),
        "GET /": Reply(body="<html>Welcome to our hotel</html>"),
    }
    status = {
        "GET /api/v2/components.json": Reply(
            body={
                "components": [
                    {"name": "API", "status": "operational"},
                    {"name": "Booking", "status": "operational"},
                ]
            }
        )
    }
    async with serve(home) as base:
        assert not passes(await run_shipped("O-018", {"STATUS_PAGE_URL": base}, tmp_path))
    async with serve(status) as base:
        assert passes(await run_shipped("O-018", {"STATUS_PAGE_URL": base}, tmp_path))
