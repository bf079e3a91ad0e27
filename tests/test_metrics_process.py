"""The process's metrics (issue 13's contract): owners on readiness_item_info, last PASS and
decision times that survive a restart, risk acceptances, sign-offs, launch time and phase; each
present and promtool-clean, and each rule's look-alike (an expired acceptance, a signature for
another state) exported as not counting."""

from __future__ import annotations

import subprocess
import time
from fractions import Fraction

from prometheus_client.parser import text_string_to_metric_families
from support.procs import require

from exporter import config
from exporter.engine import Engine
from exporter.launch import (
    DAY,
    HOUR,
    DecisionRecord,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from exporter.metrics import Exposition, ReloadStatus
from exporter.scoring import Decision
from exporter.store import StatusChange, Store
from probes.result import Status

CONFIG = """
defaults: {owner: sre}
categories:
  - id: sec
    owner: security team
    items:
      - {id: A-1, title: present, priority: critical, probe: {file: {path: present.txt}}}
      - {id: A-2, title: absent, priority: high, owner: payments, probe: {file: {path: nope.txt}}}
      - {id: A-3, title: na, priority: high, applicable: false}
"""


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())))


async def test_every_process_metric_from_a_store(write_config, tmp_path):
    (tmp_path / "present.txt").write_text("x")
    checklist = config.load(write_config(CONFIG), {})
    now = time.time()
    with Store.open(tmp_path / "data") as store:
        store.record_changes(
            [
                StatusChange("A-1", None, Status.PASS, "present", now - 3 * DAY),
                StatusChange("A-2", None, Status.PASS, "present", now - 2 * DAY),
                StatusChange("A-2", Status.PASS, Status.FAIL, "gone", now - DAY),
            ],
            passed={"A-2": now - DAY - 60},
            decisions_held={Decision.GO: now - DAY - 60, Decision.NO_GO: now - DAY},
        )
        # In force for A-1, expired for A-2 (a look-alike: it must not count).
        store.accept_risk(
            RiskAcceptance("A-1", "Sam", None, "low", "low", "WAF", now + 30 * DAY, now - DAY)
        )
        store.accept_risk(
            RiskAcceptance("A-2", "Sam", None, "high", "low", "none", now - HOUR, now - 2 * DAY)
        )
        # Security signed for this very state; Engineering for GO, when A-2 still passed.
        stamp_now = StateStamp.of(
            Decision.NO_GO,
            Fraction(1, 2),
            Fraction(1),
            {"A-1": Status.PASS, "A-2": Status.FAIL, "A-3": Status.NA},
        )
        stamp_go = StateStamp.of(
            Decision.GO,
            Fraction(1),
            Fraction(1),
            {"A-1": Status.PASS, "A-2": Status.PASS, "A-3": Status.NA},
        )
        store.sign(SignOff("Security Lead", "Sue", None, now - HOUR, stamp_now))
        store.sign(SignOff("Engineering Lead", "Ed", None, now - 2 * DAY, stamp_go))
        store.record_decision(
            DecisionRecord(Decision.GO, "Carla", None, now - 3 * DAY, Decision.GO, now - 2 * HOUR)
        )
        memory = store.load()
    engine = Engine(checklist, memory=memory)
    expo = Exposition(engine.snapshot, lambda: ReloadStatus(True, now))

    before = samples(expo.render().decode())
    # Before the first round nothing is ready: no signature shown as withdrawn.
    assert not [k for k in before if k[0] == "readiness_signoff"]
    assert value(before, "readiness_item_last_pass_timestamp_seconds", item="A-2") == now - DAY - 60

    await engine.run_round()
    await engine.stop()
    found = samples(expo.render().decode())
    assert (
        value(
            found,
            "readiness_item_info",
            item="A-1",
            category="sec",
            priority="critical",
            title="present",
            probe="file",
            item_owner="security team",
        )
        == 1
    )
    owners = {
        dict(k[1])["item"]: dict(k[1])["item_owner"] for k in found if k[0] == "readiness_item_info"
    }
    assert owners == {"A-1": "security team", "A-2": "payments", "A-3": "security team"}
    # Last PASS: A-1's run now; A-2's as remembered; A-3 never: absent.
    checked = engine.snapshot().states["A-1"].checked_at
    assert value(found, "readiness_item_last_pass_timestamp_seconds", item="A-1") == checked
    assert value(found, "readiness_item_last_pass_timestamp_seconds", item="A-2") == now - DAY - 60
    assert value(found, "readiness_item_last_pass_timestamp_seconds", item="A-3") is None
    # Decisions: NO-GO holds now; GO as remembered.
    taken = engine.snapshot().taken_at
    assert value(found, "readiness_decision_last_timestamp_seconds", decision="no_go") == taken
    assert value(found, "readiness_decision_last_timestamp_seconds", decision="go") == (
        now - DAY - 60
    )
    assert (
        value(found, "readiness_decision_last_timestamp_seconds", decision="go_with_caution")
        is None
    )
    # Risks: in force 1, expired 0 with its expiry kept, none for A-3.
    assert value(found, "readiness_item_risk_accepted", item="A-1") == 1
    assert value(found, "readiness_item_risk_accepted", item="A-2") == 0
    assert value(found, "readiness_item_risk_accepted", item="A-3") is None
    assert value(found, "readiness_item_risk_acceptance_expiry_timestamp_seconds", item="A-2") == (
        now - HOUR
    )
    # Sign-offs: one per configured role; the one given for another state does not count.
    roles = {dict(k[1])["role"]: v for k, v in found.items() if k[0] == "readiness_signoff"}
    assert roles == {
        "Engineering Lead": 0,
        "Operations Lead": 0,
        "Security Lead": 1,
        "Product Lead": 0,
        "CTO": 0,
    }
    assert value(found, "readiness_signoff_timestamp_seconds", role="Security Lead") == now - HOUR
    assert value(found, "readiness_signoff_timestamp_seconds", role="Engineering Lead") == (
        now - 2 * DAY
    )
    assert value(found, "readiness_signoff_timestamp_seconds", role="CTO") is None
    # Launched two hours ago: the first 48 hours.
    assert value(found, "readiness_launch_timestamp_seconds") == now - 2 * HOUR
    phases = {dict(k[1])["phase"]: v for k, v in found.items() if k[0] == "readiness_launch_phase"}
    assert phases == {
        "pre_launch": 0,
        "first_48h": 1,
        "first_week": 0,
        "first_month": 0,
        "steady": 0,
    }


async def test_the_process_metrics_pass_promtool(write_config, tmp_path):
    promtool = require("promtool")
    (tmp_path / "present.txt").write_text("x")
    checklist = config.load(write_config(CONFIG), {})
    now = time.time()
    with Store.open(tmp_path / "data") as store:
        store.accept_risk(RiskAcceptance("A-2", "Sam", None, "low", "low", "WAF", now + DAY, now))
        store.record_decision(DecisionRecord(Decision.GO, "Carla", None, now, Decision.GO, now))
        memory = store.load()
    engine = Engine(checklist, memory=memory)
    await engine.run_round()
    await engine.stop()
    text = Exposition(engine.snapshot, lambda: ReloadStatus(True, now)).scrape()
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
