"""File probe: a file (or files matching a glob) exists, is fresh and big enough, and says the
right things: patterns that must or must not appear, Markdown headings, YAML/JSON assertions.

With ``glob``, ``min_count`` matches are needed (fewer but some is PARTIAL); ``exclude`` leaves
names out (a README or a template among runbooks is no runbook); freshness is judged on the newest
match and ``recent`` counts the matches changed within a window; size and content checks apply
to every match, or only to the newest with ``judge: newest`` (a small log beside a good backup
is not a bad backup). Content problems add up as in the http kind: any FAIL is FAIL, otherwise
any PARTIAL is PARTIAL. A ``must_not_match`` hit is reported by file and line only, never with
the line's text (it may be the very secret that should not be there); so is a ``placeholders``
hit, with the setting's name. A ``must_not_match`` check that could not read everything (a file
over 4 MiB read from its start, a glob with more than 1,000 matches) cannot say "nothing found":
it is a probe error, never a PASS.

A file's modification time is when it was written here, copied or checked out: after a
checkout, a note written months ago looks new. ``freshness: git`` takes the last commit that
touched the file instead (probes/gitdates.py). A time in the future is a wrong clock: FAIL,
never fresh. Markdown headings come from a CommonMark parser (probes/markdown.py): a ``#`` line
in a fenced code block is no heading. ``read: tail`` judges a big log on its newest part.
"""

from __future__ import annotations

import gzip
import json
import math
import stat as stat_mode
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import gitdates, markdown, safeyaml
from .clock import SKEW, Dated, age_problem, age_words
from .compare import Assertion, check_assertions, parse_assertions
from .context import ProbeContext
from .fields import Fields, format_age, format_duration
from .patterns import Pattern
from .placeholders import placeholder_settings
from .problems import SpecError, show
from .reading import is_own_store
from .result import Result, Status, failed, passed
from .walk import WalkStopped, bounded_glob, regular_files

READ_CAP = 4 * 1024 * 1024  # bytes read for a content check
MAX_FILES = 1000  # matches of a glob whose content is read at most
# Directory entries a glob's walk may visit: more is "cannot judge", not a hung worker thread.
MAX_VISITED = 50_000
# ``complete``: a dump is read to its end, so both its size and the time are bounded.
COMPLETE_CAP = 16 * 1024**3  # bytes of the file read at most: a bigger one cannot be judged
COMPLETE_TIMEOUT = 600.0  # seconds for the read when the probe has no deadline (direct calls)
COMPLETE_CHUNK = 1024 * 1024  # decompressed bytes held at once
# pg_dump's last comment (pg_dumpall's says "cluster dump"); newer versions write a
# \unrestrict line after it, so it is looked for in the text's last few KiB, not at its very end.
DUMP_TRAILERS = (
    b"-- PostgreSQL database dump complete",
    b"-- PostgreSQL database cluster dump complete",
)
DUMP_TAIL = 4096
# What a git-based time is, by the state of the file in its repository.
GIT_CLOCKS = {
    "commit": "its last commit",
    "uncommitted": "file time (uncommitted changes)",
    "untracked": "file time (not committed)",
    "not in git": "file time (not in a git repository)",
}

Problem = tuple[Status, str]


@dataclass(frozen=True)
class DocumentCheck:
    format: str  # yaml | json: how to parse the file
    asserts: tuple[Assertion, ...]  # what must hold of the parsed document


@dataclass(frozen=True)
class Recent:
    """``recent: {count: 7, within: 8d}``: at least ``count`` matches changed within the window;
    with ``per: day``, on at least ``count`` different days (UTC): seven dumps made in one hour
    are one day of backups, not a week."""

    count: int
    within: float  # seconds
    per: str | None = None  # day: count the UTC days with a match, not the matches


@dataclass(frozen=True)
class Spec:
    path: Path | None = None
    glob: str | None = None
    min_count: int = 1
    exclude: tuple[str, ...] = ()  # glob: file-name patterns left out of every check
    judge: str = "every"  # glob: which matches size and content checks apply to (every | newest)
    recent: Recent | None = None  # glob: enough matches changed within a window
    max_age: float | None = None  # seconds since the file (the newest match) last changed
    freshness: str = "file"  # file: modification time; git: the last commit touching it
    min_size: int | None = None  # bytes
    complete: str | None = None  # gzip: the stream reads to its end; pg_dump: and the trailer
    read: str = "head"  # head: the first READ_CAP bytes; tail: the last (logs)
    content_regex: Pattern | None = None
    must_match: tuple[Pattern, ...] = ()
    must_not_match: tuple[Pattern, ...] = ()
    placeholders: bool = False  # secret-named settings must not hold a placeholder value
    headings: tuple[str, ...] = ()  # Markdown headings that must exist (any level, exact text)
    heading_content: bool = False  # each heading's section must say something (not TBD)
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
    for key in ("exclude", "judge", "recent"):
        if f.has("path") and f.has(key):
            f.problem(key, "applies to glob only")
    if f.has("freshness") and not (f.has("max_age") or f.has("recent")):
        f.problem("freshness", "needs max_age or recent: the checks that judge a time")
    if f.has("heading_content") and not f.has("headings"):
        f.problem("heading_content", "needs headings: the sections whose content is judged")
    glob = f.optional_path("glob")
    return Spec(
        path=f.optional_path("path"),
        glob=str(glob) if glob is not None else None,
        min_count=f.integer("min_count", minimum=1),
        exclude=f.parsed("exclude", to_name_patterns, ()),
        judge=f.choice("judge", ("every", "newest")),
        recent=_recent(f),
        max_age=f.optional_duration("max_age"),
        freshness=f.choice("freshness", ("file", "git")),
        min_size=f.optional_integer("min_size", minimum=0),
        complete=f.optional_choice("complete", ("gzip", "pg_dump")),
        read=f.choice("read", ("head", "tail")),
        content_regex=f.optional_regex("content_regex"),
        must_match=f.regexes("must_match"),
        must_not_match=f.regexes("must_not_match"),
        placeholders=f.flag("placeholders"),
        headings=f.texts("headings"),
        heading_content=f.flag("heading_content"),
        document=_document_check(f),
    )


def to_name_patterns(value: object, where: str) -> tuple[str, ...]:
    """File-name patterns (``README.md``, ``_*``): matched against a match's name, not its path."""
    if not isinstance(value, list) or not value:
        raise SpecError(
            where, f"must be a non-empty list of file-name patterns (got {show(value)})"
        )
    names = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise SpecError(f"{where}[{i}]", f"must be a file-name pattern (got {show(item)})")
        if "/" in item:
            raise SpecError(
                f"{where}[{i}]",
                f"is matched against file names, so it cannot hold a / (got {show(item)})",
            )
        names.append(item)
    return tuple(names)


def _recent(f: Fields) -> Recent | None:
    sub = f.sub("recent")
    if sub is None:
        return None
    count, within = sub.integer("count", minimum=1), sub.duration("within")
    per = sub.optional_choice("per", ("day",))
    return Recent(count, within, per) if sub.usable("count", "within", "per") else None


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


def _read_text(path: Path, whole: bool = False, tail: bool = False) -> str:
    """The first READ_CAP bytes as text; raises CannotJudge when ``whole`` and there is more.

    With ``tail`` the last READ_CAP bytes, from the first whole line: the part the check was
    asked to judge (``read: tail``), so never a CannotJudge.
    """
    if is_own_store(path):
        raise CannotJudge(f"{path.name} is the exporter's own store: probes never read it")
    with path.open("rb") as fh:
        if not tail:
            data = fh.read(READ_CAP + 1)
            if len(data) > READ_CAP and whole:
                raise CannotJudge(
                    f"read only the first {READ_CAP // 1024 // 1024} MiB of {path.name}: "
                    "cannot judge must_not_match"
                )
            return data[:READ_CAP].decode("utf-8", "replace")
        start = max(0, fh.seek(0, 2) - READ_CAP)
        fh.seek(start)
        data = fh.read(READ_CAP)
    if start:
        # The part read begins inside a line: that line is not judged, only whole ones.
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
    return data.decode("utf-8", "replace")


def read_part(spec: Spec, size: int) -> str:
    """What a content check reads of a file of ``size`` bytes when that is not all of it."""
    if spec.read == "tail" and size > READ_CAP:
        return f"the last {READ_CAP // 1024 // 1024} MiB of {size / 1024 / 1024:.1f} MiB"
    return ""


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def content_problems(
    spec: Spec, path: Path, size: int, deadline: float = math.inf
) -> list[Problem]:
    """What is wrong with one file's size and content; empty when it is fine."""
    problems: list[Problem] = []
    if spec.min_size is not None and size < spec.min_size:
        problems.append((Status.FAIL, f"{size} bytes, expected at least {spec.min_size}"))
    if spec.complete is not None:
        problems += completeness_problems(spec.complete, path, deadline)
    if not spec.reads_content:
        return problems
    try:
        text = _read_text(path, whole=bool(spec.must_not_match), tail=spec.read == "tail")
    except OSError as exc:
        return [*problems, (Status.FAIL, f"cannot be read ({exc.strerror})")]
    part = read_part(spec, size)
    if spec.content_regex is not None and not spec.content_regex.search(text):
        problems.append((Status.FAIL, f"does not match /{spec.content_regex.pattern}/"))
    absent = [p for p in spec.must_match if not p.search(text)]
    if absent:
        status = Status.PARTIAL if len(absent) < len(spec.must_match) else Status.FAIL
        # Named patterns by their names ("has no RTO"), the others as one "does not match" list.
        words = [p.missing() for p in absent if p.name]
        unnamed = [f"/{p.pattern}/" for p in absent if not p.name]
        words += ["does not match " + ", ".join(unnamed)] if unnamed else []
        problems.append((status, "; ".join(words)))
    for pattern in spec.must_not_match:
        hit = pattern.search(text)
        if hit:
            of = " of that part" if part else ""
            problems.append(
                (Status.FAIL, pattern.present(f"line {_line_of(text, hit.start())}{of}"))
            )
    if spec.placeholders:
        found = placeholder_settings(text)
        if found:
            where = ", ".join(f"line {line} ({name})" for line, name in found)
            problems.append(
                (Status.FAIL, f"{where}: placeholder value, expected a production secret")
            )
    if spec.headings:
        # A CommonMark parser: fenced code is no heading, setext headings are (probes/markdown).
        wrong = markdown.judge_headings(text, spec.headings, spec.heading_content)
        if wrong is not None:
            problems.append(wrong)
    if spec.document is not None:
        problems += document_problems(spec.document, text)
    return problems


def completeness_problems(form: str, path: Path, deadline: float) -> list[Problem]:
    """Whether a dump was written to its end (``complete: gzip | pg_dump``); raises CannotJudge.

    A gzip file is read to its end: a stream cut short has no end-of-stream trailer, and a
    corrupt one fails its CRC. ``pg_dump`` also wants pg_dump's closing comment in the (plain or
    gzip-compressed) SQL text: a dump cut short by a full disk or a killed job lacks it.
    """
    if is_own_store(path):
        raise CannotJudge(f"{path.name} is the exporter's own store: probes never read it")
    try:
        st = path.stat()
        if not stat_mode.S_ISREG(st.st_mode):
            return [(Status.FAIL, "is not a regular file")]
        if st.st_size > COMPLETE_CAP:
            raise CannotJudge(
                f"{path.name} is {st.st_size / 1024**3:.1f} GiB, complete reads at most "
                f"{COMPLETE_CAP // 1024**3} GiB: cannot judge whether it is complete"
            )
        with path.open("rb") as fh:
            head = fh.read(5)
            fh.seek(0)
            if head.startswith(b"\x1f\x8b"):
                tail = _gzip_tail(path, fh, deadline)
            elif form == "gzip":
                return [(Status.FAIL, "is not gzip-compressed, expected a gzip file")]
            elif head == b"PGDMP":
                raise CannotJudge(
                    f"{path.name} is a custom-format dump: complete: pg_dump judges plain SQL "
                    "dumps only, cannot judge"
                )
            else:
                fh.seek(max(0, st.st_size - DUMP_TAIL))
                tail = fh.read(DUMP_TAIL)
    except EOFError:
        return [(Status.FAIL, "ends before its gzip trailer: truncated, expected a whole stream")]
    except (gzip.BadGzipFile, zlib.error) as exc:  # BadGzipFile is an OSError: caught first
        return [(Status.FAIL, f"is not a valid gzip stream ({exc})")]
    except OSError as exc:
        return [(Status.FAIL, f"cannot be read ({exc.strerror})")]
    if form == "pg_dump" and not any(end in tail for end in DUMP_TRAILERS):
        return [
            (
                Status.FAIL,
                "has no '-- PostgreSQL database dump complete' at its end: "
                "truncated, expected a whole pg_dump",
            )
        ]
    return []


def _gzip_tail(path: Path, fh: BinaryIO, deadline: float) -> bytes:
    """Decompress ``fh`` to its end, checking the CRC; the last DUMP_TAIL bytes of its text.

    Raises EOFError when the stream is cut short, and CannotJudge at the time limit.
    """
    if deadline == math.inf:
        deadline = time.monotonic() + COMPLETE_TIMEOUT
    tail = b""
    with gzip.GzipFile(fileobj=fh, mode="rb") as stream:
        while chunk := stream.read(COMPLETE_CHUNK):
            tail = (tail + chunk)[-DUMP_TAIL:]
            if time.monotonic() > deadline:
                raise CannotJudge(
                    f"stopped at the time limit after reading {fh.tell() / 1024**2:.0f} MiB "
                    f"of {path.name}: cannot judge whether it is complete"
                )
    return tail


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


class CannotTell(Exception):
    """Raised when the time a file last changed cannot be known (git could not tell)."""


def dated(spec: Spec, path: Path, mtime: float, deadline: float) -> Dated:
    """When ``path`` last changed, by the clock ``freshness`` names; raises CannotTell."""
    if spec.freshness == "file":
        return Dated(mtime)  # the plain file time: summaries name no clock for it
    left = gitdates.time_left(deadline)
    if left <= 0:
        raise CannotTell(f"the time limit came before git told when {path.name} changed")
    try:
        found = gitdates.file_time(path, timeout=left)
    except (gitdates.GitError, OSError) as exc:
        raise CannotTell(f"{path.name}: {exc}") from None
    return Dated(found.timestamp, GIT_CLOCKS[found.source])


def _changed(when: Dated, now: float) -> str:
    """``modified 3 seconds ago`` for file time, ``3 days old by its last commit`` for another
    clock."""
    if when.clock:
        return age_words(when, now)
    return f"modified {format_age(now - when.timestamp)} ago"


def _named(spec: Spec, path: Path, size: int) -> str:
    """A file's name as a problem starts, with the part read when it was not all of it."""
    part = read_part(spec, size)
    return f"{path.name} ({part} read)" if part else path.name


def _part_note(spec: Spec, size: int) -> str:
    part = read_part(spec, size)
    return f"; judged on {part}" if part else ""


def verified(spec: Spec) -> list[str]:
    """What a PASS of one file verified, in words: each pattern by its name (or itself), each
    assertion by its name (or path) with the expectation it met."""
    said = [spec.content_regex.found()] if spec.content_regex is not None else []
    said += [p.found() for p in spec.must_match]
    said += [p.absent() for p in spec.must_not_match]
    if spec.placeholders:
        said.append("has no placeholder in a secret setting")
    if spec.headings:
        content = " (each with content)" if spec.heading_content else ""
        said.append(f"has headings {', '.join(spec.headings)}{content}")
    if spec.document is not None:
        said += [f"{a.label}: {a.expect.words()}" for a in spec.document.asserts]
    return said


def check_path(spec: Spec, deadline: float = math.inf) -> Result:
    path = spec.path
    assert path is not None
    try:
        st = path.stat()
    except FileNotFoundError:
        return failed(f"{path} does not exist", path=str(path))
    except OSError as exc:
        return failed(f"{path} cannot be read ({exc.strerror})", path=str(path))
    now = time.time()
    evidence: dict[str, object] = {"path": str(path), "bytes": st.st_size}
    when = Dated(st.st_mtime)
    if spec.max_age is not None:
        try:
            when = dated(spec, path, st.st_mtime, deadline)
        except CannotTell as exc:
            return Result(Status.FAIL, f"{exc}, cannot judge", evidence, error=True)
        stale = age_problem(path.name, when, spec.max_age, now)
        evidence.update(age_seconds=round(now - when.timestamp), clock=when.clock or "file time")
        if stale is not None:
            return failed(stale, **evidence)
    else:
        evidence["age_seconds"] = round(now - when.timestamp)
    if spec.reads_content and not stat_mode.S_ISREG(st.st_mode):
        return failed(f"{path.name} is not a regular file", **evidence)
    try:
        problems = content_problems(spec, path, st.st_size, deadline)
    except CannotJudge as exc:
        return Result(Status.FAIL, str(exc), evidence, error=True)
    if problems:
        return Result(
            _verdict(problems),
            f"{_named(spec, path, st.st_size)} " + "; ".join(m for _, m in problems),
            evidence,
        )
    said = verified(spec)
    bound = f", at least {spec.min_size}" if spec.min_size is not None else ""
    return passed(
        f"{path.name}{': ' + '; '.join(said) if said else ' present'} ({st.st_size} bytes{bound}, "
        f"{_changed(when, now)}{_part_note(spec, st.st_size)})",
        **evidence,
    )


def _matching(n: int) -> str:
    return "1 file matches" if n == 1 else f"{n} files match"


def _cannot_judge(message: str, evidence: dict[str, object]) -> Result:
    return Result(Status.FAIL, message, evidence, error=True)


def check_glob(spec: Spec, deadline: float = math.inf) -> Result:
    """Judge the files matching the glob; ``deadline`` (monotonic) bounds the walk and reads."""
    assert spec.glob is not None
    try:
        names = bounded_glob(spec.glob, MAX_VISITED, deadline)
    except WalkStopped as stop:
        # Part of the tree is no evidence: a must-not pattern may sit in what was not seen.
        return _cannot_judge(
            f"{spec.glob}: {stop.reason}, cannot judge",
            {"glob": spec.glob, "visited": stop.visited},
        )
    regular, excluded = regular_files(names, spec.exclude)
    files = [(path, st.st_mtime, st.st_size) for path, st in regular]
    evidence: dict[str, object] = {
        "glob": spec.glob,
        "matches": len(files),
        "files": [str(p) for p, _, _ in files[:20]],
    }
    left_out = ""
    if excluded:
        evidence["excluded"] = [Path(n).name for n in excluded[:20]]
        left_out = f" ({len(excluded)} excluded: {', '.join(Path(n).name for n in excluded[:3])}"
        left_out += f" and {len(excluded) - 3} more)" if len(excluded) > 3 else ")"
    if not files:
        return failed(
            f"no file matches {spec.glob}{left_out}, expected at least {spec.min_count}",
            **evidence,
        )
    now = time.time()
    # When each match last changed, by the configured clock (git: one question per match).
    times: list[Dated] = []
    timed = spec.max_age is not None or spec.recent is not None or spec.judge == "newest"
    for n, (path, mtime, _) in enumerate(files):
        if not timed or spec.freshness == "file":
            times.append(Dated(mtime))
            continue
        if time.monotonic() > deadline:
            return _cannot_judge(
                f"stopped at the time limit after dating {n} of {len(files)} files matching "
                f"{spec.glob}, cannot judge",
                evidence,
            )
        try:
            times.append(dated(spec, path, mtime, deadline))
        except CannotTell as exc:
            return _cannot_judge(f"{exc}, cannot judge", evidence)
    at = max(range(len(files)), key=lambda i: times[i].timestamp)
    (newest, _, newest_size), newest_time = files[at], times[at]
    evidence.update(newest=str(newest), age_seconds=round(now - newest_time.timestamp))
    if newest_time.clock:
        evidence["clock"] = newest_time.clock
    if spec.max_age is not None or spec.recent is not None:
        # The newest is checked even without max_age: a time in the future is never recent.
        stale = age_problem(
            f"newest match {newest.name}",
            newest_time,
            spec.max_age if spec.max_age is not None else math.inf,
            now,
        )
        if stale is not None:
            return failed(stale, **evidence)
    problems: list[Problem] = []
    if len(files) < spec.min_count:
        problems.append(
            (
                Status.PARTIAL,
                f"{_matching(len(files))} {spec.glob}{left_out}, "
                f"expected at least {spec.min_count}",
            )
        )
    recently = ""
    if spec.recent is not None:
        within = spec.recent.within
        inside = [t.timestamp for t in times if -SKEW <= now - t.timestamp <= within]
        count = len(inside)
        shown = f"{count} of {len(files)} matches changed within {format_duration(within)}"
        if spec.recent.per == "day":
            count = len({time.strftime("%Y-%m-%d", time.gmtime(t)) for t in inside})
            evidence["recent_days"] = count
            days = f"{count} day{'' if count == 1 else 's'}"
            recently = f", changed on {days} within {format_duration(within)}"
            shown = (
                f"matches changed on {days} within {format_duration(within)} "
                f"({len(inside)} of {len(files)} matches)"
            )
        else:
            evidence["recent"] = count
            recently = f", {count} changed within {format_duration(within)}"
        if count < spec.recent.count:
            days = " days" if spec.recent.per == "day" else ""
            problems.append(
                (
                    Status.PARTIAL if count else Status.FAIL,
                    f"{shown}{newest_time.by()}, expected at least {spec.recent.count}{days}",
                )
            )
    judged = [files[at]] if spec.judge == "newest" else files
    if spec.reads_content and len(judged) > MAX_FILES:
        # The content of what is not read may hold what a check looks for (or lacks).
        return _cannot_judge(
            f"{len(judged)} files match {spec.glob}, only the first {MAX_FILES} are read: "
            f"cannot judge {'must_not_match' if spec.must_not_match else 'their content'}",
            evidence,
        )
    label = "newest match " if spec.judge == "newest" else ""
    for n, (path, _, size) in enumerate(judged):
        if time.monotonic() > deadline:
            return _cannot_judge(
                f"stopped at the time limit after reading {n} of {len(judged)} files matching "
                f"{spec.glob}, cannot judge",
                evidence,
            )
        try:
            found = content_problems(spec, path, size, deadline)
        except CannotJudge as exc:
            return _cannot_judge(str(exc), evidence)
        problems += [(s, f"{label}{_named(spec, path, size)} {m}") for s, m in found]
    if problems:
        shown = "; ".join(m for _, m in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        return Result(_verdict(problems), shown + more, evidence)
    if spec.judge == "newest":
        only = "; judged: the newest" if len(files) > 1 else ""
        only += _part_note(spec, newest_size)
    else:
        big = sum(1 for _, _, size in judged if read_part(spec, size))
        only = (
            f"; {big} big files judged on their last {READ_CAP // 1024 // 1024} MiB" if big else ""
        )
    return passed(
        f"{_matching(len(files))} {Path(spec.glob).name}{left_out}, newest {newest.name} "
        f"{_changed(newest_time, now)}{recently}{only}",
        **evidence,
    )


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"checking {spec.path or spec.glob}")
    # On the file workers: a slow or huge file must not stall other probes or /metrics.
    files = ctx.resources.files
    if spec.path is not None:
        return await ctx.blocking(files, check_path, spec, ctx.deadline, target=str(spec.path))
    assert spec.glob is not None
    return await ctx.blocking(files, check_glob, spec, ctx.deadline, target=spec.glob)
