"""SQL probe against real PostgreSQL clusters (tests/support/postgres.py): queries, the pool of
connections the sql items share, and the WAL archiver's health on clusters whose archive_command
works and fails."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.postgres import Cluster, archiver_row, archiving, switch_wal
from support.probing import config_error, run
from support.procs import free_port, wait_until

from exporter.config import parse
from exporter.engine import Engine
from probes.result import Result, Status


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


async def test_a_named_query_is_described_by_its_name(dsn, tmp_path):
    query = "SELECT count(*) FROM rooms WHERE name <> 'suite'"
    spec = {"dsn": dsn, "name": "rooms other than suites", "query": query}
    result = await run({"sql": {**spec, "expect": "== 0"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "rooms other than suites: 2, expected == 0",
    )
    result = await run({"sql": {**spec, "expect": ">= 2"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.PASS,
        "rooms other than suites: 2, expected >= 2",
    )


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
    assert result.summary.startswith("cannot connect to the database: connection to server at ")
    assert "hunter2" not in repr(result)


async def test_sessions_are_named_for_the_exporter(dsn, tmp_path):
    query = "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    result = await run(
        {"sql": {"dsn": dsn, "query": query, "expect": "== readiness-exporter"}}, tmp_path
    )
    assert result.status is Status.PASS, result.summary


# -- the pool: connections per DSN, shared by every sql item ---------------------------------


async def run_items(
    probes: Mapping[str, Mapping[str, Any]],
    base_dir: Path,
    engine: Mapping[str, Any] | None = None,
    timeout: str = "10s",
    rounds: int = 1,
) -> list[dict[str, Result]]:
    """Every item of a checklist run at once by one engine, ``rounds`` times over."""
    doc = {
        "engine": dict(engine or {}),
        "categories": [
            {
                "id": "db",
                "title": "Database",
                "items": [
                    {
                        "id": item_id,
                        "title": item_id,
                        "priority": "high",
                        "timeout": timeout,
                        "interval": "1h",
                        "probe": dict(probe),
                    }
                    for item_id, probe in probes.items()
                ],
            }
        ],
    }
    engine_ = Engine(parse(doc, base_dir / "config.yaml", {}))
    out = []
    try:
        for _ in range(rounds):
            await engine_.run_round()
            out.append({i: s.result for i, s in engine_.states.items()})
    finally:
        await engine_.resources.aclose()
    return out


@pytest.fixture
def limited_role(postgres):
    """A role allowed two connections, as a managed database's application role often is."""
    postgres.psql("DROP ROLE IF EXISTS limited; CREATE ROLE limited LOGIN CONNECTION LIMIT 2")
    postgres.psql("GRANT pg_read_all_stats TO limited")
    yield f"postgresql://limited@127.0.0.1:{postgres.port}/postgres"
    postgres.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'limited'"
    )
    postgres.psql("DROP ROLE IF EXISTS limited")


# Each item sees how many sessions the exporter has open while its own query runs (the sleep
# makes the items overlap): never more than the pool allows.
EXPORTER_SESSIONS = (
    "SELECT count(*) FROM pg_stat_activity, pg_sleep(0.05) "
    "WHERE application_name = 'readiness-exporter'"
)


async def test_ten_items_share_two_connections_under_a_role_limit_of_two(limited_role, tmp_path):
    probes = {
        f"D-{n:03d}": {"sql": {"dsn": limited_role, "query": EXPORTER_SESSIONS, "expect": "<= 2"}}
        for n in range(8)
    }
    # and two that must FAIL: judged, not refused
    probes["D-100"] = {"sql": {"dsn": limited_role, "query": "SELECT 1", "expect": "== 2"}}
    probes["D-101"] = {"sql": {"dsn": limited_role, "query": "SELECT 'off'", "expect": "== on"}}
    (results,) = await run_items(probes, tmp_path)
    for item_id, result in results.items():
        assert result is not None and not result.error, (item_id, result)
        if item_id.startswith("D-0"):
            assert result.status is Status.PASS, (item_id, result.summary)
    assert results["D-100"].summary == "SELECT 1: returned 1, expected == 2"
    assert results["D-101"].summary == 'SELECT \'off\': returned "off", expected == "on"'


async def test_a_full_server_waits_for_the_exporters_own_parked_connection(
    limited_role, postgres, tmp_path
):
    """A role allowed one connection, two per DSN allowed: the second connection is refused
    while the first, parked between items, holds the slot; the item takes the parked one."""
    postgres.psql("ALTER ROLE limited CONNECTION LIMIT 1")
    probes = {
        f"D-{n:03d}": {"sql": {"dsn": limited_role, "query": "SELECT 1", "expect": "== 1"}}
        for n in range(4)
    }
    (results,) = await run_items(probes, tmp_path, timeout="4s")
    assert all(r.status is Status.PASS for r in results.values()), results


async def test_the_connections_per_dsn_are_a_setting(postgres, tmp_path):
    probes = {
        f"D-{n:03d}": {"sql": {"dsn": postgres.dsn, "query": EXPORTER_SESSIONS, "expect": "<= 1"}}
        for n in range(6)
    }
    (results,) = await run_items(probes, tmp_path, engine={"sql_connections_per_dsn": 1})
    assert all(r.status is Status.PASS for r in results.values()), results
    # the same items with room for more: they overlap, and some see more than one
    (results,) = await run_items(probes, tmp_path, engine={"sql_connections_per_dsn": 6})
    assert any(r.status is Status.FAIL for r in results.values()), results


async def test_a_full_server_is_no_verdict(limited_role, tmp_path):
    """The application holds every slot the role has: the probe could not look."""
    held = [psycopg.connect(limited_role, application_name="agente-api") for _ in range(2)]
    try:
        result = await run(
            {"sql": {"dsn": limited_role, "query": "SELECT 1", "expect": "== 1"}},
            tmp_path,
            timeout="2s",
        )
    finally:
        for conn in held:
            conn.close()
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == (
        'cannot judge: the database refused a connection (connection to server at "127.0.0.1", '
        f"port {limited_role.split(':')[-1].split('/')[0]} failed: FATAL:  too many connections "
        'for role "limited"); its connection slots are full'
    )


async def test_the_exporter_does_not_count_itself(limited_role, postgres, tmp_path):
    """P-008's question with ten sql items in flight: only the application's sessions count."""
    app = [psycopg.connect(postgres.dsn, application_name="agente-api") for _ in range(3)]
    pool_usage = (
        "SELECT count(*) FILTER (WHERE backend_type = 'client backend' "
        "AND application_name = 'agente-api' "
        "AND application_name IS DISTINCT FROM 'readiness-exporter') FROM pg_stat_activity"
    )
    probes = {"P-008": {"sql": {"dsn": limited_role, "query": pool_usage, "expect": "== 3"}}}
    for n in range(9):
        probes[f"D-{n:03d}"] = {
            "sql": {"dsn": limited_role, "query": EXPORTER_SESSIONS, "expect": "<= 2"}
        }
    try:
        (results,) = await run_items(probes, tmp_path)
    finally:
        for conn in app:
            conn.close()
    assert results["P-008"].status is Status.PASS, results["P-008"].summary


async def test_a_session_is_reused_and_reset_between_items(dsn, tmp_path):
    """The next item gets the same backend, with nothing the last one set: still read-only."""
    probes = {
        "A": {
            "sql": {
                "dsn": dsn,
                "query": "SELECT set_config('default_transaction_read_only', 'off', false)",
                "expect": "== off",
            }
        },
    }
    engine = {"sql_connections_per_dsn": 1}
    (first,) = await run_items(probes, tmp_path, engine=engine)
    assert first["A"].status is Status.PASS
    probes["B"] = {"sql": {"dsn": dsn, "query": "DELETE FROM rooms RETURNING id", "expect": ">= 0"}}
    probes["C"] = {"sql": {"dsn": dsn, "query": "SELECT pg_backend_pid()", "expect": "> 0"}}
    rounds = await run_items(probes, tmp_path, engine=engine, rounds=2)
    for results in rounds:
        assert "read-only transaction" in results["B"].summary, results["B"].summary
    pids = [r["C"].evidence["value"] for r in rounds]
    assert pids[0] == pids[1]


async def test_a_parked_session_the_server_ended_is_replaced(dsn, postgres, tmp_path):
    probes = {"C": {"sql": {"dsn": dsn, "query": "SELECT pg_backend_pid()", "expect": "> 0"}}}
    doc_engine = Engine(
        parse(
            {
                "categories": [
                    {
                        "id": "db",
                        "title": "Database",
                        "items": [
                            {"id": "C", "title": "C", "priority": "high", "probe": probes["C"]}
                        ],
                    }
                ]
            },
            tmp_path / "config.yaml",
            {},
        )
    )
    try:
        first = (await doc_engine.run_item("C")).result
        postgres.psql(f"SELECT pg_terminate_backend({first.evidence['value']})")
        second = (await doc_engine.run_item("C")).result
    finally:
        await doc_engine.resources.aclose()
    assert second.status is Status.PASS, second.summary
    assert second.evidence["value"] != first.evidence["value"]


@pytest.mark.parametrize(
    "probe, message",
    [
        ({"dsn": "postgresql://x", "query": "SELECT 1"}, "sql.expect is required"),
        ({"dsn": "postgresql://x", "expect": "== 1"}, "sql.query is required"),
        (
            {"dsn": "postgresql://x", "query": "SHOW archive_mode", "archiver": {}},
            "sql.query is not used with archiver (it runs its own queries)",
        ),
        (
            {"dsn": "postgresql://x", "archiver": {"archived_within": "soon"}},
            "sql.archiver.archived_within must be a duration such as 30s, 5m, 1h or 90d "
            '(got "soon")',
        ),
        (
            {"dsn": "postgresql://x", "archiver": {"within": "1h"}},
            "sql.archiver.within is not a known field (known: archived_within, idle_ok)",
        ),
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
            {"dsn": "postgresql://x", "archiver": {}, "name": "archiving"},
            "sql.name is not used with archiver (it runs its own queries)",
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


# -- archiver: WAL archiving for point-in-time recovery ------------------------------------------


@pytest.fixture(scope="module")
def failing_archive():
    """archive_mode on, but every archive attempt fails (archive_command false)."""
    with archiving("false") as (cluster, _):
        switch_wal(cluster.dsn)
        wait_until(lambda: archiver_row(cluster.dsn)["failed_count"] >= 1, 30, "a failure")
        yield cluster


@pytest.fixture(scope="module")
def working_archive():
    """archive_mode on and archive_command copying each segment into a folder."""
    with archiving("cp %p {archive}/%f") as (cluster, archive):
        switch_wal(cluster.dsn)
        wait_until(lambda: archiver_row(cluster.dsn)["archived_count"] >= 1, 30, "an archive")
        assert any(archive.iterdir())
        yield cluster


def unprivileged(cluster: Cluster) -> str:
    """A login role without pg_monitor: pg_ls_archive_statusdir() is refused to it."""
    cluster.psql("DROP ROLE IF EXISTS plain; CREATE ROLE plain LOGIN")
    return f"postgresql://plain@127.0.0.1:{cluster.port}/postgres"


SINCE = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
SEGMENT = r"[0-9A-F]{24}"
# An age as summaries write it: "under a second", "40 seconds", "3 minutes 20 seconds"
AGE = r"(under a second|\d+ milliseconds|\d+ \w+( \d+ \w+)?)"


async def test_archiving_that_always_fails_fails_although_archive_mode_is_on(
    failing_archive, tmp_path
):
    dsn = failing_archive.dsn
    # What D-010 checked before: SHOW archive_mode, which passes.
    shown = await run(
        {"sql": {"dsn": dsn, "query": "SHOW archive_mode", "expect": "== on"}}, tmp_path
    )
    assert shown.status is Status.PASS
    result = await run({"sql": {"dsn": dsn, "archiver": {"archived_within": "1h"}}}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False)
    assert re.fullmatch(
        rf"archive_mode on, but 0 segments archived and \d+ failures? since {SINCE}; "
        rf"last failure {AGE} ago \({SEGMENT}\); \d+ segments? waiting, the oldest for {AGE}",
        result.summary,
    ), result.summary
    assert result.evidence["failed_count"] >= 1 and result.evidence["waiting"] >= 1


async def test_failing_archiving_fails_for_a_role_without_pg_monitor(failing_archive, tmp_path):
    """The failures need no privilege to see: a verdict, even without the queue's length."""
    dsn = unprivileged(failing_archive)
    result = await run({"sql": {"dsn": dsn, "archiver": {}}}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, False)
    assert re.fullmatch(
        rf"archive_mode on, but 0 segments archived and \d+ failures? since {SINCE}; "
        rf"last failure {AGE} ago \({SEGMENT}\)",
        result.summary,
    ), result.summary


async def test_working_archiving_passes(working_archive, tmp_path):
    result = await run({"sql": {"dsn": working_archive.dsn, "archiver": {}}}, tmp_path)
    assert (result.status, result.error) == (Status.PASS, False), result.summary
    assert re.fullmatch(
        rf"archive_mode on: last archived {AGE} ago \({SEGMENT}\), no failure since; "
        r"nothing waiting",
        result.summary,
    ), result.summary


async def test_working_archiving_cannot_be_judged_without_pg_monitor(working_archive, tmp_path):
    """Without the queue's length, a recent archive does not show that nothing is stuck."""
    dsn = unprivileged(working_archive)
    result = await run({"sql": {"dsn": dsn, "archiver": {}}}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert re.fullmatch(
        r"cannot judge: segments waiting to be archived cannot be counted \(permission denied "
        r"for function pg_ls_archive_statusdir; the role needs pg_monitor\); last archived "
        rf"{AGE} ago, no failure since",
        result.summary,
    ), result.summary


def archived_longer_ago_than(dsn: str, seconds: float) -> None:
    wait_until(lambda: archiver_row(dsn)["archived_ago"] > seconds, 30, "an older last archive")


async def test_an_idle_server_with_nothing_waiting_passes(working_archive, tmp_path):
    """Fine in an unusual way: nothing to archive since the last archive is no failure."""
    dsn = working_archive.dsn
    archived_longer_ago_than(dsn, 0.2)
    idle = await run({"sql": {"dsn": dsn, "archiver": {"archived_within": "200ms"}}}, tmp_path)
    assert idle.status is Status.PASS, idle.summary
    assert re.fullmatch(
        rf"archive_mode on: nothing waiting \(idle\); last archived {AGE} ago \({SEGMENT}\), "
        r"no failure since",
        idle.summary,
    ), idle.summary
    strict = await run(
        {"sql": {"dsn": dsn, "archiver": {"archived_within": "200ms", "idle_ok": False}}},
        tmp_path,
    )
    assert strict.status is Status.FAIL
    assert strict.summary.endswith(", expected archived within 200ms"), strict.summary


async def test_segments_stuck_in_the_queue_fail(working_archive, tmp_path):
    """An empty archive_command archives nothing and records no failure: the queue shows it."""
    cluster = working_archive
    cluster.psql("ALTER SYSTEM SET archive_command = ''")
    cluster.psql("SELECT pg_reload_conf()")
    try:
        wait_until(
            lambda: (
                psycopg.connect(cluster.dsn, autocommit=True)
                .execute("SHOW archive_command")
                .fetchone()
                == ("",)
            ),
            30,
            "archive_command reloaded",
        )
        switch_wal(cluster.dsn)
        wait_until(lambda: archiver_row(cluster.dsn)["ready"] >= 1, 30, "a segment waiting")
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            wait_until(
                lambda: (
                    conn.execute(
                        "SELECT now() - min(modification) > interval '200 ms' "
                        "FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"
                    ).fetchone()
                    == (True,)
                ),
                30,
                "a segment waiting for 200 ms",
            )
        result = await run(
            {"sql": {"dsn": cluster.dsn, "archiver": {"archived_within": "200ms"}}}, tmp_path
        )
    finally:
        cluster.psql("ALTER SYSTEM RESET archive_command")
        cluster.psql("SELECT pg_reload_conf()")
    assert result.status is Status.FAIL
    assert re.fullmatch(
        rf"archive_mode on, but \d+ segments? wait to be archived, the oldest for {AGE}, "
        r"expected archived within 200ms",
        result.summary,
    ), result.summary


async def test_archive_mode_off_fails(postgres, tmp_path):
    result = await run({"sql": {"dsn": postgres.dsn, "archiver": {}}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "archive_mode off: WAL is not archived (no point-in-time recovery)",
    )


async def test_a_server_that_never_archived_cannot_be_judged(tmp_path):
    """archive_mode on, nothing completed yet: no segment proves the command works."""
    with archiving("false") as (cluster, _):
        result = await run({"sql": {"dsn": cluster.dsn, "archiver": {}}}, tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert re.fullmatch(
        rf"cannot judge: no segment archived since {SINCE} and no failure: nothing shows "
        r"archiving works yet; none waiting",
        result.summary,
    ), result.summary


def test_connections_per_dsn_must_be_a_whole_number(tmp_path):
    from exporter.config import ConfigError

    doc = {"engine": {"sql_connections_per_dsn": 0}, "categories": [{"id": "a", "items": []}]}
    with pytest.raises(ConfigError) as info:
        parse(doc, tmp_path / "config.yaml", {})
    assert (
        "config.yaml: engine: sql_connections_per_dsn must be a whole number of at least 1 (got 0)"
        in info.value.errors
    )
