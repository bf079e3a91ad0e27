"""SQL probe against a real PostgreSQL cluster (tests/support/postgres.py)."""

from __future__ import annotations

import pytest
from support.probing import config_error, run
from support.procs import free_port

from probes.result import Status


@pytest.fixture(scope="module")
def dsn(postgres):
    postgres.psql("""
        DROP TABLE IF EXISTS rooms, bookings;
        CREATE TABLE rooms (id int PRIMARY KEY, name text);
        CREATE TABLE bookings (id int PRIMARY KEY, room int REFERENCES rooms(id));
        INSERT INTO rooms VALUES (1, 'single'), (2, 'double'), (3, 'suite');
    """)
    return postgres.dsn


async def test_scalar_meeting_expectation_passes(dsn, tmp_path):
    result = await run(
        {"sql": {"dsn": dsn, "query": "SELECT count(*) FROM rooms", "expect": ">= 3"}}, tmp_path
    )
    assert result.status is Status.PASS
    assert result.summary == "SELECT count(*) FROM rooms: returned 3, expected >= 3"
    assert dsn not in repr(result)


async def test_numeric_result_compares_as_a_number(dsn, tmp_path):
    # round() gives PostgreSQL numeric, which psycopg returns as Decimal (P-011's cache hit rate).
    result = await run(
        {"sql": {"dsn": dsn, "query": "SELECT round(0.9987, 4)", "expect": ">= 0.99"}}, tmp_path
    )
    assert (result.status, result.summary) == (
        Status.PASS,
        "SELECT round(0.9987, 4): returned 0.9987, expected >= 0.99",
    )


async def test_show_setting_compared_as_text(dsn, tmp_path):
    result = await run(
        {"sql": {"dsn": dsn, "query": "SHOW archive_mode", "expect": "== on"}}, tmp_path
    )
    assert result.status is Status.FAIL
    assert result.summary == 'SHOW archive_mode: returned "off", expected == "on"'


async def test_row_count(dsn, tmp_path):
    fks = (
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = 'bookings'::regclass"
    )
    ok = await run(
        {"sql": {"dsn": dsn, "query": fks, "result": "rows", "expect": ">= 1"}}, tmp_path
    )
    none = await run(
        {
            "sql": {
                "dsn": dsn,
                "query": "SELECT * FROM pg_stat_replication",
                "result": "rows",
                "expect": "> 0",
            }
        },
        tmp_path,
    )
    assert ok.status is Status.PASS and ok.evidence["rows"] == 1
    assert none.status is Status.FAIL
    assert none.summary == "SELECT * FROM pg_stat_replication: 0 rows, expected > 0"


async def test_dsn_from_file(dsn, tmp_path):
    (tmp_path / "dsn").write_text(dsn + "\n")
    result = await run(
        {"sql": {"dsn_file": "dsn", "query": "SELECT 1", "expect": "== 1"}}, tmp_path
    )
    assert result.status is Status.PASS


async def test_session_is_read_only(dsn, tmp_path):
    result = await run(
        {"sql": {"dsn": dsn, "query": "DELETE FROM rooms RETURNING id", "expect": ">= 0"}}, tmp_path
    )
    assert result.status is Status.FAIL
    assert "read-only transaction" in result.summary


async def test_query_error_fails(dsn, tmp_path):
    result = await run(
        {"sql": {"dsn": dsn, "query": "SELECT * FROM no_such_table", "expect": "> 0"}}, tmp_path
    )
    assert result.status is Status.FAIL
    assert result.summary == (
        'SELECT * FROM no_such_table: query failed: relation "no_such_table" does not exist'
    )


async def test_slow_query_is_cut_inside_the_budget(dsn, tmp_path):
    result = await run(
        {"sql": {"dsn": dsn, "query": "SELECT pg_sleep(30)", "expect": "== 1"}},
        tmp_path,
        timeout="2s",
    )
    # The server's statement_timeout or the probe's wait, whichever ends first: the same result.
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == "SELECT pg_sleep(30): no answer within the 2s timeout; cannot judge"


async def test_refused_connection_fails_without_the_dsn(tmp_path):
    dsn = f"postgresql://app:hunter2-secret@127.0.0.1:{free_port()}/app"
    result = await run({"sql": {"dsn": dsn, "query": "SELECT 1", "expect": "== 1"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.startswith("cannot connect to the database: ")
    assert "hunter2" not in repr(result)


@pytest.mark.parametrize(
    "probe, message",
    [
        ({"dsn": "postgresql://x", "query": "SELECT 1"}, "sql.expect is required"),
        (
            {"dsn": "postgresql://x", "query": "SELECT 1", "expect": "== 1", "result": "first"},
            'sql.result must be one of scalar, rows (got "first")',
        ),
        (
            {
                "dsn": "postgresql://x",
                "query": "SELECT 1",
                "result": "rows",
                "expect": "contains a",
            },
            "sql.expect must compare a number when result is rows (got contains)",
        ),
        (
            {"dsn": "postgresql://x", "dsn_file": "f", "query": "SELECT 1", "expect": "== 1"},
            "sql.dsn and dsn_file are both set: give only one",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"sql": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )
