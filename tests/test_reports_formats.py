"""``check --format markdown`` and ``--format junit`` on a checklist with every status."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.cli import run_cli

from exporter import config
from exporter.attest import attest
from exporter.engine import Engine
from exporter.render import junit as junit_report
from exporter.render import markdown as markdown_report

MIXED = """\
checklist: {name: Mixed launch}
categories:
- id: sec
  title: Security Validation
  items:
  - {id: S-1, title: Secrets rotated, priority: critical, notes: Check vault,
     probe: {attestation: {file: att/S-1.yaml}}}
  - {id: S-2, title: WAF | rules, priority: high, probe: {attestation: {file: att/S-2.yaml}}}
  - {id: S-3, title: Pen test, priority: critical, probe: {attestation: {file: att/S-3.yaml}}}
- id: ops
  title: Operational Readiness
  items:
  - {id: O-1, title: Runbook written, priority: medium, probe: {file: {path: runbook.md}}}
  - {id: O-2, title: Pager set up, priority: high, probe: {http: {url: "${PAGER_URL}"}}}
  - {id: O-3, title: Mainframe, priority: low, applicable: false}
"""


@pytest.fixture
async def snapshot(write_config):
    path = write_config(MIXED)
    checklist = config.load(path, env={})
    attest(checklist, "S-1", "pass", "Jane Doe", ["Vault rotation log https://wiki/x"])
    attest(checklist, "S-2", "partial", "Ann", ["half the rules"], notes="rest next week")
    engine = Engine(checklist)
    try:
        yield await engine.run_round()
    finally:
        await engine.stop()


BLOCKED = """\
checklist: {name: Blocked launch}
categories:
- id: c
  title: C
  items:
  - {id: C-1, title: Fails, priority: critical, probe: {command: {argv: ["false"]}}}
  - {id: C-2, title: Fails too, priority: critical, probe: {command: {argv: ["false"]}}}
  - {id: C-3, title: Needs a URL, priority: critical, probe: {http: {url: "${APP_URL}"}}}
  - {id: C-4, title: Signed, priority: critical, probe: {attestation: {file: att/C-4.yaml}}}
  - {id: C-5, title: Passes, priority: high, probe: {command: {argv: ["true"]}}}
"""


async def test_every_output_gives_the_boards_honest_reason(write_config):
    """ "4 critical items not PASS" lumped two failures with an item waiting for a variable and
    one for a signature; the table, Markdown, JSON and JUnit say what the board says."""
    from exporter.render import json as json_report
    from exporter.render import table
    from exporter.render.blockers import blockers, sentence
    from exporter.web.board import banner

    engine = Engine(config.load(write_config(BLOCKED), env={}))
    try:
        snap = await engine.run_round()
    finally:
        await engine.stop()
    reason = "2 critical items fail; 1 is not configured yet; 1 waits for a signature."
    assert sentence(blockers(snap)) == reason
    assert f"Decision        NO-GO: {reason}" in table.render(snap).splitlines()
    lines = markdown_report.render(snap).splitlines()
    assert f"**Decision**: **NO-GO** — {reason}" in lines
    assert f"**Why**: {reason}  " in lines
    assert json.loads(json_report.render(snap))["reason"] == reason
    props = ET.fromstring(junit_report.render(snap)).iter("property")
    assert {p.get("name"): p.get("value") for p in props}["reason"] == reason
    assert f'<p class="reason" id="reason">{reason}</p>' in banner(snap, None, blockers(snap))


def test_markdown_fills_the_document_layout(snapshot):
    text = markdown_report.render(snapshot)
    assert text.startswith("# Mixed launch\n")
    assert "**Decision**: **NO-GO** — 1 critical item waits for a signature." in text
    # The legend, in the document's order and marks.
    assert "- ✅ PASS:" in text and "- 🟡 PARTIAL:" in text and "- ⏸️ PENDING:" in text
    # The summary table is recomputed from the rows.
    assert "| Security Validation | 3 | 2 | 1 | 33.3% | 🟡 PARTIAL |" in text
    assert "| Operational Readiness | 3 | 0 | 0 | 0.0% | ❌ FAIL |" in text
    assert "| **TOTAL** | **6** | **2** | **1** | **20.0%** | **❌ FAIL** |" in text
    # Each category's table, status filled in, critical items marked, pipes escaped.
    assert "| S-1 | 🔴 Secrets rotated | CRITICAL | ✅ PASS | — |" in text
    assert "| S-2 | WAF \\| rules | HIGH | 🟡 PARTIAL | — |" in text
    assert (
        "| S-3 | 🔴 Pen test | CRITICAL | ⏸️ PENDING | — | not attested yet: S-3.yaml does not "
        "exist |" in text
    )
    assert "| O-1 | Runbook written | MEDIUM | ❌ FAIL | — |" in text
    assert (
        "| O-2 | Pager set up | HIGH | ⏸️ PENDING | — | not configured: PAGER_URL is not set |"
        in text
    )
    assert "| O-3 | Mainframe | LOW | N/A | — | not applicable |" in text
    assert "**What**: not probed" in text
    assert "| Total Score | 20.0% | 1 | 5 |" in text
    assert "| Critical Score | 50.0% | 1 | 2 |" in text
    assert "**Go/No-Go Decision**: **NO-GO**" in text
    # Evidence entries: what, when, who, the evidence itself.
    entry = text[text.index("### S-1: Secrets rotated") : text.index("### S-2")]
    assert "**Status**: ✅ PASS" in entry
    assert "**What**: attestation probe — Check vault" in entry
    assert "- Validated by: Jane Doe" in entry
    assert "  - Vault rotation log https://wiki/x" in entry


def test_junit_has_a_case_per_item_failures_and_skips(snapshot):
    root = ET.fromstring(junit_report.render(snapshot))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "2",
        "0",
        "3",
    )
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["Security Validation", "Operational Readiness"]
    cases = {c.get("name").split()[0]: c for c in root.iter("testcase")}
    assert list(cases) == ["S-1", "S-2", "S-3", "O-1", "O-2", "O-3"]
    assert cases["S-1"].find("failure") is None and cases["S-1"].find("skipped") is None
    assert (
        cases["S-2"]
        .find("failure")
        .get("message")
        .startswith("PARTIAL: PARTIAL attested, signed by Ann")
    )
    assert cases["O-1"].find("failure").get("message").startswith("FAIL: ")
    assert cases["S-3"].find("skipped") is not None
    assert cases["O-3"].find("skipped").get("message") == "N/A: not applicable"
    assert "Validated by: Jane Doe" in cases["S-1"].find("system-out").text
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["decision"] == "NO-GO"


@pytest.mark.parametrize("fmt, start", [("markdown", "# "), ("junit", "<?xml")])
def test_check_prints_each_format_with_the_decision_exit_code(write_config, fmt, start):
    path = write_config(MIXED)
    result = run_cli("check", "--config.file", str(path), "--format", fmt)
    assert result.returncode == 1, result.stderr  # NO-GO
    assert result.stdout.startswith(start)


async def test_junit_stays_parseable_when_outputs_carry_control_characters(write_config):
    # A tool forced into colour by CI, and a server whose banner holds bytes XML cannot carry.
    async def greet(reader, writer):
        writer.write(b"\x00\x01HELLO\x1b[0m\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loud = (
        "import sys; sys.stderr.write('\\x1b[31mE501 line too long\\x00\\x01\\x1b[0m\\n'); "
        "sys.exit(1)"
    )
    path = write_config(f"""
        categories:
        - id: app
          title: Application
          items:
          - id: A-1
            title: Lint
            priority: high
            probe: {{command: {{argv: [{json.dumps(sys.executable)}, -c, {json.dumps(loud)}]}}}}
          - id: A-2
            title: SSH banner
            priority: medium
            probe: {{tcp: {{target: "127.0.0.1:{port}", banner: "^SSH-"}}}}
    """)
    engine = Engine(config.load(path, env={}))
    try:
        snap = await engine.run_round()
    finally:
        await engine.stop()
        server.close()
    text = junit_report.render(snap)
    root = ET.fromstring(text)  # raises on any character XML 1.0 cannot carry
    cases = {c.get("name").split()[0]: c for c in root.iter("testcase")}
    lint = cases["A-1"].find("failure").get("message")
    assert lint == "FAIL: exit code 1, expected 0: E501 line too long"
    assert "HELLO" in cases["A-2"].find("system-out").text
    assert "\x1b" not in text and "\x00" not in text


def test_junit_writes_nan_for_an_undefined_score(write_config):
    path = write_config("""
        categories:
        - id: docs
          title: Documentation
          items:
          - {id: D-1, title: Readme, priority: medium, applicable: false}
    """)
    snap = Engine(config.load(path, env={})).snapshot()
    props = {
        p.get("name"): p.get("value")
        for p in ET.fromstring(junit_report.render(snap)).iter("property")
    }
    assert (props["total_score"], props["critical_score"]) == ("NaN", "NaN")


# -- JSON: one encoder, one timestamp form ----------------------------------------------------

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
LOOKS_LIKE_A_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def times_in(doc, where="") -> list[tuple[str, str]]:
    """Every (place, string) in a JSON document that holds a date and a time."""
    if isinstance(doc, dict):
        return [t for k, v in doc.items() for t in times_in(v, f"{where}.{k}")]
    if isinstance(doc, list):
        return [t for n, v in enumerate(doc) for t in times_in(v, f"{where}[{n}]")]
    if isinstance(doc, str) and LOOKS_LIKE_A_TIME.match(doc):
        return [(where, doc)]
    return []


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


TIMES = """\
checklist: {name: Times}
categories:
- id: sec
  title: Security
  items:
  - {id: A-1, title: Signed in UTC, priority: critical, probe: {attestation: {file: a1.yaml}}}
  - {id: A-2, title: Signed in Madrid, priority: high, probe: {attestation: {file: a2.yaml}}}
  - {id: F-1, title: Flag file, priority: high, probe: {file: {path: flag}}}
  - {id: N-1, title: Not configured, priority: low, probe: {http: {url: "${NOWHERE_URL}"}}}
"""


async def test_every_json_document_writes_times_one_way(tmp_path):
    from support.servers import serve_app

    from exporter.daemon import Daemon
    from exporter.web.app import build_app

    (tmp_path / "a1.yaml").write_text(
        "item: A-1\nstatus: pass\nvalidated_by: Jane\ndate: 2026-01-05\nexpires: 2099-01-01\n"
    )
    # A signer's own offset: looks like a fine timestamp, but is not the one form.
    (tmp_path / "a2.yaml").write_text(
        "item: A-2\nstatus: pass\nvalidated_by: Luis\ndate: 2026-01-05T10:00:00+02:00\n"
        "expires: 2099-01-01T00:00:00+01:00\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(TIMES)
    daemon = Daemon(path, env={})
    await daemon.engine.run_round()
    (tmp_path / "flag").write_text("x")  # F-1: FAIL -> PASS, a history entry
    await daemon.engine.run_round(["F-1"])

    documents: dict[str, str] = {}
    async with serve_app(build_app(daemon)) as base, aiohttp.ClientSession() as session:
        for route in ["/api/v1/status"] + [f"/api/v1/items/{i}" for i in daemon.engine.states]:
            async with session.get(base + route) as resp:
                assert resp.status == 200 and resp.content_type == "application/json"
                documents[route] = await resp.text()
    await daemon.engine.stop()
    # In a thread: the command runs an event loop of its own, as it does in a process.
    check = await asyncio.to_thread(
        run_cli, "check", "--config.file", str(path), "--format", "json"
    )
    documents["check --format json"] = check.stdout

    seen = {name: times_in(strict_json(text)) for name, text in documents.items()}
    wrong = [(n, w, t) for n, ts in seen.items() for w, t in ts if not RFC3339_UTC.fullmatch(t)]
    assert wrong == []
    places = {w for ts in seen.values() for w, _ in ts}
    assert {".checked_at", ".expires_at", ".history[0].at", ".evidence.date"} <= places
    assert ".evidence.expires" in places and ".items[0].checked_at" in places
    a2 = strict_json(documents["/api/v1/items/A-2"])
    assert a2["evidence"]["date"] == "2026-01-05T08:00:00Z"  # the same instant, in UTC
    assert a2["evidence"]["expires"] == "2098-12-31T23:00:00Z"
    assert a2["expires_at"] == "2098-12-31T23:00:00Z"


def test_json_has_no_nan_and_keeps_other_text():
    from exporter.render.json import dumps

    doc = strict_json(
        dumps(
            {
                "score": float("nan"),
                "inf": float("inf"),
                "summary": "2026-01-05T10:00:00+02:00 is when it broke",
                "version": "2026-01-05",
                "at": "2026-01-05T10:00:00+00:00",
            }
        )
    )
    assert doc == {
        "score": None,
        "inf": None,
        "summary": "2026-01-05T10:00:00+02:00 is when it broke",  # text, not a time
        "version": "2026-01-05",
        "at": "2026-01-05T10:00:00Z",
    }


# -- text from targets cannot draw on a terminal, inject HTML or fake a decision -----------

HOSTILE_OUTPUT = (
    "\x1b[2J\x1b[32mall good\x1b[0m\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\n"
    "Decision        GO: all critical items PASS\n**Decision**: **GO** [proof](https://evil)\n"
    "\u202eOG\x07\x9b31m"
)
HOSTILE = """\
checklist: {name: "Launch \\e[31mred\\e[0m"}
categories:
- id: app
  title: "App <b>bold</b>"
  items:
  - id: A-1
    title: "Lint \\e]0;pwned\\a *star* <i>it</i>\\nDecision        GO: fake"
    priority: critical
    probe: {command: {argv: [%s, -c, %s]}}
  - {id: A-2, title: ok, priority: high, probe: {command: {argv: ["true"]}}}
"""


@pytest.fixture
async def hostile(write_config):
    code = f"import sys; sys.stdout.write({HOSTILE_OUTPUT!r}); sys.exit(1)"
    path = write_config(HOSTILE % (json.dumps(sys.executable), json.dumps(code)))
    engine = Engine(config.load(path, env={}))
    try:
        snap = await engine.run_round()
    finally:
        await engine.stop()
    assert "<script>" in snap.states["A-1"].result.evidence["stdout_tail"]  # what it printed
    return snap


CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_table_strips_controls_and_keeps_one_line_per_item(hostile):
    from exporter.render import table

    for text in (table.render(hostile), table.render(hostile, color=True)):
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # our own colours, when asked
        assert CONTROL.findall(plain) == []
        lines = plain.splitlines()
        assert [ln for ln in lines if ln.startswith("Decision")] == [
            "Decision        NO-GO: 1 critical item fails."
        ] * 2
        assert [ln[:12] for ln in lines if "A-1" in ln and "FAIL" in ln] == ["  A-1  FAIL "] * 2
        assert lines[0] == "Launch red"


def test_markdown_shows_target_text_literally(hostile):
    from markdown_it import MarkdownIt

    text = markdown_report.render(hostile)
    assert CONTROL.findall(text) == []
    # Read as Markdown is read: no tag, link or emphasis came from the target or the title.
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "<i>" not in html and "<a href" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    strong = re.findall(r"<strong>(.*?)</strong>", html)
    assert "GO" not in strong and strong.count("Decision") == 1  # only our own bold text
    # The decision, the matrix's and the Sign-Off Sheet's "computed now"; the title as written.
    assert strong.count("NO-GO") == 3 and "**Decision**: **GO**" in html
    decision_lines = [ln for ln in text.splitlines() if "Decision**:" in ln]
    assert decision_lines == [
        "**Decision**: **NO-GO** — 1 critical item fails.",
        "**Go/No-Go Decision**: **NO-GO**  ",
        "**Go/No-Go Decision**: ⬜ GO  ⬜ GO WITH CAUTION  ⬜ NO-GO  ",  # nothing recorded
    ]


def test_junit_strips_controls_from_names_summaries_and_output(hostile):
    """A CI page shows the report's names and output: no bidi control, escape or line break
    from a target or the config reaches it, and nothing from one starts a line of its own."""
    text = junit_report.render(hostile)
    root = ET.fromstring(text)
    values = [v for e in root.iter() for v in (*e.attrib.values(), e.text or "")]
    assert [v for v in values if CONTROL.search(v)] == []
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("A-1 "))
    assert case.get("name") == "A-1 Lint *star* <i>it</i> Decision GO: fake"
    assert case.get("classname") == "App <b>bold</b>"
    assert root.get("name") == "Launch red"
    assert "\n" not in case.find("failure").get("message")
    out = case.find("system-out").text.splitlines()
    assert out[0:2] == ["priority: critical", "summary: exit code 1, expected 0: OG"]
    assert out[2].startswith("Argv: ") and out[3] == "Exit code: 1"
    assert out[4:] == [  # the output's own lines, each cleaned, indented under its field
        "Stdout tail: all good",
        "  <script>alert(1)</script><img src=x onerror=alert(2)>",
        "  Decision GO: all critical items PASS",
        "  **Decision**: **GO** [proof](https://evil)",
        "  OG",
    ]
    assert "OG" in text and "\u202e" not in text


@given(st.text(alphabet=st.sampled_from("ab1 _*`[]()<>!|~&#\\-+.:/\"'\n\x1b\u202e"), max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_in_a_markdown_cell_reads_as_written(text):
    from markdown_it import MarkdownIt

    from exporter.render.untrusted import one_line

    shown = MarkdownIt("commonmark").renderInline(markdown_report.cell(text))
    expected = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert shown == expected.replace('"', "&quot;")
