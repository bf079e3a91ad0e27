"""Traps for the Disaster Recovery & Business Continuity items."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

from traps.shipped import passes, run_shipped

PLAN = (
    """\
# Disaster recovery plan

## Recovery procedure

1. Declare the incident and page the on-call lead.
2. Fail over the database to the replica in the second zone.
3. Point the API at the new primary and verify health checks.
4. Restore the newest dump if the replica is lost as well.

## RTO and RPO

| Tier | Service | RTO | RPO |
| --- | --- | --- | --- |
| Tier 1 | Booking API | RTO 1 h | RPO 15 min |
| Tier 2 | Reporting | RTO 8 h | RPO 24 h |

## Restore procedure

1. Fetch the newest dump from the off-site bucket.
2. Restore it into a fresh instance with pg_restore.
3. Run the smoke tests against it.

## Degraded mode

When the PMS is down, bookings are queued and confirmed later.
"""
    + "Contacts and escalation are in the on-call guide.\n" * 12
)


async def test_dr001_an_empty_plan_is_not_a_plan(tree):
    bad = tree("bad", {"docs/RTO-RPO.md": ""})
    good = tree("good", {"docs/RTO-RPO.md": PLAN})
    assert not passes(await run_shipped("DR-001", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-001", {"APP_REPO": str(good)}, good))


async def test_dr002_dr003_a_heading_with_tbd_is_not_a_target(tree):
    bad = tree("bad", {"docs/RTO-RPO.md": "# DR\n\n## RTO\n\nTBD\n\n## RPO\n\nTBD\n"})
    good = tree("good", {"docs/RTO-RPO.md": PLAN})
    for item in ("DR-002", "DR-003"):
        assert not passes(await run_shipped(item, {"APP_REPO": str(bad)}, bad)), item
        assert passes(await run_shipped(item, {"APP_REPO": str(good)}, good)), item


def tier_table(*rows: str, header: str = "| Tier | Service | RTO | RPO |") -> str:
    cols = header.count("|") - 1
    return "# RTO and RPO\n\n" + "\n".join([header, "|" + " --- |" * cols, *rows]) + "\n"


async def test_dr002_an_rto_of_4h_beside_an_rpo_of_1h_is_not_a_1h_rto(tree):
    # Tier 1's line holds "1 h", in the RPO column: the RTO is 4 hours.
    bad = tree("bad", {"docs/RTO-RPO.md": tier_table("| Tier 1 | API | 4 h | 1 h |")})
    good = tree("good", {"docs/RTO-RPO.md": tier_table("| Tier 1 | API | 1 h | 4 h |")})
    result = await run_shipped("DR-002", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "Tier 1 RTO 4 h (line 5), expected at most 1h" in result.summary
    result = await run_shipped("DR-002", {"APP_REPO": str(good)}, good)
    assert passes(result) and "Tier 1 RTO 1 h (line 5), at most 1h" in result.summary


async def test_dr003_an_rpo_of_4h_beside_an_rto_of_15min_is_not_a_15min_rpo(tree):
    header = "| Tier | RTO | RPO |"
    bad = tree("bad", {"docs/RTO-RPO.md": tier_table("| Tier 1 | 15 min | 4 h |", header=header)})
    good = tree("good", {"docs/RTO-RPO.md": tier_table("| Tier 1 | 1 h | 15 min |", header=header)})
    assert not passes(await run_shipped("DR-003", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-003", {"APP_REPO": str(good)}, good))


async def test_dr002_dr003_tbd_cells_a_tier_10_row_and_a_table_in_code_are_no_targets(tree):
    for plan in (
        tier_table("| Tier 1 | API | TBD | TBD |"),
        tier_table("| Tier 10 | Archive | 30 min | 5 min |"),
        "# DR\n\n```\n| Tier | RTO | RPO |\n| - | - | - |\n| Tier 1 | 1 h | 15 min |\n```\n",
    ):
        bad = tree("bad", {"docs/RTO-RPO.md": plan})
        for item in ("DR-002", "DR-003"):
            assert not passes(await run_shipped(item, {"APP_REPO": str(bad)}, bad)), (item, plan)


def commit(repo, message: str, date: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    for argv in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *argv], cwd=repo, env=env, check=True, timeout=60)


async def test_dr004_a_drill_committed_months_ago_is_not_fresh_after_a_checkout(tree):
    repo = tree(
        "repo",
        {"docs/dr-drills/2026-q2-failover.md": "# Failover drill 2026-05-20\n\nResult: passed\n"},
    )
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, timeout=60)
    commit(repo, "drill", "2026-05-20T10:00:00+00:00")
    # the working copy's modification time is now, as after a clone or a checkout
    result = await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo)
    assert not passes(result) and "old by the commit that added it" in result.summary
    # A drill committed last month passes on the same checkout.
    (repo / "docs/dr-drills/2026-q4-failover.md").write_text("# Failover drill\n\nResult: passed\n")
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    commit(repo, "q4 drill", recent)
    assert passes(await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo))


async def test_dr004_a_recent_drill_that_failed_is_not_a_tested_procedure(tree):
    bad = tree("bad", {"docs/dr-drills/2026-q4.md": "# Drill\n\nResult: failed (replica lag)\n"})
    assert not passes(await run_shipped("DR-004", {"APP_REPO": str(bad)}, bad))


async def test_dr004_no_recent_drill_fails_a_recent_one_passes(tree):
    from traps.conftest import age

    bad = tree("bad", {"docs/dr-drills/2026-q2.md": "# Drill\n\nResult: passed\n"})
    age(bad / "docs/dr-drills/2026-q2.md", 133)
    good = tree("good", {"docs/dr-drills/2026-q4.md": "# Drill\n\nResult: passed\n"})
    assert not passes(await run_shipped("DR-004", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-004", {"APP_REPO": str(good)}, good))


def git_init(repo) -> None:
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, timeout=60)


def days_ago(n: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=n)).isoformat(timespec="seconds")


async def test_dr004_a_typo_fixed_last_week_does_not_renew_a_drill_from_last_year(tree):
    note = "# Failover drill\n\nDate: {day}\n\nResult: passed\n\nNotes: promote the replica.\n"
    repo = tree("repo", {"docs/dr-drills/2025-q4-failover.md": note.format(day="2025-11-03")})
    git_init(repo)
    commit(repo, "drill", "2025-11-03T10:00:00+00:00")
    (repo / "docs/dr-drills/2025-q4-failover.md").write_text(
        note.format(day="2025-11-03").replace("promote the", "promote the standby")
    )
    commit(repo, "docs: typo fixes", days_ago(3))
    result = await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo)
    assert not passes(result) and "by its Date line" in result.summary, result.summary
    # The same history with a drill dated last month passes, and says the date and the result.
    day = days_ago(30)[:10]
    (repo / "docs/dr-drills/2026-q4-failover.md").write_text(note.format(day=day))
    commit(repo, "q4 drill", days_ago(29))
    result = await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo)
    assert passes(result), result.summary
    assert f"dated {day}, Result: passed" in result.summary


async def test_dr004_a_note_without_a_date_is_dated_by_the_commit_that_added_it(tree):
    repo = tree("repo", {"docs/dr-drills/q2.md": "# Failover drill\n\nResult: passed\n"})
    git_init(repo)
    commit(repo, "drill", days_ago(200))
    (repo / "docs/dr-drills/q2.md").write_text("# Failover drill (DB)\n\nResult: passed\n")
    commit(repo, "retitle", days_ago(1))
    result = await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo)
    assert not passes(result) and "by the commit that added it" in result.summary


STUB = "# DR drill 2026-Q4\n\nDate: <YYYY-MM-DD>\n\nResult: pass / fail\n\nSteps run: <fill in>\n"


async def test_dr004_the_template_committed_yesterday_is_no_drill(tree):
    repo = tree("repo", {"docs/dr-drills/2026-q4.md": STUB})
    git_init(repo)
    commit(repo, "drill note stub", days_ago(1))
    result = await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo)
    assert not passes(result) and "none with a result" in result.summary
    # A real drill beside the stub passes; the stub is left out and said so.
    (repo / "docs/dr-drills/2026-q3.md").write_text(
        f"# DR drill 2026-Q3\n\nDate: {days_ago(40)[:10]}\n\n**Result:** passed\n"
    )
    commit(repo, "q3 drill", days_ago(39))
    result = await run_shipped("DR-004", {"APP_REPO": str(repo)}, repo)
    assert passes(result) and "1 without a result left out" in result.summary, result.summary


async def test_dr004_a_dated_note_whose_result_reads_pass_or_fail_is_no_drill(tree):
    day = days_ago(5)[:10]
    bad = tree("bad", {"docs/dr-drills/q4.md": f"# Drill\n\nDate: {day}\n\nResult: pass / fail\n"})
    good = tree("good", {"docs/dr-drills/q4.md": f"# Drill\n\nDate: {day}\n\nResult: passed\n"})
    assert not passes(await run_shipped("DR-004", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-004", {"APP_REPO": str(good)}, good))


async def test_dr005_a_stub_is_not_a_failover_runbook(tree):
    bad = tree("bad", {"docs/runbooks/failover.md": "# Failover\n\nAsk the DBA.\n"})
    good = tree("good", {"docs/runbooks/failover.md": PLAN})
    assert not passes(await run_shipped("DR-005", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-005", {"APP_REPO": str(good)}, good))


async def test_dr007_an_empty_file_is_not_a_communication_plan(tree):
    bad = tree("bad", {"docs/INCIDENT-COMM.md": ""})
    good = tree(
        "good",
        {
            "docs/INCIDENT-COMM.md": "# Outage communication\n\n## Templates\n\n"
            + "Guests: ...\n" * 100
        },
    )
    assert not passes(await run_shipped("DR-007", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-007", {"APP_REPO": str(good)}, good))


async def test_dr008_degraded_mode_is_a_heading(tree):
    bad = tree("bad", {"docs/RTO-RPO.md": "# DR\n\nWe will think about degraded mode.\n"})
    good = tree("good", {"docs/RTO-RPO.md": PLAN})
    assert not passes(await run_shipped("DR-008", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DR-008", {"APP_REPO": str(good)}, good))


async def test_dr008_a_comment_in_a_code_block_is_not_a_heading(tree):
    bad = tree(
        "bad", {"docs/RTO-RPO.md": "# DR\n\n```bash\n# Degraded mode\nsystemctl stop x\n```\n"}
    )
    assert not passes(await run_shipped("DR-008", {"APP_REPO": str(bad)}, bad))
