"""File probe: a file (or files matching a glob) exists, is fresh and big enough, and says the
right things: patterns that must or must not appear, Markdown headings, YAML/JSON assertions.

With ``glob``, ``min_count`` matches are needed (fewer but some is PARTIAL), freshness is judged
on the newest match, and content checks apply to every match (at most MAX_FILES). Content
problems add up as in the http kind: any FAIL is FAIL, otherwise any PARTIAL is PARTIAL. A
``must_not_match`` hit is reported by file and line only, never with the line's text (it may be
the very secret that should not be there); so is a ``placeholders`` hit, with the setting's name.
"""

from __future__ import annotations

import asyncio
import glob as globbing
import json
import re
import stat as stat_mode
import time
from dataclasses import dataclass
from pathlib import Path
from re import Pattern

import yaml

from . import safeyaml
from .compare import Assertion, check_assertions, parse_assertions
from .context import ProbeContext
from .fields import Fields, Unresolved, format_duration
from .placeholders import placeholder_settings
from .result import Result, Status, failed, passed

READ_CAP = 4 * 1024 * 1024  # bytes read for a content check
MAX_FILES = 1000  # matches of a glob examined at most
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)

Problem = tuple[Status, str]


@dataclass(frozen=True)
class Spec:
    path: Path | None = None
    glob: str | None = None
    min_count: int = 1
    max_age: float | None = None  # seconds since last modification (newest match)
    min_size: int | None = None  # bytes
    content_regex: Pattern[str] | None = None
    must_match: tuple[Pattern[str], ...] = ()
    must_not_match: tuple[Pattern[str], ...] = ()
    placeholders: bool = False  # secret-named settings must not hold a placeholder value
    headings: tuple[str, ...] = ()  # Markdown headings that must exist (any level)
    document: str | None = None  # yaml | json: parse and check ``assert``
    asserts: tuple[Assertion, ...] = ()

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


def _regex_list(f: Fields, key: str) -> tuple[Pattern[str], ...]:
    values = f.str_list(key, ())
    out = []
    for i, value in enumerate(values):
        if isinstance(value, Unresolved):
            continue  # needs an unset variable: the item is reported, not probed
        try:
            out.append(re.compile(value, re.MULTILINE))
        except re.error as exc:
            raise f.error(
                f"{key}[{i}]", f'must be a valid regular expression ({exc}) (got "{value}")'
            ) from None
    return tuple(out)


def parse_spec(f: Fields) -> Spec:
    if f.has("path") == f.has("glob"):
        raise f.error("path", "or glob is required: give exactly one")
    document = f.choice("document", ("yaml", "json"), None)
    raw_asserts = f.any("assert", None)
    if (document is None) != (raw_asserts is None):
        raise f.error("document", "and assert go together: the format to parse and what to check")
    pattern = f.path("glob", None)
    spec = Spec(
        path=f.path("path", None),
        glob=str(pattern) if isinstance(pattern, Path) else pattern,
        min_count=f.int("min_count", 1, minimum=1),
        max_age=f.duration("max_age", None),
        min_size=f.int("min_size", None, minimum=0),
        content_regex=f.regex("content_regex", None),
        must_match=_regex_list(f, "must_match"),
        must_not_match=_regex_list(f, "must_not_match"),
        placeholders=f.bool("placeholders", False),
        headings=f.str_list("headings", ()),
        document=document,
        asserts=parse_assertions(raw_asserts, f.name("assert")) if raw_asserts is not None else (),
    )
    if spec.path is not None and f.has("min_count"):
        raise f.error("min_count", "applies to glob only")
    f.done()
    return spec


def _read_text(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.read(READ_CAP).decode("utf-8", "replace")


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
        text = _read_text(path)
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
    if spec.document:
        problems += document_problems(spec, text)
    return problems


def document_problems(spec: Spec, text: str) -> list[Problem]:
    try:
        # safeyaml: a few hundred bytes of aliases must not expand to gigabytes in a probe.
        doc = safeyaml.load(text) if spec.document == "yaml" else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        return [
            (
                Status.FAIL,
                f"is not valid {spec.document.upper()}{where}"
                + (f": {problem}" if problem else ""),
            )
        ]
    verdict = check_assertions(spec.asserts, doc)
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
    problems = content_problems(spec, path, st.st_size)
    if problems:
        return Result(
            _verdict(problems), f"{path.name} " + "; ".join(m for _, m in problems), evidence
        )
    return passed(
        f"{path.name} present ({st.st_size} bytes, modified {format_duration(age)} ago)", **evidence
    )


def check_glob(spec: Spec) -> Result:
    assert spec.glob is not None
    names = sorted(globbing.glob(spec.glob, recursive=True))
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
    for path, _, size in files:
        problems += [(s, f"{path.name} {m}") for s, m in content_problems(spec, path, size)]
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
    # Off the event loop: a slow or huge file must not stall other probes or /metrics.
    return await asyncio.to_thread(check_path if spec.path is not None else check_glob, spec)
