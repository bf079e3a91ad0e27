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
    assert not passes(result) and "old by its last commit" in result.summary
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
