"""The engine with a store's memory and the launch process: a restart brings history and
last-PASS times back without letting a remembered PASS count, changes are recorded (masked) only
when the status really moves, post-launch tasks fall due, intervals follow the launch phase,
acceptances expire, records people make reach the probes."""

from __future__ import annotations

import sys
import time
from fractions import Fraction

from support.waiting import until

from exporter import config
from exporter.engine import Engine
from exporter.launch import (
    DAY,
    HOUR,
    NOBODY,
    Attestation,
    DecisionRecord,
    People,
    Phase,
    RiskAcceptance,
    SignOff,
)
from exporter.scoring import Decision
from exporter.snapshot import under_review
from exporter.store import StatusChange, Store
from probes.result import Status

P, F, PE = Status.PASS, Status.FAIL, Status.PENDING

PY = sys.executable
CONFIG = f"""
categories:
  - id: a
    items:
      - {{id: A-1, title: ok, priority: critical, probe: {{command: {{argv: [{PY}, -c, "0"]}}}}}}
      - {{id: A-2, title: ko, priority: high, probe: {{command: {{argv: [{PY}, -c, "exit(3)"]}}}}}}
      - id: A-3
        title: signed
        priority: high
        probe: {{attestation: {{file: att/A-3.yaml}}}}
  - id: post_launch
    title: Post-Launch Validation
    items:
      - id: PL-001
        title: retrospective
        priority: medium
        phase: first_week
        probe: {{attestation: {{file: att/PL-001.yaml}}}}
      - id: PL-002
        title: smoke tests every hour
        priority: high
        phase: first_48h
        interval: 6h
        intervals: {{first_48h: 1h}}
        probe: {{command: {{argv: [{PY}, -c, "0"]}}}}
"""


class Recorded:
    """A recorder that keeps what the engine sends, as the daemon's store would get it."""

    def __init__(self):
        self.changes: list[StatusChange] = []
        self.passed: dict[str, float] = {}
        self.held: dict[str, float] = {}

    def __call__(self, changes, passed, held):
        self.changes += changes
        self.passed.update(passed)
        self.held.update(held)


def checklist(write_config, text=CONFIG, env=None):
    return config.load(write_config(text), env or {})


def stored(tmp_path, *changes, people=()):
    """A store with these changes (and records), loaded as the daemon loads it at start."""
    with Store.open(tmp_path / "data") as store:
        store.record_changes(list(changes))
        for record in people:
            if isinstance(record, Attestation):
                store.record_attestation(record)
            elif isinstance(record, RiskAcceptance):
                store.accept_risk(record)
            elif isinstance(record, DecisionRecord):
                store.record_decision(record)
        return store.load()


async def test_a_restart_brings_history_and_last_pass_back_but_counts_nothing_stale(
    write_config, tmp_path
):
    t0 = time.time() - DAY
    memory = stored(
        tmp_path,
        StatusChange("A-1", None, P, "exit 0", t0),
        StatusChange("A-2", None, P, "exit 0", t0),
        StatusChange("A-3", None, P, "PASS attested", t0),
    )
    recorder = Recorded()
    engine = Engine(checklist(write_config), memory=memory, recorder=recorder)
    before = engine.snapshot()
    # Before any probe ran, the store's PASS counts for nothing: PENDING, NO-GO.
    assert {i: s.status for i, s in before.states.items() if i.startswith("A")} == {
        "A-1": PE,
        "A-2": PE,
        "A-3": PE,
    }
    assert before.scores.total.passed == 0 and before.scores.decision is Decision.NO_GO
    assert [c.after for c in before.states["A-2"].history] == [P]
    assert before.states["A-2"].records.last_pass == t0

    snap = await engine.run_round(["A-1", "A-2", "A-3"])
    await engine.stop()
    # A-1 is PASS again: the same status as stored, so nothing is recorded or added.
    assert [c.after for c in snap.states["A-1"].history] == [P]
    # A-2 left PASS while the exporter was down: recorded as PASS -> FAIL.
    assert [(c.before, c.after) for c in snap.states["A-2"].history] == [(PE, P), (P, F)]
    assert sorted((c.item, c.from_status, c.to_status) for c in recorder.changes) == [
        ("A-2", P, F),
        ("A-3", P, PE),
    ]
    assert snap.states["A-2"].records.last_pass == t0  # the remembered one
    assert snap.states["A-1"].records.last_pass == snap.states["A-1"].checked_at


async def test_changes_are_recorded_with_the_evidence_the_board_shows(write_config):
    token = "tok-" + "7f3a9c2e1b" * 2
    recorder = Recorded()
    engine = Engine(
        checklist(
            write_config,
            f"""
            categories:
              - id: a
                items:
                  - id: A-1
                    title: prints a token
                    priority: high
                    probe:
                      command:
                        argv: [{PY}, -c, "import sys; print(sys.argv[1])", "${{API_TOKEN}}"]
                        stdout_regex: "^never$"
            """,
            env={"API_TOKEN": token},
        ),
        recorder=recorder,
    )
    snap = await engine.run_round()
    await engine.stop()
    (change,) = recorder.changes
    assert change.evidence == snap.states["A-1"].result.evidence
    assert token not in repr(change.evidence) + change.summary
    assert "<secret>" in repr(change.evidence)


async def test_decisions_are_recorded_once_every_item_has_judged(write_config):
    recorder = Recorded()
    engine = Engine(checklist(write_config), recorder=recorder)
    engine.snapshot()
    assert recorder.held == {}  # the PENDING start is no decision
    snap = await engine.run_round()
    assert snap.ready and recorder.held == {"no_go": snap.taken_at}
    assert snap.launch.decisions_held["no_go"] == snap.taken_at
    engine.remember()
    await engine.stop()
    assert recorder.passed.keys() == {"A-1"}
    assert recorder.held["no_go"] >= snap.taken_at


async def test_post_launch_tasks_are_left_out_of_the_decision(write_config):
    engine = Engine(checklist(write_config))
    snap = await engine.run_round()
    await engine.stop()
    assert snap.scores.total.applicable == 3  # not PL-001, PL-002
    assert "post_launch" not in snap.scores.categories
    assert [s.item.id for s in snap.tasks] == ["PL-001", "PL-002"]
    task = snap.states["PL-002"]
    assert task.status is PE
    assert task.result.summary.startswith("not due: no launch time recorded (due 2d after launch)")
    assert task.observed is not None and task.observed.status is P


def people_launched(at: float) -> People:
    return People(
        decision=DecisionRecord(Decision.GO, "Carla CTO", None, at - DAY, Decision.GO, at)
    )


async def test_a_task_is_pending_until_due_and_fails_once_overdue_without_evidence(write_config):
    now = time.time()
    engine = Engine(checklist(write_config))
    engine.set_people(people_launched(now - 3 * DAY))  # the first week: due in 4 days
    snap = await engine.run_round(["PL-001"])
    assert snap.states["PL-001"].status is PE
    assert snap.states["PL-001"].result.summary.startswith("due by ")
    engine._refresh(now + 5 * DAY)  # past its due time, still no evidence
    await engine.stop()
    late = engine.snapshot().states["PL-001"]
    assert late.status is F
    assert late.result.summary.startswith("overdue since ")
    assert late.result.evidence["due"].endswith("Z")


async def test_evidence_from_before_the_launch_does_not_count(write_config, tmp_path):
    now = time.time()
    engine = Engine(checklist(write_config))
    signed_before = Attestation("PL-001", P, "Ann", now - 4 * DAY).validated()
    engine.set_people(
        People(
            attestations={"PL-001": signed_before},
            decision=people_launched(now - 3 * DAY).decision,
        )
    )
    snap = await engine.run_round(["PL-001"])
    task = snap.states["PL-001"]
    assert task.observed is not None and task.observed.status is P  # the attestation passes
    assert task.status is PE  # but it was signed before the launch
    assert "is from before the launch and does not count" in task.result.summary
    signed_after = Attestation("PL-001", P, "Ann", now - DAY).validated()
    engine.set_people(
        People(attestations={"PL-001": signed_after}, decision=engine.people.decision)
    )
    snap = await engine.run_round(["PL-001"])
    await engine.stop()
    assert snap.states["PL-001"].status is P


async def test_the_interval_follows_the_launch_phase(write_config):
    now = time.time()
    engine = Engine(checklist(write_config))
    assert engine.states["PL-002"].current_interval == 6 * HOUR  # no launch yet
    engine.set_people(people_launched(now - HOUR))
    snap = engine.snapshot()
    assert snap.states["PL-002"].current_interval == HOUR
    assert snap.launch.phase is Phase.FIRST_48H
    assert engine._next_event(now) == now - HOUR + 48 * HOUR  # the end of the first 48 hours
    engine._refresh(now + 48 * HOUR)
    await engine.stop()
    assert engine.snapshot().states["PL-002"].current_interval == 6 * HOUR


async def test_an_acceptance_counts_until_it_expires_and_its_expiry_stays(write_config):
    now = time.time()
    engine = Engine(checklist(write_config))
    acceptance = RiskAcceptance(
        "A-2", "Sam Sec", None, "low", "low", "WAF rule", now + HOUR, now
    ).validated()
    engine.set_people(People(acceptances={"A-2": acceptance}))
    assert engine.snapshot().states["A-2"].records.risk is not None
    assert engine.snapshot().states["A-2"].records.risk.accepted == 1
    assert engine._next_event(now) == now + HOUR
    engine._refresh(now + HOUR)
    risk = engine.snapshot().states["A-2"].records.risk
    assert risk is not None and (risk.accepted, risk.expiry) == (0, now + HOUR)
    # An acceptance never changes a status or a score.
    snap = await engine.run_round()
    await engine.stop()
    assert snap.states["A-2"].status is F
    assert snap.scores.total.score == Fraction(1, 3)


async def test_an_attestation_recorded_in_the_store_reaches_its_probe(write_config):
    engine = Engine(checklist(write_config))
    snap = await engine.run_round(["A-3"])
    assert snap.states["A-3"].status is PE  # no file, nothing recorded
    signed = Attestation("A-3", P, "Jane Doe", time.time(), user="jdoe").validated()
    engine.set_people(People(attestations={"A-3": signed}))
    snap = await engine.run_round(["A-3"])
    await engine.stop()
    assert snap.states["A-3"].status is P
    assert snap.states["A-3"].result.evidence["source"] == "store"


class Clock:
    """The engine's clock, moved by the test (probes keep the real one)."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


async def test_a_task_done_by_its_due_time_stays_done(write_config, tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr("exporter.engine.time", clock)
    marker = tmp_path / "smoke-ok"
    marker.write_text("ok")
    text = CONFIG.rsplit("probe:", 1)[0] + (
        f"probe: {{command: {{argv: [{PY}, -c, "
        f"\"import os,sys; sys.exit(0 if os.path.exists('{marker}') else 1)\"]}}}}\n"
    )
    engine = Engine(checklist(write_config, text))
    engine.set_people(people_launched(time.time() - 47 * HOUR))  # due in an hour
    snap = await engine.run_round(["PL-002"])
    assert snap.states["PL-002"].status is P
    clock.offset = 2 * HOUR  # past its due time
    marker.unlink()  # the smoke tests stop passing after the first 48 hours
    snap = await engine.run_round(["PL-002"])
    await engine.stop()
    task = snap.states["PL-002"]
    assert task.status is P  # done in time: what the probe sees now does not undo it
    assert task.result.summary.startswith("PASS recorded ")


async def test_the_clock_reschedules_an_item_at_the_phase_boundary(write_config):
    engine = Engine(checklist(write_config))
    engine.set_people(people_launched(time.time() - 48 * HOUR + 1.0))  # first_48h ends in 1 s
    engine.start()

    def interval() -> float:
        assert engine._timetable is not None
        seconds = engine._timetable.interval("PL-002")
        assert seconds is not None
        return seconds

    try:
        assert interval() == HOUR  # hourly in the first 48 hours
        await until(lambda: interval() == 6 * HOUR, "PL-002 rescheduled at the boundary")
        snap = engine.snapshot()
        assert snap.launch.phase is Phase.FIRST_WEEK
        assert snap.states["PL-002"].current_interval == 6 * HOUR
    finally:
        await engine.stop()


SHEET = """
categories:
  - id: f
    items:
      # F-1 first and X-1 slow: without the engine's wait, F-1 would judge a round of PENDING.
      - {{id: F-1, title: eng, priority: critical, interval: 1h,
          probe: {{signoff: {{role: Engineering Lead}}}}}}
      - id: X-1
        title: notes
        priority: critical
        interval: 1h
        probe: {{command: {{argv: [{py}, -c, "{check}"]}}}}
"""


async def test_sheet_items_wait_for_the_others_then_follow_records_and_changes_at_once(
    write_config, tmp_path
):
    # Both items run hourly: only the engine's re-judging can move F-1 within the test.
    notes = tmp_path / "notes.txt"
    notes.write_text("ok\n")
    check = f"import os, sys, time; time.sleep(0.5); sys.exit(not os.path.exists({str(notes)!r}))"
    recorder = Recorded()
    loaded = checklist(write_config, SHEET.format(py=PY, check=check))
    # Signed before the start, for the state the checklist will be in (X-1 PASS).
    stamp = under_review(loaded, {"X-1": P, "F-1": PE})[1]
    assert stamp.decision is Decision.GO  # F-1 counted as given
    signoff = SignOff("Engineering Lead", "Jane Doe", None, time.time(), stamp)
    engine = Engine(loaded, recorder=recorder)
    engine.set_people(People(signoffs={"Engineering Lead": signoff}))
    engine.start()

    def f1() -> Status:
        return engine.snapshot().states["F-1"].status

    try:
        await until(lambda: engine.snapshot().states["F-1"].checked_at is not None, "F-1 judged")
        assert engine.snapshot().states["X-1"].status is P  # judged after X-1, not before it
        assert f1() is P
        engine.set_people(NOBODY)  # the record gone (another store): judged again at once
        await until(lambda: f1() is PE, "F-1 PENDING without a signature")
        engine.set_people(People(signoffs={"Engineering Lead": signoff}))
        await until(lambda: f1() is P, "F-1 PASS once signed")
        notes.unlink()
        await engine.run_item("X-1")  # a new gap: the signature no longer counts
        await until(lambda: f1() is F, "F-1 FAIL once X-1 fails")
        notes.write_text("ok again\n")
        await engine.run_item("X-1")
        await until(lambda: f1() is P, "F-1 PASS again on the state it was signed for")
    finally:
        await engine.stop()
    # Never judged against a round of PENDING (which would have recorded a FAIL first).
    assert [(c.from_status, c.to_status) for c in recorder.changes if c.item == "F-1"] == [
        (None, P),
        (P, PE),
        (PE, P),
        (P, F),
        (F, P),
    ]
