"""The exporter's store (exporter/store.py) on real SQLite files: restarts, migrations, damage,
retention, atomic and audited writes, two writing processes, a process killed mid-write."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from support.procs import ROOT
from support.store_records import STATUSES, T0, clock, populate

from exporter.launch import (
    DAY,
    Attestation,
    DecisionRecord,
    Level,
    RecordError,
    Remediation,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from exporter.scoring import Decision
from exporter.store import (
    DB_NAME,
    EVIDENCE_CAP,
    MIGRATIONS,
    Migration,
    StatusChange,
    Store,
    StoreCorrupt,
    StoreError,
    StoreTooNew,
    StoreWorker,
    default_storage_path,
)
from probes.result import Status

P, F, PA = Status.PASS, Status.FAIL, Status.PARTIAL
FIXTURES = Path(__file__).parent / "data"


def open_store(path: Path, **kw) -> Store:
    return Store.open(path, clock=kw.pop("clock", clock), **kw)


def change(item, frm, to, at, summary="", **evidence):
    return StatusChange(item, frm, to, summary or f"{item} {to.value}", at, evidence)


# --- creating and reopening ---


def test_the_default_storage_path_is_data_beside_the_config(tmp_path):
    assert default_storage_path(tmp_path / "etc" / "config.yaml") == tmp_path / "etc" / "data"


def test_a_new_store_is_created_in_its_folder_owner_only_in_wal_mode(tmp_path):
    with open_store(tmp_path / "data") as store:
        assert store.path == tmp_path / "data" / DB_NAME
        assert store.schema_version == len(MIGRATIONS)
    assert (tmp_path / "data" / DB_NAME).stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(tmp_path / "data" / DB_NAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert list(tmp_path.joinpath("data").glob(".*.new")) == []  # no temporary file left


def test_a_restart_brings_back_history_last_pass_and_every_record(tmp_path):
    with open_store(tmp_path) as store:
        populate(store)
    with open_store(tmp_path) as store:
        state = store.load()
    assert [(c.from_status, c.to_status) for c in state.history["S-011"]] == [(None, P), (P, F)]
    assert state.history["S-011"][1].evidence == {"protocol": "TLSv1", "target": "app.example:443"}
    assert state.last_pass == {"S-011": T0 - DAY - 60}
    assert state.decisions_held == {"go": T0 - DAY - 60, "no_go": T0}
    assert state.attestations["T-001"].by == "Jane Doe"
    assert state.attestations["T-001"].user == "jdoe"
    assert state.attestations["T-001"].evidence == (
        "Workshop attendance https://wiki.example/training",
    )
    acceptance = state.acceptances["S-011"]
    assert (acceptance.impact, acceptance.probability) == (Level.HIGH, Level.LOW)
    assert acceptance.expires_at == T0 + 30 * DAY
    signoff = state.signoffs["Security Lead"]
    assert signoff.stamp == StateStamp.of(Decision.NO_GO, Fraction(2, 3), Fraction(1, 2), STATUSES)
    assert state.decision is not None
    assert (state.decision.decision, state.decision.computed) == (
        Decision.GO_WITH_CAUTION,
        Decision.NO_GO,
    )
    assert state.decision.launch_at == T0 + 7 * DAY
    assert state.remediations["S-011"].text == "https://tracker.example/SEC-12"


def test_history_is_the_last_n_changes_oldest_first(tmp_path):
    with open_store(tmp_path) as store:
        store.record_changes(
            [change("A", P if n % 2 else F, F if n % 2 else P, T0 + n) for n in range(10)]
        )
        assert [c.at for c in store.history("A", 3)] == [T0 + 7, T0 + 8, T0 + 9]
        assert [c.at for c in store.load(["A", "B"], history=2).history["A"]] == [T0 + 8, T0 + 9]
        assert "B" not in store.load(["A", "B"]).history


def test_changes_in_the_same_second_keep_the_order_they_were_recorded_in(tmp_path):
    with open_store(tmp_path) as store:
        store.record_changes([change("A", P, F, T0), change("A", F, PA, T0)])
        assert [c.to_status for c in store.history("A")] == [F, PA]


def test_a_change_to_pass_sets_last_pass_and_times_only_move_forward(tmp_path):
    with open_store(tmp_path) as store:
        store.record_changes([change("A", None, P, T0)])
        assert store.load().last_pass == {"A": T0}
        store.record_changes([change("A", P, F, T0 + 60)], passed={"A": T0 + 30})
        assert store.load().last_pass == {"A": T0 + 30}
        store.record_changes(passed={"A": T0 + 10}, decisions_held={"go": T0})
        store.record_changes(decisions_held={"go": T0 - 5})
        state = store.load()
    assert state.last_pass == {"A": T0 + 30}
    assert state.decisions_held == {"go": T0}


def test_evidence_over_the_cap_is_replaced_by_a_note(tmp_path):
    with open_store(tmp_path) as store:
        store.record_changes([change("A", P, F, T0, output="x" * (EVIDENCE_CAP + 1), exit=1)])
        evidence = store.history("A")[0].evidence
    assert evidence["keys"] == ["exit", "output"]
    assert "over the store's 8 KiB limit" in evidence["truncated"]


# --- people's records ---


def acceptance(at, **kw):
    fields = {"mitigation": "WAF rule", "expires_at": at + 30 * DAY, **kw}
    return RiskAcceptance("S-011", "Ana", "ana", "high", "low", recorded_at=at, **fields)


def test_the_latest_record_of_each_kind_is_the_current_one(tmp_path):
    with open_store(tmp_path) as store:
        store.accept_risk(acceptance(T0, mitigation="first"))
        store.accept_risk(acceptance(T0 + 1, mitigation="second"))
        stamp = StateStamp.of(Decision.GO, Fraction(1), Fraction(1), {"A": P})
        store.sign(SignOff("CTO", "Carl", None, T0, stamp, "first"))
        store.sign(SignOff("CTO", "Carl", None, T0 + 1, stamp, "second"))
        store.sign(SignOff("Security Lead", "Ana", "ana", T0, stamp))
        store.record_decision(DecisionRecord(Decision.NO_GO, "Carl", None, T0, Decision.NO_GO))
        store.record_decision(
            DecisionRecord(Decision.GO, "Carl", None, T0 + 1, Decision.GO, T0 + DAY)
        )
        store.remediate(Remediation("S-011", "first", "Bob", None, T0))
        store.remediate(Remediation("S-011", "", "Bob", None, T0 + 1))
        state = store.load()
    assert state.acceptances["S-011"].mitigation == "second"
    assert state.signoffs["CTO"].notes == "second"
    assert set(state.signoffs) == {"CTO", "Security Lead"}
    assert state.decision is not None and state.decision.decision is Decision.GO
    assert state.remediations["S-011"].text == ""  # cleared, and the clearing is recorded


def test_revoking_a_signature_marks_the_latest_and_says_who(tmp_path):
    stamp = StateStamp.of(Decision.GO, Fraction(1), Fraction(1), {"A": P})
    with open_store(tmp_path) as store:
        assert store.revoke_signoff("CTO", "Carl", None, T0) is None  # nothing to revoke
        store.sign(SignOff("CTO", "Carl", None, T0, stamp, "first"))
        store.sign(SignOff("CTO", "Carl", None, T0 + 1, stamp, "second"))
        revoked = store.revoke_signoff("CTO", "Carl Chen", "carl", T0 + 2)
        assert revoked is not None and revoked.notes == "second"
        assert store.revoke_signoff("CTO", "Carl", None, T0 + 3) is None  # already revoked
        state = store.load()
        audit = [e for e in store.audit_log() if e.action == "revoke_signoff"]
    current = state.signoffs["CTO"]
    assert (current.notes, current.revoked_at, current.revoked_by, current.revoked_user) == (
        "second",
        T0 + 2,
        "Carl Chen",
        "carl",
    )
    assert [(e.subject, e.by, e.user) for e in audit] == [("CTO", "Carl Chen", "carl")]


def test_a_first_version_store_migrates_and_its_signatures_can_be_revoked(tmp_path):
    with open_store(tmp_path, migrations=MIGRATIONS[:1]) as store:
        populate(store)  # Security Lead signed
    with open_store(tmp_path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.load().signoffs["Security Lead"].revoked_at is None
        store.revoke_signoff("Security Lead", "Ana Lopez", None, T0 + DAY)
        assert store.load().signoffs["Security Lead"].revoked_by == "Ana Lopez"
    assert user_version(tmp_path / "readiness.db.v1.bak") == 1


def test_revoking_marks_the_current_acceptance_and_says_who(tmp_path):
    with open_store(tmp_path) as store:
        store.accept_risk(acceptance(T0))
        revoked = store.revoke_acceptance("S-011", "Bob", "bob", T0 + 5)
        assert revoked is not None and revoked.revoked_at == T0 + 5
        current = store.load().acceptances["S-011"]
        assert (current.revoked_at, current.revoked_by, current.revoked_user) == (
            T0 + 5,
            "Bob",
            "bob",
        )
        assert store.revoke_acceptance("S-011", "Bob", "bob", T0 + 6) is None  # already revoked
        assert store.revoke_acceptance("P-001", "Bob", "bob", T0 + 6) is None  # never accepted
        assert [e.action for e in store.audit_log()].count("revoke_risk") == 1


def test_an_attestation_is_stamped_with_the_time_the_store_recorded_it(tmp_path):
    with open_store(tmp_path, clock=lambda: T0 + 42) as store:
        recorded = store.record_attestation(Attestation("T-001", P, "Jane", T0))
        assert (recorded.recorded_at, recorded.source, recorded.id) == (T0 + 42, "store", 1)
        assert store.load().attestations["T-001"] == recorded


def test_every_write_is_audited_with_the_name_and_the_authenticated_user(tmp_path):
    with open_store(tmp_path) as store:
        populate(store)
        log = store.audit_log()
    assert [(e.action, e.subject, e.by, e.user) for e in log] == [
        ("migrate", DB_NAME, "readiness-exporter", None),
        ("open", DB_NAME, "readiness-exporter", None),
        ("status_changes", "S-011", "readiness-exporter", None),
        ("attest", "T-001", "Jane Doe", "jdoe"),
        ("accept_risk", "S-011", "Ana Lopez", "ana"),
        ("sign", "Security Lead", "Ana Lopez", "ana"),
        ("decide", "go_with_caution", "Carl CTO", None),
        ("remediate", "S-011", "Bob", "bob"),
        ("sign", "CTO", "Carl CTO", None),
        ("revoke_signoff", "CTO", "Carl CTO", "carl"),
    ]
    assert log[2].detail == {"changes": 2, "passed": 1, "decisions": 2}


def test_an_incomplete_record_is_refused_and_nothing_is_written(tmp_path):
    with open_store(tmp_path) as store:
        before = len(store.audit_log())
        with pytest.raises(RecordError, match="mitigation must not be empty"):
            store.accept_risk(acceptance(T0, mitigation=" "))
        with pytest.raises(RecordError, match="by must name a person"):
            store.remediate(Remediation("S-011", "ticket", "  ", None, T0))
        assert store.count("risk_acceptances") == store.count("remediations") == 0
        assert len(store.audit_log()) == before


def test_a_write_that_fails_half_way_leaves_nothing_of_it(tmp_path):
    with open_store(tmp_path) as store:
        before = len(store.audit_log())
        # The changes are inserted before the bad decision name is reached.
        with pytest.raises(ValueError, match="maybe"):
            store.record_changes([change("A", P, F, T0)], decisions_held={"maybe": T0})
        assert store.count("status_changes") == 0
        assert len(store.audit_log()) == before
        store.record_changes([change("A", P, F, T0)])  # and the store still works
        assert store.count("status_changes") == 1


def test_a_full_disk_is_an_error_that_loses_nothing_and_the_store_goes_on(tmp_path):
    with open_store(tmp_path) as store:
        store.record_changes([change("A", None, P, T0)])
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full now
        big = [change(f"X-{n}", P, F, T0, output="o" * 4000) for n in range(200)]
        with pytest.raises(StoreError) as err:
            store.record_changes(big)
        assert "could not record status changes: database or disk is full" in str(err.value)
        assert "Nothing of it was recorded" in str(err.value)
        assert store.count("status_changes") == 1
        store._conn.execute("PRAGMA max_page_count = 1073741823")  # space again
        store.record_changes(big)
        assert store.count("status_changes") == 201


def test_statuses_given_as_text_are_read_as_statuses(tmp_path):
    with open_store(tmp_path) as store:
        store.record_changes([StatusChange("A", "fail", "pass", "ok", T0)])
        assert store.load().last_pass == {"A": T0}
        assert store.history("A")[0].from_status is F


def test_data_version_moves_when_another_connection_writes(tmp_path):
    with open_store(tmp_path) as daemon, open_store(tmp_path) as command:
        seen = daemon.data_version()
        assert daemon.data_version() == seen
        command.remediate(Remediation("S-011", "ticket", "Bob", None, T0))
        assert daemon.data_version() != seen


def test_people_are_the_latest_records_the_start_reads_too(tmp_path):
    with open_store(tmp_path) as store:
        populate(store)
        state = store.load()
        people = store.people()
    assert people == state.people
    assert people.signoff("security  lead") == state.signoffs["Security Lead"]
    assert people.signoff("Product Lead") is None
    revoked = people.signoff("CTO")  # revoked signatures are read, and say so
    assert revoked is not None and revoked.revoked_by == "Carl CTO"


def test_the_latest_status_of_each_item_is_the_exporter_s_last_view(tmp_path):
    with open_store(tmp_path) as store:
        populate(store)
        latest = store.latest_statuses(["S-011", "S-001"])
    assert list(latest) == ["S-011"]  # S-001 was never recorded
    assert (latest["S-011"].to_status, latest["S-011"].at) == (F, T0 - DAY)


# --- retention ---


def test_retention_drops_old_records_but_keeps_the_latest_of_each_kind(tmp_path):
    year = 365 * DAY
    with open_store(tmp_path, retention=400 * DAY) as store:
        store.record_changes(
            [
                change("A", P, F, T0 - 2 * year),
                change("A", F, P, T0 - 2 * year + 1),
                change("B", P, F, T0 - 2 * year),
                change("B", F, P, T0 - 1),
            ]
        )
        store.accept_risk(acceptance(T0 - 2 * year, mitigation="old"))
        store.accept_risk(acceptance(T0 - 2 * year + 1, mitigation="newer, still old"))
        stamp = StateStamp.of(Decision.GO, Fraction(1), Fraction(1), {})
        store.sign(SignOff("CTO", "Carl", None, T0 - 2 * year, stamp, "old"))
        store.sign(SignOff("CTO", "Carl", None, T0 - 2 * year + 1, stamp, "newest"))
        for n in range(3):
            store.record_decision(
                DecisionRecord(Decision.NO_GO, "Carl", None, T0 - 2 * year + n, Decision.NO_GO)
            )
        dropped = store.apply_retention(now=T0)
        state = store.load()
        assert dropped == {
            "status_changes": 2,
            "risk_acceptances": 1,
            "signoffs": 1,
            "decisions": 2,
        }
        assert [c.at for c in state.history["A"]] == [T0 - 2 * year + 1]  # the latest, though old
        assert [c.at for c in state.history["B"]] == [T0 - 1]
        assert state.acceptances["S-011"].mitigation == "newer, still old"
        assert state.signoffs["CTO"].notes == "newest"
        assert state.decision is not None and state.decision.at == T0 - 2 * year + 2
        assert store.audit_log()[-1].action == "retention"
        assert store.audit_log()[-1].detail["dropped"] == dropped
        assert store.apply_retention(now=T0) == {}  # nothing more to do, nothing written


def test_an_opening_that_leaves_the_retention_to_the_exporter_drops_nothing(tmp_path):
    with open_store(tmp_path, clock=lambda: T0 - 500 * DAY) as store:
        store.remediate(Remediation("S-011", "ticket", "Bob", None, T0 - 500 * DAY))
    with open_store(tmp_path, clock=lambda: T0, clean=False) as store:  # the command line's
        assert [e.action for e in store.audit_log()][-3:] == ["open", "remediate", "open"]


def test_the_audit_log_keeps_nothing_older_than_the_retention(tmp_path):
    with open_store(tmp_path, clock=lambda: T0 - 500 * DAY) as store:
        store.remediate(Remediation("S-011", "ticket", "Bob", None, T0 - 500 * DAY))
    with open_store(tmp_path, clock=lambda: T0) as store:  # opening applies the retention
        actions = [e.action for e in store.audit_log()]
        assert actions == ["open", "retention"]
        assert store.load().remediations["S-011"].text == "ticket"  # the record itself stays


# --- damage ---


def store_file(tmp_path: Path) -> Path:
    with open_store(tmp_path) as store:
        populate(store)
        store.record_changes(
            [change(f"X-{n:03}", P, F, T0 + n, evidence="e" * 500) for n in range(400)]
        )
    return tmp_path / DB_NAME


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / DB_NAME
    garbage = os.urandom(8192)
    path.write_bytes(garbage)
    with pytest.raises(StoreCorrupt) as err:
        open_store(tmp_path)
    message = str(err.value)
    assert str(path) in message
    assert "is damaged (file is not a database (SQLITE_NOTADB))" in message
    assert "move readiness.db and its -wal and -shm files aside" in message
    assert path.read_bytes() == garbage


def test_a_truncated_store_is_refused_and_left_as_it_was(tmp_path):
    path = store_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreCorrupt, match=r"readiness\.db is damaged") as err:
        open_store(tmp_path)
    assert "restore a readiness.db.v<N>.bak" in str(err.value)
    assert path.read_bytes() == data[: len(data) // 2]


def test_a_store_truncated_to_nothing_is_refused_not_started_afresh(tmp_path):
    path = store_file(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(StoreCorrupt, match="the file is empty: it was truncated"):
        open_store(tmp_path)
    assert path.stat().st_size == 0


def test_a_damaged_page_is_found_by_the_check_at_open(tmp_path):
    path = store_file(tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096  # page 2 is the root of status_changes, the first table created
    data[page : 2 * page] = os.urandom(page)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match="is damaged"):
        open_store(tmp_path)


def test_a_folder_in_place_of_the_file_is_an_error(tmp_path):
    (tmp_path / DB_NAME).mkdir()
    with pytest.raises(StoreError, match="is not a file"):
        open_store(tmp_path)


# The tests run as root, which writes anywhere: the opening process runs without the two
# capabilities that let it (util-linux's setpriv), so modes refuse it as they would a user.
WITHOUT_OVERRIDE = (
    [
        "setpriv",
        "--bounding-set",
        "-dac_override,-dac_read_search",
        "--inh-caps",
        "-dac_override,-dac_read_search",
    ]
    if os.geteuid() == 0
    else []
)
OPEN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from exporter.store import Store, StoreError
    try:
        Store.open(Path(sys.argv[1])).close()
    except StoreError as exc:
        print(type(exc).__name__, exc)
        sys.exit(1)
    print("opened")
    """
)


def open_in_child(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WITHOUT_OVERRIDE, sys.executable, "-c", OPEN, str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_a_store_folder_that_cannot_be_created_is_an_error_naming_it(tmp_path):
    tmp_path.joinpath("ro").mkdir(mode=0o555)
    run = open_in_child(tmp_path / "ro" / "data")
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"StoreUnwritable cannot create the store folder {tmp_path}/ro/data" in run.stdout
    assert "set --storage.path to a writable folder" in run.stdout


def test_a_new_store_in_a_read_only_folder_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o555)
    run = open_in_child(folder)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"cannot create the store {folder}/readiness.db: Permission denied" in run.stdout


def test_an_existing_store_in_a_read_only_folder_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "data"
    store_file(folder)
    folder.chmod(0o555)
    run = open_in_child(folder)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"StoreUnwritable cannot write the store {folder}/readiness.db" in run.stdout
    assert "create readiness.db-wal and readiness.db-shm beside it" in run.stdout


def test_a_read_only_store_file_is_an_error_at_open_not_at_the_first_write(tmp_path):
    path = store_file(tmp_path / "data")
    path.chmod(0o400)
    run = open_in_child(tmp_path / "data")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "StoreUnwritable cannot write the store" in run.stdout
    assert "readonly" in run.stdout


def test_the_child_opens_a_writable_store(tmp_path):
    """The check of the tests above: the same child does open a store it may write."""
    run = open_in_child(tmp_path / "data")
    assert (run.returncode, run.stdout.strip()) == (0, "opened"), run.stderr


# --- upgrades ---

V2 = Migration(
    2, "remediations get a ticket column", ("ALTER TABLE remediations ADD COLUMN ticket",)
)


def columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_migration_backs_the_store_up_first_then_migrates_forward(tmp_path):
    with open_store(tmp_path, migrations=(MIGRATIONS[0],)) as store:
        populate(store)
    with open_store(tmp_path, migrations=(MIGRATIONS[0], V2)) as store:
        assert store.schema_version == 2
        assert store.load().remediations["S-011"].text == "https://tracker.example/SEC-12"
        migrate = [e for e in store.audit_log() if e.action == "migrate"][-1]
    backup = tmp_path / "readiness.db.v1.bak"
    assert migrate.detail["backup"] == backup.name
    assert (migrate.detail["from"], migrate.detail["to"]) == (1, 2)
    assert "ticket" in columns(tmp_path / DB_NAME, "remediations")
    assert user_version(backup) == 1
    assert "ticket" not in columns(backup, "remediations")
    (tmp_path / "restored").mkdir()
    shutil.copy(backup, tmp_path / "restored" / DB_NAME)  # a backup is a store that opens
    with open_store(tmp_path / "restored", migrations=(MIGRATIONS[0],)) as restored:
        assert restored.load().acceptances["S-011"].by == "Ana Lopez"


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path):
    with open_store(tmp_path, migrations=(MIGRATIONS[0],)) as store:
        populate(store)
    broken = Migration(
        2, "broken", ("ALTER TABLE remediations ADD COLUMN ticket", "CREATE nonsense")
    )
    with pytest.raises(StoreError, match="migrating the store to schema 2 failed") as err:
        open_store(tmp_path, migrations=(MIGRATIONS[0], broken))
    assert "the store is unchanged" in str(err.value)
    assert user_version(tmp_path / DB_NAME) == 1
    assert "ticket" not in columns(tmp_path / DB_NAME, "remediations")
    with open_store(tmp_path, migrations=(MIGRATIONS[0],)) as store:
        assert store.load().remediations["S-011"].by == "Bob"


def test_a_store_from_a_newer_version_is_refused_not_downgraded(tmp_path):
    open_store(tmp_path, migrations=(MIGRATIONS[0], V2)).close()
    with pytest.raises(StoreTooNew, match="has schema version 2, written by a newer") as err:
        open_store(tmp_path, migrations=(MIGRATIONS[0],))
    assert "restore readiness.db.v1.bak" in str(err.value)
    assert user_version(tmp_path / DB_NAME) == 2


def test_a_store_written_by_schema_1_opens_with_everything_in_it(tmp_path):
    """The committed dump of a schema-1 store (support/store_records.py): every later schema
    must open it, migrating forward, with each record intact."""
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript((FIXTURES / "store-v1.sql").read_text())
    conn.close()
    assert user_version(tmp_path / DB_NAME) == 1
    with open_store(tmp_path) as store:
        assert store.schema_version == len(MIGRATIONS)
        state = store.load()
    assert [c.summary for c in state.history["S-011"]] == [
        "TLS 1.2 only",
        "TLS 1.0 accepted, expected at least 1.2",
    ]
    assert state.last_pass == {"S-011": T0 - DAY - 60}
    assert state.attestations["T-001"].expires_at == T0 + 88 * DAY
    assert state.acceptances["S-011"].notes == "until the load balancer upgrade"
    assert state.signoffs["Security Lead"].stamp.gaps == frozenset({"S-011"})
    assert state.signoffs["Security Lead"].stamp.total == Fraction(2, 3)
    assert state.decision is not None and state.decision.launch_at == T0 + 7 * DAY
    assert state.remediations["S-011"].user == "bob"


def test_a_store_written_by_schema_2_opens_with_its_revoked_signature(tmp_path):
    """The committed dump of a schema-2 store: a revoked signature stays revoked."""
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript((FIXTURES / "store-v2.sql").read_text())
    conn.close()
    assert user_version(tmp_path / DB_NAME) == 2
    with open_store(tmp_path) as store:
        state = store.load()
    cto = state.signoffs["CTO"]
    assert (cto.revoked_at, cto.revoked_by, cto.revoked_user) == (T0 + 60, "Carl CTO", "carl")
    assert state.signoffs["Security Lead"].revoked_at is None


# --- two processes, and a process killed mid-write ---

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from exporter.launch import Attestation
    from exporter.store import Store
    from probes.result import Status
    store = Store.open(Path(sys.argv[1]))
    name, count = sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(count):
        store.record_attestation(Attestation(f"T-{n:03}", Status.PASS, name, 1.796e9 + n))
    print("done", flush=True)
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    count = 150
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for name in ("Writer One", "Writer Two")
    ]
    try:
        for w in writers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in writers:  # both start writing as soon as they read the line
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [w.communicate(timeout=300) for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (out, err) in zip(writers, results, strict=True):
        assert (w.returncode, out.strip()) == (0, "done"), err
    with open_store(tmp_path) as store:
        assert store.count("attestations") == 2 * count
        attests = [e for e in store.audit_log(10_000) if e.action == "attest"]
        assert sorted(e.by for e in attests) == ["Writer One"] * count + ["Writer Two"] * count
        assert len([e for e in store.audit_log(10_000) if e.action == "migrate"]) == 1


KILLED_IN_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from exporter.store import StatusChange, Store
    from probes.result import Status
    store = Store.open(Path(sys.argv[1]))
    size, t0 = int(sys.argv[2]), float(sys.argv[3])
    batch, told = 0, 0

    def trace(sql):
        # Says when the store's connection runs the batch's first INSERT: the parent kills then.
        global told
        if sql.startswith("INSERT INTO status_changes") and told < batch:
            told = batch
            print("inserting", batch, flush=True)

    store._conn.set_trace_callback(trace)
    while True:
        batch += 1
        store.record_changes([
            StatusChange(f"X-{n:04}", Status.PASS, Status.FAIL, f"batch {batch}", t0 + batch,
                         {"output": "o" * 200})
            for n in range(size)
        ])
        print("committed", batch, flush=True)
    """
)


def test_a_process_killed_during_a_write_loop_leaves_every_committed_batch_whole(tmp_path):
    size = 5000
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IN_LOOP, str(tmp_path), str(size), str(T0)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    committed = 0
    try:
        while True:
            line = child.stdout.readline().split()
            assert line, child.stderr.read() if child.stderr else ""
            if line[0] == "committed":
                committed = int(line[1])
            elif committed >= 3:
                break  # the child is inserting a batch of 5,000 rows: kill it now
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    tail = child.stdout.read().split()
    committed = max(
        [
            committed,
            *(int(n) for w, n in zip(tail[::2], tail[1::2], strict=True) if w == "committed"),
        ]
    )
    with open_store(tmp_path) as store:  # runs quick_check: the file is intact
        rows = store.count("status_changes")
        batches = [e for e in store.audit_log(1000) if e.action == "status_changes"]
        per_batch = store._conn.execute(
            "SELECT summary, count(*) FROM status_changes GROUP BY summary"
        ).fetchall()
    assert {n for _, n in per_batch} == {size}  # each batch whole, none in part
    # Every batch it reported committed is there; the one it was writing may be too (killed
    # after the commit, before it could say so).
    assert committed <= rows // size <= committed + 1
    assert len(batches) == rows // size


KILLED_IN_TRANSACTION = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from exporter.store import StatusChange, Store
    from probes.result import Status
    store = Store.open(Path(sys.argv[1]))
    store.record_changes([StatusChange("A", None, Status.PASS, "committed", 1.796e9)])
    print("committed", flush=True)
    with store._transaction() as conn:  # the store's own write path, held open
        conn.executemany(
            "INSERT INTO status_changes (item, from_status, to_status, summary, evidence, at) "
            "VALUES ('B', 'pass', 'fail', 'uncommitted', ?, 1.796e9)",
            [("x" * 1000,) for _ in range(20000)],
        )
        print("inside", flush=True)
        sys.stdin.readline()
    """
)


def test_a_process_killed_inside_a_transaction_loses_only_that_transaction(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IN_TRANSACTION, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "committed"
        wal = tmp_path / f"{DB_NAME}-wal"
        committed_wal = wal.stat().st_size
        assert child.stdout.readline().strip() == "inside"
        # 20 MB of rows overflow SQLite's page cache: they are in the WAL, uncommitted.
        assert wal.stat().st_size > committed_wal + 5_000_000
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    with open_store(tmp_path) as store:
        assert [c.summary for c in store.load().history["A"]] == ["committed"]
        assert store.history("B") == []
        store.record_changes([change("B", P, F, T0)])  # and it takes writes again
        assert len(store.history("B")) == 1


OPENER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from exporter.store import Store
    sys.stdin.readline()
    Store.open(Path(sys.argv[1])).close()
    print("opened", flush=True)
    """
)


def test_two_processes_creating_the_store_at_once_both_open_it(tmp_path):
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(tmp_path / "data")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(3)
    ]
    results = [o.communicate("go\n", timeout=120) for o in openers]
    for o, (out, err) in zip(openers, results, strict=True):
        assert (o.returncode, out.strip()) == (0, "opened"), err
    with open_store(tmp_path / "data") as store:
        actions = [e.action for e in store.audit_log()]
    assert actions.count("migrate") == 1
    assert actions.count("open") == 4


# --- the daemon's side: one thread, the loop never waits ---


def test_the_worker_runs_calls_in_order_on_one_thread(tmp_path):
    worker = StoreWorker(open_store(tmp_path))
    threads = set()

    def record(n):
        def call(store):
            threads.add(threading.get_ident())
            store.record_changes([change("A", P, F, T0 + n, summary=str(n))])
            return n

        return call

    futures = [worker.submit(record(n)) for n in range(20)]
    assert [f.result(timeout=60) for f in futures] == list(range(20))
    history = worker.submit(lambda s: s.history("A", 100)).result(timeout=60)
    assert [c.summary for c in history] == [str(n) for n in range(20)]
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert worker.close(timeout=60)


def test_the_worker_hands_errors_to_the_caller_and_keeps_going(tmp_path):
    worker = StoreWorker(open_store(tmp_path))
    bad = worker.submit(lambda s: s.accept_risk(acceptance(T0, mitigation="")))
    with pytest.raises(RecordError):
        bad.result(timeout=60)
    assert worker.submit(lambda s: s.count("risk_acceptances")).result(timeout=60) == 0
    worker.close(timeout=60)


def test_closing_the_worker_finishes_queued_writes_first(tmp_path):
    worker = StoreWorker(open_store(tmp_path))
    for n in range(50):
        worker.submit(lambda s, n=n: s.record_changes([change("A", P, F, T0 + n)]))
    assert worker.close(timeout=120)
    with pytest.raises(StoreError, match="the store is closed"):
        worker.submit(lambda s: s.count("audit"))
    with open_store(tmp_path) as store:
        assert store.count("status_changes") == 50


async def test_a_write_waiting_for_another_process_does_not_block_the_event_loop(tmp_path):
    worker = StoreWorker(open_store(tmp_path))
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        write = asyncio.ensure_future(
            worker.call(lambda s: s.record_changes([change("A", P, F, T0)]))
        )
        ticks = 0
        while ticks < 200:  # the loop keeps turning while the write waits for the lock
            await asyncio.sleep(0)
            ticks += 1
        assert not write.done()
        assert worker.pending == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    await write
    assert worker.pending == 0
    assert await worker.call(lambda s: len(s.history("A"))) == 1
    worker.close(timeout=60)


# --- probes never open the store ---

PROBED_BESIDE_THE_STORE = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    sys.path.insert(0, "tests")
    from support.probing import run
    from exporter.store import Store
    folder = Path(sys.argv[1])
    store = Store.open(folder / "data")
    db = "data/readiness.db"
    probes = {
        "secrets": {"secrets": {"path": ".", "files": "all"}},
        "file": {"file": {"path": db, "content_regex": "SQLite"}},
        "report": {"report": {"path": db + "-wal", "format": "junit"}},
    }
    results = {n: asyncio.run(run(p, folder)) for n, p in probes.items()}
    print(json.dumps({n: [r.status.value, r.error, r.summary] for n, r in results.items()}),
          flush=True)
    end, writes = time.monotonic() + 2, 0
    while time.monotonic() < end:
        store._write_audit_open()
        writes += 1
    print(writes, flush=True)
    """
)


def test_no_probe_opens_the_store_so_no_other_process_can_pull_it_from_under_the_exporter(
    tmp_path,
):
    # fcntl locks belong to the process: had a probe opened and closed a store file, the
    # exporter's SQLite locks would be gone, the next process to open the store would take
    # itself for the first, truncate the -shm file the exporter has mapped, and the exporter
    # would die of SIGBUS (seen in CI: a secrets scan of the config folder).
    (tmp_path / "settings.py").write_text("DEBUG = False\n")
    child = subprocess.Popen(
        [sys.executable, "-c", PROBED_BESIDE_THE_STORE, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        line = next(x for x in child.stdout if x.startswith("{"))  # the engine logs too
        opened = 0
        while child.poll() is None:  # open and close the store while the child writes
            with sqlite3.connect(tmp_path / "data" / DB_NAME, timeout=10) as conn:
                conn.execute("SELECT count(*) FROM audit").fetchall()
            conn.close()
            opened += 1
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, (child.returncode, err[-2000:])  # -7: SIGBUS
    assert opened > 0 and int(out.splitlines()[-1]) > 0
    import json

    results = json.loads(line)
    status, error, summary = results["secrets"]
    assert (status, error) == ("pass", False), summary
    assert "1 file" in summary, summary  # settings.py only: the store is excluded
    for name in ("file", "report"):
        status, error, summary = results[name]
        assert error and "the exporter's own store" in summary, (name, results[name])
