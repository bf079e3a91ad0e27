"""The checklist's scoring formula and decision matrix, case by case, boundaries included."""

from fractions import Fraction

import pytest

from exporter.scoring import Decision, Judged, decide, score
from probes.result import Status

P, PA, F, PE, NA = Status.PASS, Status.PARTIAL, Status.FAIL, Status.PENDING, Status.NA


def items(*specs):
    """Judged items from (priority, status) pairs, in category "c"."""
    return [Judged(f"X-{n:03}", "c", prio, st) for n, (prio, st) in enumerate(specs)]


def many(n_pass, n_other, other=F, critical_pass=1):
    return items(
        *(
            [("critical", P)] * critical_pass
            + [("high", P)] * (n_pass - critical_pass)
            + [("high", other)] * n_other
        )
    )


def test_everything_passing_is_go():
    s = score(many(20, 0))
    assert (s.total.score, s.critical.score, s.decision) == (1, 1, Decision.GO)


def test_exactly_95_percent_is_go():
    s = score(many(19, 1))
    assert s.total.score == Fraction(95, 100)
    assert s.decision is Decision.GO


def test_just_below_95_percent_is_go_with_caution():
    s = score(many(189, 11))  # 94.5 %
    assert s.decision is Decision.GO_WITH_CAUTION


def test_exactly_90_percent_is_go_with_caution():
    s = score(many(9, 1))
    assert s.total.score == Fraction(9, 10)
    assert s.decision is Decision.GO_WITH_CAUTION


def test_just_below_90_percent_is_no_go():
    s = score(many(179, 21))  # 89.5 %
    assert s.decision is Decision.NO_GO
    assert "below 90%" in s.reason


@pytest.mark.parametrize("status", [PA, F, PE])
def test_one_critical_item_not_passing_is_no_go_whatever_the_total(status):
    s = score(items(("critical", status), *[("high", P)] * 99))
    assert s.total.score == Fraction(99, 100)
    assert s.critical.score == 0
    assert s.decision is Decision.NO_GO
    assert s.blockers == ("X-000",)
    assert "X-000" in s.reason


@pytest.mark.parametrize("status", [PA, F, PE])
def test_partial_fail_and_pending_count_as_not_passed(status):
    s = score(items(("high", P), ("high", status)))
    assert s.total.score == Fraction(1, 2)


def test_na_items_are_left_out_of_every_score():
    s = score(items(("critical", P), ("critical", NA), ("high", P), ("high", NA)))
    assert s.total.applicable == 2
    assert (s.total.score, s.critical.score) == (1, 1)
    assert s.decision is Decision.GO


def test_na_critical_item_does_not_block():
    s = score(items(("critical", NA), ("high", P)))
    assert s.blockers == ()
    assert s.decision is Decision.GO


def test_no_applicable_items_at_all_is_no_go_with_undefined_scores():
    s = score(items(("critical", NA), ("high", NA)))
    assert s.total.score is None and s.critical.score is None
    assert s.decision is Decision.NO_GO
    assert "no applicable items" in s.reason


def test_empty_checklist_is_no_go():
    assert score([]).decision is Decision.NO_GO


def test_no_critical_items_leaves_critical_score_undefined_and_does_not_block():
    s = score(items(("high", P), ("medium", P)))
    assert s.critical.score is None
    assert s.decision is Decision.GO
    assert s.reason == "no applicable critical items and total score 100.0% >= 95%"


def test_category_with_no_applicable_items_has_undefined_score():
    judged = [Judged("A-1", "a", "high", P), Judged("B-1", "b", "high", NA)]
    s = score(judged, categories=["a", "b"])
    assert s.categories["a"].score == 1
    assert s.categories["b"].score is None
    assert s.categories["b"].counts[NA] == 1


def test_categories_keep_the_given_order_and_include_empty_ones():
    s = score([Judged("B-1", "b", "high", P)], categories=["a", "b"])
    assert list(s.categories) == ["a", "b"]
    assert s.categories["a"].applicable == 0


def test_counts_per_status():
    s = score(items(("high", P), ("high", PA), ("high", F), ("high", PE), ("high", NA)))
    assert {st: s.total.counts[st] for st in Status} == {P: 1, PA: 1, F: 1, PE: 1, NA: 1}


def test_custom_thresholds():
    s = score(many(8, 2), go=0.8, caution=0.5)
    assert s.decision is Decision.GO
    assert score(many(6, 4), go=0.8, caution=0.5).decision is Decision.GO_WITH_CAUTION


@pytest.mark.parametrize(
    "total,critical,expected",
    [
        (Fraction(1), Fraction(1), Decision.GO),
        (Fraction(95, 100), Fraction(1), Decision.GO),
        (Fraction(94, 100), Fraction(1), Decision.GO_WITH_CAUTION),
        (Fraction(90, 100), Fraction(1), Decision.GO_WITH_CAUTION),
        (Fraction(89, 100), Fraction(1), Decision.NO_GO),
        (Fraction(1), Fraction(99, 100), Decision.NO_GO),
        (Fraction(1), None, Decision.GO),
        (None, None, Decision.NO_GO),
    ],
)
def test_decision_matrix(total, critical, expected):
    assert decide(total, critical) is expected


def test_decision_labels_are_the_documents():
    assert [d.label for d in Decision] == ["GO", "GO WITH CAUTION", "NO-GO"]


def test_many_blockers_are_summarised():
    s = score(items(*[("critical", F)] * 12))
    assert s.reason == (
        "12 critical items not PASS: X-000, X-001, X-002, X-003, X-004, X-005, "
        "X-006, X-007, X-008, X-009 and 2 more"
    )
