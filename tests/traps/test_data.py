"""Traps for the Data & Database items."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from support.postgres import archiver_row, archiving, switch_wal
from support.procs import wait_until

from probes.result import Status
from traps.artifacts import pytest_junit
from traps.shipped import passes, run_shipped


async def test_d001_a_failing_migration_test_fails(tree, reports):
    bad = tree("bad", {"reports/migrations-junit.xml": reports.junit_failed})
    good = tree("good", {"reports/migrations-junit.xml": reports.junit_passed})
    assert not passes(await run_shipped("D-001", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("D-001", {"APP_REPO": str(good)}, good))


async def test_d001_three_skipped_migration_tests_are_not_validation(tree, reports):
    bad = tree("bad", {"reports/migrations-junit.xml": reports.junit_skipped})
    assert not passes(await run_shipped("D-001", {"APP_REPO": str(bad)}, bad))


async def test_d002_see_the_code_is_not_a_schema_document(tree):
    bad = tree("bad", {"docs/database-schema.md": "# Schema\n\nSee app/models.py.\n"})
    good = tree(
        "good",
        {
            "docs/database-schema.md": "# Schema\n\n```mermaid\nerDiagram\n"
            "  USER ||--o{ BOOKING : makes\n```\n"
        },
    )
    assert not passes(await run_shipped("D-002", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("D-002", {"APP_REPO": str(good)}, good))


SCHEMA = (
    "CREATE TABLE guest (id int PRIMARY KEY)",
    "CREATE TABLE booking (id int PRIMARY KEY, guest_id int)",
    "INSERT INTO guest VALUES (1)",
    "INSERT INTO booking VALUES (1, 1)",
)


async def test_d004_a_not_valid_or_disabled_foreign_key_is_not_enforced(tmp_path, database):
    database.execute(
        *SCHEMA,
        "ALTER TABLE booking ADD CONSTRAINT booking_guest FOREIGN KEY (guest_id) "
        "REFERENCES guest (id)",
    )
    env = {"DATABASE_URL": database.dsn()}
    assert passes(await run_shipped("D-004", env, tmp_path))
    # ALTER TABLE ... DISABLE TRIGGER ALL: still "validated", no longer enforced
    database.execute("ALTER TABLE booking DISABLE TRIGGER ALL")
    assert not passes(await run_shipped("D-004", env, tmp_path))
    database.execute(
        "ALTER TABLE booking ENABLE TRIGGER ALL",
        "ALTER TABLE booking DROP CONSTRAINT booking_guest",
        "ALTER TABLE booking ADD CONSTRAINT booking_guest FOREIGN KEY (guest_id) "
        "REFERENCES guest (id) NOT VALID",
    )
    assert not passes(await run_shipped("D-004", env, tmp_path))


async def test_d004_foreign_keys_only_outside_the_application_schema_fail(tmp_path, database):
    database.execute(
        "CREATE SCHEMA ext",
        "CREATE TABLE ext.a (id int PRIMARY KEY)",
        "CREATE TABLE ext.b (a_id int REFERENCES ext.a (id))",
    )
    assert not passes(await run_shipped("D-004", {"DATABASE_URL": database.dsn()}, tmp_path))


RESTORE_DRILL = """\
def test_restore_newest_dump_into_a_scratch_database(): assert True
def test_row_counts_match_production(): assert True
def test_application_starts_on_the_restored_database(): assert True
"""


def drill(tree, name: str, source: str, minutes: float | None) -> str:
    """The drill's JUnit as pytest writes it, its suite time the restore's ``minutes``."""
    report = pytest_junit(tree(name, {}) / "drill", source)
    if minutes is not None:
        text = re.sub(
            r'(<testsuite [^>]*)time="[^"]*"', rf'\g<1>time="{minutes * 60}"', report.read_text()
        )
        report.write_text(text)
    return str(report)


async def test_d009_a_restore_over_an_hour_or_with_a_failed_check_is_not_tested(tree):
    slow = drill(tree, "slow", RESTORE_DRILL, 73)
    failed = drill(
        tree,
        "failed",
        RESTORE_DRILL.replace(
            "counts_match_production(): assert True", "counts_match_production(): assert 3 == 12"
        ),
        41,
    )
    good = drill(tree, "good", RESTORE_DRILL, 41)
    result = await run_shipped("D-009", {"RESTORE_TEST_JUNIT": slow}, tree("s", {}))
    assert not passes(result) and "ran 1h13m; expected a run of at most 1h" in result.summary
    result = await run_shipped("D-009", {"RESTORE_TEST_JUNIT": failed}, tree("f", {}))
    assert not passes(result) and "test_row_counts_match_production" in result.summary
    assert passes(await run_shipped("D-009", {"RESTORE_TEST_JUNIT": good}, tree("g", {})))


async def test_d009_a_drill_report_without_its_duration_cannot_show_under_an_hour(tree, reports):
    # ruff's JUnit has no suite time: what a drill report must carry is not there.
    result = await run_shipped(
        "D-009", {"RESTORE_TEST_JUNIT": str(reports.ruff_clean)}, tree("r", {})
    )
    assert not passes(result) and result.error


async def test_d009_last_quarters_drill_copied_today_is_not_this_months(tree):
    good = drill(tree, "old", RESTORE_DRILL, 41)
    text = Path(good).read_text()
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=95)
    Path(good).write_text(re.sub(r'timestamp="[^"]*"', f'timestamp="{when.isoformat()}"', text))
    result = await run_shipped("D-009", {"RESTORE_TEST_JUNIT": good}, tree("o", {}))
    assert not passes(result) and "95d old by its suite timestamp" in result.summary


async def test_d010_archive_mode_on_with_every_archive_failing_is_no_pitr(tmp_path):
    """archive_mode on, archive_command false: what D-010 asked before (SHOW archive_mode)
    passed while every segment failed and waited in pg_wal."""
    with archiving("false") as (cluster, _):
        switch_wal(cluster.dsn)
        wait_until(lambda: archiver_row(cluster.dsn)["failed_count"] >= 1, 30, "a failure")
        result = await run_shipped("D-010", {"DATABASE_URL": cluster.dsn}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False)
    assert re.fullmatch(
        r"archive_mode on, but 0 segments archived and \d+ failures? since .+ UTC; "
        r"last failure \d+m?s ago \(\w{24}\); \d+ segments? waiting, the oldest for .+",
        result.summary,
    ), result.summary


async def test_d010_segments_archived_pass(tmp_path):
    with archiving("cp %p {archive}/%f") as (cluster, archive):
        switch_wal(cluster.dsn)
        wait_until(lambda: archiver_row(cluster.dsn)["archived_count"] >= 1, 30, "an archive")
        result = await run_shipped("D-010", {"DATABASE_URL": cluster.dsn}, tmp_path)
        assert any(archive.iterdir())
    assert passes(result), result.summary
    assert result.summary.startswith("archive_mode on: last archived ")
