"""``check --format markdown`` with a store: P020's Risk Assessment (every FAIL or PARTIAL item),
its Post-Launch Validation and its Sign-Off Sheet with the decision record, filled in from what
people recorded; the owners; and the look-alikes that must not count (an expired acceptance, a
signature given for another state)."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

from markdown_it import MarkdownIt
from support.procs import ROOT

from exporter.launch import (
    DAY,
    HOUR,
    Attestation,
    DecisionRecord,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from exporter.scoring import Decision
from exporter.store import Store
from probes.result import Status

CONFIG = """
checklist: {name: Launch report}
defaults: {owner: sre}
categories:
  - id: sec
    title: Security Validation
    owner: security
    items:
      - {id: A-1, title: Secrets rotated, priority: critical, probe: {file: {path: config.yaml}}}
      - id: A-2
        title: WAF rules
        priority: high
        remediation: https://tickets.example/SEC-7
        probe: {file: {path: absent-waf.conf}}
      - {id: A-3, title: Pen test, priority: high, probe: {file: {path: absent-pentest.pdf}}}
      - {id: A-4, title: Vault audit, priority: high, owner: platform,
         probe: {attestation: {file: att/A-4.yaml}}}
  - id: post_launch
    title: Post-Launch Validation
    items:
      - {id: PL-001, title: Complete post-launch retrospective, priority: medium,
         phase: first_week, probe: {attestation: {file: att/PL-001.yaml}}}
"""


def test_the_report_fills_risk_assessment_post_launch_and_sign_off_sheet(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    now = time.time()
    launched = now - 2 * DAY - HOUR  # the first week: PL-001 due in 4 days and 23 hours
    statuses = {"A-1": Status.PASS, "A-2": Status.FAIL, "A-3": Status.FAIL, "A-4": Status.PARTIAL}
    with Store.open(tmp_path / "data") as store:
        store.record_attestation(
            Attestation("A-4", Status.PARTIAL, "Pat Ops", now - HOUR, ("half the vaults",))
        )
        store.accept_risk(
            RiskAcceptance(
                "A-2",
                "Sam Sec",
                "sam",
                "high",
                "low",
                "Rate limit at the LB",
                now + 30 * DAY,
                now - DAY,
                "until the WAF contract is signed",
            )
        )
        # Expired: looks like an acceptance, must not count.
        store.accept_risk(
            RiskAcceptance(
                "A-3", "Sam Sec", None, "medium", "medium", "none", now - HOUR, now - DAY
            )
        )
        stamp = StateStamp.of(Decision.NO_GO, Fraction(1, 4), Fraction(1), statuses)
        store.sign(SignOff("Security Lead", "Sue Sec", None, now - HOUR, stamp, "gaps known"))
        # Given when A-3 still passed: another state, must not count.
        earlier = {**statuses, "A-3": Status.PASS}
        store.sign(
            SignOff(
                "Engineering Lead",
                "Ed Eng",
                None,
                now - 2 * DAY,
                StateStamp.of(Decision.NO_GO, Fraction(2, 4), Fraction(1), earlier),
            )
        )
        store.record_decision(
            DecisionRecord(
                Decision.GO, "Carla CTO", "carla", now - 3 * DAY, Decision.NO_GO, launched
            )
        )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "check",
            "--config.file",
            str(path),
            "--format",
            "markdown",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # NO-GO
    text = done.stdout
    risk = text[text.index("## Risk Assessment") : text.index("## Post-Launch Validation")]
    rows = [ln for ln in risk.splitlines() if ln.startswith("| A-")]
    assert [r.split(" | ")[0] for r in rows] == ["| A-2", "| A-3", "| A-4"]  # FAIL or PARTIAL
    a2, a3, a4 = rows
    assert "| ❌ FAIL | security | HIGH | LOW | Rate limit at the LB (notes: until the WAF " in a2
    assert "| **Accept** |" in a2 and "Sam Sec (user: sam)" in a2
    assert (
        "**Resolve**: the acceptance expired; renew it or fix the item (no remediation plan)" in a3
    )
    assert "| 🟡 PARTIAL | platform | not assessed | not assessed |" in a4
    without = risk[risk.index("### FAIL items without a remediation plan") :]
    assert "**A-3** Pen test (owner: security): no remediation plan" in without
    assert "A-2" not in without  # its plan comes from the config

    tasks = text[text.index("## Post-Launch Validation") : text.index("## Sign-Off Sheet")]
    assert "### First Week" in tasks
    assert "- [ ] **PL-001** Complete post-launch retrospective: ⏸️ PENDING — due by " in tasks

    sheet = text[text.index("## Sign-Off Sheet") : text.index("## Evidence")]
    lines = {
        ln.split(" | ")[0].strip("| *"): ln for ln in sheet.splitlines() if ln.startswith("| **")
    }
    assert list(lines) == [
        "Engineering Lead",
        "Operations Lead",
        "Security Lead",
        "Product Lead",
        "CTO",
    ]
    assert "☑ counts: given at NO-GO (total 25.0%, critical 100.0%)" in lines["Security Lead"]
    assert "Sue Sec" in lines["Security Lead"] and "gaps known" in lines["Security Lead"]
    assert (
        "⚠️ does not count: given for another state: not PASS since signing: A-3"
        in lines["Engineering Lead"]
    )
    assert "⬜ not signed" in lines["CTO"]
    assert "**Go/No-Go Decision**: ☑ GO  ⬜ GO WITH CAUTION  ⬜ NO-GO  " in sheet
    assert "**Decision Maker**: Carla CTO  " in sheet
    assert "**Signature**: recorded by authenticated user carla  " in sheet
    assert "**Launch Phase**: First Week until " in sheet
    assert "> ⚠️ The recorded decision (GO) differs from the decision computed now (NO-GO)." in sheet

    owners = text[text.index("## Owners") : text.index("## Security Validation")]
    assert "| security | 3 | 1 | 2 | 0 |" in owners
    assert "| platform | 1 | 0 | 1 | 0 |" in owners
    assert "| A-4 | Vault audit | HIGH | 🟡 PARTIAL | platform |" in text
    # The whole report still reads as Markdown without HTML from people's text.
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in html
