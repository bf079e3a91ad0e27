"""Secrets probe: hard-coded secrets in a repository, found by detect-secrets, shown by place only.

"API keys use environment variables (no hardcoding)" is proven by a secret scanner finding
nothing in the files that ship. Secret detection is a solved problem, so this kind runs Yelp's
detect-secrets (its plugins: known key formats such as AWS, Stripe, Slack, GitHub, private
keys, JWTs; secret-sounding names with a quoted value in any letter case; high-entropy strings)
plus one rule it misses, type-annotated assignments (``probes/secret_plugins.py``).

- **Which files**: the tracked files of the git repository at ``path`` (``git ls-files``) when
  it is one, so build output and local ``.env`` files that are not committed are not judged;
  otherwise (or with ``files: all``) every file under ``path``, ``.git`` left out. ``exclude``
  takes gitignore-style patterns relative to ``path`` (``tests/fixtures/``, ``*.md``).
  Symbolic links are not followed; binary files are skipped (by name, as detect-secrets does,
  or by a NUL byte, as git does). detect-secrets skips, without a word, a file it cannot open
  or decode as UTF-8: here either stops the scan as a probe error.
- **Bounded**: at most ``max_files`` files, ``max_bytes`` bytes in all and ``max_file_bytes`` in
  one file; more is a probe error ("cannot judge: 12,000 files, more than max_files 10,000"),
  and so is a scan that runs out of time (the clock is read before each line): a scan that did
  not read everything is never a PASS. Lines are read ``max_line_length`` characters at a time.
  That bound is there because the scanner's own patterns backtrack: its keyword rule costs time
  quadratic in a line's length (``pwd`` 1,333 times on one line: 3 s, with the GIL held, so the
  whole daemon waits). Up to 1,000 characters (detect-secrets' own cap for its
  indirect-reference check) a line costs at most about 0.2 s. A longer line (a built e-mail
  template, a minified bundle) is scanned in windows of ``max_line_length`` characters that
  overlap by 200, so the cost grows with the line's length, not its square, and a key with its
  name still falls whole in one window; a huge one runs into the scan's time limit (cannot
  judge) and is best excluded.
- **Never the value**: a finding is reported as ``file:line`` and the secret's type (``Secret
  Keyword``, ``AWS Access Key``), never the value, the line or a part of either, in the summary,
  the evidence and the debug lines alike. Hashes of found values are not shown either (a SHA-1
  of a short password is easy to reverse).
- **Audited false positives**: ``baseline`` names a detect-secrets baseline (``detect-secrets
  scan > .secrets.baseline``, then ``detect-secrets audit``). Only its results marked
  ``is_secret: false`` are ignored; unaudited or confirmed ones still count. The baseline's
  plugin and filter settings are not used (they could load code or turn on verification).
- **Offline**: detect-secrets can "verify" a found key by calling the provider's API with it;
  that is never turned on here. Nothing leaves the machine.

A finding is a line with at least one detected secret (one line may carry several types).
``max_findings`` (default 0) is how many are allowed. detect-secrets' inline allowlist
comment (``# pragma: allowlist secret``) is honoured, as in its pre-commit hook.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    import pathspec

from . import gitdates
from .context import ProbeContext
from .fields import Fields, to_texts
from .problems import SpecError
from .reading import is_own_store, read_capped
from .result import Result, Status

MAX_FILES = 10_000
MAX_BYTES = 32 * 1024 * 1024
# One file is scanned without a look at the clock: bound it so a run ends near its deadline.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_LINE_LENGTH = 1_000  # characters; see "Bounded" above
# Characters two windows of a long line share: a keyword, its quote and a key fit in them.
WINDOW_OVERLAP = 200
BASELINE_CAP = 16 * 1024 * 1024
SHOWN = 5  # findings named in a summary
KEPT = 100  # findings kept in the evidence
PLUGIN_FILE = Path(__file__).with_name("secret_plugins.py")
# Plugins of detect-secrets that are not about secrets: a public IP address in a config is not
# a credential.
LEFT_OUT_PLUGINS = frozenset({"IPPublicDetector"})
# detect-secrets' default filters (its Settings), named so that none that calls out (the
# verification policy) or needs a word list is ever on.
FILTERS = (
    "detect_secrets.filters.common.is_invalid_file",
    "detect_secrets.filters.heuristic.is_non_text_file",
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_templated_secret",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
)
# detect-secrets keeps its settings in one global: one scan at a time in this process.
_SCAN_LOCK = threading.Lock()

FilesMode = Literal["auto", "tracked", "all"]


class CannotJudge(Exception):
    """Raised when the scan could not read everything it should have (bounds, time, git)."""


@dataclass(frozen=True)
class Spec:
    path: Path
    files: FilesMode = "auto"  # auto: tracked files when path is in a git repository
    exclude: tuple[str, ...] = ()  # gitignore-style patterns, relative to path
    max_findings: int = 0
    baseline: Path | None = None  # detect-secrets baseline; its is_secret: false results
    max_files: int = MAX_FILES
    max_bytes: int = MAX_BYTES
    max_file_bytes: int = MAX_FILE_BYTES
    max_line_length: int = MAX_LINE_LENGTH


@dataclass(frozen=True)
class Finding:
    """Where a secret is and what kind it is; the value is never kept."""

    file: str  # relative to the scanned folder, '/'-separated
    line: int
    types: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({', '.join(self.types)})"


@dataclass(frozen=True)
class Listing:
    """The files a scan is to read, relative to its root."""

    root: Path
    files: tuple[str, ...]
    source: str  # "git ls-files" or "walk"
    excluded: int = 0


@dataclass
class Scan:
    """What a scan read and found; ``stopped`` says why it did not read everything."""

    files: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)
    audited: int = 0  # findings left out as audited false positives (baseline)
    binary: int = 0  # files skipped as binary (by name or by a NUL byte)
    stopped: str | None = None


def list_files(root: Path, mode: FilesMode, exclude: Sequence[str], timeout: float) -> Listing:
    """The files to scan under ``root``: tracked ones or a walk, less ``exclude``; a walk
    still going after ``timeout`` seconds raises CannotJudge."""
    import pathspec  # here, not at start: 5 MB for a kind few checklists use (docs/performance.md)

    spec = pathspec.GitIgnoreSpec.from_lines(exclude)
    deadline = time.monotonic() + timeout
    tracked = mode == "tracked" or (
        mode == "auto" and gitdates.repository_root(root, timeout) is not None
    )
    if tracked:
        try:
            out = gitdates.run_git(["ls-files", "-z", "--cached", "--", "."], root, timeout)
        except gitdates.GitError as exc:
            raise CannotJudge(str(exc)) from None
        names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
        source = "git ls-files"
    else:
        names = list(_walk(root, spec, deadline))
        source = "walk"
    # The exporter's own store is never read (probes/reading.py says why); count it excluded.
    kept = [n for n in names if not spec.match_file(n) and not is_own_store(root / n)]
    return Listing(root, tuple(kept), source, excluded=len(names) - len(kept))


def _walk(root: Path, spec: pathspec.GitIgnoreSpec, deadline: float) -> Iterable[str]:
    """Relative paths of the files under ``root``; .git and excluded folders are not entered.

    The walk runs on a worker thread that nothing can interrupt, so it watches ``deadline``
    (monotonic) itself: a tree too big to list in time is "cannot judge", not a stuck worker.
    """
    listed = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        if time.monotonic() > deadline:
            raise CannotJudge(f"stopped listing files at the time limit after {listed:,}")
        listed += len(files)
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        dirs[:] = sorted(d for d in dirs if d != ".git" and not spec.match_file(f"{prefix}{d}/"))
        for name in sorted(files):
            yield f"{prefix}{name}"


def _plugins() -> list[dict[str, str]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes: list[type] = list(get_mapping_from_secret_type_to_class().values())
    names = {c.__name__ for c in classes}
    names -= LEFT_OUT_PLUGINS | {"AnnotatedKeywordDetector"}
    plugins = [{"name": name} for name in sorted(names)]
    plugins.append({"name": "AnnotatedKeywordDetector", "path": f"file://{PLUGIN_FILE}"})
    return plugins


@contextlib.contextmanager
def configured_scanner(
    max_line_length: int = MAX_LINE_LENGTH, deadline: float | None = None
) -> Iterator[None]:
    """detect-secrets configured with ``settings()`` for the time of a scan (hold _SCAN_LOCK)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import transient_settings

    with transient_settings(settings(max_line_length, deadline)):
        # Its plugin list is cached from before the settings named our plugin's file.
        get_mapping_from_secret_type_to_class.cache_clear()
        try:
            yield
        finally:
            get_mapping_from_secret_type_to_class.cache_clear()


@dataclass
class _Unread:
    """What detect-secrets left unread while a file was scanned, from its warnings."""

    unopened: bool = False  # "Unable to open file": it skips the file
    long_lines: list[int] = field(default_factory=list)  # lines too long for one pass
    unwindowed: int | None = None  # a long line the windows could not find in the file
    out_of_time: int | None = None  # the first line left for the deadline

    def clear(self) -> None:
        self.unopened, self.out_of_time, self.unwindowed = False, None, None
        self.long_lines.clear()


class _Warnings(logging.Handler):
    """Turns detect-secrets' warnings (and our line filter's) into an ``_Unread``."""

    def __init__(self, unread: _Unread) -> None:
        super().__init__(logging.WARNING)
        self.unread = unread

    def emit(self, record: logging.LogRecord) -> None:
        from .secret_plugins import LINE_TOO_LONG, OUT_OF_TIME  # loaded with detect-secrets

        u = self.unread
        args: tuple[Any, ...] = record.args if isinstance(record.args, tuple) else ()
        if str(record.msg).startswith("Unable to open file"):
            u.unopened = True
        elif args[:1] == (LINE_TOO_LONG,):
            u.long_lines.append(args[1])
        elif args[:1] == (OUT_OF_TIME,) and u.out_of_time is None:
            u.out_of_time = args[1]


@contextlib.contextmanager
def _unread_parts() -> Iterator[_Unread]:
    """What the scanner leaves unread during the block, as its warnings say (hold _SCAN_LOCK:
    its logger is changed for the time of the block)."""
    logger = logging.getLogger("detect-secrets")
    unread = _Unread()
    saved = logger.handlers, logger.level, logger.propagate
    logger.handlers, logger.propagate = [_Warnings(unread)], False
    logger.setLevel(logging.WARNING)
    try:
        yield unread
    finally:
        logger.handlers, logger.propagate = saved[0], saved[2]
        logger.setLevel(saved[1])


def settings(
    max_line_length: int = MAX_LINE_LENGTH, deadline: float | None = None
) -> dict[str, Any]:
    """The detect-secrets settings every scan uses: its plugins, its offline filters, and our
    line filter first (lines longer than ``max_line_length`` or read after ``deadline``), so
    that no other filter reads a line it keeps out."""
    from .secret_plugins import LINE_FILTER

    line_filter = {
        "path": f"file://{PLUGIN_FILE}::{LINE_FILTER}",
        "max_line_length": max_line_length,
        "deadline": deadline,
    }
    return {
        "plugins_used": _plugins(),
        "filters_used": [line_filter, *({"path": p} for p in FILTERS)],
    }


def read_baseline(path: Path) -> set[tuple[str, str, str]]:
    """(file, type, hashed secret) of a baseline's results audited as not secrets."""
    try:
        doc = json.loads(read_capped(path, BASELINE_CAP))
    except OSError as exc:
        raise CannotJudge(f"baseline {path.name} cannot be read ({exc.strerror or exc})") from None
    except ValueError:
        raise CannotJudge(f"baseline {path.name} is not JSON (a detect-secrets baseline)") from None
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, dict):
        raise CannotJudge(f"baseline {path.name} has no results (a detect-secrets baseline)")
    audited = set()
    for file, entries in results.items():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("is_secret") is False:
                audited.add((str(file), str(entry.get("type")), str(entry.get("hashed_secret"))))
    return audited


def scan(
    listing: Listing,
    deadline: float,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
    audited: frozenset[tuple[str, str, str]] | set[tuple[str, str, str]] = frozenset(),
    max_line_length: int = MAX_LINE_LENGTH,
) -> Scan:
    """Run detect-secrets over the listed files, within the bounds and ``deadline`` (monotonic).

    The bounds are checked before a byte is read: a listing over them is refused whole.
    """
    from detect_secrets.core.scan import scan_file
    from detect_secrets.filters.heuristic import is_non_text_file

    files: list[tuple[str, int]] = []
    total = 0
    result = Scan()
    for name in listing.files:
        try:
            st = os.lstat(listing.root / name)
        except FileNotFoundError:
            continue  # tracked but deleted in the work tree: nothing to read
        if not stat.S_ISREG(st.st_mode):  # links (they may point anywhere), FIFOs, devices
            continue
        if is_non_text_file(name):  # images, archives, ...: the scanner skips them by name
            result.binary += 1
            continue
        files.append((name, st.st_size))
        total += st.st_size
    if len(files) > max_files:
        result.stopped = f"{len(files):,} files, more than max_files {max_files:,}"
        return result
    big = [(name, size) for name, size in files if size > max_file_bytes]
    if big:
        name, size = max(big, key=lambda f: f[1])
        more = f" and {len(big) - 1} more" if len(big) > 1 else ""
        result.stopped = (
            f"{name} is {_size(size)}{more}, more than max_file_bytes {_size(max_file_bytes)} "
            "(exclude it or raise the bound)"
        )
        return result
    if total > max_bytes:
        result.stopped = (
            f"{_size(total)} in {len(files):,} files, more than max_bytes {_size(max_bytes)}"
        )
        return result
    with (
        _SCAN_LOCK,
        configured_scanner(max_line_length, deadline),
        _unread_parts() as unread,
    ):
        for name, size in files:
            if time.monotonic() > deadline:
                result.stopped = (
                    f"stopped after {result.files:,} of {len(files):,} files: out of time"
                )
                return result
            # detect-secrets reads UTF-8 and skips, silently, what does not decode: look first.
            try:
                data = read_capped(listing.root / name, max_file_bytes + 1)
            except OSError as exc:
                result.stopped = (
                    f"{name} cannot be read ({exc.strerror or exc}): stopped after "
                    f"{result.files:,} files"
                )
                return result
            if b"\0" in data[:8192]:
                result.binary += 1  # binary by content, as git judges it
                continue
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                result.stopped = (
                    f"{name} is not UTF-8 text, which the scanner cannot read: stopped after "
                    f"{result.files:,} files (exclude it if it holds no text)"
                )
                return result
            by_line: dict[int, list[str]] = {}
            unread.clear()
            found = list(scan_file(str(listing.root / name)))
            if unread.long_lines and unread.out_of_time is None:
                found += _scan_long_lines(name, data, unread, max_line_length, deadline)
            for secret in found:
                if (name, secret.type, secret.secret_hash) in audited:
                    result.audited += 1
                    continue
                by_line.setdefault(secret.line_number, []).append(secret.type)
            result.findings.extend(
                Finding(name, line, tuple(sorted(set(types))))
                for line, types in sorted(by_line.items())
            )
            if unread.unopened:
                # detect-secrets logs a file it cannot open and goes on: not read, not judged.
                result.stopped = f"{name} cannot be read: stopped after {result.files:,} files"
                return result
            if unread.unwindowed is not None:
                result.stopped = (
                    f"{name}:{unread.unwindowed} is longer than max_line_length "
                    f"{max_line_length:,} and could not be scanned (exclude the file or raise "
                    "the bound)"
                )
                return result
            if unread.out_of_time is not None:
                result.stopped = (
                    f"stopped at {name}:{unread.out_of_time} after {result.files:,} of "
                    f"{len(files):,} files: out of time"
                )
                return result
            result.files += 1
            result.bytes += size
    return result


def _scan_long_lines(
    name: str, data: bytes, unread: _Unread, width: int, deadline: float
) -> list[Any]:
    """What the scanner finds in the lines it left out as too long, read in overlapping windows
    of ``width`` characters (the scanner's cost is bounded per window, see "Bounded" above).

    Each window goes through the scanner's own per-line step, with its plugins and filters, as
    a line of the file would. Reaching ``deadline`` records the line in ``unread.out_of_time``.
    """
    from detect_secrets.core.scan import _process_line_based_plugins

    overlap = min(WINDOW_OVERLAP, width // 2)
    lines = io.StringIO(data.decode("utf-8"), newline=None).readlines()
    found: list[Any] = []
    for number in unread.long_lines:
        if not 0 < number <= len(lines):
            unread.unwindowed = number  # numbered by a transformer's lines, not the file's
            return found
        line = lines[number - 1].rstrip("\n")
        for start in range(0, max(len(line) - overlap, 1), width - overlap):
            if time.monotonic() > deadline:
                unread.out_of_time = number
                return found
            window = [(number, line[start : start + width])]
            found += _process_line_based_plugins(window, name)
    return found


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def judge(listing: Listing, result: Scan, max_findings: int) -> Result:
    """PASS when at most ``max_findings`` findings; a scan that stopped is a probe error."""
    evidence: dict[str, Any] = {
        "root": str(listing.root),
        "files_from": listing.source,
        "files_listed": len(listing.files),
        "files_excluded": listing.excluded,
        "files_scanned": result.files,
        "bytes_scanned": result.bytes,
        "audited_false_positives": result.audited,
        "binary_files_skipped": result.binary,
        "findings": [
            {"file": f.file, "line": f.line, "types": list(f.types)} for f in result.findings[:KEPT]
        ],
        "findings_count": len(result.findings),
    }
    if result.stopped is not None:
        return Result(Status.FAIL, f"cannot judge: {result.stopped}", evidence, error=True)
    scanned = f"{result.files:,} files ({listing.source})"
    notes = []
    if listing.excluded:
        notes.append(f"{listing.excluded:,} excluded")
    if result.audited:
        notes.append(f"{result.audited:,} audited false positives ignored")
    noted = f"; {', '.join(notes)}" if notes else ""
    count = len(result.findings)
    if count > max_findings:
        named = ", ".join(map(str, result.findings[:SHOWN]))
        more = f" and {count - SHOWN} more" if count > SHOWN else ""
        return Result(
            Status.FAIL,
            f"{count} hard-coded secret{'s' if count != 1 else ''} in {scanned}: {named}{more}, "
            f"expected at most {max_findings}{noted}",
            evidence,
        )
    found = "no hard-coded secrets" if count == 0 else f"{count} hard-coded secrets"
    return Result(Status.PASS, f"{found} in {scanned}, at most {max_findings}{noted}", evidence)


def run(spec: Spec, deadline: float) -> Result:
    """List, scan and judge: the whole probe, blocking (run it in a thread)."""
    evidence = {"root": str(spec.path)}
    if not spec.path.is_dir():
        return Result(Status.FAIL, f"{spec.path} is not a folder, expected a repository", evidence)
    try:
        listing = list_files(
            spec.path, spec.files, spec.exclude, max(deadline - time.monotonic(), 0.1)
        )
        if spec.baseline is not None:
            audited = read_baseline(spec.baseline)
            listing = _without(listing, spec.baseline)
        else:
            audited = set()
        result = scan(
            listing,
            deadline,
            spec.max_files,
            spec.max_bytes,
            spec.max_file_bytes,
            audited,
            spec.max_line_length,
        )
    except (CannotJudge, gitdates.GitError) as exc:
        return Result(Status.FAIL, f"cannot judge: {exc}", evidence, error=True)
    return judge(listing, result, spec.max_findings)


def _without(listing: Listing, path: Path) -> Listing:
    """The listing less the baseline file itself (it holds hashes that look like secrets)."""
    try:
        rel = path.resolve().relative_to(listing.root.resolve()).as_posix()
    except ValueError:
        return listing
    files = tuple(f for f in listing.files if f != rel)
    return Listing(
        listing.root, files, listing.source, listing.excluded + len(listing.files) - len(files)
    )


# Glue: today's Fields / ProbeContext API. ------------------------------------------------------


def _gitignore_patterns(value: object, where: str) -> tuple[str, ...]:
    import pathspec

    patterns = to_texts(value, where)
    for i, pattern in enumerate(patterns):
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except (ValueError, TypeError) as exc:
            raise SpecError(
                f"{where}[{i}]", f'must be a gitignore pattern ({exc}) (got "{pattern}")'
            ) from None
    return patterns


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    return Spec(
        path=f.path("path"),
        files=cast(FilesMode, f.choice("files", ("auto", "tracked", "all"))),
        exclude=f.parsed("exclude", _gitignore_patterns, ()),
        max_findings=f.integer("max_findings", minimum=0),
        baseline=f.optional_path("baseline"),
        max_files=f.integer("max_files", minimum=1),
        max_bytes=f.integer("max_bytes", minimum=1),
        max_file_bytes=f.integer("max_file_bytes", minimum=1),
        max_line_length=f.integer("max_line_length", minimum=1),
    )


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"scanning {spec.path} ({spec.files} files) with detect-secrets")
    # On the file workers, watching the probe's deadline itself: a scan stopped by it is a
    # probe error, and one that overruns it (a stalled mount) is the engine's "no answer".
    result = await ctx.blocking(ctx.resources.files, run, spec, ctx.deadline, target=str(spec.path))
    ev = result.evidence
    ctx.log(
        f"{ev.get('files_scanned', 0)} files, {ev.get('bytes_scanned', 0)} bytes scanned; "
        f"{ev.get('findings_count', 0)} findings (places and types only)"
    )
    return result
