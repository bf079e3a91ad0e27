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
    assert not passes(result) and "95 days old by its suite timestamp" in result.summary


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
        r"last failure (under a second|\d+ \w+( \d+ \w+)?) ago \(\w{24}\); \d+ segments? "
        r"waiting, the oldest for .+",
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


def scans(database, indexed: int, sequential: int) -> None:
    """``indexed`` lookups by primary key and ``sequential`` searches on an unindexed column of
    a 20,000-row table, in one session whose end hands its counts to the statistics."""
    with database.connect() as conn:
        conn.execute(
            "DO $$ BEGIN"
            f" FOR i IN 1..{indexed} LOOP PERFORM 1 FROM guests WHERE id = i; END LOOP;"
            f" FOR i IN 1..{sequential} LOOP"
            "   PERFORM 1 FROM guests WHERE email = 'guest' || i || '@example.com'; END LOOP;"
            " END $$"
        )


def table_scans(database) -> tuple[int, int, int]:
    with database.connect() as conn:
        row = conn.execute(
            "SELECT n_live_tup, seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables "
            "WHERE relname = 'guests'"
        ).fetchone()
    return row or (0, 0, 0)


async def test_d003_a_search_without_an_index_in_a_fifth_of_the_scans_fails(tmp_path, database):
    database.execute(
        "CREATE TABLE guests (id int PRIMARY KEY, email text)",
        "INSERT INTO guests SELECT g, 'guest' || g || '@example.com' "
        "FROM generate_series(1, 20000) g",
    )
    env = {"DATABASE_URL": database.dsn()}
    # A nightly pg_dump's handful of full reads beside lookups by index: fine
    scans(database, indexed=1000, sequential=5)
    wait_until(lambda: table_scans(database)[1:] >= (5, 1000), 30, "the scans counted")
    result = await run_shipped("D-003", env, tmp_path)
    assert passes(result), result.summary
    # Every 5th request searches guests by email, which has no index: 250 full reads of 20,000
    # rows. Fewer sequential scans than index scans and under 1,000 of them: what D-003 asked.
    scans(database, indexed=0, sequential=245)
    wait_until(lambda: table_scans(database)[1] >= 250, 30, "the scans counted")
    rows, sequential, indexed = table_scans(database)
    assert rows == 20000 and sequential < min(indexed, 1000)
    result = await run_shipped("D-003", env, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "tables of 10000+ rows scanned sequentially in over 5% of 50+ scans: 1, expected == 0",
    )


ROOM_TYPES = "CREATE TABLE room_types (id serial PRIMARY KEY, name text NOT NULL UNIQUE)"
SEED = "INSERT INTO room_types (name) VALUES ('Single'), ('Double'), ('Twin'), ('Suite')"


async def test_d007_the_migrated_empty_table_or_one_hand_made_row_is_not_the_seed(
    tmp_path, database
):
    env = {"DATABASE_URL": database.dsn(), "SEED_MIN_ROWS": "4"}
    database.execute(ROOM_TYPES)  # the migrations ran, the seed did not
    result = await run_shipped("D-007", env, tmp_path)
    assert (result.status, result.summary) == (Status.FAIL, "seeded rows: 0, expected >= 4")
    database.execute("INSERT INTO room_types (name) VALUES ('Test room')")
    result = await run_shipped("D-007", env, tmp_path)
    assert (result.status, result.summary) == (Status.FAIL, "seeded rows: 1, expected >= 4")
    database.execute("DELETE FROM room_types", SEED)
    result = await run_shipped("D-007", env, tmp_path)
    assert (result.status, result.summary) == (Status.PASS, "seeded rows: 4, expected >= 4")
