"""``import``: Markdown checklists, P020 itself included, become configs that validate and run."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml
from support.cli import Ran
from support.cli import run_cli as in_process
from support.procs import ROOT

from exporter import config
from exporter.importer import parse, render, repair_line

# shared/ lies beside the repo (CI, the main checkout) or beside the worktrees' folder.
P020 = (
    next(
        (
            p
            for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
            if (p / "checklist").is_dir()
        ),
        ROOT.parent / "shared",
    )
    / "checklist"
    / "P020-production-readiness-checklist.md"
)


def run_cli(*args: str, cwd: Path) -> Ran:
    """The command line in ``cwd`` with nothing of the test's environment but a PATH."""
    return in_process(*args, cwd=cwd, unset=os.environ, env={"PATH": "/usr/bin:/bin"})


@pytest.fixture
def p020() -> Path:
    if not P020.exists():
        pytest.skip(f"the P020 checklist is not at {P020} (it lives in shared/ beside the repo)")
    return P020


def test_p020_imports_with_its_145_items_and_the_priority_column_wins(p020, tmp_path):
    result = run_cli("import", str(p020), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    items = [i for c in doc["categories"] for i in c["items"]]
    assert len(doc["categories"]) == 12
    assert len(items) == 145
    assert sum(i["priority"] == "critical" for i in items) == 81
    assert [c["title"] for c in doc["categories"]][:2] == [
        "Security Validation",
        "Performance Validation",
    ]
    first = items[0]
    assert first == {
        "id": "S-001",
        "title": "All production secrets rotated (no dev/test secrets)",
        "priority": "critical",
        "notes": "Check .env, vault",
        "probe": {"attestation": {"file": "attestations/S-001.yaml", "max_age": "90d"}},
    }
    # The mojibake is gone from everything written, and the warnings say what was found.
    assert "‚" not in result.stdout and "üî" not in result.stdout
    assert "repaired mis-decoded UTF-8" in result.stderr
    assert (
        "the summary table claims 87 critical items, the rows' Priority column marks 81 "
        "(74 carry the 🔴 marker): taking the Priority column"
    ) in result.stderr


def test_p020_import_validates_and_check_runs_it(p020, tmp_path):
    out = tmp_path / "config.yaml"
    out.write_text(run_cli("import", str(p020), cwd=tmp_path).stdout)
    validated = run_cli("validate", "--config.file", str(out), cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert "valid: 145 items in 12 categories" in validated.stdout
    checked = run_cli("check", "--config.file", str(out), "--format", "json", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr  # NO-GO: nobody has attested anything yet
    assert '"decision": "no_go"' in checked.stdout
    assert checked.stdout.count('"status": "pending"') == 145


def test_columns_are_found_by_name_and_other_tables_are_skipped():
    text = textwrap.dedent("""\
        # Launch list

        ## Summary
        | Category | Total Items | Critical |
        |---|---|---|
        | Web | 3 | 1 |
        | **TOTAL** | **3** | **1** |

        ## Web
        | Severity | Requirement | ID | Comments |
        |:--|:--|:--:|--|
        | Blocker | TLS *only* | W-1 | nginx |
        | p2 | Gzip \\| Brotli | W-2 | |
        | High | Cache headers | W-3 | CDN |

        ## Sign-Off Sheet
        | Role | Name | Signature |
        |---|---|---|
        | CTO | | |
        """)
    checklist = parse(text, "list.md")
    assert checklist.name == "Launch list"
    assert [s.title for s in checklist.sections] == ["Web"]
    rows = checklist.sections[0].rows
    assert [(r.id, r.title, r.priority, r.notes) for r in rows] == [
        ("W-1", "TLS *only*", "critical", "nginx"),
        ("W-2", "Gzip | Brotli", "medium", ""),
        ("W-3", "Cache headers", "high", "CDN"),
    ]
    assert checklist.claimed == {"items": 3, "critical": 1}
    assert checklist.warnings == []


def test_duplicates_and_unknown_priorities_are_warnings_and_the_result_still_validates(tmp_path):
    text = textwrap.dedent("""\
        ## Ops
        | # | Check | Priority | Status |
        |---|---|---|---|
        | O-1 | Backups | HIGH | ✅ |
        | O-1 | Restores | urgent | ⏸️ |
        | O-2 | 🔴 Pager | | |
        """)
    checklist = parse(text, "ops.md")
    assert checklist.warnings == [
        (
            'ops.md:5: O-1: unknown priority "urgent" '
            "(expected one of critical, high, medium, low): using medium"
        ),
        "ops.md:5: duplicate ID O-1 (first at line 4): imported as O-1-2",
        (
            "ops.md:6: O-2: unknown priority none "
            "(expected one of critical, high, medium, low): using critical"
        ),
    ]
    path = tmp_path / "config.yaml"
    path.write_text(render(checklist, "ops.md"))
    loaded = config.load(path, env={})
    assert [(i.id, i.title, i.priority) for i in loaded.items] == [
        ("O-1", "Backups", "high"),
        ("O-1-2", "Restores", "medium"),
        ("O-2", "Pager", "critical"),
    ]


def test_mojibake_is_repaired_and_correct_text_is_left_alone():
    good = "| S-001 | ✅ done | 🔴 | ⏸️ | déjà |"
    broken = good.encode("utf-8").decode("mac_roman")  # what happened to P020 once
    assert broken.startswith("| S-001 | ‚úÖ done |")
    assert repair_line(broken) == good
    for good in ("| S-001 | ✅ done | 🔴 |", "Café déjà vu", "plain ascii", "Ä résumé ±"):
        assert repair_line(good) == good


def test_a_file_without_item_tables_is_an_error(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nNo tables here.\n")
    result = run_cli("import", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "no item tables found" in result.stderr and result.stdout == ""


def test_ids_outside_the_alphabet_map_to_distinct_ids_and_files(tmp_path):
    """``S/001``, ``S 001`` and ``S:001`` were one evidence file; now three items, three files."""
    text = textwrap.dedent("""\
        ## Security
        | ID | Item | Priority |
        |---|---|---|
        | S/001 | Secrets rotated | critical |
        | S 001 | Secrets scanned | high |
        | S:001 | Secrets vaulted | high |
        | S_001 | Already fine | low |
        """)
    checklist = parse(text, "sec.md")
    assert checklist.warnings == [
        'sec.md:4: ID "S/001" must be letters, digits, "-", "_" and ".", starting with a letter '
        "or digit, up to 100 characters: imported as S_001",
        'sec.md:5: ID "S 001" must be letters, digits, "-", "_" and ".", starting with a letter '
        "or digit, up to 100 characters: imported as S_001",
        "sec.md:5: duplicate ID S_001 (first at line 4): imported as S_001-2",
        'sec.md:6: ID "S:001" must be letters, digits, "-", "_" and ".", starting with a letter '
        "or digit, up to 100 characters: imported as S_001",
        "sec.md:6: duplicate ID S_001 (first at line 4): imported as S_001-3",
        "sec.md:7: duplicate ID S_001 (first at line 4): imported as S_001-4",
    ]
    path = tmp_path / "config.yaml"
    path.write_text(render(checklist, "sec.md"))
    items = config.load(path, env={}).items
    assert [(i.id, i.title) for i in items] == [
        ("S_001", "Secrets rotated"),
        ("S_001-2", "Secrets scanned"),
        ("S_001-3", "Secrets vaulted"),
        ("S_001-4", "Already fine"),
    ]
    files = [i.spec.file.name for i in items]
    assert files == ["S_001.yaml", "S_001-2.yaml", "S_001-3.yaml", "S_001-4.yaml"]


def test_nothing_in_a_file_name_or_a_cell_injects_yaml(tmp_path):
    """The header comment carries the file name; the cells go through the YAML dumper."""
    titles = [
        "Keys: {a: 1}, [b] & *c #d",
        "'quoted' \"twice\" > - ? ! % @ ---",
        "ends with a colon:",
    ]
    rows = "".join(f"| X-{n} | {t} | low |\n" for n, t in enumerate(titles))
    source = tmp_path / "evil\ncategories: []\n#\u2028x: 1\x85y.md"
    source.write_text(f"## Evil\n| ID | Item | Priority |\n|---|---|---|\n{rows}")
    result = run_cli("import", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = result.stdout.split("\ncategories:", 1)[0]
    assert "\\u000a" in header and "\\u2028" in header and "\\u0085" in header
    path = tmp_path / "config.yaml"
    path.write_text(result.stdout)
    items = config.load(path, env={}).items
    assert [(i.id, i.title) for i in items] == [(f"X-{n}", t) for n, t in enumerate(titles)]
