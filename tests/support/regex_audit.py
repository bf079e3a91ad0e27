"""Every regular expression of exporter/ and probes/, with how it is run and what can feed it.

``tests/test_regex_audit.py`` times each entry over adversarial texts against plain text of
the same length, and checks that no call site in the code is missing here: a new pattern must
be audited (docs/security.md, "Regular expressions of our own") before the suite passes.

An entry's ``path`` and ``key`` name the call site: the file, and the pattern's text (or, when
it is built, the source that builds it), so editing a pattern makes its entry stale on purpose.
``run`` calls the pattern the way the code does (through the function that bounds its input
where there is one); ``seeds`` are texts that start a match, repeated and followed by long
runs in the adversarial texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from exporter import config, formatting, importer, item_ids, redact
from exporter.render import junit, launch, markdown, untrusted
from exporter.web import board
from probes import (
    address,
    command,
    drill,
    fields,
    headers,
    local_errors,
    masking,
    placeholders,
    secret_plugins,
    table,
)
from probes import markdown as md
from probes.patterns import compile_pattern

# Kinds of input, for the verdicts (the table in docs/security.md says the same).
TARGET = "target text"  # bodies, banners, outputs, files, reports, evidence
CONFIG = "config"  # the operator's config or the document they import


@dataclass(frozen=True)
class Entry:
    path: str  # the file, relative to the project
    key: str  # the pattern's text, or the source that builds it
    run: Callable[[str], object]
    verdict: str  # why it is linear, or what bounds it
    feeds: str = TARGET
    seeds: tuple[str, ...] = ()


def _all(found: Iterator[object]) -> list[object]:
    return list(found)


def _duration(text: str) -> float | None:
    try:
        return fields.parse_duration(text)
    except ValueError:
        return None


# Patterns that take Python's re minutes over 1 MiB (bench/regex.py).
_OPERATORS = (".*END", "(a|aa)*c", r"(\s*=\s*)+x")

# The short credentials a checklist may hold are masked as whole words (redact._masks).
_WORDS = redact._masks(["abcd", "wxyz12", "p4ss"]).words
assert _WORDS is not None

ENTRIES: tuple[Entry, ...] = (
    # -- exporter/ --------------------------------------------------------------------------
    Entry(
        "exporter/config.py",
        r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})",
        lambda t: config.expand(t, {}),
        "only up to the last } (past it only $$ can match, and str.replace takes it): every "
        "reference then ends at a } ahead and is read once (it was quadratic in unclosed ${A:-)",
        CONFIG,
        ("${A:-", "${", "$"),
    ),
    Entry(
        "exporter/formatting.py",
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)",
        formatting.rfc3339_text,
        "anchored (fullmatch), fixed widths, one optional fraction",
        seeds=("2026-01-01T00:00:00.", "2026-01-01 00:00"),
    ),
    Entry(
        "exporter/importer.py",
        r"[^0-9]",
        importer._number,
        "one character class",
        CONFIG,
    ),
    Entry(
        "exporter/importer.py",
        r"\s*(?:\|\s*)?:?-+:?\s*(?:\|\s*:?-+:?\s*)*(?:\|\s*)?",
        importer._is_rule,
        "each run of spaces has one place to go (two runs around an optional pipe were "
        "quadratic in spaces)",
        CONFIG,
        ("|", "| -", "|---", "---|", " -"),
    ),
    Entry(
        "exporter/importer.py",
        r"(#{1,6})\s+(.*)",
        lambda t: importer._heading(t),
        "no lazy group before the trailing spaces and #s (it was quadratic in spaces); str "
        "methods take those off",
        CONFIG,
        ("# a", "# ", "## a #"),
    ),
    Entry(
        "exporter/importer.py",
        r"(?<!\\)\|",
        importer._cells,
        "a literal with a one-character look-behind",
        CONFIG,
        ("|", "\\|"),
    ),
    Entry(
        "exporter/importer.py",
        r"(\*\*|__|`)",
        importer._plain,
        "literal alternatives",
        CONFIG,
        ("*", "_"),
    ),
    Entry(
        "exporter/importer.py",
        r"[^a-z0-9]+",
        importer.slug,
        "one character class",
        CONFIG,
    ),
    Entry(
        "exporter/item_ids.py",
        "f'[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_LENGTH - 1}}}'",
        item_ids.is_valid,
        "anchored (fullmatch), at most 100 characters",
        CONFIG,
    ),
    Entry(
        "exporter/item_ids.py",
        r"[^A-Za-z0-9._-]+",
        item_ids.nearest,
        "one character class",
        CONFIG,
    ),
    Entry(
        "exporter/redact.py",
        r"pass|pwd|secret|token|key|auth|cred|cookie|session|private|signature|bearer",
        lambda t: redact.CREDENTIAL_NAME.search(t),
        "literal alternatives",
        CONFIG,
        ("pas", "sec", "pw"),
    ),
    Entry(
        "probes/masking.py",
        "(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^/\\s:@'\\\"]*):(?P<password>[^/\\s'\\\"]*)@",
        redact.embedded_credentials,
        "a scheme starts only after a character no scheme holds, so each run is read once "
        "from its start; user-info ends at the first / @ or space",
        seeds=("a://", "a://b:", "a://b:c", "http://u:p@", "a:/"),
    ),
    Entry(
        "probes/masking.py",
        r"\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))",
        redact.embedded_credentials,
        "= separates the two runs of spaces; a quoted value ends at its quote and a bare one "
        "matches to the next space, so a failed attempt reads up to a quote at most",
        seeds=("password=", "password='", "password = '\\", "password ="),
    ),
    Entry(
        "probes/masking.py",
        r"\\(.)",
        lambda t: masking.embedded_passwords(f"password='{t}'"),
        "a literal and one character",
        seeds=("\\",),
    ),
    Entry(
        "exporter/redact.py",
        "'(?<!\\\\w)(?:' + '|'.join(map(re.escape, short)) + ')(?!\\\\w)'",
        lambda t: _WORDS.sub("<secret>", t),
        "literal alternatives between one-character look-arounds",
        seeds=("abcd", "abc", "wxyz1"),
    ),
    Entry(
        "exporter/redact.py",
        r"_(?:QUERY|PATH|URL)$",
        lambda t: redact.NAMED_FOR_WHAT_IT_HOLDS.search(t),
        "literal alternatives after one literal character, anchored at the end",
        CONFIG,
        ("_", "_QUER", "_UR"),
    ),
    Entry(
        "exporter/redact.py",
        r"://[^/?#\s]*@",
        lambda t: redact.USERINFO.search(t),
        "a literal, then one character class up to a literal; a failed start is passed over "
        "once by the search",
        CONFIG,
        ("://", "://a", "://a:b"),
    ),
    Entry(
        "exporter/redact.py",
        r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*/?",
        lambda t: redact.URL_ORIGIN.match(t),
        "anchored at the start (match): one pass over two character classes",
        CONFIG,
        ("a", "a://", "a://b"),
    ),
    Entry(
        "exporter/redact.py",
        r"authorization|cookie|token|secret|password|api[-_]?key|x-auth",
        lambda t: redact.SECRET_HEADERS.search(t),
        "literal alternatives",
        CONFIG,
        ("api-", "x-"),
    ),
    Entry(
        "exporter/render/junit.py",
        r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]",
        junit._xml,
        "one character class",
    ),
    Entry(
        "exporter/render/launch.py",
        r"([\\`*_\[\]|~#!])",
        launch.text,
        "one character class",
        seeds=("*", "\\"),
    ),
    Entry(
        "exporter/render/launch.py",
        r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+\Z",
        launch.link_or_text,
        "anchored at the start (match): one attempt",
        CONFIG,
        ("http://", "https://a"),
    ),
    Entry(
        "exporter/render/markdown.py",
        r"[\\`*\[\]<>|~&]|(?<![^\W_])_|_(?![^\W_])",
        markdown.cell,
        "a character class, or _ between one-character look-arounds",
        seeds=("_", "a_", "*"),
    ),
    Entry(
        "exporter/render/untrusted.py",
        r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
        r"|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]",
        untrusted.one_line,
        "each sequence starts at ESC or CSI, which none of its runs holds: a run is read once",
        seeds=("\x1b[", "\x1b]", "\x9b", "\x1b[0;"),
    ),
    Entry(
        "exporter/render/untrusted.py",
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
        untrusted.one_line,
        "one character class",
        seeds=("\u202e",),
    ),
    Entry(
        "exporter/web/board.py",
        r"(\d+)",
        lambda t: board._natural(t[: item_ids.MAX_LENGTH]),
        "one character class, over item IDs (at most 100 characters)",
        CONFIG,
    ),
    # -- probes/ ----------------------------------------------------------------------------
    Entry(
        "probes/address.py",
        r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$",
        lambda t: address._LABEL.match(t),
        "anchored, at most 63 characters",
        CONFIG,
    ),
    Entry(
        "probes/command.py",
        r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]",
        lambda t: command.TERMINAL_CONTROLS.sub("", t),
        "each sequence starts at ESC, which none of its runs holds",
        seeds=("\x1b[", "\x1b[0;", "\x1b"),
    ),
    Entry(
        "probes/drill.py",
        r"^\W*(?:drill\s+)?date\W*?[:\-|]\s*(?P<value>.*)$",
        drill.note_date,
        "anchored at each line's start (re.M); one line read once, the lazy run of non-words "
        "ends at the first separator",
        seeds=("date", "- date -", "drill date:", "**Date**"),
    ),
    Entry(
        "probes/drill.py",
        r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?",
        lambda t: drill._DAY.search(t),
        "fixed widths, one optional time",
        seeds=("2026-", "2026-11-03 1", "2026-11-03T14:"),
    ),
    Entry(
        "probes/drill.py",
        r"^\W*(?:result|outcome|status)\W*?[:\-|]\s*(?P<value>.*)$",
        drill.note_result,
        "as the Date line: anchored at each line's start, one pass per line",
        seeds=("result", "Result: ", "- status -", "Outcome |"),
    ),
    Entry(
        "probes/drill.py",
        r"[^\W_]",
        lambda t: re.search(r"[^\W_]", t),
        "one character class",
    ),
    Entry(
        "probes/drill.py",
        r"<[^<>]*>|\b(tbd|todo)\b",
        lambda t: drill._PLACEHOLDER.search(t),
        "a bracket's run ends at the next < or > (with [^>] a run of < was quadratic); literal "
        "words",
        seeds=("<", "<YYYY", "tbd"),
    ),
    Entry(
        "probes/drill.py",
        r"\w+|[/|]",
        drill.is_choice,
        "one class per alternative, the first three tokens only (two runs of non-words around "
        "the mark were quadratic in a run of |)",
        seeds=("pass", "pass /", "passed or "),
    ),
    Entry(
        "probes/drill.py",
        r"^\W*(passed|pass|success|successful|succeeded|ok)\b",
        lambda t: drill._PASS_WORD.search(t),
        "anchored at the start (no re.M): one attempt",
        seeds=("pass", "- ok"),
    ),
    Entry(
        "probes/env.py",
        r"[A-Za-z_][A-Za-z0-9_]*",
        lambda t: re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t),
        "anchored (fullmatch), one class",
        CONFIG,
    ),
    Entry(
        "probes/fields.py",
        r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)",
        _duration,
        "matched at each part's start (it was finditer: a long number with no unit was read "
        "again from each of its digits, quadratic)",
        CONFIG,
        ("1", "1.", "1.5"),
    ),
    Entry(
        "probes/headers.py",
        r"^'(nonce-|sha256-|sha384-|sha512-)",
        lambda t: headers._NONCE_OR_HASH.match(t),
        "anchored literal alternatives",
        seeds=("'sha",),
    ),
    Entry(
        "probes/headers.py",
        r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        lambda t: headers._TOKEN.match(t),
        "anchored, one class",
    ),
    Entry(
        "probes/headers.py",
        r"^[A-Za-z][A-Za-z0-9+.-]*:$",
        lambda t: headers._SCHEME_SOURCE.match(t),
        "anchored, one class",
    ),
    Entry(
        "probes/local_errors.py",
        r"\[Errno (\d+)\]",
        lambda t: local_errors._ERRNO_IN_TEXT.findall(t),
        "a literal, digits, a literal",
        seeds=("[Errno ", "[Errno 1"),
    ),
    Entry(
        "probes/local_errors.py",
        "'(?:failed|could not create socket|could not connect to server): (' + "
        "'|'.join((re.escape(os.strerror(e)) for e in sorted(LOCAL_ERRNOS))) + ')\\\\b'",
        local_errors.local_reason_in_libpq,
        "literal alternatives",
        seeds=("failed: ", "failed: Network is"),
    ),
    Entry(
        "probes/markdown.py",
        r"[^\W_]+",
        lambda t: md._WORD.findall(t),
        "one character class",
    ),
    Entry(
        "probes/markdown.py",
        r"\s+",
        md.normalize,
        "one character class",
    ),
    Entry(
        "probes/markdown.py",
        r"\A---[ \t]*\r?\n(?:.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
        lambda t: md._FRONT_MATTER.match(t),
        "anchored at the text's start (match): one attempt, the lazy run grows once",
        seeds=("---\n", "---\n---", "---\n..."),
    ),
    Entry(
        "probes/masking.py",
        "((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^/\\s:@'\\\"]*):[^@/\\s'\\\"]*@",
        masking.mask_credentials,
        "a scheme starts only after a character no scheme holds (see redact's URL_PAIR)",
        seeds=("a://", "a://b:", "http://u:p@", "a:/"),
    ),
    Entry(
        "probes/masking.py",
        r"\b(Basic|Bearer) +[A-Za-z0-9._~+/-]{6,}=*",
        masking.mask_credentials,
        "a word, spaces, one class, one class: each run has one place to go",
        seeds=("Basic ", "Bearer abcdef", "Basic  "),
    ),
    Entry(
        "probes/placeholders.py",
        "'(?i)^(' + '|'.join(_ALTERNATIVES) + ')$'",
        placeholders.is_placeholder,
        "backtracks, but runs only on values of at most 1,024 characters (MAX_PLACEHOLDER)",
        seeds=("change me ", "your-", "my secret ", "dev-secret-", "1234"),
    ),
    Entry(
        "probes/placeholders.py",
        r"(?i)(^|[_.-])(secret|secret_?key|password|passwd|passphrase|pwd|pass|token|api_?key|access_?key|private_?key|key|credentials?)$",
        lambda t: placeholders.SECRET_NAME.search(t),
        "literal alternatives anchored at the end",
        seeds=("_pass", "_secret_", "-key"),
    ),
    Entry(
        "probes/placeholders.py",
        r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*[=:](.*)$",
        placeholders.placeholder_settings,
        "line-anchored; each run is followed by a character it cannot hold",
        seeds=("export ", "A=", "A :", "export  A"),
    ),
    Entry(
        "probes/placeholders.py",
        r"(?<=\s)#",
        placeholders.setting_value,
        "a literal with a one-character look-behind",
        seeds=(" #", "#"),
    ),
    Entry(
        "probes/placeholders.py",
        r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^@/\s]*)@",
        placeholders.url_password,
        "anchored at the start (match): one attempt",
        seeds=("a://", "a://b:"),
    ),
    Entry(
        "probes/secret_plugins.py",
        "ANNOTATED_ASSIGNMENT_SOURCE",
        lambda t: _all(secret_plugins.AnnotatedKeywordDetector().analyze_string(t)),
        "RE2 (it was cubic in a run of spaces after `password:`); the scan also skips lines "
        "over max_line_length and says so",
        seeds=("password:", "password: str", "password: str =", "secret_", "pwd"),
    ),
    Entry(
        "probes/table.py",
        r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b",
        table.longest,
        "a number then literal units: each start tries one number and one run of spaces",
        seeds=("1", "1.5", "15 ", "4 hour"),
    ),
    Entry(
        "probes/table.py",
        "'(?<!\\\\w)' + '\\\\s*'.join(map(re.escape, name.split())) + '(?!\\\\w)'",
        lambda t: table._words("Tier 1 RTO").search(t),
        "the operator's column name as escaped literal words, one run of spaces between each",
        seeds=("Tier", "Tier 1", "Tier 1 "),
    ),
    Entry(
        "probes/patterns.py",
        "text",
        lambda t: [compile_pattern(p).search(t) for p in _OPERATORS],
        "RE2: operators' patterns (body_regex, must_match, banner, ...)",
        seeds=("a", "aa", "END"),
    ),
)


def adversarial(entry: Entry, size: int) -> Iterator[tuple[str, str]]:
    """(label, text) of ``size`` characters: long runs of what the pattern reads, alone and
    after each seed, and each seed repeated."""
    atoms = {" ", "\t", "a", "Z", "0", "_", "-", ".", ":", "/", "=", "|", "#", "'", '"', "\\", "é"}
    atoms |= {c for c in entry.key if c.isprintable() and c not in "()?*+{}^$"}
    atoms |= {c for seed in entry.seeds for c in seed}
    for atom in sorted(atoms):
        yield f"{atom!r} * n", (atom * size)[:size]
    for seed in entry.seeds:
        yield f"{seed!r} repeated", (seed * (size // len(seed) + 1))[:size]
        for atom in sorted(atoms):
            body = seed + atom * size
            yield f"{seed!r} + {atom!r} * n + 'x'", body[: size - 1] + "x"


PROSE = "The quick brown fox jumps over the lazy dog; 12 of 20 items PASS (see docs/ready.md). "


def plain(size: int) -> str:
    """Ordinary text of ``size`` characters: words, spaces, digits and punctuation."""
    return (PROSE * (size // len(PROSE) + 1))[:size]


def markdown_table() -> str:
    """The audit as docs/security.md shows it (``test_regex_audit.py`` keeps them equal)."""

    def code(text: str) -> str:
        text = text.replace("|", "\\|")
        fence = "``" if "`" in text else "`"
        pad = " " if fence == "``" else ""
        return f"{fence}{pad}{text}{pad}{fence}"

    rows = ["| Where | Pattern | Reads | Verdict |", "| --- | --- | --- | --- |"]
    for e in sorted(ENTRIES, key=lambda e: e.path):
        shown = e.key if e.key.isprintable() else e.key.encode("unicode_escape").decode()
        verdict = e.verdict.replace("|", "\\|")
        rows.append(f"| `{e.path}` | {code(shown)} | {e.feeds} | {verdict} |")
    return "\n".join(rows) + "\n"
