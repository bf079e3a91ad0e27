"""Durable state the exporter owns: one SQLite file that survives restarts, upgrades and crashes.

It keeps what the exporter cannot probe again: every status change, the last time each item
was PASS and each decision held (for ``readiness_item_last_pass_timestamp_seconds`` and
``readiness_decision_last_timestamp_seconds``), and what people record: attestations, risk
acceptances, sign-offs bound to a state, Go/No-Go decisions, remediation plans. Every write is
one transaction with its audit row.

- **Where.** ``<storage path>/readiness.db`` (the folder is created; default ``data/`` beside
  the config, see ``default_storage_path``), with SQLite's ``-wal`` and ``-shm`` files beside it.
- **Crashes and concurrent writers.** WAL journal, ``synchronous=FULL`` (a committed write is on
  disk before the call returns), ``BEGIN IMMEDIATE`` for every write so two processes queue on
  the write lock (``busy_timeout``) instead of failing half way. A process killed mid-write
  leaves an uncommitted tail in the WAL that SQLite discards when the store is next opened.
- **Upgrades.** The schema version is ``PRAGMA user_version``; ``open`` migrates forward in one
  transaction, after copying the store with SQLite's online backup API to
  ``readiness.db.v<N>.bak``. A store written by a newer version is refused, never downgraded.
- **Damage.** ``open`` runs ``PRAGMA quick_check`` and proves the file writable; a corrupt,
  unreadable or unwritable store is a ``StoreError`` that names the file and what to do.
- **Size.** Records older than the retention (default 400 days) are dropped at ``open`` and by
  ``apply_retention`` (the daemon calls it daily), except the latest of each kind per item or
  role; the latest decision is always kept.
- **Threads.** A ``Store`` is used by one thread at a time. The daemon hands it to a
  ``StoreWorker``: one thread that owns the connection and runs calls in order, so the event loop
  never waits on the disk (see ``StoreWorker`` for why not ``asyncio.to_thread``).

Evidence is stored as the caller gives it: the daemon must pass evidence already masked
(exporter/redact.py), the same the board shows. Larger evidence than ``EVIDENCE_CAP`` is
replaced by a note saying so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from probes import reading
from probes.result import Status

from . import __version__
from .errors import UserError
from .launch import (
    DAY,
    Attestation,
    DecisionRecord,
    People,
    Remediation,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from .scoring import Decision

DB_NAME = "readiness.db"
DEFAULT_RETENTION = 400 * DAY
BUSY_TIMEOUT = 10.0  # seconds a write waits for another process's write to finish
EVIDENCE_CAP = 8 * 1024  # bytes of JSON per status change; probe evidence can hold 64 KiB output
HISTORY = 50  # status changes per item loaded at start (the item page shows these)
SYSTEM = "readiness-exporter"  # the audit's name for writes the exporter makes itself

T = TypeVar("T")


class StoreError(UserError):
    """Raised when the store cannot be opened or written; the message names the file and what
    to do about it."""


class StoreCorrupt(StoreError):
    """Raised at open when the file is not a database or fails SQLite's integrity check."""


class StoreUnwritable(StoreError):
    """Raised at open when the folder or the file cannot be created or written."""


class StoreTooNew(StoreError):
    """Raised at open when the store was written by a newer readiness-exporter."""


# --- Schema ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """One step of the schema: the statements that take version ``version - 1`` to ``version``.

    A migration that needs Python (moving data) sets ``apply``; it runs after the statements, in
    the same transaction.
    """

    version: int
    summary: str
    statements: tuple[str, ...] = ()
    apply: Callable[[sqlite3.Connection], None] | None = None


# Times are Unix seconds (REAL), statuses and decisions their enum values, scores exact
# fractions as text ("19/20"), evidence and lists JSON. "by_name" is the name a person gave,
# "by_user" the authenticated user who sent it (NULL from the command line or a file).
V1 = Migration(
    1,
    "status changes, last PASS and decision times, people's records, audit log",
    (
        """CREATE TABLE status_changes (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            summary TEXT NOT NULL,
            evidence TEXT NOT NULL,
            at REAL NOT NULL)""",
        "CREATE INDEX status_changes_by_item ON status_changes (item, at)",
        "CREATE TABLE item_last_pass (item TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID",
        """CREATE TABLE decision_last_held (
            decision TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE attestations (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            status TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            evidence TEXT NOT NULL,
            notes TEXT NOT NULL,
            signed_at REAL NOT NULL,
            expires_at REAL,
            recorded_at REAL NOT NULL)""",
        "CREATE INDEX attestations_by_item ON attestations (item, recorded_at)",
        """CREATE TABLE risk_acceptances (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            impact TEXT NOT NULL,
            probability TEXT NOT NULL,
            mitigation TEXT NOT NULL,
            notes TEXT NOT NULL,
            expires_at REAL NOT NULL,
            recorded_at REAL NOT NULL,
            revoked_at REAL,
            revoked_by_name TEXT,
            revoked_by_user TEXT)""",
        "CREATE INDEX risk_acceptances_by_item ON risk_acceptances (item, recorded_at)",
        """CREATE TABLE signoffs (
            id INTEGER PRIMARY KEY,
            role TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            notes TEXT NOT NULL,
            at REAL NOT NULL,
            decision TEXT NOT NULL,
            total_score TEXT,
            critical_score TEXT,
            digest TEXT NOT NULL,
            gaps TEXT NOT NULL)""",
        "CREATE INDEX signoffs_by_role ON signoffs (role, at)",
        """CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            decision TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            at REAL NOT NULL,
            computed TEXT NOT NULL,
            launch_at REAL,
            notes TEXT NOT NULL)""",
        """CREATE TABLE remediations (
            id INTEGER PRIMARY KEY,
            item TEXT NOT NULL,
            text TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            at REAL NOT NULL)""",
        "CREATE INDEX remediations_by_item ON remediations (item, at)",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            by_name TEXT NOT NULL,
            by_user TEXT,
            detail TEXT NOT NULL)""",
        "CREATE INDEX audit_by_time ON audit (at)",
    ),
)
# A signer withdraws a signature (``revoke-signoff``): it stops counting at once, and the
# Sign-Off Sheet's item (F-006..F-009) says who revoked it and when.
V2 = Migration(
    2,
    "a signature can be revoked",
    (
        "ALTER TABLE signoffs ADD COLUMN revoked_at REAL",
        "ALTER TABLE signoffs ADD COLUMN revoked_by_name TEXT",
        "ALTER TABLE signoffs ADD COLUMN revoked_by_user TEXT",
    ),
)
MIGRATIONS: tuple[Migration, ...] = (V1, V2)
SCHEMA_VERSION = len(MIGRATIONS)

# Retention keeps the newest record of each kind per key: (table, key column, time column).
KEEP_LATEST = (
    ("status_changes", "item", "at"),
    ("attestations", "item", "recorded_at"),
    ("risk_acceptances", "item", "recorded_at"),
    ("signoffs", "role", "at"),
    ("remediations", "item", "at"),
    ("decisions", None, "at"),
    ("audit", None, None),  # the audit log keeps nothing older than the retention
)


# --- Records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """An item entering a status: ``from_status`` is None for the first status the store saw."""

    item: str
    from_status: Status | None
    to_status: Status
    summary: str
    at: float
    evidence: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "to_status", Status(self.to_status))
        if self.from_status is not None:
            object.__setattr__(self, "from_status", Status(self.from_status))


@dataclass(frozen=True)
class AuditEntry:
    at: float
    action: str
    subject: str
    by: str
    user: str | None
    detail: Mapping[str, Any]
    id: int


@dataclass(frozen=True)
class StartState:
    """Everything the exporter reads from the store at start, read in one transaction."""

    history: Mapping[str, tuple[StatusChange, ...]]  # per item, oldest first
    last_pass: Mapping[str, float]  # item -> when it was last known PASS
    decisions_held: Mapping[str, float]  # decision value -> when it last held
    attestations: Mapping[str, Attestation]  # item -> latest recorded in the store
    acceptances: Mapping[str, RiskAcceptance]  # item -> latest (revoked ones included)
    signoffs: Mapping[str, SignOff]  # role as recorded -> latest
    decision: DecisionRecord | None  # the latest recorded decision
    remediations: Mapping[str, Remediation]  # item -> latest (empty text: cleared)

    @property
    def people(self) -> People:
        """What people recorded, as the rest of the exporter reads it."""
        return People(
            self.attestations, self.acceptances, self.signoffs, self.decision, self.remediations
        )


def default_storage_path(config_file: Path) -> Path:
    """Where the store lives unless ``--storage.path`` says otherwise: ``data/`` beside the
    config."""
    return config_file.resolve().parent / "data"


# --- The store ------------------------------------------------------------------------------


def _fraction(value: Fraction | None) -> str | None:
    return None if value is None else str(value)


def _unfraction(text: str | None) -> Fraction | None:
    return None if text is None else Fraction(text)


def _evidence_json(evidence: Mapping[str, Any]) -> str:
    text = json.dumps(evidence, ensure_ascii=False, sort_keys=True, default=str)
    if len(text.encode("utf-8")) <= EVIDENCE_CAP:
        return text
    return json.dumps(
        {
            "truncated": f"evidence of {len(text.encode('utf-8'))} bytes was over the store's "
            f"{EVIDENCE_CAP // 1024} KiB limit",
            "keys": sorted(str(k) for k in evidence)[:50],
        },
        ensure_ascii=False,
    )


def _describe(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({name})" if name else str(exc)


class Store:
    """The exporter's SQLite store. Use ``Store.open``; one thread at a time."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, retention: float, clock: Callable[[], float]
    ) -> None:
        self._conn = conn
        self.path = path
        self.retention = retention
        self._clock = clock

    # -- opening --

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        retention: float = DEFAULT_RETENTION,
        migrations: Sequence[Migration] = MIGRATIONS,
        clock: Callable[[], float] = time.time,
        check: bool = True,
        clean: bool = True,
    ) -> Store:
        """Open (or create) the store in ``directory``: check it, migrate it, apply retention.

        ``check=False`` skips ``quick_check`` (which reads the whole file; docs/process.md
        times it on a year of changes), for a second opening in a process that has just checked it.
        ``clean=False`` leaves the retention to the exporter (the command line opens the store
        with its own defaults, which must not drop what the exporter's setting keeps).
        Raises StoreError (StoreCorrupt, StoreUnwritable, StoreTooNew) with what to do.
        """
        path = Path(directory) / DB_NAME
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnwritable(
                f"cannot create the store folder {directory}: {exc.strerror}. Create it, "
                "writable by the exporter's user, or set --storage.path to a writable folder"
            ) from None
        if not path.exists():
            _create(path)
        elif not path.is_file():
            raise StoreError(f"{path} is not a file: move it away or set another --storage.path")
        elif path.stat().st_size == 0:
            raise _corrupt(path, "the file is empty: it was truncated")
        try:
            # The worker thread takes the connection over after open (see StoreWorker).
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _unwritable(path, exc) from None
        store = cls(conn, path, retention, clock)
        try:
            store._prepare(check)
            store._migrate(migrations)
            store._write_audit_open()
            if clean:
                store.apply_retention()
        except BaseException:
            conn.close()
            raise
        # The -wal and -shm files exist now (the open was a write) and stay while it is open.
        reading.keep_out(store.files)
        return store

    def _prepare(self, check: bool) -> None:
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous=FULL")
            problems = (
                [row[0] for row in self._conn.execute("PRAGMA quick_check")] if check else ["ok"]
            )
        except sqlite3.DatabaseError as exc:
            raise _classify(self.path, exc) from None
        if problems != ["ok"]:
            raise _corrupt(self.path, "; ".join(problems[:3]))
        if str(mode).lower() != "wal":
            raise StoreError(
                f"{self.path}: SQLite could not use its WAL journal here (journal mode {mode}): "
                "put --storage.path on a local filesystem"
            )

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        target = len(migrations)
        try:
            found = self._user_version()
            if found > target:
                raise _too_new(self.path, found, target)
            if found == target:
                return
            with self._transaction():
                # Another process may have migrated while we waited for the write lock.
                found = self._user_version()
                if found > target:
                    raise _too_new(self.path, found, target)
                if found == target:
                    return
                backup = self._backup(found) if found > 0 else None
                for migration in migrations[found:]:
                    for statement in migration.statements:
                        self._conn.execute(statement)
                    if migration.apply is not None:
                        migration.apply(self._conn)
                    self._conn.execute(f"PRAGMA user_version = {int(migration.version)}")
                self._audit(
                    "migrate",
                    DB_NAME,
                    SYSTEM,
                    None,
                    {
                        "from": found,
                        "to": target,
                        "backup": backup.name if backup else None,
                        "steps": [m.summary for m in migrations[found:]],
                        "version": __version__,
                    },
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: migrating the store to schema {target} failed ({_describe(exc)}); "
                "the store is unchanged. Report this with the file, or restore a .bak beside it"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"{self.path}: could not write the backup made before migrating to schema "
                f"{target} ({exc.strerror}); the store is unchanged. Free space in "
                f"{self.path.parent} or make it writable, then start again"
            ) from None

    def _backup(self, version: int) -> Path:
        """Copy the store as it is (we hold the write lock) to ``readiness.db.v<N>.bak``."""
        dest = self.path.with_name(f"{self.path.name}.v{version}.bak")
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.unlink(missing_ok=True)
        # Owner-only, as the store: the backup holds the same names and evidence.
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        # A second connection reads the last committed state while this one holds the write
        # lock: SQLite's backup from a connection inside its own write transaction waits forever.
        source = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        return dest

    def _write_audit_open(self) -> None:
        """Record the start: proves the store writable now, not at the first status change."""
        try:
            with self._transaction():
                self._audit(
                    "open",
                    DB_NAME,
                    SYSTEM,
                    None,
                    {"version": __version__, "schema": self._user_version(), "pid": os.getpid()},
                )
        except sqlite3.Error as exc:
            raise _classify(self.path, exc) from None

    def _user_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @property
    def schema_version(self) -> int:
        return self._user_version()

    @property
    def files(self) -> tuple[Path, ...]:
        """The database and SQLite's -wal and -shm files beside it."""
        return (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))

    def close(self) -> None:
        reading.let_in(self.files)
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and audit --

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: taken with the write lock (BEGIN IMMEDIATE), all or nothing."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")  # may fail too (a full disk): then roll back as well
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _audit(
        self, action: str, subject: str, by: str, user: str | None, detail: Mapping[str, Any]
    ) -> None:
        self._conn.execute(
            "INSERT INTO audit (at, action, subject, by_name, by_user, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self._clock(), action, subject, by, user, json.dumps(detail, ensure_ascii=False)),
        )

    def _write(self, action: str, body: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._transaction() as conn:
                return body(conn)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: could not record {action}: {_describe(exc)}. Nothing of it was "
                "recorded; check the disk and the folder's permissions"
            ) from None

    # -- writes: what the exporter observes --

    def record_changes(
        self,
        changes: Sequence[StatusChange] = (),
        passed: Mapping[str, float] | None = None,
        decisions_held: Mapping[str, float] | None = None,
    ) -> None:
        """Record status changes and when items were last seen PASS and decisions last held.

        A change to PASS sets the item's last PASS time to the change's time; ``passed`` gives
        later sightings (an item leaving PASS was last PASS at its previous run; items still
        PASS at shutdown). Times only move forward.
        """
        passed = dict(passed or {})
        for change in changes:
            if change.to_status is Status.PASS:
                passed[change.item] = max(passed.get(change.item, change.at), change.at)
        held = dict(decisions_held or {})
        if not (changes or passed or held):
            return

        def body(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO status_changes (item, from_status, to_status, summary, evidence, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.item,
                        None if c.from_status is None else c.from_status.value,
                        c.to_status.value,
                        c.summary,
                        _evidence_json(c.evidence),
                        c.at,
                    )
                    for c in changes
                ],
            )
            conn.executemany(
                "INSERT INTO item_last_pass (item, at) VALUES (?, ?) "
                "ON CONFLICT (item) DO UPDATE SET at = max(at, excluded.at)",
                passed.items(),
            )
            conn.executemany(
                "INSERT INTO decision_last_held (decision, at) VALUES (?, ?) "
                "ON CONFLICT (decision) DO UPDATE SET at = max(at, excluded.at)",
                [(Decision(d).value, at) for d, at in held.items()],
            )
            items = sorted({c.item for c in changes})
            self._audit(
                "status_changes",
                items[0] if len(items) == 1 else f"{len(items)} items" if items else "last seen",
                SYSTEM,
                None,
                {
                    k: v
                    for k, v in (
                        ("changes", len(changes)),
                        ("passed", len(passed)),
                        ("decisions", len(held)),
                    )
                    if v
                },
            )

        self._write("status changes", body)

    # -- writes: what people record --

    def record_attestation(self, attestation: Attestation) -> Attestation:
        a = replace(attestation.validated(), source="store", recorded_at=self._clock())

        def body(conn: sqlite3.Connection) -> Attestation:
            cur = conn.execute(
                "INSERT INTO attestations (item, status, by_name, by_user, evidence, notes, "
                "signed_at, expires_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.item,
                    a.status.value,
                    a.by,
                    a.user,
                    json.dumps(list(a.evidence), ensure_ascii=False),
                    a.notes,
                    a.signed_at,
                    a.expires_at,
                    a.recorded_at,
                ),
            )
            self._audit(
                "attest", a.item, a.by, a.user, {"id": cur.lastrowid, "status": a.status.value}
            )
            return replace(a, id=cur.lastrowid)

        return self._write(f"the attestation of {a.item}", body)

    def accept_risk(self, acceptance: RiskAcceptance) -> RiskAcceptance:
        a = acceptance.validated()

        def body(conn: sqlite3.Connection) -> RiskAcceptance:
            cur = conn.execute(
                "INSERT INTO risk_acceptances (item, by_name, by_user, impact, probability, "
                "mitigation, notes, expires_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.item,
                    a.by,
                    a.user,
                    a.impact.value,
                    a.probability.value,
                    a.mitigation,
                    a.notes,
                    a.expires_at,
                    a.recorded_at,
                ),
            )
            self._audit(
                "accept_risk",
                a.item,
                a.by,
                a.user,
                {"id": cur.lastrowid, "expires_at": a.expires_at},
            )
            return replace(a, id=cur.lastrowid)

        return self._write(f"the risk acceptance of {a.item}", body)

    def revoke_acceptance(
        self, item: str, by: str, user: str | None, at: float
    ) -> RiskAcceptance | None:
        """Revoke the item's current acceptance; None (and nothing written) when it has none."""

        def body(conn: sqlite3.Connection) -> RiskAcceptance | None:
            current = self._latest_acceptance(conn, item)
            if current is None or current.revoked_at is not None:
                return None
            conn.execute(
                "UPDATE risk_acceptances SET revoked_at = ?, revoked_by_name = ?, "
                "revoked_by_user = ? WHERE id = ?",
                (at, by, user, current.id),
            )
            self._audit("revoke_risk", item, by, user, {"id": current.id})
            return replace(current, revoked_at=at, revoked_by=by, revoked_user=user)

        return self._write(f"the revocation of {item}'s risk acceptance", body)

    def sign(self, signoff: SignOff) -> SignOff:
        s = signoff.validated()
        stamp = s.stamp

        def body(conn: sqlite3.Connection) -> SignOff:
            cur = conn.execute(
                "INSERT INTO signoffs (role, by_name, by_user, notes, at, decision, total_score, "
                "critical_score, digest, gaps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.role,
                    s.by,
                    s.user,
                    s.notes,
                    s.at,
                    stamp.decision.value,
                    _fraction(stamp.total),
                    _fraction(stamp.critical),
                    stamp.digest,
                    json.dumps(sorted(stamp.gaps)),
                ),
            )
            self._audit(
                "sign",
                s.role,
                s.by,
                s.user,
                {"id": cur.lastrowid, "decision": stamp.decision.value, "digest": stamp.digest},
            )
            return replace(s, id=cur.lastrowid)

        return self._write(f"the sign-off of {s.role}", body)

    def revoke_signoff(self, role: str, by: str, user: str | None, at: float) -> SignOff | None:
        """Revoke the role's latest signature; None (and nothing written) when it has none
        that stands."""

        def body(conn: sqlite3.Connection) -> SignOff | None:
            rows = _rows(
                conn,
                "SELECT * FROM signoffs WHERE role = ? ORDER BY at DESC, id DESC LIMIT 1",
                (role,),
            )
            current = _signoff(rows[0]) if rows else None
            if current is None or current.revoked_at is not None:
                return None
            conn.execute(
                "UPDATE signoffs SET revoked_at = ?, revoked_by_name = ?, revoked_by_user = ? "
                "WHERE id = ?",
                (at, by, user, current.id),
            )
            self._audit("revoke_signoff", role, by, user, {"id": current.id})
            return replace(current, revoked_at=at, revoked_by=by, revoked_user=user)

        return self._write(f"the revocation of {role}'s signature", body)

    def record_decision(self, record: DecisionRecord) -> DecisionRecord:
        d = record.validated()

        def body(conn: sqlite3.Connection) -> DecisionRecord:
            cur = conn.execute(
                "INSERT INTO decisions (decision, by_name, by_user, at, computed, launch_at, "
                "notes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (d.decision.value, d.by, d.user, d.at, d.computed.value, d.launch_at, d.notes),
            )
            self._audit(
                "decide",
                d.decision.value,
                d.by,
                d.user,
                {"id": cur.lastrowid, "computed": d.computed.value, "launch_at": d.launch_at},
            )
            return replace(d, id=cur.lastrowid)

        return self._write("the decision", body)

    def remediate(self, remediation: Remediation) -> Remediation:
        r = remediation.validated()

        def body(conn: sqlite3.Connection) -> Remediation:
            cur = conn.execute(
                "INSERT INTO remediations (item, text, by_name, by_user, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (r.item, r.text, r.by, r.user, r.at),
            )
            self._audit(
                "remediate", r.item, r.by, r.user, {"id": cur.lastrowid, "cleared": not r.text}
            )
            return replace(r, id=cur.lastrowid)

        return self._write(f"the remediation of {r.item}", body)

    # -- retention --

    def apply_retention(self, now: float | None = None) -> dict[str, int]:
        """Drop records older than the retention, keeping the newest of each kind per key.

        Returns how many rows each table lost. Writes nothing (no audit row either) when
        nothing is old enough.
        """
        cutoff = (self._clock() if now is None else now) - self.retention
        old = {
            table: self._conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {when or 'at'} < ?)",  # noqa: S608 - names from KEEP_LATEST
                (cutoff,),
            ).fetchone()[0]
            for table, _, when in KEEP_LATEST
        }
        if not any(old.values()):
            return {}

        def body(conn: sqlite3.Connection) -> dict[str, int]:
            dropped: dict[str, int] = {}
            for table, key, when in KEEP_LATEST:
                if not old[table]:
                    continue
                cur = conn.execute(_retention_sql(table, key, when), (cutoff,))
                if cur.rowcount:
                    dropped[table] = cur.rowcount
            if dropped:
                self._audit(
                    "retention",
                    DB_NAME,
                    SYSTEM,
                    None,
                    {"before": cutoff, "retention_days": self.retention / DAY, "dropped": dropped},
                )
            return dropped

        return self._write("the retention clean-up", body)

    # -- reads --

    def data_version(self) -> int:
        """A number that changes when another connection commits (``PRAGMA data_version``):
        polling it tells the daemon that a command-line write needs reading."""
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def history(self, item: str, limit: int = HISTORY) -> list[StatusChange]:
        """The item's last ``limit`` status changes, oldest first."""
        rows = self._conn.execute(
            "SELECT id, item, from_status, to_status, summary, evidence, at FROM status_changes "
            "WHERE item = ? ORDER BY at DESC, id DESC LIMIT ?",
            (item, limit),
        ).fetchall()
        return [_change(row) for row in reversed(rows)]

    def load(self, items: Iterable[str] | None = None, history: int = HISTORY) -> StartState:
        """What the exporter needs at start, read in one transaction (one consistent picture).

        ``items``: whose history to read (the config's items); None reads every item's.
        """
        conn = self._conn
        conn.execute("BEGIN")
        try:
            if items is None:
                items = [r[0] for r in conn.execute("SELECT DISTINCT item FROM status_changes")]
            histories = {}
            for item in items:
                changes = self.history(item, history)
                if changes:
                    histories[item] = tuple(changes)
            last_pass = dict(conn.execute("SELECT item, at FROM item_last_pass").fetchall())
            held = dict(conn.execute("SELECT decision, at FROM decision_last_held").fetchall())
            people = _read_people(conn)
        finally:
            conn.execute("COMMIT")
        return StartState(
            histories,
            last_pass,
            held,
            people.attestations,
            people.acceptances,
            people.signoffs,
            people.decision,
            people.remediations,
        )

    def people(self) -> People:
        """The latest record of each kind that people made, read in one transaction: what the
        daemon reads again when another process (the command line) has written."""
        self._conn.execute("BEGIN")
        try:
            return _read_people(self._conn)
        finally:
            self._conn.execute("COMMIT")

    def latest_statuses(self, items: Iterable[str]) -> dict[str, StatusChange]:
        """Each item's latest recorded status change: the exporter's view of it when it last
        saw the item (what the command line signs and decides on)."""
        wanted = list(items)
        out: dict[str, StatusChange] = {}
        for item in wanted:
            rows = self._conn.execute(
                "SELECT id, item, from_status, to_status, summary, evidence, at "
                "FROM status_changes WHERE item = ? ORDER BY at DESC, id DESC LIMIT 1",
                (item,),
            ).fetchall()
            if rows:
                out[item] = _change(rows[0])
        return out

    def _latest_acceptance(self, conn: sqlite3.Connection, item: str) -> RiskAcceptance | None:
        rows = _rows(
            conn,
            "SELECT * FROM risk_acceptances WHERE item = ? ORDER BY recorded_at DESC, id DESC "
            "LIMIT 1",
            (item,),
        )
        return _acceptance(rows[0]) if rows else None

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The last ``limit`` audit entries, oldest first."""
        rows = self._conn.execute(
            "SELECT id, at, action, subject, by_name, by_user, detail FROM audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            AuditEntry(at, action, subject, by, user, json.loads(detail), id_)
            for id_, at, action, subject, by, user, detail in reversed(rows)
        ]

    def count(self, table: str) -> int:
        """Rows in one of the store's tables (for tests and the benchmark)."""
        if table not in {t for t, _, _ in KEEP_LATEST} | {"item_last_pass", "decision_last_held"}:
            raise ValueError(f"no table {table!r} in the store")
        return int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - checked above


def _retention_sql(table: str, key: str | None, when: str | None) -> str:
    """The DELETE that drops a table's rows older than a cutoff, keeping the newest per key.

    Names come from KEEP_LATEST, never from input.
    """
    if when is None:
        return f"DELETE FROM {table} WHERE at < ?"  # noqa: S608
    if key is None:
        newest = f"SELECT id FROM {table} ORDER BY {when} DESC, id DESC LIMIT 1"  # noqa: S608
    else:
        # SQLite's bare-column rule: with max(), id comes from the row holding the maximum.
        newest = f"SELECT id FROM (SELECT id, max({when}) FROM {table} GROUP BY {key})"  # noqa: S608
    return f"DELETE FROM {table} WHERE {when} < ? AND id NOT IN ({newest})"  # noqa: S608


def _rows(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    return cur.execute(sql, args).fetchall()


def _latest_rows(conn: sqlite3.Connection, table: str, key: str, when: str) -> list[sqlite3.Row]:
    """The newest row per key (by time, then id)."""
    return _rows(
        conn,
        f"SELECT * FROM (SELECT *, row_number() OVER "  # noqa: S608 - names from this module
        f"(PARTITION BY {key} ORDER BY {when} DESC, id DESC) AS rn FROM {table}) WHERE rn = 1",
    )


def _read_people(conn: sqlite3.Connection) -> People:
    """The latest record of each kind people made (inside the caller's read transaction)."""
    return People(
        {
            a.item: a
            for a in map(_attestation, _latest_rows(conn, "attestations", "item", "recorded_at"))
        },
        {
            a.item: a
            for a in map(_acceptance, _latest_rows(conn, "risk_acceptances", "item", "recorded_at"))
        },
        {s.role: s for s in map(_signoff, _latest_rows(conn, "signoffs", "role", "at"))},
        _latest_decision(conn),
        {r.item: r for r in map(_remediation, _latest_rows(conn, "remediations", "item", "at"))},
    )


def _latest_decision(conn: sqlite3.Connection) -> DecisionRecord | None:
    rows = _rows(conn, "SELECT * FROM decisions ORDER BY at DESC, id DESC LIMIT 1")
    return _decision(rows[0]) if rows else None


def _change(row: Sequence[Any]) -> StatusChange:
    id_, item, from_status, to_status, summary, evidence, at = row
    return StatusChange(
        item,
        None if from_status is None else Status(from_status),
        Status(to_status),
        summary,
        at,
        json.loads(evidence),
        id_,
    )


def _attestation(row: sqlite3.Row) -> Attestation:
    return Attestation(
        row["item"],
        Status(row["status"]),
        row["by_name"],
        row["signed_at"],
        tuple(json.loads(row["evidence"])),
        row["notes"],
        row["expires_at"],
        row["by_user"],
        "store",
        row["recorded_at"],
        row["id"],
    )


def _acceptance(row: sqlite3.Row) -> RiskAcceptance:
    return RiskAcceptance(
        row["item"],
        row["by_name"],
        row["by_user"],
        row["impact"],
        row["probability"],
        row["mitigation"],
        row["expires_at"],
        row["recorded_at"],
        row["notes"],
        row["revoked_at"],
        row["revoked_by_name"],
        row["revoked_by_user"],
        row["id"],
    )


def _signoff(row: sqlite3.Row) -> SignOff:
    stamp = StateStamp(
        Decision(row["decision"]),
        _unfraction(row["total_score"]),
        _unfraction(row["critical_score"]),
        row["digest"],
        frozenset(json.loads(row["gaps"])),
    )
    return SignOff(
        row["role"],
        row["by_name"],
        row["by_user"],
        row["at"],
        stamp,
        row["notes"],
        row["id"],
        *_revocation(row),
    )


def _revocation(row: sqlite3.Row) -> tuple[Any, Any, Any]:
    """A signature's revocation (V2's columns). A store opened with only the first version's
    migrations (the migration tests open one so) has none."""
    if "revoked_at" not in row.keys():  # noqa: SIM118 - `in row` looks at values, not names
        return None, None, None
    return row["revoked_at"], row["revoked_by_name"], row["revoked_by_user"]


def _decision(row: sqlite3.Row) -> DecisionRecord:
    return DecisionRecord(
        Decision(row["decision"]),
        row["by_name"],
        row["by_user"],
        row["at"],
        Decision(row["computed"]),
        row["launch_at"],
        row["notes"],
        row["id"],
    )


def _remediation(row: sqlite3.Row) -> Remediation:
    return Remediation(
        row["item"], row["text"], row["by_name"], row["by_user"], row["at"], row["id"]
    )


# --- Errors that say what to do -------------------------------------------------------------


def _create(path: Path) -> None:
    """Create an empty store in WAL mode under a temporary name, then link it into place.

    So a file at ``path`` has always been through this, and an empty one there was truncated,
    not new. The file is owner-only (it holds names and evidence; SQLite gives its -wal and -shm
    files the same mode). When two processes create it at once, the first link wins and the
    other opens that one.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        os.close(fd)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # writes the header: the file is not empty
        finally:
            conn.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    except OSError as exc:
        raise StoreUnwritable(
            f"cannot create the store {path}: {exc.strerror}. Make {path.parent} writable by "
            "the exporter's user, or set --storage.path to a writable folder"
        ) from None
    except sqlite3.Error as exc:
        raise _unwritable(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def _unwritable(path: Path, exc: sqlite3.Error) -> StoreUnwritable:
    return StoreUnwritable(
        f"cannot write the store {path}: {_describe(exc)}. The exporter needs to write the file "
        f"and create readiness.db-wal and readiness.db-shm beside it: make {path.parent} and "
        "the files writable by its user (a volume mounted read-write), or set --storage.path"
    )


def _corrupt(path: Path, reason: str) -> StoreCorrupt:
    return StoreCorrupt(
        f"the store {path} is damaged ({reason}). The exporter does not start on it, so that "
        f"nothing in it is lost: stop every exporter using it, move {path.name} and its -wal "
        f"and -shm files aside (keep them), then restore a {path.name}.v<N>.bak or a backup of "
        "your own in their place, or start with no file to begin an empty store"
    )


def _too_new(path: Path, found: int, known: int) -> StoreTooNew:
    return StoreTooNew(
        f"the store {path} has schema version {found}, written by a newer readiness-exporter; "
        f"this one ({__version__}) knows up to {known}. Run the newer version, or restore "
        f"{path.name}.v{known}.bak (made before the upgrade) to go back"
    )


def _classify(path: Path, exc: sqlite3.Error) -> StoreError:
    """A SQLite error at open, as the problem a person has to fix."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return _unwritable(path, exc)
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return _corrupt(path, _describe(exc))
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return _corrupt(path, _describe(exc))
    return StoreError(f"cannot open the store {path}: {_describe(exc)}")


# --- The daemon's side: one thread for the store --------------------------------------------

_STOP = object()


class StoreWorker:
    """One thread that owns the store and runs every call on it in order; coroutines await.

    Why one thread and not ``asyncio.to_thread`` per call: a connection belongs to one thread
    at a time, and calls then run in the order they were made (an item's changes are stored in
    the order they happened; a read sees every write queued before it). A write can wait up to
    BUSY_TIMEOUT for another process's write lock or on a slow disk; it holds up this thread,
    never the event loop, nor the default executor that aiohttp uses for DNS lookups.

    The queue is not bounded: the daemon writes a few rows a minute, and a lost status change
    is worse than memory held while a disk is stuck (``pending`` says how many wait).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="readiness-store", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Calls submitted and not finished yet."""
        return self._pending

    def submit(self, call: Callable[[Store], T]) -> concurrent.futures.Future[T]:
        """Queue ``call(store)``; the future holds its result or its exception."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise StoreError(f"{self._store.path}: the store is closed")
            self._pending += 1
            self._queue.put((call, future))
        return future

    async def call(self, call: Callable[[Store], T]) -> T:
        """Run ``call(store)`` on the store's thread and wait for it without blocking the loop."""
        return await asyncio.wrap_future(self.submit(call))

    def close(self, timeout: float | None = None) -> bool:
        """Finish every queued call, then close the store; False if ``timeout`` ran out first."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                task = self._queue.get()
                if task is _STOP:
                    return
                call, future = task
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(call(self._store))
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                        future.set_exception(exc)
                with self._lock:
                    self._pending -= 1
        finally:
            self._store.close()
