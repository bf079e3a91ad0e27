"""Report probe: judge what CI tools already write (JUnit XML, Cobertura XML, Trivy JSON, Locust
CSV).

Every report has a freshness bound (``max_age``, 7 days unless set), so a report from a pipeline
that stopped running does not pass forever. Its age comes from the report's own clock where the
format has one (``freshness: report``, the default): JUnit's suite ``timestamp``, coverage.py's
``timestamp``, Trivy's ``CreatedAt``, the last ``Timestamp`` of a Locust history. A file's
modification time is the time it was copied (an artifact download, ``touch``, a checkout); a
report without a clock of its own is judged by it, and the summary says so. A time in the future
is a wrong clock: FAIL, never fresh.

A Trivy scan with no package result (``os-pkgs`` or ``lang-pkgs``: a secret-only scan, or
nothing scanned) shows no vulnerability because it looked for none: FAIL. Trivy's JSON does not
record a ``--severity`` or ``--ignore-unfixed`` filter, so a filtered scan cannot be told apart.

A JUnit case that was skipped is not a test that passed: ``min_executed`` (default 1) counts the
cases that ran, so a report whose only case was skipped never passes. XML goes through defusedxml
(reports come from outside the exporter); parsing runs in a thread so a big report does not stall
the event loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import stat as stat_mode
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from . import locust
from .clock import Dated, age_problem, age_words, utc
from .compare import ORDER, Expect, as_number, parse_expect
from .context import ProbeContext
from .fields import Fields, format_duration
from .masking import clip
from .problems import SpecError, show
from .reading import OwnStoreFile, refuse_own_store
from .result import Result, Status

FORMATS = ("junit", "cobertura", "trivy", "locust")
FRESHNESS = ("report", "file")
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
READ_CAP = 64 * 1024 * 1024  # bytes; a larger report is refused rather than parsed
SHOWN = 3  # findings named in a summary
COPIED = "file time (the time it was copied)"  # the clock of a report that has none of its own


@dataclass(frozen=True)
class Spec:
    path: Path
    format: str
    max_age: float = 7 * 86400.0
    # report: the report's own time where the format has one, else the file's (said so);
    # file: always the file's modification time.
    freshness: str = "report"
    # junit: the zone of a suite timestamp written without an offset (pytest writes one).
    timezone: dt.tzinfo = dt.UTC
    # junit
    min_tests: int = 1  # cases in the report, skipped ones included; fewer: PARTIAL
    min_executed: int = 1  # cases that ran (not skipped); none: FAIL, fewer: PARTIAL
    max_skipped: int | None = None  # more skipped cases: PARTIAL
    max_failures: int = 0  # failures + errors allowed
    max_time: float | None = None  # the run's duration (the suites' ``time``); longer: FAIL
    # cobertura
    line_rate: Expect | None = None  # ``"> 0.75"``; instead of min_line_rate
    min_line_rate: float = 0.75
    partial_line_rate: float | None = None  # at or above (and below the bound): PARTIAL
    # trivy
    severities: tuple[str, ...] = ("HIGH", "CRITICAL")
    max_findings: int = 0
    artifact: str | None = None  # the image (ArtifactName) the scan must be of
    # locust: the criteria and the history file (probes/locust.py)
    load_test: locust.Options | None = None


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        path=f.path("path"),
        format=f.choice("format", FORMATS),
        max_age=f.duration("max_age"),
        freshness=f.choice("freshness", FRESHNESS),
    )
    # Each format's own options; another format's option is refused as an unknown field.
    if f.usable("format"):
        return FORMAT_OPTIONS[spec.format](f, spec)
    for read in FORMAT_OPTIONS.values():  # the format is unknown yet: check what each reads
        read(f, spec)
    return spec


def to_timezone(value: object, where: str) -> dt.tzinfo:
    """``UTC``, an offset such as ``+02:00``, or a zone name such as ``Europe/Madrid``."""
    text = str(value).strip()
    if text.upper() in ("UTC", "Z"):
        return dt.UTC
    try:
        if text[:1] in "+-":
            offset = dt.datetime.strptime(text.replace(":", ""), "%z").utcoffset()
            assert offset is not None
            return dt.timezone(offset)
        return zoneinfo.ZoneInfo(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError, AssertionError):
        raise SpecError(
            where,
            "must be UTC, an offset such as +02:00 or a zone such as Europe/Madrid "
            f"(got {show(value)})",
        ) from None


def _junit_options(f: Fields, spec: Spec) -> Spec:
    utc_zone: dt.tzinfo = dt.UTC
    return dataclasses.replace(
        spec,
        timezone=f.parsed("timezone", to_timezone, utc_zone),
        min_tests=f.integer("min_tests", minimum=1),
        min_executed=f.integer("min_executed", minimum=1),
        max_skipped=f.optional_integer("max_skipped", minimum=0),
        max_failures=f.integer("max_failures", minimum=0),
        max_time=f.optional_duration("max_time"),
    )


def to_rate_bound(value: object, where: str) -> Expect:
    """A comparison with a ratio from 0 to 1: ``"> 0.75"``, ``{op: ">=", value: 0.8}``."""
    expect = parse_expect(value, where)
    number = as_number(expect.value)
    if expect.op not in ORDER or number is None or not 0 <= number <= 1:
        raise SpecError(
            where, f'must compare with a ratio from 0 to 1, such as "> 0.75" (got {show(value)})'
        )
    return Expect(expect.op, number)


def _cobertura_options(f: Fields, spec: Spec) -> Spec:
    if f.has("line_rate") and f.has("min_line_rate"):
        f.problem("line_rate", "and min_line_rate are both set: give one")
    spec = dataclasses.replace(
        spec,
        line_rate=f.optional_parsed("line_rate", to_rate_bound),
        min_line_rate=f.ratio("min_line_rate"),
        partial_line_rate=f.optional_ratio("partial_line_rate"),
    )
    partial = spec.partial_line_rate
    if (
        partial is not None
        and spec.line_rate is None
        and partial > spec.min_line_rate
        and f.usable("min_line_rate")
    ):
        f.problem(
            "partial_line_rate",
            f"({partial:g}) must not be above min_line_rate ({spec.min_line_rate:g})",
        )
    return spec


def _trivy_options(f: Fields, spec: Spec) -> Spec:
    severities = f.texts("severities")
    bad = [s for s in severities if s.upper() not in SEVERITIES]
    if bad:
        f.problem("severities", f'must be among {", ".join(SEVERITIES)} (got "{bad[0]}")')
    return dataclasses.replace(
        spec,
        severities=tuple(s.upper() for s in severities),
        max_findings=f.integer("max_findings", minimum=0),
        artifact=f.optional_text("artifact"),
    )


def _locust_options(f: Fields, spec: Spec) -> Spec:
    return dataclasses.replace(spec, load_test=locust.parse_options(f))


FORMAT_OPTIONS: dict[str, Callable[[Fields, Spec], Spec]] = {
    "junit": _junit_options,
    "cobertura": _cobertura_options,
    "trivy": _trivy_options,
    "locust": _locust_options,
}


class ReportError(ValueError):
    """Raised when a file is not a readable report of the configured format."""


Verdict = Callable[[str, dict[str, Any]], Result]  # (what was seen, evidence) -> the result


@dataclass(frozen=True)
class Parsed:
    """A report read: when it says it was made (None when it does not say) and its verdict."""

    made: Dated | None
    verdict: Verdict
    naive: bool = False  # junit: a timestamp without an offset, read in ``Spec.timezone``


def _read(path: Path, size: int) -> bytes:
    """The report's bytes; ``size`` (from the stat already made) refuses a big one unread, the
    capped read one that grew since."""
    too_big = ReportError(f"is larger than {READ_CAP // 1024 // 1024} MiB")
    if size > READ_CAP:
        raise too_big
    refuse_own_store(path)
    with path.open("rb") as fh:
        data = fh.read(READ_CAP + 1)
    if len(data) > READ_CAP:
        raise too_big
    return data


def _shown(text: str) -> str:
    """A value from a report, quoted and cut short for a summary (masked before it is cut)."""
    return repr(clip(text, 40))


def _xml(data: bytes, fmt: str) -> Any:
    try:
        return SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise ReportError(
            f"is refused: {type(exc).__name__} (entities or DTDs in a report)"
        ) from None
    except SafeET.ParseError as exc:
        raise ReportError(f"is not valid XML ({exc}), expected a {fmt} report") from None


def _iso_time(text: str, where: str, zone: dt.tzinfo) -> tuple[float, bool]:
    """An ISO 8601 time from a report as Unix seconds, and whether it had no offset (then it
    is read in ``zone``)."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"has {where} {_shown(text)}, expected an ISO 8601 time") from None
    naive = when.tzinfo is None
    if naive:
        when = when.replace(tzinfo=zone)
    return when.timestamp(), naive


def _seconds(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ReportError(f"has {where} {_shown(text)}, expected seconds")
    return value


# -- JUnit ------------------------------------------------------------------------------------


def _suites(root: Any) -> list[Any]:
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def _junit_made(root: Any, suites: list[Any], zone: dt.tzinfo) -> tuple[Dated | None, bool]:
    """The oldest suite timestamp (every part of the report must be fresh), and whether any
    timestamp had no offset."""
    stamps, naive = [], False
    for element in {id(e): e for e in (root, *suites)}.values():
        text = element.get("timestamp")
        if text:
            stamp, without_offset = _iso_time(text, "a suite timestamp", zone)
            stamps.append(stamp)
            naive = naive or without_offset
    if not stamps:
        return None, False
    return Dated(min(stamps), "its suite timestamp"), naive


def _junit_time(root: Any) -> float | None:
    """The run's duration: the root's ``time``, else the sum over the top-level suites'."""
    if root.get("time") is not None:
        return _seconds(root.get("time"), "time")
    tops = [s for s in root if s.tag == "testsuite"]
    if not tops or any(s.get("time") is None for s in tops):
        return None
    return sum(_seconds(s.get("time"), "a suite time") for s in tops)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def parse_junit(spec: Spec, data: bytes) -> Parsed:
    root = _xml(data, "JUnit")
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"has root <{root.tag}>, expected <testsuites> or <testsuite> (JUnit)")
    suites = _suites(root)
    made, naive = _junit_made(root, suites, spec.timezone)
    run_time = _junit_time(root)
    cases = list(root.iter("testcase"))
    outcome: Counter[str] = Counter()
    failing = []
    for case in cases:
        # pytest writes an xfail as <skipped type="pytest.xfail">: counted as skipped, as
        # written; an xpass as a plain case (strict: a <failure>).
        for kind in ("failure", "error", "skipped"):
            if case.find(kind) is not None:
                outcome[kind] += 1
                if kind != "skipped":
                    failing.append(
                        f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
                    )
                break

    def verdict(seen: str, evidence: dict[str, Any]) -> Result:
        tests, skipped = len(cases), outcome["skipped"]
        executed, bad = tests - skipped, outcome["failure"] + outcome["error"]
        evidence.update(
            tests=tests,
            executed=executed,
            skipped=skipped,
            failures=outcome["failure"],
            errors=outcome["error"],
            failing=failing[:20],
            time_seconds=run_time,
        )
        if tests == 0:
            return Result(
                Status.FAIL,
                f"{seen}: no test cases, expected at least {spec.min_executed} executed",
                evidence,
            )
        if spec.max_time is not None and run_time is None:
            return Result(
                Status.FAIL,
                f"{seen}: no time attribute on the suites, cannot judge the run's duration "
                f"(expected at most {format_duration(spec.max_time)})",
                evidence,
                error=True,
            )
        counts = f"{_plural(tests, 'case')}: {executed} executed"
        if bad:
            named = ", ".join(failing[:SHOWN]) + (f" and {bad - SHOWN} more" if bad > SHOWN else "")
            counts += f" ({bad} failing: {named})"
        counts += f", {skipped} skipped"
        if spec.max_time is not None and run_time is not None:
            counts += f", ran {format_duration(run_time)}"
        expected: list[tuple[Status, str]] = []
        if bad > spec.max_failures:
            expected.append((Status.FAIL, f"at most {spec.max_failures} failing"))
        if executed < spec.min_executed:
            status = Status.FAIL if executed == 0 else Status.PARTIAL
            expected.append((status, f"at least {spec.min_executed} executed"))
        if spec.max_time is not None and run_time is not None and run_time > spec.max_time:
            expected.append((Status.FAIL, f"a run of at most {format_duration(spec.max_time)}"))
        if tests < spec.min_tests:
            expected.append((Status.PARTIAL, f"at least {spec.min_tests} cases"))
        if spec.max_skipped is not None and skipped > spec.max_skipped:
            expected.append((Status.PARTIAL, f"at most {spec.max_skipped} skipped"))
        if not expected:
            return Result(Status.PASS, f"{seen}: {counts}", evidence)
        status = Status.FAIL if any(s is Status.FAIL for s, _ in expected) else Status.PARTIAL
        words = " and ".join(w for _, w in expected)
        return Result(status, f"{seen}: {counts}; expected {words}", evidence)

    return Parsed(made, verdict, naive)


# -- Cobertura --------------------------------------------------------------------------------


def _cobertura_made(text: str | None) -> Dated | None:
    """coverage.py and Cobertura write Unix milliseconds; gcovr writes seconds. A value below
    1e11 is taken as seconds (as milliseconds it would be before 1974); 0 or none: no time."""
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ReportError(f"has timestamp {_shown(text)}, expected Unix milliseconds") from None
    if value <= 0:
        return None
    return Dated(value / 1000 if value >= 1e11 else float(value), "its coverage timestamp")


def _count(root: Any, name: str) -> int | None:
    text = root.get(name)
    try:
        return int(text) if text is not None else None
    except ValueError:
        raise ReportError(f"has {name} {_shown(text)}, expected a whole number") from None


def parse_cobertura(spec: Spec, data: bytes) -> Parsed:
    root = _xml(data, "Cobertura")
    if root.tag != "coverage" or root.get("line-rate") is None:
        raise ReportError(f"has root <{root.tag}> without line-rate, expected Cobertura <coverage>")
    raw = root.get("line-rate")
    try:
        rate = float(raw)
    except ValueError:
        raise ReportError(f"has line-rate {_shown(raw)}, expected a number") from None
    # float() reads "inf" and "nan", and nan >= min_line_rate is False but inf >= it is True.
    if not math.isfinite(rate) or not 0 <= rate <= 1:
        raise ReportError(
            f"line-rate {_shown(raw)[1:-1]} is not a ratio (expected a number from 0 to 1)"
        )
    valid, covered = _count(root, "lines-valid"), _count(root, "lines-covered")
    lines = ""
    if valid and covered is not None and 0 <= covered <= valid:
        # The counts are exact where line-rate is rounded (coverage.py: 4 decimals), which
        # matters for a strict bound: 3 of 4 lines is not "> 0.75".
        if abs(covered / valid - rate) > 0.0001:
            raise ReportError(
                f"has line-rate {raw} but {covered} of {valid} lines covered: it contradicts itself"
            )
        rate, lines = covered / valid, f" ({covered} of {valid} lines)"
    made = _cobertura_made(root.get("timestamp"))

    def verdict(seen: str, evidence: dict[str, Any]) -> Result:
        evidence.update(line_rate=rate, lines_valid=valid, lines_covered=covered)
        shown = f"{seen}: line rate {rate:.4f}".rstrip("0").rstrip(".") + lines
        bound = spec.line_rate or Expect(">=", spec.min_line_rate)
        said = str(bound) if spec.line_rate else f"at least {spec.min_line_rate:g}"
        if bound.holds(rate):
            return Result(Status.PASS, f"{shown}, {said}", evidence)
        status = (
            Status.PARTIAL
            if spec.partial_line_rate is not None and rate >= spec.partial_line_rate
            else Status.FAIL
        )
        return Result(status, f"{shown}, expected {said}", evidence)

    return Parsed(made, verdict)


# -- Trivy ------------------------------------------------------------------------------------


def parse_trivy(spec: Spec, data: bytes) -> Parsed:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ReportError(f"is not valid JSON ({exc}), expected a Trivy report") from None
    if not isinstance(doc, dict) or "SchemaVersion" not in doc:
        raise ReportError("has no SchemaVersion, expected Trivy's JSON report (--format json)")
    created = doc.get("CreatedAt")
    made = None
    if created is not None:
        if not isinstance(created, str):
            raise ReportError(f"has CreatedAt {_json_type(created)}, expected an RFC 3339 time")
        stamp, naive = _iso_time(created, "CreatedAt", dt.UTC)
        if naive:
            raise ReportError(f"has CreatedAt {_shown(created)} without an offset (Trivy writes Z)")
        made = Dated(stamp, "its CreatedAt")
    found: list[str] = []
    by_severity: Counter[str] = Counter()
    scanned: list[str] = []  # the package results: their Type (debian, pip, ...) or Target
    classes: Counter[str] = Counter()  # every result's Class, for a scan that had no packages
    for n, target in enumerate(_json_list(doc.get("Results"), "Results")):
        where = f"Results[{n}]"
        if not isinstance(target, dict):
            raise ReportError(f"has {where} {_json_type(target)}, expected an object (Trivy)")
        if _is_package_result(target):
            scanned.append(str(target.get("Type") or target.get("Target") or "?"))
        else:
            classes[str(target.get("Class") or "no Class")] += 1
        for m, vuln in enumerate(
            _json_list(target.get("Vulnerabilities"), f"{where}.Vulnerabilities")
        ):
            if not isinstance(vuln, dict):
                raise ReportError(
                    f"has {where}.Vulnerabilities[{m}] {_json_type(vuln)}, "
                    "expected an object (Trivy)"
                )
            severity = str(vuln.get("Severity", "UNKNOWN")).upper()
            by_severity[severity] += 1
            if severity in spec.severities:
                found.append(f"{vuln.get('VulnerabilityID', '?')} in {vuln.get('PkgName', '?')}")
    artifact = doc.get("ArtifactName")

    def verdict(seen: str, evidence: dict[str, Any]) -> Result:
        evidence.update(
            artifact=artifact,
            by_severity=dict(by_severity),
            findings=found[:20],
            package_results=scanned[:20],
        )
        if spec.artifact is not None and artifact != spec.artifact:
            scan_of = (
                f"a scan of {artifact}"
                if isinstance(artifact, str)
                else "a scan of no ArtifactName"
            )
            return Result(
                Status.FAIL, f"{seen}: {scan_of}, expected a scan of {spec.artifact}", evidence
            )
        wanted = "/".join(spec.severities)
        of = f" in {artifact}" if spec.artifact is not None else ""
        if not scanned:
            # Zero findings in a scan that looked at no package (only secrets or config, or
            # nothing) is no evidence about vulnerabilities.
            other = ", ".join(f"{n} {c}" for c, n in sorted(classes.items())) or "none"
            return Result(
                Status.FAIL,
                f"{seen}: the scan found no packages (results: {other}), expected at least one "
                "OS or language package result (Class os-pkgs or lang-pkgs)",
                evidence,
            )
        if len(found) > spec.max_findings:
            named = ", ".join(found[:SHOWN]) + (
                f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            )
            return Result(
                Status.FAIL,
                f"{seen}: {len(found)} {wanted} vulnerabilities{of} ({named}), "
                f"expected at most {spec.max_findings}",
                evidence,
            )
        kinds = ", ".join(sorted(set(scanned)))
        return Result(
            Status.PASS,
            f"{seen}: {len(found)} {wanted} vulnerabilities{of} "
            f"({sum(by_severity.values())} in all, {_plural(len(scanned), 'package result')}: "
            f"{kinds})",
            evidence,
        )

    return Parsed(made, verdict)


PACKAGE_CLASSES = ("os-pkgs", "lang-pkgs")  # Trivy's Result Classes of a vulnerability scan


def _is_package_result(target: dict[str, Any]) -> bool:
    """Whether a Trivy Result is a scan of packages: Class os-pkgs or lang-pkgs; a result
    without a Class (older Trivy versions) when it lists vulnerabilities or packages."""
    if "Class" in target:
        return target["Class"] in PACKAGE_CLASSES
    return bool(target.get("Vulnerabilities") or target.get("Packages"))


def _json_list(value: Any, where: str) -> list[Any]:
    """A JSON array from a report; absent or null reads as empty (Trivy omits empty lists)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(f"has {where} {_json_type(value)}, expected an array (Trivy)")
    return value


def _json_type(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words."""
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


# -- Locust -----------------------------------------------------------------------------------


def parse_locust(spec: Spec, data: bytes) -> Parsed:
    options = spec.load_test or locust.Options(locust.Criteria())
    history = None
    if options.history is not None:
        try:
            st = options.history.stat()
            if not stat_mode.S_ISREG(st.st_mode):
                raise ReportError(f"has a history {options.history.name} that is not a file")
            history = locust.parse_history(_read(options.history, st.st_size))
        except OwnStoreFile:
            raise
        except FileNotFoundError:
            raise ReportError(
                f"has no history: {options.history.name} does not exist (the "
                "*_stats_history.csv written with it)"
            ) from None
        except OSError as exc:
            raise ReportError(
                f"has a history {options.history.name} that cannot be read ({exc.strerror or exc})"
            ) from None
        except locust.LocustError as exc:
            raise ReportError(f"has a history {options.history.name} that {exc}") from None
    try:
        stats = locust.parse_stats(data)
    except locust.LocustError as exc:
        raise ReportError(str(exc)) from None
    made = Dated(history.ended, "its history's last Timestamp") if history is not None else None

    def verdict(seen: str, evidence: dict[str, Any]) -> Result:
        result = locust.judge(seen, stats, options.criteria, history)
        return dataclasses.replace(result, evidence={**evidence, **result.evidence})

    return Parsed(made, verdict)


PARSERS: dict[str, Callable[[Spec, bytes], Parsed]] = {
    "junit": parse_junit,
    "cobertura": parse_cobertura,
    "trivy": parse_trivy,
    "locust": parse_locust,
}


def judge(spec: Spec, now: float | None = None) -> Result:
    now = time.time() if now is None else now
    name = spec.path.name
    evidence: dict[str, Any] = {"path": str(spec.path), "format": spec.format}
    try:
        st = spec.path.stat()
        if not stat_mode.S_ISREG(st.st_mode):
            # A FIFO or device would block a worker thread forever.
            return Result(Status.FAIL, f"{name} is not a regular file", evidence)
        parsed = PARSERS[spec.format](spec, _read(spec.path, st.st_size))
    except FileNotFoundError:
        return Result(
            Status.FAIL, f"{name} does not exist, expected a {spec.format} report", evidence
        )
    except OwnStoreFile as exc:
        return Result(Status.FAIL, f"{name} {exc.strerror}", evidence, error=True)
    except OSError as exc:
        return Result(Status.FAIL, f"{name} cannot be read ({exc.strerror or exc})", evidence)
    except ReportError as exc:
        return Result(Status.FAIL, f"{name} {exc}", evidence)
    if spec.freshness == "file":
        dated = Dated(st.st_mtime, "file time")
    else:
        dated = parsed.made or Dated(st.st_mtime, COPIED)
    evidence.update(
        produced=utc(dated.timestamp), clock=dated.clock, age_seconds=round(now - dated.timestamp)
    )
    problem = age_problem(name, dated, spec.max_age, now)
    if problem is not None:
        if parsed.naive and dated.timestamp > now:
            problem += (
                f" (the timestamp has no offset and was read as {spec.timezone}: set timezone)"
            )
        return Result(Status.FAIL, problem, evidence)
    return parsed.verdict(f"{name} ({age_words(dated, now)})", evidence)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"reading {spec.format} report {spec.path}")
    return await ctx.blocking(ctx.resources.files, judge, spec, target=str(spec.path))
