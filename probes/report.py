"""Report probe: judge what CI tools already write (JUnit XML, Cobertura XML, Trivy JSON).

Every report has a freshness bound (``max_age``, 7 days unless set), so a report from a pipeline
that stopped running does not pass forever. XML goes through defusedxml (reports come from
outside the exporter); parsing runs in a thread so a big report does not stall the event loop.
"""

from __future__ import annotations

import dataclasses
import json
import math
import stat as stat_mode
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .context import ProbeContext
from .fields import Fields, format_duration
from .masking import clip
from .result import Result, Status

FORMATS = ("junit", "cobertura", "trivy")
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
READ_CAP = 64 * 1024 * 1024  # bytes; a larger report is refused rather than parsed
SHOWN = 3  # findings named in a summary


@dataclass(frozen=True)
class Spec:
    path: Path
    format: str
    max_age: float = 7 * 86400.0
    # junit
    min_tests: int = 1  # fewer (but some, all passing): PARTIAL
    max_failures: int = 0  # failures + errors allowed
    # cobertura
    min_line_rate: float = 0.75
    partial_line_rate: float | None = None  # at or above (and below min_line_rate): PARTIAL
    # trivy
    severities: tuple[str, ...] = ("HIGH", "CRITICAL")
    max_findings: int = 0


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        path=f.path("path"), format=f.choice("format", FORMATS), max_age=f.duration("max_age")
    )
    # Each format's own options; another format's option is refused as an unknown field.
    if f.usable("format"):
        return FORMAT_OPTIONS[spec.format](f, spec)
    for read in FORMAT_OPTIONS.values():  # the format is unknown yet: check what each reads
        read(f, spec)
    return spec


def _junit_options(f: Fields, spec: Spec) -> Spec:
    return dataclasses.replace(
        spec,
        min_tests=f.integer("min_tests", minimum=1),
        max_failures=f.integer("max_failures", minimum=0),
    )


def _cobertura_options(f: Fields, spec: Spec) -> Spec:
    spec = dataclasses.replace(
        spec,
        min_line_rate=f.ratio("min_line_rate"),
        partial_line_rate=f.optional_ratio("partial_line_rate"),
    )
    partial = spec.partial_line_rate
    if partial is not None and partial > spec.min_line_rate and f.usable("min_line_rate"):
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
    )


FORMAT_OPTIONS: dict[str, Callable[[Fields, Spec], Spec]] = {
    "junit": _junit_options,
    "cobertura": _cobertura_options,
    "trivy": _trivy_options,
}


class ReportError(ValueError):
    """Raised when a file is not a readable report of the configured format."""


def _read(path: Path, size: int) -> bytes:
    """The report's bytes; ``size`` (from the stat already made) refuses a big one unread, the
    capped read one that grew since."""
    too_big = ReportError(f"is larger than {READ_CAP // 1024 // 1024} MiB")
    if size > READ_CAP:
        raise too_big
    with path.open("rb") as fh:
        data = fh.read(READ_CAP + 1)
    if len(data) > READ_CAP:
        raise too_big
    return data


def _xml(data: bytes, fmt: str) -> Any:
    try:
        return SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise ReportError(
            f"is refused: {type(exc).__name__} (entities or DTDs in a report)"
        ) from None
    except SafeET.ParseError as exc:
        raise ReportError(f"is not valid XML ({exc}), expected a {fmt} report") from None


def judge_junit(spec: Spec, data: bytes, seen: str, evidence: dict[str, Any]) -> Result:
    root = _xml(data, "JUnit")
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"has root <{root.tag}>, expected <testsuites> or <testsuite> (JUnit)")
    cases = list(root.iter("testcase"))
    outcome: Counter[str] = Counter()
    failing = []
    for case in cases:
        for kind in ("failure", "error", "skipped"):
            if case.find(kind) is not None:
                outcome[kind] += 1
                if kind != "skipped":
                    failing.append(
                        f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
                    )
                break
    tests, bad = len(cases), outcome["failure"] + outcome["error"]
    evidence.update(
        tests=tests,
        failures=outcome["failure"],
        errors=outcome["error"],
        skipped=outcome["skipped"],
        failing=failing[:20],
    )
    counts = f"{tests} tests, {outcome['failure']} failures, {outcome['error']} errors" + (
        f", {outcome['skipped']} skipped" if outcome["skipped"] else ""
    )
    if tests == 0:
        return Result(
            Status.FAIL, f"{seen}: no tests, expected at least {spec.min_tests}", evidence
        )
    if bad > spec.max_failures:
        named = ", ".join(failing[:SHOWN]) + (f" and {bad - SHOWN} more" if bad > SHOWN else "")
        return Result(
            Status.FAIL,
            f"{seen}: {counts} ({named}), expected at most {spec.max_failures} failing",
            evidence,
        )
    if tests < spec.min_tests:
        return Result(
            Status.PARTIAL, f"{seen}: {counts}, expected at least {spec.min_tests} tests", evidence
        )
    return Result(Status.PASS, f"{seen}: {counts}", evidence)


def judge_cobertura(spec: Spec, data: bytes, seen: str, evidence: dict[str, Any]) -> Result:
    root = _xml(data, "Cobertura")
    if root.tag != "coverage" or root.get("line-rate") is None:
        raise ReportError(f"has root <{root.tag}> without line-rate, expected Cobertura <coverage>")
    raw = clip(root.get("line-rate"), 40)
    try:
        rate = float(root.get("line-rate"))
    except ValueError:
        raise ReportError(f"has line-rate {raw!r}, expected a number") from None
    # float() reads "inf" and "nan", and nan >= min_line_rate is False but inf >= it is True.
    if not math.isfinite(rate) or not 0 <= rate <= 1:
        raise ReportError(f"line-rate {raw} is not a ratio (expected a number from 0 to 1)")
    evidence.update(
        line_rate=rate, lines_valid=root.get("lines-valid"), lines_covered=root.get("lines-covered")
    )
    shown = f"{seen}: line rate {rate:.2f}"
    if rate >= spec.min_line_rate:
        return Result(Status.PASS, f"{shown}, at least {spec.min_line_rate:g}", evidence)
    status = (
        Status.PARTIAL
        if spec.partial_line_rate is not None and rate >= spec.partial_line_rate
        else Status.FAIL
    )
    return Result(status, f"{shown}, expected at least {spec.min_line_rate:g}", evidence)


def judge_trivy(spec: Spec, data: bytes, seen: str, evidence: dict[str, Any]) -> Result:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ReportError(f"is not valid JSON ({exc}), expected a Trivy report") from None
    if not isinstance(doc, dict) or "SchemaVersion" not in doc:
        raise ReportError("has no SchemaVersion, expected Trivy's JSON report (--format json)")
    found: list[str] = []
    by_severity: Counter[str] = Counter()
    for n, target in enumerate(_json_list(doc.get("Results"), "Results")):
        where = f"Results[{n}]"
        if not isinstance(target, dict):
            raise ReportError(f"has {where} {_json_type(target)}, expected an object (Trivy)")
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
    evidence.update(
        artifact=doc.get("ArtifactName"), by_severity=dict(by_severity), findings=found[:20]
    )
    wanted = "/".join(spec.severities)
    if len(found) > spec.max_findings:
        named = ", ".join(found[:SHOWN]) + (
            f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        )
        return Result(
            Status.FAIL,
            f"{seen}: {len(found)} {wanted} vulnerabilities ({named}), "
            f"expected at most {spec.max_findings}",
            evidence,
        )
    return Result(
        Status.PASS,
        f"{seen}: {len(found)} {wanted} vulnerabilities ({sum(by_severity.values())} in all)",
        evidence,
    )


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


JUDGES = {"junit": judge_junit, "cobertura": judge_cobertura, "trivy": judge_trivy}


def judge(spec: Spec, now: float | None = None) -> Result:
    now = time.time() if now is None else now
    name = spec.path.name
    evidence: dict[str, Any] = {"path": str(spec.path), "format": spec.format}
    try:
        st = spec.path.stat()
        if not stat_mode.S_ISREG(st.st_mode):
            # A FIFO or device would block a worker thread forever.
            return Result(Status.FAIL, f"{name} is not a regular file", evidence)
        data = _read(spec.path, st.st_size)
    except FileNotFoundError:
        return Result(
            Status.FAIL, f"{name} does not exist, expected a {spec.format} report", evidence
        )
    except OSError as exc:
        return Result(Status.FAIL, f"{name} cannot be read ({exc.strerror or exc})", evidence)
    except ReportError as exc:
        return Result(Status.FAIL, f"{name} {exc}", evidence)
    age = max(0.0, now - st.st_mtime)
    evidence["age_seconds"] = round(age)
    seen = f"{name} ({format_duration(age)} old)"
    if age > spec.max_age:
        return Result(
            Status.FAIL,
            f"{name} is {format_duration(age)} old, expected at most "
            f"{format_duration(spec.max_age)}",
            evidence,
        )
    try:
        return JUDGES[spec.format](spec, data, seen, evidence)
    except ReportError as exc:
        return Result(Status.FAIL, f"{name} {exc}", evidence)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"reading {spec.format} report {spec.path}")
    return await ctx.blocking(ctx.resources.files, judge, spec, target=str(spec.path))
