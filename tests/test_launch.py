"""The launch process (exporter/launch.py), rule by rule, boundaries included. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from fractions import Fraction

import pytest

from exporter.launch import (
    DAY,
    DEFAULT_ROLES,
    HOUR,
    AcceptanceSeries,
    AcceptanceState,
    Attestation,
    DecisionRecord,
    Level,
    Phase,
    RecordError,
    Remediation,
    RiskAcceptance,
    SignOff,
    StateStamp,
    acceptance_series,
    acceptance_state,
    check_signature,
    decision,
    in_launch_decision,
    interval_at,
    latest,
    launch_time,
    next_phase_change,
    phase_at,
    phase_end,
    phase_start,
    remediation_of,
    resolve_owner,
    resolve_role,
    state_digest,
    task_due,
    task_status,
    when,
    without_remediation,
)
from exporter.scoring import Decision, Judged, score
from probes.result import Status

P, PA, F, PE, NA = Status.PASS, Status.PARTIAL, Status.FAIL, Status.PENDING, Status.NA
LAUNCH = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC).timestamp()


# --- owners ---


def test_owner_of_the_item_wins():
    assert resolve_owner("payments", "platform", "sre") == "payments"


def test_owner_falls_back_to_the_category_then_the_default():
    assert resolve_owner(None, "platform", "sre") == "platform"
    assert resolve_owner("", None, "sre") == "sre"
    assert resolve_owner("  ", " ", None) is None


# --- phases ---


def test_no_launch_time_is_pre_launch_forever():
    assert phase_at(None, LAUNCH + 100 * DAY) is Phase.PRE_LAUNCH
    assert next_phase_change(None, LAUNCH) is None


def test_before_the_launch_time_is_pre_launch():
    assert phase_at(LAUNCH, LAUNCH - 1) is Phase.PRE_LAUNCH
    assert next_phase_change(LAUNCH, LAUNCH - 1) == LAUNCH


def test_the_launch_instant_starts_the_first_48_hours():
    assert phase_at(LAUNCH, LAUNCH) is Phase.FIRST_48H


@pytest.mark.parametrize(
    ("offset", "phase"),
    [
        (48 * HOUR - 0.001, Phase.FIRST_48H),
        (48 * HOUR, Phase.FIRST_WEEK),
        (7 * DAY - 0.001, Phase.FIRST_WEEK),
        (7 * DAY, Phase.FIRST_MONTH),
        (30 * DAY - 0.001, Phase.FIRST_MONTH),
        (30 * DAY, Phase.STEADY),
        (3650 * DAY, Phase.STEADY),
    ],
)
def test_phase_boundaries_start_inclusive_end_exclusive(offset, phase):
    assert phase_at(LAUNCH, LAUNCH + offset) is phase


def test_the_first_week_is_seven_days_from_launch_not_from_the_end_of_48h():
    assert phase_start(Phase.FIRST_WEEK, LAUNCH) == LAUNCH + 2 * DAY
    assert phase_end(Phase.FIRST_WEEK, LAUNCH) == LAUNCH + 7 * DAY


def test_steady_has_no_end_and_pre_launch_no_start():
    assert phase_end(Phase.STEADY, LAUNCH) is None
    assert phase_start(Phase.PRE_LAUNCH, LAUNCH) is None
    assert next_phase_change(LAUNCH, LAUNCH + 31 * DAY) is None


def test_next_phase_change_is_the_end_of_the_current_phase():
    assert next_phase_change(LAUNCH, LAUNCH + HOUR) == LAUNCH + 48 * HOUR
    assert next_phase_change(LAUNCH, LAUNCH + 3 * DAY) == LAUNCH + 7 * DAY
    assert next_phase_change(LAUNCH, LAUNCH + 8 * DAY) == LAUNCH + 30 * DAY


# --- intervals by phase ---


def test_without_overrides_the_base_interval_holds_for_good():
    plan = interval_at(60, {}, LAUNCH, LAUNCH + HOUR)
    assert (plan.seconds, plan.phase, plan.until) == (60, Phase.FIRST_48H, None)


def test_the_first_48h_override_applies_at_launch_and_ends_after_48_hours():
    plan = interval_at(300, {Phase.FIRST_48H: 3600}, LAUNCH, LAUNCH)
    assert (plan.seconds, plan.until) == (3600, LAUNCH + 48 * HOUR)
    after = interval_at(300, {Phase.FIRST_48H: 3600}, LAUNCH, LAUNCH + 48 * HOUR)
    assert (after.seconds, after.phase, after.until) == (300, Phase.FIRST_WEEK, None)


def test_before_launch_the_plan_changes_at_the_launch_time():
    plan = interval_at(300, {Phase.FIRST_48H: 900}, LAUNCH, LAUNCH - DAY)
    assert (plan.seconds, plan.phase, plan.until) == (300, Phase.PRE_LAUNCH, LAUNCH)


def test_until_skips_boundaries_where_the_interval_stays_the_same():
    overrides = {Phase.FIRST_48H: 900, Phase.FIRST_WEEK: 900, Phase.FIRST_MONTH: 1800}
    plan = interval_at(300, overrides, LAUNCH, LAUNCH + HOUR)
    assert plan.until == LAUNCH + 7 * DAY  # not the 48 h boundary: 900 s holds through it


def test_an_override_equal_to_the_base_changes_nothing():
    plan = interval_at(300, {Phase.FIRST_WEEK: 300}, LAUNCH, LAUNCH)
    assert plan.until is None


def test_with_no_launch_time_the_pre_launch_override_holds_and_never_ends():
    plan = interval_at(300, {Phase.PRE_LAUNCH: 30, Phase.FIRST_48H: 60}, None, LAUNCH)
    assert (plan.seconds, plan.until) == (30, None)


# --- post-launch tasks ---


def test_a_task_is_due_at_the_end_of_its_phase():
    assert task_due(Phase.FIRST_48H, LAUNCH) == LAUNCH + 48 * HOUR
    assert task_due(Phase.FIRST_WEEK, LAUNCH) == LAUNCH + 7 * DAY
    assert task_due(Phase.FIRST_MONTH, LAUNCH) == LAUNCH + 30 * DAY
    assert task_due(Phase.FIRST_WEEK, None) is None


@pytest.mark.parametrize("phase", [Phase.PRE_LAUNCH, Phase.STEADY])
def test_only_post_launch_phases_have_tasks(phase):
    with pytest.raises(ValueError, match="post-launch tasks"):
        task_due(phase, LAUNCH)


def test_a_task_without_launch_time_is_pending_and_says_when_it_would_be_due():
    v = task_status(Phase.FIRST_WEEK, None, LAUNCH)
    assert v.status is PE
    assert v.summary == "not due: no launch time recorded (due 7d after launch)"


def test_a_task_before_a_planned_launch_is_pending():
    v = task_status(Phase.FIRST_48H, LAUNCH, LAUNCH - HOUR)
    assert v.status is PE
    assert "launch is planned for 2026-12-01 14:00 UTC" in v.summary


def test_a_task_without_evidence_is_pending_until_due():
    v = task_status(Phase.FIRST_48H, LAUNCH, LAUNCH + 47 * HOUR)
    assert v.status is PE
    assert v.summary == "due by 2026-12-03 14:00 UTC (in 1h), no evidence yet"


def test_a_task_without_evidence_fails_at_the_due_instant():
    v = task_status(Phase.FIRST_48H, LAUNCH, LAUNCH + 48 * HOUR)
    assert v.status is F
    assert v.summary.startswith("overdue since 2026-12-03 14:00 UTC")


def test_a_task_with_evidence_passes():
    v = task_status(Phase.FIRST_WEEK, LAUNCH, LAUNCH + 3 * DAY, P, LAUNCH + 2 * DAY)
    assert v.status is P
    assert v.summary == "PASS recorded 2026-12-03 14:00 UTC (due 2026-12-08 14:00 UTC)"


def test_evidence_after_the_due_time_passes_and_says_it_was_late():
    v = task_status(Phase.FIRST_48H, LAUNCH, LAUNCH + 4 * DAY, P, LAUNCH + 3 * DAY)
    assert v.status is P
    assert "1d after it was due" in v.summary


def test_evidence_from_before_launch_does_not_count():
    v = task_status(Phase.FIRST_WEEK, LAUNCH, LAUNCH + 8 * DAY, P, LAUNCH - DAY)
    assert v.status is F
    assert "is from before the launch and does not count" in v.summary


def test_evidence_from_the_future_does_not_count():
    v = task_status(Phase.FIRST_WEEK, LAUNCH, LAUNCH + DAY, P, LAUNCH + 2 * DAY)
    assert v.status is PE


@pytest.mark.parametrize("status", [F, PA, NA])
def test_evidence_that_does_not_pass_is_what_it_says(status):
    v = task_status(Phase.FIRST_MONTH, LAUNCH, LAUNCH + DAY, status, LAUNCH + HOUR)
    assert v.status is status


def test_pending_evidence_is_no_evidence():
    v = task_status(Phase.FIRST_48H, LAUNCH, LAUNCH + 49 * HOUR, PE, LAUNCH + HOUR)
    assert v.status is F


def test_post_launch_tasks_stay_out_of_the_launch_decision():
    assert in_launch_decision(None)
    assert in_launch_decision(Phase.PRE_LAUNCH)
    for phase in (Phase.FIRST_48H, Phase.FIRST_WEEK, Phase.FIRST_MONTH):
        assert not in_launch_decision(phase)


# --- risk acceptances ---


def acceptance(**kw):
    base = {
        "item": "S-011",
        "by": "Jane Doe",
        "user": "jdoe",
        "impact": "high",
        "probability": "low",
        "mitigation": "WAF rule blocks TLS 1.0 clients",
        "expires_at": LAUNCH + 30 * DAY,
        "recorded_at": LAUNCH,
    }
    return RiskAcceptance(**{**base, **kw}).validated()


def test_an_acceptance_is_in_force_from_recording_until_just_before_expiry():
    a = acceptance()
    assert acceptance_state(a, LAUNCH) is AcceptanceState.IN_FORCE
    assert acceptance_state(a, LAUNCH + 30 * DAY - 0.001) is AcceptanceState.IN_FORCE


def test_an_acceptance_expires_at_its_expiry_instant():
    assert acceptance_state(acceptance(), LAUNCH + 30 * DAY) is AcceptanceState.EXPIRED


def test_a_revoked_acceptance_is_revoked_even_before_expiry():
    a = acceptance(revoked_at=LAUNCH + DAY, revoked_by="Bob")
    assert acceptance_state(a, LAUNCH + HOUR) is AcceptanceState.IN_FORCE
    assert acceptance_state(a, LAUNCH + DAY) is AcceptanceState.REVOKED
    assert acceptance_state(a, LAUNCH + 40 * DAY) is AcceptanceState.REVOKED


def test_levels_are_read_as_people_type_them():
    a = acceptance(impact="HIGH", probability=" Medium ")
    assert (a.impact, a.probability) == (Level.HIGH, Level.MEDIUM)


def test_an_unknown_level_names_the_field_and_the_choices():
    with pytest.raises(
        RecordError, match=r"impact must be one of low, medium, high \(got 'huge'\)"
    ):
        acceptance(impact="huge")


def test_a_name_is_kept_with_its_spacing_tidied():
    assert acceptance(by="  Jane   Doe ").by == "Jane Doe"


def test_a_stored_record_reads_back_even_if_it_would_not_validate_today():
    old = RiskAcceptance("S-011", "", None, "low", "low", "", LAUNCH, LAUNCH)
    assert acceptance_state(old, LAUNCH) is AcceptanceState.EXPIRED


def test_an_acceptance_needs_a_mitigation_and_a_name():
    with pytest.raises(RecordError, match="mitigation must not be empty"):
        acceptance(mitigation="  ")
    with pytest.raises(RecordError, match="by must name a person"):
        acceptance(by="")


def test_an_acceptance_that_expires_when_recorded_is_refused():
    with pytest.raises(RecordError, match="needs an expiry in the future"):
        acceptance(expires_at=LAUNCH)


def test_notes_longer_than_the_limit_are_refused():
    with pytest.raises(RecordError, match="notes is longer than 4000 characters"):
        acceptance(notes="x" * 4001)


def test_the_series_is_1_in_force_0_after_expiry_and_gone_once_revoked():
    a = acceptance()
    assert acceptance_series(a, LAUNCH) == AcceptanceSeries(1, LAUNCH + 30 * DAY)
    assert acceptance_series(a, LAUNCH + 31 * DAY) == AcceptanceSeries(0, LAUNCH + 30 * DAY)
    revoked = acceptance(revoked_at=LAUNCH + DAY)
    assert acceptance_series(revoked, LAUNCH + 2 * DAY) is None
    assert acceptance_series(None, LAUNCH) is None


def test_the_latest_acceptance_replaces_earlier_ones():
    old = acceptance(recorded_at=LAUNCH, id=1)
    new = acceptance(recorded_at=LAUNCH + DAY, expires_at=LAUNCH + 2 * DAY, id=2)
    assert latest([new, old]) is new
    assert latest([]) is None


def test_records_made_in_the_same_second_are_ordered_by_the_store():
    first = acceptance(id=7)
    second = acceptance(id=8)
    assert latest([second, first]) is second


# --- sign-offs ---

ALL_PASS = {"S-001": P, "S-002": P, "P-001": P, "X-001": NA}


def stamp(statuses, decision=Decision.GO, total=Fraction(1), critical=Fraction(1)):
    return StateStamp.of(decision, total, critical, statuses)


def signed(statuses=ALL_PASS, **kw):
    return SignOff("Security Lead", "Jane Doe", "jdoe", LAUNCH, stamp(statuses, **kw))


def test_a_stamp_of_the_scores_carries_decision_scores_and_gaps():
    judged = [Judged("S-001", "s", "critical", P), Judged("P-001", "p", "high", F)]
    stamp = StateStamp.of_scores(score(judged), {"S-001": P, "P-001": F})
    assert (stamp.decision, stamp.total, stamp.critical) == (Decision.NO_GO, Fraction(1, 2), 1)
    assert stamp.gaps == frozenset({"P-001"})


def test_the_digest_ignores_order_and_sees_every_status():
    a = state_digest({"A": P, "B": F})
    assert a == state_digest({"B": F, "A": P})
    assert a != state_digest({"A": P, "B": PA})
    assert a.startswith("sha256:")


def test_the_digest_tells_a_missing_item_from_an_na_one():
    assert state_digest({"A": P}) != state_digest({"A": P, "B": NA})


def test_a_signature_for_the_same_state_counts():
    check = check_signature(signed(), stamp(ALL_PASS))
    assert (check.counts, check.same_state) == (True, True)
    assert check.reason == "counts: given for this state (GO)"


def test_a_revoked_signature_does_not_count_even_for_the_state_it_was_given_for():
    revoked = replace(signed(), revoked_at=LAUNCH + 3600, revoked_by="Jane Doe")
    check = check_signature(revoked, stamp(ALL_PASS))
    assert not check.counts
    assert check.reason == f"revoked by Jane Doe on {when(LAUNCH + 3600)}"


def test_a_signature_no_longer_counts_when_the_decision_changes():
    now = {**ALL_PASS, "S-001": F}
    check = check_signature(signed(), stamp(now, decision=Decision.NO_GO))
    assert not check.counts
    assert check.reason == "given for another state: decision was GO, now NO-GO"
    assert check.new_gaps == ("S-001",)


def test_a_regression_with_the_same_decision_voids_the_signature():
    now = {**ALL_PASS, "P-001": F}
    check = check_signature(signed(), stamp(now, total=Fraction(2, 3)))
    assert not check.counts
    assert check.reason == "given for another state: not PASS since signing: P-001"


def test_an_item_that_improved_leaves_the_signature_counting():
    before = {**ALL_PASS, "P-001": F}
    check = check_signature(signed(before, total=Fraction(2, 3)), stamp(ALL_PASS))
    assert (check.counts, check.same_state) == (True, False)
    assert check.reason == "counts: same decision (GO), no new gaps, 1 item fixed since"


def test_a_gap_changing_between_fail_partial_and_pending_leaves_it_counting():
    before = {**ALL_PASS, "P-001": F}
    now = {**ALL_PASS, "P-001": PE}
    check = check_signature(signed(before), stamp(now))
    assert (check.counts, check.same_state) == (True, False)


def test_an_item_added_since_signing_that_is_not_pass_voids_it():
    now = {**ALL_PASS, "N-001": PE}
    assert not check_signature(signed(), stamp(now)).counts


def test_an_na_item_becoming_applicable_and_failing_voids_it():
    now = {**ALL_PASS, "X-001": F}
    check = check_signature(signed(), stamp(now))
    assert check.new_gaps == ("X-001",)


def test_returning_to_the_signed_state_makes_the_signature_count_again():
    sig = signed()
    assert not check_signature(sig, stamp({**ALL_PASS, "S-002": F})).counts
    assert check_signature(sig, stamp(ALL_PASS)).same_state


def test_many_new_gaps_are_named_up_to_five():
    now = {f"Z-{n:03}": F for n in range(8)} | ALL_PASS
    check = check_signature(signed(), stamp(now))
    assert check.reason.endswith("Z-000, Z-001, Z-002, Z-003, Z-004 and 3 more")


def test_roles_are_matched_without_case_or_spacing():
    assert resolve_role("security  lead", DEFAULT_ROLES) == "Security Lead"
    assert resolve_role("cto", DEFAULT_ROLES) == "CTO"


def test_an_unknown_role_lists_the_roles():
    with pytest.raises(RecordError, match="unknown role 'QA Lead': the sign-off roles are Eng"):
        resolve_role("QA Lead", DEFAULT_ROLES)


def test_the_default_roles_are_the_sign_off_sheets_five():
    assert DEFAULT_ROLES == (
        "Engineering Lead",
        "Operations Lead",
        "Security Lead",
        "Product Lead",
        "CTO",
    )


# --- decisions and launch time ---


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("go", Decision.GO),
        ("GO", Decision.GO),
        ("go-with-caution", Decision.GO_WITH_CAUTION),
        ("GO WITH CAUTION", Decision.GO_WITH_CAUTION),
        ("no_go", Decision.NO_GO),
        ("NO-GO", Decision.NO_GO),
    ],
)
def test_decisions_are_read_as_people_type_them(typed, expected):
    assert decision(typed) is expected


def test_an_unknown_decision_lists_the_choices():
    with pytest.raises(RecordError, match="decision must be one of go, go_with_caution, no_go"):
        decision("maybe")


def record(launch_at=None, at=LAUNCH - DAY):
    return DecisionRecord(Decision.GO, "Ana CTO", "ana", at, Decision.GO, launch_at)


def test_the_recorded_launch_time_wins_over_the_configs():
    lt = launch_time(LAUNCH + DAY, record(LAUNCH))
    assert (lt.at, lt.source) == (LAUNCH, "decision")


def test_a_decision_without_launch_time_falls_back_to_the_config():
    lt = launch_time(LAUNCH + DAY, record(None))
    assert (lt.at, lt.source) == (LAUNCH + DAY, "config")


def test_no_launch_time_anywhere():
    lt = launch_time(None, None)
    assert (lt.at, lt.source) == (None, "none")


# --- remediation ---


def test_a_recorded_remediation_wins_over_the_configs():
    rec = Remediation("S-011", "https://tracker.example/SEC-12", "Jane", None, LAUNCH)
    assert remediation_of("fix nginx", rec) == "https://tracker.example/SEC-12"


def test_an_empty_recorded_remediation_clears_the_configs():
    assert remediation_of("fix nginx", Remediation("S-011", "", "Jane", None, LAUNCH)) is None


def test_without_a_record_the_config_remediation_stands():
    assert remediation_of(" fix nginx ", None) == "fix nginx"
    assert remediation_of("  ", None) is None


def test_only_fail_items_without_remediation_are_listed():
    statuses = {"A": F, "B": F, "C": PA, "D": P}
    assert without_remediation(statuses, {"B": "ticket"}) == ["A"]


# --- attestations recorded in the store (which counts: tests/test_attestation_store.py) ---


def att(source, signed_at, id=None, **kw):
    return Attestation("T-001", P, "Jane", signed_at, source=source, id=id, **kw).validated()


def test_an_attestation_expiring_before_it_was_signed_is_refused():
    with pytest.raises(RecordError, match="expires must be after"):
        att("store", LAUNCH, expires_at=LAUNCH - 1)
