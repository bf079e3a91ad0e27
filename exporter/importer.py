"""``import``: read a checklist written as Markdown tables (P020's style) and write a config.

Categories come from ``##`` headings, items from the rows of tables whose header has an ID
column and a title column (found by name, with synonyms, never by position). Other tables (a
summary, a decision matrix, a sign-off sheet) are skipped. Every item gets an attestation probe
to fill in later, so the result passes ``validate`` and ``check`` runs it at once.

Text whose UTF-8 was once decoded as Mac Roman (``✅`` showing as ``‚úÖ``) is detected line by
line and repaired. Inconsistencies become warnings, never failures: an ID outside the ID
alphabet (exporter/item_ids.py) is imported as the nearest ID in it, and an ID taken twice gets
a suffix, each with a warning, so every item keeps its own page and evidence file. The config
is written by the YAML dumper; the one line written by hand (the header comment) has every
character that could end it escaped, so nothing in the document can inject YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import item_ids
from .config import PRIORITIES
from .errors import UsageError
from .render.marks import CRITICAL_MARKER

# Header names that mean each column, lower-cased, without Markdown emphasis.
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("#", "id", "ref", "no", "no.", "number", "key"),
    "title": ("item", "check", "title", "requirement", "description", "control", "task"),
    "priority": ("priority", "severity", "level", "criticality"),
    "status": ("status", "state", "result"),
    "notes": ("notes", "note", "comments", "comment", "remarks", "how to verify"),
}
PRIORITY_WORDS = {
    **{p: p for p in PRIORITIES},
    "blocker": "critical",
    "p0": "critical",
    "p1": "high",
    "p2": "medium",
    "p3": "low",
    "major": "high",
    "minor": "low",
    "normal": "medium",
}
DEFAULT_PRIORITY = "medium"
ATTESTATION_MAX_AGE = "90d"


@dataclass
class Row:
    id: str
    title: str
    priority: str
    notes: str
    line: int
    marked_critical: bool


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Checklist:
    name: str
    sections: list[Section]
    warnings: list[str]
    claimed: dict[str, int]  # what a summary table's TOTAL row claims: items, critical


def repair_line(line: str) -> str:
    """The line with Mac-Roman mojibake undone, or unchanged when it is not mojibake.

    Mojibake is recognised by the round trip itself: re-encoding as Mac Roman gives valid UTF-8
    that differs from the line. Correct non-ASCII text (``✅``, ``é``) fails one of the two steps.
    """
    if line.isascii():
        return line
    try:
        repaired = line.encode("mac_roman").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return line
    return repaired


def _cells(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    # A cell may hold an escaped pipe (``\|``); keep it inside its cell.
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", text)]


def _plain(text: str) -> str:
    """Cell text without Markdown emphasis and code marks."""
    return re.sub(r"(\*\*|__|`)", "", text).strip()


def _is_rule(line: str) -> bool:
    # Each run of white space has one place to go: "\s*\|?\s*" was quadratic in a run of them.
    return bool(re.fullmatch(r"\s*(?:\|\s*)?:?-+:?\s*(?:\|\s*:?-+:?\s*)*(?:\|\s*)?", line))


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line (``## Security ##``), or None."""
    # The closing #s and spaces go with str methods: a lazy "(.*?)\s*#*\s*$" tried the rest of
    # the line at every character, quadratic in a run of spaces inside the heading.
    m = re.match(r"(#{1,6})\s+(.*)", line)
    if m is None:
        return None
    return len(m.group(1)), m.group(2).rstrip().rstrip("#").rstrip()


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _plain(name).lower()
        for column, synonyms in COLUMNS.items():
            if key in synonyms and column not in found:
                found[column] = index
    return found


def slug(title: str) -> str:
    """Category ID from a heading: ``Data & Database Readiness`` -> ``data_database_readiness``."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "category"


def parse(text: str, source: str = "checklist.md") -> Checklist:
    """The sections, items and warnings of a Markdown checklist."""
    lines = text.splitlines()
    repaired = [repair_line(line) for line in lines]
    repaired_count = sum(a != b for a, b in zip(lines, repaired, strict=False))
    warnings: list[str] = []
    if repaired_count:
        warnings.append(
            f"{source}: repaired mis-decoded UTF-8 (read as Mac Roman) on {repaired_count} lines"
        )
    name = ""
    sections: list[Section] = []
    current: Section | None = None
    claimed: dict[str, int] = {}
    seen: dict[str, int] = {}
    n = 0
    while n < len(repaired):
        line = repaired[n]
        heading = _heading(line)
        if heading:
            level, title = heading[0], _plain(heading[1])
            if level == 1 and not name:
                name = title
            elif level == 2:
                current = Section(title)
                sections.append(current)
            n += 1
            continue
        if line.lstrip().startswith("|") and n + 1 < len(repaired) and _is_rule(repaired[n + 1]):
            header = _cells(line)
            body_start = n + 2
            end = body_start
            while end < len(repaired) and repaired[end].lstrip().startswith("|"):
                end += 1
            columns = _columns(header)
            body = [(i + 1, _cells(repaired[i])) for i in range(body_start, end)]
            if "id" in columns and "title" in columns:
                if current is None:
                    current = Section(name or "Checklist")
                    sections.append(current)
                for line_no, cells in body:
                    row = _row(cells, columns, line_no, source, warnings)
                    if row is None:
                        continue
                    if not item_ids.is_valid(row.id):
                        new_id = item_ids.nearest(row.id) or f"item-{line_no}"
                        warnings.append(
                            f'{source}:{line_no}: ID "{_comment_safe(row.id)}" must be '
                            f"{item_ids.RULE} characters: imported as {new_id}"
                        )
                        row.id = new_id
                    if row.id in seen:
                        new_id = _free_id(row.id, seen)
                        warnings.append(
                            f"{source}:{line_no}: duplicate ID {row.id} (first at line "
                            f"{seen[row.id]}): imported as {new_id}"
                        )
                        row.id = new_id
                    seen[row.id] = line_no
                    current.rows.append(row)
            else:
                claimed.update(_summary_claims(header, body))
            n = end
            continue
        n += 1
    sections = [s for s in sections if s.rows]
    _check_claims(sections, claimed, source, warnings)
    return Checklist(name or "Production readiness", sections, warnings, claimed)


def _free_id(item_id: str, seen: dict[str, int]) -> str:
    n = 2
    while (candidate := _suffixed(item_id, n)) in seen:
        n += 1
    return candidate


def _suffixed(item_id: str, n: int) -> str:
    suffix = f"-{n}"
    return item_id[: item_ids.MAX_LENGTH - len(suffix)] + suffix


def _row(
    cells: list[str], columns: dict[str, int], line_no: int, source: str, warnings: list[str]
) -> Row | None:
    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index] if index is not None and index < len(cells) else ""

    item_id = _plain(cell("id"))
    raw_title = _plain(cell("title"))
    if not item_id or not raw_title:
        return None
    marked = CRITICAL_MARKER in raw_title
    title = " ".join(raw_title.replace(CRITICAL_MARKER, " ").split())
    word = _plain(cell("priority")).replace(CRITICAL_MARKER, "").strip().lower()
    priority = PRIORITY_WORDS.get(word)
    if priority is None:
        priority = "critical" if marked else DEFAULT_PRIORITY
        shown = f'"{_plain(cell("priority"))}"' if word else "none"
        warnings.append(
            f"{source}:{line_no}: {item_id}: unknown priority {shown} "
            f"(expected one of {', '.join(PRIORITIES)}): using {priority}"
        )
    return Row(item_id, title, priority, _plain(cell("notes")), line_no, marked)


def _number(text: str) -> int | None:
    """The count a summary cell claims; None for none, or one too long to be a count (Python
    refuses to convert more than 4,300 digits: the import stopped with a traceback)."""
    digits = re.sub(r"[^0-9]", "", text)
    return int(digits) if 0 < len(digits) <= 18 else None


def _summary_claims(header: list[str], body: list[tuple[int, list[str]]]) -> dict[str, int]:
    """What a summary table's TOTAL row claims: {"items": 145, "critical": 87}."""
    names = [_plain(h).lower() for h in header]
    wanted = {
        "items": ("total items", "items", "total"),
        "critical": ("critical", "critical items"),
    }
    index = {k: next((i for i, n in enumerate(names) if n in v), None) for k, v in wanted.items()}
    if index["items"] is None and index["critical"] is None:
        return {}
    for _, cells in body:
        if cells and _plain(cells[0]).lower() == "total":
            return {
                k: v
                for k, i in index.items()
                if i is not None and i < len(cells)
                for v in [_number(cells[i])]
                if v is not None
            }
    return {}


def _check_claims(
    sections: list[Section], claimed: dict[str, int], source: str, warnings: list[str]
) -> None:
    rows = [r for s in sections for r in s.rows]
    critical = sum(r.priority == "critical" for r in rows)
    marked = sum(r.marked_critical for r in rows)
    if "items" in claimed and claimed["items"] != len(rows):
        warnings.append(
            f"{source}: the summary table claims {claimed['items']} items, "
            f"the item tables have {len(rows)}: importing the {len(rows)} rows"
        )
    if "critical" in claimed and claimed["critical"] != critical:
        warnings.append(
            f"{source}: the summary table claims {claimed['critical']} critical items, "
            f"the rows' Priority column marks {critical} ({marked} carry the "
            f"{CRITICAL_MARKER} marker): taking the Priority column"
        )
    elif marked and marked != critical:
        warnings.append(
            f"{source}: the Priority column marks {critical} critical items, "
            f"{marked} titles carry the {CRITICAL_MARKER} marker: taking the Priority column"
        )


def to_config(checklist: Checklist, source: str) -> dict[str, Any]:
    """The config document: one category per section, an attestation probe per item."""
    used: set[str] = set()
    categories = []
    for section in checklist.sections:
        cat_id = slug(section.title)
        base, k = cat_id, 2
        while cat_id in used:
            cat_id, k = f"{base}_{k}", k + 1
        used.add(cat_id)
        items = []
        for row in section.rows:
            item: dict[str, Any] = {"id": row.id, "title": row.title, "priority": row.priority}
            if row.notes:
                item["notes"] = row.notes
            item["probe"] = {
                "attestation": {
                    # The ID is in the ID alphabet: one ID, one file name.
                    "file": f"attestations/{row.id}.yaml",
                    "max_age": ATTESTATION_MAX_AGE,
                }
            }
            items.append(item)
        categories.append({"id": cat_id, "title": section.title, "items": items})
    return {
        "checklist": {"name": checklist.name},
        "decision": {"go": 0.95, "caution": 0.9},
        "defaults": {"interval": "60s", "timeout": "10s"},
        "categories": categories,
    }


def _comment_safe(text: str) -> str:
    """``text`` with every character that is not printable escaped: line breaks end a comment.

    YAML breaks lines at ``\r``, ``\n``, and (PyYAML) at U+0085, U+2028 and U+2029 too.
    """
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def render(checklist: Checklist, source: str) -> str:
    """The config file's text, with a header saying where it came from."""
    rows = [r for s in checklist.sections for r in s.rows]
    critical = sum(r.priority == "critical" for r in rows)
    header = (
        f"# Imported from {_comment_safe(source)}: {len(rows)} items ({critical} critical) in "
        f"{len(checklist.sections)} categories.\n"
        "# Every item is attested by a person: "
        "`readiness-exporter attest ID --status pass --by NAME\n"
        "# --evidence ...` writes its file. "
        "Replace a probe with http, tcp, file or command checks\n"
        "# where a machine can tell.\n"
    )
    body = yaml.safe_dump(
        to_config(checklist, source),
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return header + body


def import_file(path: Path, warn: Callable[[str], None]) -> str:
    """The config text for the Markdown checklist at ``path``; warnings go to ``warn``."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    checklist = parse(text, path.name)
    for line in checklist.warnings:
        warn(line)
    if not checklist.sections:
        raise UsageError(
            f"{path}: no item tables found (a table needs an ID column such as "
            f"'#' or 'ID' and a title column such as 'Item' or 'Check')"
        )
    return render(checklist, path.name)
