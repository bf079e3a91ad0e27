"""The Sign-Off Sheet kinds (probes/sheet.py): ``signoff`` answers from a role's latest signature
and whether it counts for the checklist as it is, ``decision`` from the recorded Go/No-Go
decision; each status, the summary a person reads, and each config mistake's message."""

from __future__ import annotations

import datetime as dt
import textwrap
import time

import pytest

from exporter import config
from exporter.config import ConfigError
from exporter.snapshot import SignOffSheet
from probes.context import ProbeContext, Resources
from probes.result import Status
from probes.sheet import (
    DecisionSpec,
    SignoffSpec,
    judge_decision,
    judge_signoff,
    probe_decision,
    probe_signoff,
)
from probes.signed import SheetDecision, SheetSignature

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC).timestamp()
DAY = 86400.0


def signature(role="Engineering Lead", counts=True, **changed):
    fields = {
        "role": role,
        "by": "Jane Doe",
        "user": None,
        "signed_at": NOW - DAY,
        "notes": "",
        "given_for": "GO (total 96.6%, critical 100.0%)",
        "counts": counts,
        "reason": (
            "counts: given for this state (GO)"
            if counts
            else "given for another state: decision was GO, now NO-GO"
        ),
    }
    return SheetSignature(**{**fields, **changed})


def decided(decision="go", computed_then="go", **changed):
    labels = {"go": "GO", "go_with_caution": "GO WITH CAUTION", "no_go": "NO-GO"}
    fields = {
        "decision": decision,
        "label": labels[decision],
        "by": "Carla CTO",
        "user": "carla",
        "decided_at": NOW - DAY,
        "computed_then": computed_then,
        "computed_then_label": labels[computed_then],
        "launch_at": NOW + 2 * DAY,
        "launch_from_config": False,
    }
    return SheetDecision(**{**fields, **changed})


def sheet(*signatures, decision=None, computed="go", whole=True):
    labels = {"go": "GO", "go_with_caution": "GO WITH CAUTION", "no_go": "NO-GO"}
    return SignOffSheet(
        whole,
        computed,
        labels[computed],
        decision,
        {" ".join(s.role.split()).casefold(): s for s in signatures},
    )


ENGINEERING = SignoffSpec("Engineering Lead")
DECIDED = DecisionSpec()


# --- signoff ---------------------------------------------------------------------------------


def test_no_signature_of_the_role_is_pending_and_says_how_to_sign():
    result = judge_signoff(ENGINEERING, sheet(signature("CTO")), NOW)
    assert result.status is Status.PENDING
    assert result.summary == (
        'not signed yet: no signature of Engineering Lead (readiness-exporter sign "Engineering '
        'Lead" --by NAME)'
    )


def test_a_signature_that_counts_passes_and_says_for_which_state():
    result = judge_signoff(ENGINEERING, sheet(signature(user="jane")), NOW)
    assert result.status is Status.PASS
    assert result.summary == (
        "signed by Jane Doe (user jane) on 2026-11-29 09:00 UTC for GO (total 96.6%, critical "
        "100.0%); counts: given for this state (GO)"
    )
    assert result.observed_at == NOW - DAY
    assert result.evidence["counts"] is True


def test_a_signature_given_for_another_state_fails_and_says_what_changed():
    result = judge_signoff(ENGINEERING, sheet(signature(counts=False)), NOW)
    assert result.status is Status.FAIL
    assert result.summary == (
        "signed by Jane Doe on 2026-11-29 09:00 UTC for GO (total 96.6%, critical 100.0%); "
        "given for another state: decision was GO, now NO-GO"
    )
    assert not result.error  # a verdict on the signature, not a probe that could not look


def test_the_role_is_matched_as_the_config_matches_it():
    result = judge_signoff(SignoffSpec("engineering  LEAD"), sheet(signature()), NOW)
    assert result.status is Status.PASS


@pytest.mark.parametrize("by", ["", "   "])
def test_a_signature_without_a_name_does_not_count(by):
    result = judge_signoff(ENGINEERING, sheet(signature(by=by)), NOW)
    assert result.status is Status.FAIL
    assert (
        result.summary == "a signature of Engineering Lead recorded without a name does not count"
    )


def test_a_signature_dated_in_the_future_does_not_count():
    result = judge_signoff(ENGINEERING, sheet(signature(signed_at=NOW + DAY)), NOW)
    assert result.status is Status.FAIL
    assert "in the future" in result.summary
    # within the clock skew a signer's clock may have, it counts
    assert judge_signoff(ENGINEERING, sheet(signature(signed_at=NOW + 60)), NOW).status is (
        Status.PASS
    )


def test_a_signature_older_than_max_age_does_not_count_even_for_this_state():
    spec = SignoffSpec("Engineering Lead", max_age=90 * DAY)
    old = signature(signed_at=NOW - 100 * DAY)
    result = judge_signoff(spec, sheet(old), NOW)
    assert result.status is Status.FAIL
    assert result.summary == (
        "signed by Jane Doe on 2026-08-22 09:00 UTC: 100d old, more than max_age 90d: given "
        "for an earlier round of this checklist, record it again"
    )
    assert judge_signoff(spec, sheet(signature(signed_at=NOW - 89 * DAY)), NOW).status is (
        Status.PASS
    )


async def test_without_a_sheet_or_with_part_of_the_checklist_it_cannot_judge():
    ctx = ProbeContext(Resources(), 5.0, item="F-006")
    alone = await probe_signoff(ENGINEERING, ctx)
    assert alone.status is Status.FAIL and alone.error
    assert "only the exporter's engine hands one" in alone.summary
    ctx = ProbeContext(Resources(), 5.0, item="F-006", sheet=sheet(signature(), whole=False))
    cut = await probe_signoff(ENGINEERING, ctx)
    assert cut.status is Status.FAIL and cut.error
    assert cut.summary.startswith("cannot judge in a run of some items")


# --- decision --------------------------------------------------------------------------------


def test_no_decision_is_pending_and_says_how_to_record_one():
    result = judge_decision(DECIDED, sheet(), NOW)
    assert result.status is Status.PENDING
    assert "readiness-exporter decide" in result.summary


def test_a_go_by_a_named_person_with_a_launch_time_passes():
    result = judge_decision(DECIDED, sheet(decision=decided()), NOW)
    assert result.status is Status.PASS
    assert result.summary == (
        "GO decided by Carla CTO (user carla) on 2026-11-29 09:00 UTC, launch 2026-12-02 09:00 UTC"
    )


def test_the_config_s_launch_time_counts_and_is_named():
    result = judge_decision(DECIDED, sheet(decision=decided(launch_from_config=True)), NOW)
    assert result.status is Status.PASS
    assert result.summary.endswith("(the config's launch:)")


@pytest.mark.parametrize("decision", ["go", "go_with_caution"])
def test_a_go_without_a_launch_time_is_partial(decision):
    record = decided(decision, decision, launch_at=None)
    result = judge_decision(DECIDED, sheet(decision=record, computed=decision), NOW)
    assert result.status is Status.PARTIAL
    assert "with no launch date and time" in result.summary


def test_a_recorded_no_go_is_documented_but_does_not_pass():
    # The checklist's item asks for a decision that lets the launch go: a NO-GO, however well
    # documented and for this very state, is a FAIL (it needs no launch time to say so).
    record = decided("no_go", "no_go", launch_at=None)
    result = judge_decision(DECIDED, sheet(decision=record, computed="no_go"), NOW)
    assert result.status is Status.FAIL
    assert result.summary == (
        "NO-GO decided by Carla CTO (user carla) on 2026-11-29 09:00 UTC: the launch is not "
        "approved"
    )
    assert not result.error


def test_a_go_with_caution_for_this_state_passes():
    record = decided("go_with_caution", "go_with_caution")
    result = judge_decision(DECIDED, sheet(decision=record, computed="go_with_caution"), NOW)
    assert result.status is Status.PASS


def test_a_decision_made_for_another_state_fails():
    record = decided("no_go", "no_go")
    result = judge_decision(DECIDED, sheet(decision=record, computed="go"), NOW)
    assert result.status is Status.FAIL
    assert result.summary == (
        "NO-GO decided by Carla CTO (user carla) on 2026-11-29 09:00 UTC when the checklist "
        "computed NO-GO; it now computes GO: the decision was made for another state, record it "
        "again (readiness-exporter decide)"
    )


def test_a_call_against_the_computed_decision_is_documented_and_says_so():
    record = decided("go_with_caution", "go")
    result = judge_decision(DECIDED, sheet(decision=record, computed="go"), NOW)
    assert result.status is Status.PASS
    assert "against the computed GO," in result.summary
    record = decided("no_go", "go")
    result = judge_decision(DECIDED, sheet(decision=record, computed="go"), NOW)
    assert result.status is Status.FAIL
    assert "against the computed GO: the launch is not approved" in result.summary


def test_a_decision_older_than_max_age_does_not_count():
    old = decided(decided_at=NOW - 120 * DAY)
    result = judge_decision(DecisionSpec(max_age=90 * DAY), sheet(decision=old), NOW)
    assert result.status is Status.FAIL
    assert result.summary == (
        "GO decided by Carla CTO (user carla) on 2026-08-02 09:00 UTC: 120d old, more than "
        "max_age 90d: given for an earlier round of this checklist, record it again"
    )
    recent = decided(decided_at=NOW - 89 * DAY)
    assert judge_decision(DecisionSpec(max_age=90 * DAY), sheet(decision=recent), NOW).status is (
        Status.PASS
    )


@pytest.mark.parametrize("by", ["", "  "])
def test_a_decision_without_a_name_does_not_count(by):
    result = judge_decision(DECIDED, sheet(decision=decided(by=by)), NOW)
    assert result.status is Status.FAIL
    assert result.summary == "a GO decision recorded without a name does not count"


def test_a_decision_dated_in_the_future_does_not_count():
    result = judge_decision(DECIDED, sheet(decision=decided(decided_at=NOW + DAY)), NOW)
    assert result.status is Status.FAIL and "in the future" in result.summary


async def test_the_probe_judges_at_the_time_it_runs():
    record = decided(decided_at=time.time() - 60, launch_at=time.time() + DAY)
    ctx = ProbeContext(Resources(), 5.0, item="F-010", sheet=sheet(decision=record))
    assert (await probe_decision(DecisionSpec(), ctx)).status is Status.PASS


# --- config ----------------------------------------------------------------------------------


def load(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return config.load(path, {})


def errors(tmp_path, text):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    return exc.value.errors


def test_sheet_items_are_known_to_the_checklist(tmp_path):
    checklist = load(
        tmp_path,
        """
        signoff: [Engineering Lead, CTO]
        categories:
        - id: f
          items:
          - {id: F-6, title: eng, priority: critical, probe: {signoff: {role: engineering lead}}}
          - {id: F-10, title: decided, priority: critical, probe: {decision: {max_age: 30d}}}
          - {id: F-11, title: bare, priority: low, probe: {decision: }}
          - {id: A-1, title: a, priority: high, probe: {tcp: {target: "a:1"}}}
        """,
    )
    assert checklist.sheet_ids == {"F-6", "F-10", "F-11"}
    assert checklist.item("F-6").spec == SignoffSpec("engineering lead")
    assert checklist.item("F-10").spec == DecisionSpec(30 * DAY)
    assert not checklist.item("A-1").from_sheet


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        (
            "{signoff: {role: QA Lead}}",
            'signoff.role "QA Lead" is not a role of signoff: (Engineering Lead, Operations Lead, '
            "Security Lead, Product Lead, CTO)",
        ),
        ("{signoff: {}}", "signoff.role is required"),
        (
            "{signoff: {role: Engineering Lead, expires: 1d}}",
            "signoff.expires is not a known field (known: max_age, role)",
        ),
        ("{decision: {launch: required}}", "decision.launch is not a known field (known: max_age)"),
        ("{signoff: {role: CTO, max_age: soon}}", "signoff.max_age"),
        (
            "{all: [{signoff: {role: CTO}}, {tcp: {target: 'a:1'}}]}",
            "all[0].signoff must be the item's whole probe, not a part of all/any",
        ),
        ("{any: [{decision: {}}]}", "any[0].decision must be the item's whole probe"),
    ],
)
def test_a_bad_sheet_probe_says_what_is_wrong(tmp_path, probe, message):
    text = (
        f"categories: [{{id: f, items: [{{id: F-6, title: t, priority: high, probe: {probe}}}]}}]"
    )
    (line,) = errors(tmp_path, text)
    assert line.startswith("config.yaml: categories[0].items[0] (F-6): ")
    assert message in line, line


def test_one_item_per_role_and_no_post_launch_task_from_the_sheet(tmp_path):
    lines = errors(
        tmp_path,
        """
        categories:
        - id: f
          items:
          - {id: F-6, title: eng, priority: critical, probe: {signoff: {role: CTO}}}
          - {id: F-7, title: again, priority: critical, probe: {signoff: {role: cto}}}
          - {id: PL-1, title: late, priority: low, phase: first_week, probe: {decision: {}}}
        """,
    )
    assert lines == [
        'config.yaml: categories[0].items[1] (F-7): signoff.role "CTO" is already read by item F-6',
        "config.yaml: categories[0].items[2] (PL-1): a post-launch task cannot answer from the "
        "Sign-Off Sheet (decision): signatures and the decision are the launch decision's",
    ]
