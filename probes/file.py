"""File probe: a file (or files matching a glob) exists, is fresh and big enough, and says the
right things: patterns that must or must not appear, Markdown headings, YAML/JSON assertions.

With ``glob``, ``min_count`` matches are needed (fewer but some is PARTIAL), freshness is judged
on the newest match, and content checks apply to every match (at most MAX_FILES). Content
problems add up as in the http kind: any FAIL is FAIL, otherwise any PARTIAL is PARTIAL. A
``must_not_match`` hit is reported by file and line only, never with the line's text (it may be
the very secret that should not be there); so is a ``placeholders`` hit, with the setting's name.
A ``must_not_match`` check that could not read everything (a file over 4 MiB, a glob with more
than 1,000 matches) cannot say "nothing found": it is a probe error, never a PASS.
"""

from __future__ import annotations

import json
import math
import re
import stat as stat_mode
import time
from dataclasses import dataclass
from pathlib import Path

from . import safeyaml
from .compare import Assertion, check_assertions, parse_assertions
from .context import ProbeContext
from .fields import Fields, format_duration
from .patterns import Pattern
from .placeholders import placeholder_settings
from .result import Result, Status, failed, passed
from .walk import WalkStopped, bounded_glob

READ_CAP = 4 * 1024 * 1024  # bytes read for a content check
MAX_FILES = 1000  # matches of a glob examined at most
# Directory entries a glob's walk may visit: more is "cannot judge", not a hung worker thread.
MAX_VISITED = 50_000
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)

Problem = tuple[Status, str]


@dataclass(frozen=True)
class DocumentCheck:
    format: str  # yaml | json: how to parse the file
    asserts: tuple[Assertion, ...]  # what must hold of the parsed document


@dataclass(frozen=True)
class Spec:
    path: Path | None = None
    glob: str | None = None
    min_count: int = 1
    max_age: float | None = None  # seconds since last modification (newest match)
    min_size: int | None = None  # bytes
    content_regex: Pattern | None = None
    must_match: tuple[Pattern, ...] = ()
    must_not_match: tuple[Pattern, ...] = ()
    placeholders: bool = False  # secret-named settings must not hold a placeholder value
    headings: tuple[str, ...] = ()  # Markdown headings that must exist (any level)
    document: DocumentCheck | None = None  # written ``document: yaml`` with ``assert: [...]``

    @property
    def reads_content(self) -> bool:
        return bool(
            self.content_regex
            or self.must_match
            or self.must_not_match
            or self.placeholders
            or self.headings
            or self.document
        )


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    if f.has("path") == f.has("glob"):
        f.problem("path", "or glob is required: give exactly one")
    elif f.has("path") and f.has("min_count"):
        f.problem("min_count", "applies to glob only")
    glob = f.optional_path("glob")
    return Spec(
        path=f.optional_path("path"),
        glob=str(glob) if glob is not None else None,
        min_count=f.integer("min_count", minimum=1),
        max_age=f.optional_duration("max_age"),
        min_size=f.optional_integer("min_size", minimum=0),
        content_regex=f.optional_regex("content_regex"),
        must_match=f.regexes("must_match"),
        must_not_match=f.regexes("must_not_match"),
        placeholders=f.flag("placeholders"),
        headings=f.texts("headings"),
        document=_document_check(f),
    )


def _document_check(f: Fields) -> DocumentCheck | None:
    if f.has("document") != f.has("assert"):
        f.problem("document", "and assert go together: the format to parse and what to check")
    document = f.optional_choice("document", ("yaml", "json"))
    asserts = f.optional_parsed("assert", parse_assertions)
    if document is None or asserts is None:
        return None
    return DocumentCheck(document, asserts)


class CannotJudge(Exception):
    """Raised when a check could not read all it must (``must_not_match`` past a cap)."""


def _read_text(path: Path, whole: bool) -> str:
    """The first READ_CAP bytes as text; raises CannotJudge when ``whole`` and there is more."""
    with path.open("rb") as fh:
        data = fh.read(READ_CAP + 1)
    if len(data) > READ_CAP and whole:
        raise CannotJudge(
            f"read only the first {READ_CAP // 1024 // 1024} MiB of {path.name}: cannot judge "
            "must_not_match"
        )
    return data[:READ_CAP].decode("utf-8", "replace")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def content_problems(spec: Spec, path: Path, size: int) -> list[Problem]:
    """What is wrong with one file's size and content; empty when it is fine."""
    problems: list[Problem] = []
    if spec.min_size is not None and size < spec.min_size:
        problems.append((Status.FAIL, f"{size} bytes, expected at least {spec.min_size}"))
    if not spec.reads_content:
        return problems
    try:
        text = _read_text(path, whole=bool(spec.must_not_match))
    except OSError as exc:
        return [*problems, (Status.FAIL, f"cannot be read ({exc.strerror})")]
    if spec.content_regex is not None and not spec.content_regex.search(text):
        problems.append((Status.FAIL, f"does not match /{spec.content_regex.pattern}/"))
    absent = [p.pattern for p in spec.must_match if not p.search(text)]
    if absent:
        status = Status.PARTIAL if len(absent) < len(spec.must_match) else Status.FAIL
        problems.append((status, "does not match " + ", ".join(f"/{p}/" for p in absent)))
    for pattern in spec.must_not_match:
        hit = pattern.search(text)
        if hit:
            problems.append(
                (
                    Status.FAIL,
                    f"line {_line_of(text, hit.start())} matches "
                    f"/{pattern.pattern}/, expected no match",
                )
            )
    if spec.placeholders:
        found = placeholder_settings(text)
        if found:
            where = ", ".join(f"line {line} ({name})" for line, name in found)
            problems.append(
                (Status.FAIL, f"{where}: placeholder value, expected a production secret")
            )
    if spec.headings:
        have = {h.lower() for h in HEADING.findall(text)}
        missing = [
            h
            for h in spec.headings
            if not any(h.lower() == x or x.startswith(h.lower()) for x in have)
        ]
        if missing:
            status = Status.PARTIAL if len(missing) < len(spec.headings) else Status.FAIL
            problems.append((status, f"has no heading {', '.join(missing)}"))
    if spec.document is not None:
        problems += document_problems(spec.document, text)
    return problems


def document_problems(check: DocumentCheck, text: str) -> list[Problem]:
    try:
        # safeyaml: the exporter's one YAML loader (no alias bombs, no duplicate keys).
        doc = safeyaml.load(text) if check.format == "yaml" else json.loads(text)
    except safeyaml.DocumentError as exc:
        return [(Status.FAIL, f"at {exc}" if exc.line else f"is {exc}")]
    except ValueError:
        return [(Status.FAIL, f"is not valid {check.format.upper()}")]
    verdict = check_assertions(check.asserts, doc)
    if not verdict.failures:
        return []
    return [(Status.PARTIAL if verdict.passed else Status.FAIL, "; ".join(verdict.failures))]


def _verdict(problems: list[Problem]) -> Status:
    return Status.FAIL if any(s is Status.FAIL for s, _ in problems) else Status.PARTIAL


def check_path(spec: Spec) -> Result:
    path = spec.path
    assert path is not None
    try:
        st = path.stat()
    except FileNotFoundError:
        return failed(f"{path} does not exist", path=str(path))
    except OSError as exc:
        return failed(f"{path} cannot be read ({exc.strerror})", path=str(path))
    age = time.time() - st.st_mtime
    evidence = {"path": str(path), "bytes": st.st_size, "age_seconds": round(age)}
    if spec.max_age is not None and age > spec.max_age:
        return failed(
            f"{path.name} is {format_duration(age)} old, "
            f"expected at most {format_duration(spec.max_age)}",
            **evidence,
        )
    if spec.reads_content and not stat_mode.S_ISREG(st.st_mode):
        return failed(f"{path.name} is not a regular file", **evidence)
    try:
        problems = content_problems(spec, path, st.st_size)
    except CannotJudge as exc:
        return Result(Status.FAIL, str(exc), evidence, error=True)
    if problems:
        return Result(
            _verdict(problems), f"{path.name} " + "; ".join(m for _, m in problems), evidence
        )
    return passed(
        f"{path.name} present ({st.st_size} bytes, modified {format_duration(age)} ago)", **evidence
    )


def check_glob(spec: Spec, deadline: float = math.inf) -> Result:
    """Judge the files matching the glob; ``deadline`` (monotonic) bounds the walk and reads."""
    assert spec.glob is not None
    try:
        names = bounded_glob(spec.glob, MAX_VISITED, deadline)
    except WalkStopped as stop:
        # Part of the tree is no evidence: a must-not pattern may sit in what was not seen.
        return Result(
            Status.FAIL,
            f"{spec.glob}: {stop.reason}, cannot judge",
            {"glob": spec.glob, "visited": stop.visited},
            error=True,
        )
    files: list[tuple[Path, float, int]] = []
    for name in names[:MAX_FILES]:
        try:
            st = Path(name).stat()
        except OSError:
            continue
        if stat_mode.S_ISREG(st.st_mode):
            files.append((Path(name), st.st_mtime, st.st_size))
    evidence: dict[str, object] = {
        "glob": spec.glob,
        "matches": len(files),
        "files": [str(p) for p, _, _ in files[:20]],
    }
    if not files:
        return failed(
            f"no file matches {spec.glob}, expected at least {spec.min_count}", **evidence
        )
    newest, newest_mtime, _ = max(files, key=lambda f: f[1])
    age = time.time() - newest_mtime
    evidence.update(newest=str(newest), age_seconds=round(age))
    if spec.max_age is not None and age > spec.max_age:
        return failed(
            f"newest match {newest.name} is {format_duration(age)} old, "
            f"expected at most {format_duration(spec.max_age)}",
            **evidence,
        )
    problems: list[Problem] = []
    if len(files) < spec.min_count:
        problems.append(
            (
                Status.PARTIAL,
                f"{len(files)} files match {spec.glob}, expected at least {spec.min_count}",
            )
        )
    if spec.must_not_match and len(names) > MAX_FILES:
        return Result(
            Status.FAIL,
            f"{len(names)} files match {spec.glob}, only the first {MAX_FILES} are read: "
            "cannot judge must_not_match",
            evidence,
            error=True,
        )
    try:
        for n, (path, _, size) in enumerate(files):
            if time.monotonic() > deadline:
                return Result(
                    Status.FAIL,
                    f"stopped at the time limit after reading {n} of {len(files)} files "
                    f"matching {spec.glob}, cannot judge",
                    evidence,
                    error=True,
                )
            problems += [(s, f"{path.name} {m}") for s, m in content_problems(spec, path, size)]
    except CannotJudge as exc:
        return Result(Status.FAIL, str(exc), evidence, error=True)
    if problems:
        shown = "; ".join(m for _, m in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        return Result(_verdict(problems), shown + more, evidence)
    return passed(
        f"{len(files)} files match {Path(spec.glob).name}, newest {newest.name} "
        f"modified {format_duration(age)} ago",
        **evidence,
    )


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"checking {spec.path or spec.glob}")
    # On the file workers: a slow or huge file must not stall other probes or /metrics.
    files = ctx.resources.files
    if spec.path is not None:
        return await ctx.blocking(files, check_path, spec, target=str(spec.path))
    assert spec.glob is not None
    return await ctx.blocking(files, check_glob, spec, ctx.deadline, target=spec.glob)
