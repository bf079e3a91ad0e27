"""A store filled with one record of every kind, for the store's tests and its schema fixtures.

``python -m support.store_records tests/data/store-v1.sql`` (from tests/) writes the SQL dump of
such a store; the dump committed for schema 1 is what ``test_store`` proves a later version
still opens (migration from the first version). Never regenerate a committed dump: write a new
one per schema version.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from exporter.launch import (
    DAY,
    Attestation,
    DecisionRecord,
    Remediation,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from exporter.scoring import Decision
from exporter.store import DB_NAME, StatusChange, Store
from probes.result import Status

T0 = 1_796_000_000.0  # 2026-11-30 UTC: a fixed clock, so every record's time is known
STATUSES = {"S-001": Status.PASS, "S-011": Status.FAIL, "T-001": Status.PASS}


def clock() -> float:
    return T0


def populate(store: Store) -> None:
    """One record of each kind, at known times."""
    store.record_changes(
        [
            StatusChange("S-011", None, Status.PASS, "TLS 1.2 only", T0 - 3 * DAY),
            StatusChange(
                "S-011",
                Status.PASS,
                Status.FAIL,
                "TLS 1.0 accepted, expected at least 1.2",
                T0 - DAY,
                {"protocol": "TLSv1", "target": "app.example:443"},
            ),
        ],
        passed={"S-011": T0 - DAY - 60},
        decisions_held={Decision.GO: T0 - DAY - 60, Decision.NO_GO: T0},
    )
    store.record_attestation(
        Attestation(
            "T-001",
            Status.PASS,
            "Jane Doe",
            T0 - 2 * DAY,
            ("Workshop attendance https://wiki.example/training",),
            "Next session in February",
            T0 + 88 * DAY,
            user="jdoe",
        )
    )
    store.accept_risk(
        RiskAcceptance(
            "S-011",
            "Ana Lopez",
            "ana",
            "high",
            "low",
            "WAF drops TLS 1.0 clients",
            T0 + 30 * DAY,
            T0,
            "until the load balancer upgrade",
        )
    )
    stamp = StateStamp.of(Decision.NO_GO, Fraction(2, 3), Fraction(1, 2), STATUSES)
    store.sign(SignOff("Security Lead", "Ana Lopez", "ana", T0, stamp, "TLS gap accepted"))
    store.record_decision(
        DecisionRecord(
            Decision.GO_WITH_CAUTION, "Carl CTO", None, T0, Decision.NO_GO, T0 + 7 * DAY, "ok"
        )
    )
    store.remediate(Remediation("S-011", "https://tracker.example/SEC-12", "Bob", "bob", T0))
    if store.schema_version >= 2:  # a signature revoked (schema 2)
        store.sign(SignOff("CTO", "Carl CTO", None, T0, stamp, "pending the pen test"))
        store.revoke_signoff("CTO", "Carl CTO", "carl", T0 + 60)


def dump(path: Path) -> None:
    """Write the SQL text of a populated store (schema, rows and user_version) to ``path``."""
    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp), clock=clock) as store:
            populate(store)
            version = store.schema_version
        conn = sqlite3.connect(Path(tmp) / DB_NAME)
        lines = list(conn.iterdump())
        conn.close()
    path.write_text("\n".join([*lines, f"PRAGMA user_version = {version};", ""]))


if __name__ == "__main__":
    dump(Path(sys.argv[1]))
