"""Traps for the Data & Database items."""

from __future__ import annotations

import re

from support.postgres import archiver_row, archiving, switch_wal
from support.procs import wait_until

from probes.result import Status
from traps.shipped import coming, passes, run_shipped


async def test_d001_a_failing_migration_test_fails(tree, reports):
    bad = tree("bad", {"reports/migrations-junit.xml": reports.junit_failed})
    good = tree("good", {"reports/migrations-junit.xml": reports.junit_passed})
    assert not passes(await run_shipped("D-001", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("D-001", {"APP_REPO": str(good)}, good))


@coming("report: min_executed")
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


async def test_d009_a_restore_completed_with_errors_is_not_tested(tree):
    bad = tree("bad", {"restore-test.log": "2026-11-20 restore completed with errors: 3 tables\n"})
    good = tree(
        "good",
        {
            "restore-test.log": "2026-11-20 03:10 restore of db-2026-11-19 started\n"
            "2026-11-20 03:51 restore completed in 41 min, 12 tables, checks ok\n"
        },
    )
    assert not passes(
        await run_shipped("D-009", {"RESTORE_TEST_LOG": str(bad / "restore-test.log")}, bad)
    )
    assert passes(
        await run_shipped("D-009", {"RESTORE_TEST_LOG": str(good / "restore-test.log")}, good)
    )


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
