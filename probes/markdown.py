"""Markdown structure from a CommonMark parser: headings, and the text of the section under each.

The file kind asks "does this document have a *Degraded mode* heading?" and "does the *RTO*
section say something?". A regular expression over the raw text cannot answer either: it sees
``# comment`` lines inside fenced code as headings, misses setext headings (``Title`` over
``=====``) and takes "RTO: TBD" for an RTO. markdown-it-py (the maintained CommonMark parser for
Python) gives the document's real blocks, so:

- fenced and indented code, HTML blocks and block quotes never make a heading; only headings
  of the document itself (not inside a quote or a list) count;
- ATX (``## RTO``) and setext headings are both recognised; inline markup is dropped
  (``## **RTO**`` is "RTO");
- a heading is found by its exact text, case-folded, with runs of white space made one and the
  ends trimmed. A heading written ``Title: value`` is also found as ``Title``, and its value
  counts as the first words of its section ("RTO: TBD" is the heading RTO with the content TBD);
- a section is the text under a heading up to the next heading of the same or a higher level
  (sub-sections included); it has content when a word in it is not a placeholder (TBD, TODO,
  N/A, ...). Headings of sub-sections are titles, not content.

YAML front matter (``---`` ... ``---`` at the very top) is skipped: CommonMark alone would read
its last line as a setext heading.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

from .result import Status

# Words that stand for "not written yet": a section made only of these (and punctuation) is empty.
PLACEHOLDER_WORDS = frozenset(
    {"tbd", "tba", "tbc", "todo", "fixme", "xxx", "wip", "pending", "placeholder", "none"}
    | {"n", "a", "na"}  # N/A
    | {"to", "be", "defined", "determined", "decided", "confirmed", "added", "filled", "written"}
    | {"coming", "soon", "later", "done", "lorem", "ipsum"}
)
_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


@functools.cache
def _parser() -> MarkdownIt:
    """Made when a document is first read: markdown-it is 4 MB at start for a few items."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


@dataclass(frozen=True)
class Section:
    """A heading of the document and the plain text of the section under it."""

    title: str  # the heading's text, inline markup removed, trimmed
    level: int  # 1 (``#``, ``===``) to 6
    line: int  # 1-based line of the heading in the file
    body: str  # the section's plain text, sub-section titles left out

    @property
    def has_content(self) -> bool:
        """True when a word of the section is not a placeholder (TBD, TODO, N/A, ...)."""
        return any(w not in PLACEHOLDER_WORDS for w in _WORD.findall(self.body.casefold()))


def normalize(title: str) -> str:
    """A heading's text as headings are compared: case-folded, white space made one, trimmed."""
    return _SPACE.sub(" ", title).strip().casefold()


def _inline_text(token: Token) -> str:
    """The plain text of an inline token: text and code spans, line breaks as spaces."""
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _blank_front_matter(text: str) -> str:
    """The text with YAML front matter replaced by as many empty lines (line numbers kept)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text
    return "\n" * match.group(0).count("\n") + text[match.end() :]


def sections(text: str) -> list[Section]:
    """Every heading of the document itself, in order, with the text of its section."""
    tokens = _parser().parse(_blank_front_matter(text))
    # (level, title, line, index of its heading_open) for the document's own headings.
    heads: list[tuple[int, str, int, int]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.level == 0:
            line = tok.map[0] + 1 if tok.map else 0
            heads.append((int(tok.tag[1]), _inline_text(tokens[i + 1]).strip(), line, i))
    out = []
    for n, (level, title, line, start) in enumerate(heads):
        end = next((h[3] for h in heads[n + 1 :] if h[0] <= level), len(tokens))
        out.append(Section(title, level, line, _body_text(tokens[start + 3 : end])))
    return out


def _body_text(tokens: Iterable[Token]) -> str:
    """Plain text of the blocks in a section; titles of sub-sections and HTML are left out."""
    parts, in_heading = [], False
    for tok in tokens:
        if tok.type == "heading_open":
            in_heading = True
        elif tok.type == "heading_close":
            in_heading = False
        elif in_heading:
            continue
        elif tok.type == "inline":
            parts.append(_inline_text(tok))
        elif tok.type in ("fence", "code_block"):
            parts.append(tok.content)
    return "\n".join(p for p in parts if p.strip())


def find(found: Sequence[Section], wanted: str) -> Section | None:
    """The first section whose heading is ``wanted`` (exact text, or the text before a colon).

    A heading ``RTO: TBD`` is found as ``RTO``; what follows its colon is put before the
    section's own text, so that the placeholder is judged as the section's content.
    """
    key = normalize(wanted)
    for section in found:
        if normalize(section.title) == key:
            return section
    for section in found:
        head, colon, value = section.title.partition(":")
        if colon and normalize(head) == key:
            return Section(head.strip(), section.level, section.line, f"{value}\n{section.body}")
    return None


def judge_headings(
    text: str, wanted: Sequence[str], require_content: bool = False
) -> tuple[Status, str] | None:
    """What is wrong with a document's headings, as the file kind reports a problem; None if fine.

    Every heading in ``wanted`` must exist (all missing FAIL, some PARTIAL); with
    ``require_content``, each must also have a section with content, else FAIL.
    """
    found = sections(text)
    missing, empty = [], []
    for name in wanted:
        section = find(found, name)
        if section is None:
            missing.append(name)
        elif require_content and not section.has_content:
            empty.append(section)
    words = []
    if missing:
        words.append(f"has no heading {', '.join(missing)}")
    for section in empty:
        shown = _SPACE.sub(" ", section.body).strip()
        said = f" (only {shown[:40]!r})" if shown else ""
        words.append(f"heading {section.title!r} (line {section.line}) has no content{said}")
    if not words:
        return None
    status = Status.FAIL if empty or len(missing) == len(wanted) else Status.PARTIAL
    return status, "; ".join(words)


@dataclass(frozen=True)
class Row:
    """A body row of a Markdown table: its cells' plain text, by the table's headers."""

    cells: tuple[str, ...]
    line: int  # 1-based line of the row in the file


@dataclass(frozen=True)
class Table:
    """A table of the document (GFM pipe table): its header cells and body rows."""

    headers: tuple[str, ...]
    rows: tuple[Row, ...]


def tables(text: str) -> list[Table]:
    """Every pipe table of the document itself, in order: a table in fenced code, a quote or a
    list is no table of the document, as for headings."""
    out: list[Table] = []
    headers: tuple[str, ...] = ()
    rows: list[Row] = []
    cells: list[str] = []
    line, in_table, in_cell = 0, False, False
    for tok in _parser().parse(_blank_front_matter(text)):
        if tok.type == "table_open":
            in_table, headers, rows = tok.level == 0, (), []
        elif not in_table:
            continue
        elif tok.type == "tr_open":
            cells, line = [], (tok.map[0] + 1 if tok.map else 0)
        elif tok.type in ("th_open", "td_open"):
            in_cell = True
        elif tok.type in ("th_close", "td_close"):
            in_cell = False
        elif tok.type == "inline" and in_cell:
            cells.append(_inline_text(tok).strip())
        elif tok.type == "tr_close":
            if headers:
                rows.append(Row(tuple(cells), line))
            else:
                headers = tuple(cells)
        elif tok.type == "table_close":
            out.append(Table(headers, tuple(rows)))
            in_table = False
    return out
