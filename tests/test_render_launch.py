"""P020's Risk Assessment, Sign-Off Sheet and Go/No-Go block (exporter/render/launch.py), from
plain records; people's text escaped. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

import pytest

from exporter.launch import (
    DAY,
    HOUR,
    DecisionRecord,
    LaunchTime,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from exporter.render.launch import (
    ItemLine,
    LaunchSheet,
    go_no_go,
    link_or_text,
    render,
    risk_assessment,
    sign_off_sheet,
    text,
    without_remediation_section,
)
from exporter.scoring import Decision
from probes.result import Status

P, PA, F, PE, NA = Status.PASS, Status.PARTIAL, Status.FAIL, Status.PENDING, Status.NA
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC).timestamp()
ITEMS = [
    ItemLine("S-001", "All production secrets rotated", P, "critical", "security"),
    ItemLine("S-011", "HTTPS enforced (TLS 1.2+)", F, "critical", "platform"),
    ItemLine("P-004", "p95 latency under 500ms", PA, "high", None, "https://tracker.example/P-4"),
    ItemLine("D-002", "Docs reviewed", PE, "low"),
    ItemLine("C-003", "GDPR export", NA, "medium"),
    ItemLine("O-007", "Runbooks written", F, "high", "ops", "write them in Q1"),
]
STATUSES = {i.id: i.status for i in ITEMS}


def cells(row: str) -> list[str]:
    """A Markdown table row's cells, split on pipes that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def rows_of(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("| ") and not line.startswith("| #")]


def acceptance(**kw):
    base = {
        "item": "S-011",
        "by": "Ana Lopez",
        "user": "ana",
        "impact": "high",
        "probability": "low",
        "mitigation": "WAF drops TLS 1.0 clients",
        "expires_at": NOW + 10 * DAY,
        "recorded_at": NOW - DAY,
    }
    return RiskAcceptance(**{**base, **kw})


# --- Risk Assessment ---


def test_every_fail_or_partial_item_has_a_row_and_no_other():
    lines = risk_assessment(ITEMS, {}, NOW)
    assert [cells(r)[0] for r in rows_of(lines)] == ["S-011", "P-004", "O-007"]
    assert all(len(cells(r)) == 10 for r in rows_of(lines))


def test_an_item_without_an_acceptance_is_not_assessed_and_to_be_resolved():
    row = rows_of(risk_assessment(ITEMS, {}, NOW))[0]
    assert cells(row) == [
        "S-011",
        "🔴 HTTPS enforced (TLS 1.2+)",
        "❌ FAIL",
        "platform",
        "not assessed",
        "not assessed",
        "—",
        "**Resolve** (no remediation plan)",
        "—",
        "—",
    ]


def test_the_remediation_plan_shows_in_the_resolve_decision():
    row = rows_of(risk_assessment(ITEMS, {}, NOW))[1]
    assert cells(row)[7] == "**Resolve** (plan: <https://tracker.example/P-4>)"


def test_an_acceptance_in_force_shows_impact_probability_mitigation_expiry_and_who():
    row = rows_of(risk_assessment(ITEMS, {"S-011": acceptance(notes="until the LB upgrade")}, NOW))[
        0
    ]
    assert cells(row)[4:] == [
        "HIGH",
        "LOW",
        "WAF drops TLS 1.0 clients (notes: until the LB upgrade)",
        "**Accept**",
        "2026-12-10 12:00 UTC (in 10d)",
        "Ana Lopez (user: ana), 2026-11-29 12:00 UTC",
    ]


def test_an_expired_acceptance_asks_to_renew_or_resolve():
    expired = acceptance(expires_at=NOW - HOUR, recorded_at=NOW - 5 * DAY)
    row = rows_of(risk_assessment(ITEMS, {"S-011": expired}, NOW))[0]
    assert cells(row)[7] == (
        "**Resolve**: the acceptance expired; renew it or fix the item (no remediation plan)"
    )
    assert cells(row)[8] == "2026-11-30 11:00 UTC (expired)"


def test_a_revoked_acceptance_says_who_revoked_it():
    revoked = acceptance(revoked_at=NOW - HOUR, revoked_by="Bob", revoked_user="bob")
    row = rows_of(risk_assessment(ITEMS, {"S-011": revoked}, NOW))[0]
    assert cells(row)[7].startswith(
        "**Resolve**: the acceptance was revoked by Bob (user: bob) on 2026-11-30 11:00 UTC"
    )


def test_an_acceptance_of_an_item_that_passes_now_is_not_in_the_table():
    lines = risk_assessment(ITEMS, {"S-001": acceptance(item="S-001")}, NOW)
    assert "S-001" not in "\n".join(rows_of(lines))


def test_with_no_gaps_the_section_says_so():
    lines = risk_assessment([ItemLine("S-001", "Secrets", P)], {}, NOW)
    assert "No item is FAIL or PARTIAL." in lines
    assert rows_of(lines) == []


def test_fail_items_without_remediation_are_listed_as_such():
    lines = without_remediation_section(ITEMS)
    assert lines[0] == "### FAIL items without a remediation plan"
    listed = [line for line in lines if line.startswith("- ")]
    assert listed == [
        "- **S-011** 🔴 HTTPS enforced (TLS 1.2+) (owner: platform): no remediation plan"
    ]


def test_when_every_fail_item_has_a_plan_the_list_says_so():
    items = [ItemLine("O-007", "Runbooks", F, remediation="OPS-1")]
    assert "None: every FAIL item has a remediation plan." in without_remediation_section(items)


# --- Sign-Off Sheet ---

SIGNED_STATE = StateStamp.of(Decision.NO_GO, Fraction(1, 5), Fraction(1, 2), STATUSES)


def signoff(role="Security Lead", stamp=SIGNED_STATE, **kw):
    fields = {"by": "Ana Lopez", "user": "ana", "at": NOW - HOUR, "notes": "TLS gap accepted"}
    return SignOff(role, stamp=stamp, **{**fields, **kw})


def test_the_sheet_has_the_five_roles_in_the_documents_order():
    lines = sign_off_sheet(
        ("Engineering Lead", "Operations Lead", "Security Lead", "Product Lead", "CTO"),
        {},
        SIGNED_STATE,
    )
    assert lines[4] == "| Role | Name | Signature | Date | Notes |"
    assert [cells(r)[0] for r in rows_of(lines)[1:]] == [
        "**Engineering Lead**",
        "**Operations Lead**",
        "**Security Lead**",
        "**Product Lead**",
        "**CTO**",
    ]
    assert all(cells(r)[2] == "⬜ not signed" for r in rows_of(lines)[1:])


def test_a_signature_for_the_current_state_counts():
    lines = sign_off_sheet(("Security Lead",), {"Security Lead": signoff()}, SIGNED_STATE)
    assert cells(rows_of(lines)[1]) == [
        "**Security Lead**",
        "Ana Lopez (user: ana)",
        "☑ counts: given at NO-GO (total 20.0%, critical 50.0%)",
        "2026-11-30 11:00 UTC",
        "TLS gap accepted",
    ]


def test_a_signature_for_another_decision_is_shown_and_does_not_count():
    now = StateStamp.of(Decision.GO, Fraction(1), Fraction(1), dict.fromkeys(STATUSES, P))
    lines = sign_off_sheet(("Security Lead",), {"Security Lead": signoff()}, now)
    assert cells(rows_of(lines)[1])[2] == (
        "⚠️ does not count: given for another state: decision was NO-GO, now GO "
        "(given at total 20.0%, critical 50.0%)"
    )


def test_roles_match_the_recorded_ones_without_case():
    lines = sign_off_sheet(
        ("Security Lead",), {"security lead": signoff("security lead")}, SIGNED_STATE
    )
    assert cells(rows_of(lines)[1])[1] == "Ana Lopez (user: ana)"


def test_signatures_for_roles_no_longer_configured_are_still_shown():
    lines = sign_off_sheet(("CTO",), {"QA Lead": signoff("QA Lead")}, SIGNED_STATE)
    assert "Also recorded, for roles no longer in the config:" in lines
    assert any(line.startswith("- **QA Lead**, Ana Lopez") for line in lines)


def test_a_name_without_an_authenticated_user_is_the_name_alone():
    lines = sign_off_sheet(("CTO",), {"CTO": signoff("CTO", user=None, by="Carl")}, SIGNED_STATE)
    assert cells(rows_of(lines)[1])[1] == "Carl"


# --- Go/No-Go Decision ---


def test_without_a_recorded_decision_no_box_is_ticked():
    lines = go_no_go(
        SIGNED_STATE, "1 critical item not PASS: S-011", None, LaunchTime(None, "none"), NOW
    )
    assert lines == [
        "**Go/No-Go Decision**: ⬜ GO  ⬜ GO WITH CAUTION  ⬜ NO-GO  ",
        "**Computed now**: **NO-GO**: 1 critical item not PASS: S-011  ",
        "**Decision Maker**: not recorded yet  ",
        "**Date**: —  ",
        "**Launch Date**: not set  ",
        "**Launch Time**: not set  ",
        "",
    ]


def test_a_recorded_decision_ticks_its_box_and_gives_maker_date_and_launch_in_utc():
    record = DecisionRecord(
        Decision.NO_GO, "Carl Chen", "carl", NOW - HOUR, Decision.NO_GO, NOW + 7 * DAY + 2 * HOUR
    )
    lines = go_no_go(SIGNED_STATE, "", record, LaunchTime(record.launch_at, "decision"), NOW)
    assert lines == [
        "**Go/No-Go Decision**: ⬜ GO  ⬜ GO WITH CAUTION  ☑ NO-GO  ",
        "**Computed now**: **NO-GO**  ",
        "**Decision Maker**: Carl Chen  ",
        "**Date**: 2026-11-30 11:00 UTC  ",
        "**Signature**: recorded by authenticated user carl  ",
        "**Computed when recorded**: NO-GO  ",
        "**Launch Date**: 2026-12-07  ",
        "**Launch Time**: 14:00 UTC  ",
        "**Launch Phase**: Pre-launch, launch in 7d  ",
        "",
    ]


def test_a_recorded_decision_that_differs_from_the_computed_one_is_flagged():
    record = DecisionRecord(Decision.GO, "Carl", None, NOW, Decision.NO_GO, notes="board approved")
    lines = go_no_go(SIGNED_STATE, "", record, LaunchTime(None, "none"), NOW)
    assert "**Signature**: recorded without an authenticated user (command line)  " in lines
    assert "**Notes**: board approved  " in lines
    assert "**Computed when recorded**: NO-GO  " in lines
    assert "> ⚠️ The recorded decision (GO) differs from the decision computed now (NO-GO)." in lines


def test_a_launch_time_from_the_config_says_so_and_gives_the_phase():
    lines = go_no_go(SIGNED_STATE, "", None, LaunchTime(NOW - 3 * DAY, "config"), NOW)
    assert "**Launch Date**: 2026-11-27 (from the config)  " in lines
    assert "**Launch Phase**: First Week until 2026-12-04 12:00 UTC  " in lines


def test_after_the_first_month_the_phase_is_steady():
    lines = go_no_go(SIGNED_STATE, "", None, LaunchTime(NOW - 40 * DAY, "config"), NOW)
    assert "**Launch Phase**: Steady state  " in lines


# --- escaping people's text ---

HOSTILE = (
    "a | b <script>alert(1)</script> **bold** [x](javascript:alert(1)) `code`\n"
    "# heading\x1b[31m red\x00 \u202eevil\u202c & done ~~gone~~ \\ end"
)


def test_hostile_text_keeps_its_words_and_loses_its_power():
    safe = text(HOSTILE)
    assert "<" not in safe and ">" not in safe
    assert "\n" not in safe and "\x1b" not in safe and "\x00" not in safe
    assert "\u202e" not in safe and "\u202c" not in safe
    assert re.search(r"(?<!\\)\|", safe) is None  # every pipe escaped
    assert re.search(r"(?<!\\)[*_`\[\]~#]", safe) is None  # every Markdown mark escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in safe
    assert "&amp; done" in safe
    assert "[31m red" in safe  # the escape byte goes, the text stays
    assert "evil" in safe


def test_emoji_sequences_survive_escaping():
    assert text("ship it 👩‍💻 ✅") == "ship it 👩‍💻 ✅"


def test_a_hostile_note_cannot_add_cells_or_rows_to_the_sheet():
    hostile = signoff("CTO", by=HOSTILE, user=HOSTILE, notes=HOSTILE)
    lines = sign_off_sheet(("CTO",), {"CTO": hostile}, SIGNED_STATE)
    rows = rows_of(lines)
    assert len(rows) == 2  # the header and one row: no line break got through
    assert len(cells(rows[1])) == 5


def test_a_hostile_mitigation_cannot_add_cells_to_the_risk_table():
    hostile = acceptance(mitigation=HOSTILE, notes=HOSTILE, by=HOSTILE)
    rows = rows_of(risk_assessment(ITEMS, {"S-011": hostile}, NOW))
    assert [len(cells(r)) for r in rows] == [10, 10, 10]


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("https://tracker.example/SEC-12?x=1&y=2", "<https://tracker.example/SEC-12?x=1&y=2>"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("https://ex.ample/a b", "https://ex.ample/a b"),
        ("https://ex.ample/<x>", "https://ex.ample/&lt;x&gt;"),
        ("https://ex.ample/a|b", "https://ex.ample/a\\|b"),
        ("see [ticket](javascript:x)", "see \\[ticket\\](javascript:x)"),
    ],
)
def test_only_plain_http_links_become_links(given, shown):
    assert link_or_text(given) == shown


# --- the three sections together ---


def test_render_gives_the_sections_in_the_documents_order():
    sheet = LaunchSheet(
        items=ITEMS,
        now=NOW,
        state=SIGNED_STATE,
        reason="1 critical item not PASS: S-011",
        acceptances={"S-011": acceptance()},
        signoffs={"Security Lead": signoff()},
    )
    out = render(sheet)
    order = [
        out.index("## Risk Assessment"),
        out.index("### FAIL items without a remediation plan"),
        out.index("## Sign-Off Sheet"),
        out.index("**Go/No-Go Decision**"),
        out.index("**Launch Time**"),
    ]
    assert order == sorted(order)
    assert out.endswith("**Launch Time**: not set\n")


def test_computed_now_is_the_real_decision_when_the_sheet_is_not_complete():
    # The state under review (sign-off items counted as given) is GO; the checklist computes
    # NO-GO until the sheet is complete: the block says both, and flags the recorded GO.
    under_review = StateStamp.of(Decision.GO, Fraction(1), Fraction(1), {"A-1": Status.PASS})
    record = DecisionRecord(Decision.GO, "Carl", None, NOW, Decision.GO)
    lines = go_no_go(under_review, "", record, LaunchTime(None, "none"), NOW, Decision.NO_GO)
    assert "**Computed now**: **NO-GO**  " in lines
    assert "**Computed when recorded**: GO  " in lines
    assert lines[-2] == (
        "> ⚠️ The recorded decision (GO) differs from the decision computed now (NO-GO)."
    )
