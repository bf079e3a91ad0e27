"""Report probe on real reports: JUnit by pytest itself, Cobertura by coverage.py, Trivy JSON."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from support.probing import config_error, run

from probes.result import Status

# An age as summaries write it: "under a second", "5 seconds", "1 day 6 hours"
AGE = r"(under a second|\d+ \w+( \d+ \w+)?)"


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


TINY_TESTS = """
def test_one(): assert 1 + 1 == 2
def test_two(): assert "a".upper() == "A"
def test_broken(): assert {0} == {1}
"""

# A Trivy report as `trivy image --format json` writes it (schema version 2), trimmed.
TRIVY = {
    "SchemaVersion": 2,
    "CreatedAt": "2026-11-20T10:00:00.000000000Z",
    "ArtifactName": "registry.example/agent:1.4.2",
    "ArtifactType": "container_image",
    "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}, "ImageID": "sha256:0f1e"},
    "Results": [
        {
            "Target": "registry.example/agent:1.4.2 (debian 12.5)",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-0001",
                    "PkgName": "openssl",
                    "InstalledVersion": "3.0.11-1~deb12u2",
                    "FixedVersion": "3.0.13-1~deb12u1",
                    "Severity": "HIGH",
                    "Title": "openssl: example",
                },
                {
                    "VulnerabilityID": "CVE-2024-0002",
                    "PkgName": "zlib1g",
                    "InstalledVersion": "1:1.2.13.dfsg-1",
                    "Severity": "LOW",
                },
            ],
        },
        {
            "Target": "Python",
            "Class": "lang-pkgs",
            "Type": "python-pkg",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "GHSA-xxxx-yyyy",
                    "PkgName": "jinja2",
                    "InstalledVersion": "3.1.2",
                    "FixedVersion": "3.1.3",
                    "Severity": "MEDIUM",
                }
            ],
        },
        {"Target": "app/requirements.txt", "Class": "lang-pkgs", "Type": "pip"},
    ],
}


SKIPPING_TESTS = """
import pytest

def test_reservation_flow(): assert True
def test_cancel(): assert True

@pytest.mark.skip(reason="PMS_URL not set in CI")
@pytest.mark.parametrize("room", range(10))
def test_booking(room): assert False
"""

ONLY_SKIPPED = """
import pytest

@pytest.mark.skip(reason="needs a browser")
def test_reservation_flow(): assert False
"""

XFAIL_TESTS = """
import pytest

def test_ok(): pass

@pytest.mark.xfail(reason="known bug")
def test_known_bug(): assert False

@pytest.mark.xfail(reason="fixed already")
def test_fixed_already(): pass
"""


def pytest_junit(folder, name: str, source: str, *select: str, tz: str | None = None):
    """The JUnit XML pytest itself writes for ``source`` (in a folder with its own config)."""
    (folder / f"test_{name}.py").write_text(source)
    env = {**os.environ, **({"TZ": tz} if tz else {})}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:cloudcoil",
            f"--junitxml={folder / f'{name}.xml'}",
            *select,
            str(folder / f"test_{name}.py"),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        timeout=120,
    )
    return folder / f"{name}.xml"


@pytest.fixture(scope="module")
def junit(tmp_path_factory):
    """JUnit XML written by pytest itself: all passing, a failure, skips, xfail and xpass."""
    folder = tmp_path_factory.mktemp("junit")
    (folder / "pytest.ini").write_text("[pytest]\n")
    pytest_junit(folder, "green", TINY_TESTS, "-k", "not broken")
    pytest_junit(folder, "red", TINY_TESTS)
    pytest_junit(folder, "skipping", SKIPPING_TESTS)
    pytest_junit(folder, "only_skipped", ONLY_SKIPPED)
    pytest_junit(folder, "xfail", XFAIL_TESTS)
    # As a CI machine two hours east of UTC writes it; older pytest wrote no offset.
    pytest_junit(folder, "berlin", TINY_TESTS, "-k", "not broken", tz="Etc/GMT-2")
    return folder


def copy(source, target, text: str | None = None):
    """``source`` copied to ``target`` now (the file time is the copy's), its text replaced."""
    target.write_text(source.read_text() if text is None else text)
    return target


def set_timestamp(xml: str, when: dt.datetime) -> str:
    """A pytest JUnit report's suite timestamp set to ``when`` (as if the run was then)."""
    return re.sub(r'timestamp="[^"]*"', f'timestamp="{when.isoformat()}"', xml)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def settled(summary: str) -> str:
    """A summary with the seconds the test itself took left out of ages (``8d1s`` is ``8d``):
    the ages made below are whole days or hours plus however long the run took."""
    return re.sub(r"(\d+[dhm])\d+s\b", r"\1", summary)


async def report(path, tmp_path, **options):
    return await run({"report": {"path": str(path), **options}}, tmp_path)


async def test_junit_all_passing(junit, tmp_path):
    result = await report(junit / "green.xml", tmp_path, format="junit", min_tests=2)
    assert result.status is Status.PASS
    assert re.fullmatch(
        rf"green\.xml \({AGE} old by its suite timestamp\): 2 cases: 2 executed, 0 skipped",
        result.summary,
    ), result.summary
    assert result.evidence["executed"] == 2 and result.evidence["clock"] == "its suite timestamp"


async def test_junit_too_few_tests_is_partial(junit, tmp_path):
    result = await report(junit / "green.xml", tmp_path, format="junit", min_tests=50)
    assert result.status is Status.PARTIAL
    assert result.summary.endswith(": 2 cases: 2 executed, 0 skipped; expected at least 50 cases")


async def test_junit_with_a_failure_fails_naming_it(junit, tmp_path):
    result = await report(junit / "red.xml", tmp_path, format="junit")
    assert result.status is Status.FAIL
    assert result.summary.endswith(
        ": 3 cases: 3 executed (1 failing: test_red::test_broken), 0 skipped; "
        "expected at most 0 failing"
    )


async def test_a_report_whose_only_case_was_skipped_never_passes(junit, tmp_path):
    # Was PASS as "1 tests, 0 failures": a skipped case is not a test that passed.
    xml = (junit / "only_skipped.xml").read_text()
    assert 'tests="1"' in xml and 'failures="0"' in xml and 'skipped="1"' in xml
    result = await report(junit / "only_skipped.xml", tmp_path, format="junit")
    assert result.status is Status.FAIL
    assert result.summary.endswith(": 1 case: 0 executed, 1 skipped; expected at least 1 executed")


async def test_mostly_skipped_reports_against_min_executed_and_max_skipped(junit, tmp_path):
    path = junit / "skipping.xml"
    default = await report(path, tmp_path, format="junit")
    bounded = await report(path, tmp_path, format="junit", min_executed=3, max_skipped=0)
    few_skips = await report(path, tmp_path, format="junit", max_skipped=0)
    assert default.status is Status.PASS  # 2 executed, both passed; skips allowed by default
    assert default.summary.endswith(": 12 cases: 2 executed, 10 skipped")
    assert bounded.status is Status.PARTIAL
    assert bounded.summary.endswith(
        ": 12 cases: 2 executed, 10 skipped; expected at least 3 executed and at most 0 skipped"
    )
    assert few_skips.status is Status.PARTIAL
    assert few_skips.summary.endswith("; expected at most 0 skipped")


async def test_xfail_counts_as_skipped_and_xpass_as_executed_as_pytest_writes_them(junit, tmp_path):
    # pytest: an xfail is <skipped type="pytest.xfail">, a (non-strict) xpass a plain case.
    result = await report(junit / "xfail.xml", tmp_path, format="junit", max_skipped=0)
    assert result.status is Status.PARTIAL
    assert result.summary.endswith(": 3 cases: 2 executed, 1 skipped; expected at most 0 skipped")


async def test_an_old_report_copied_today_is_judged_by_its_suite_timestamp(junit, tmp_path):
    # Looks fine: the file was written a second ago. Its run was 40 days ago.
    old = now_utc() - dt.timedelta(days=40)
    path = copy(
        junit / "green.xml",
        tmp_path / "e2e.xml",
        set_timestamp((junit / "green.xml").read_text(), old),
    )
    result = await report(path, tmp_path, format="junit")
    assert result.status is Status.FAIL
    assert settled(result.summary) == (
        f"e2e.xml is 40 days old by its suite timestamp ({old:%Y-%m-%d %H:%M} UTC), "
        "expected at most 7d"
    )
    # freshness: file asks for the file time instead, and says so
    by_file = await report(path, tmp_path, format="junit", freshness="file")
    assert by_file.status is Status.PASS
    assert by_file.summary.startswith("e2e.xml (") and " old by file time): " in by_file.summary


async def test_a_recent_run_with_an_old_file_time_is_fresh(junit, tmp_path):
    # Fine in an unusual way: a cache restored with its old file times; the run is recent.
    path = copy(junit / "green.xml", tmp_path / "unit.xml")
    age(path, 30 * 86400)
    result = await report(path, tmp_path, format="junit")
    assert result.status is Status.PASS, result.summary


async def test_a_suite_timestamp_in_the_future_is_a_wrong_clock(junit, tmp_path):
    ahead = now_utc() + dt.timedelta(days=3, seconds=30)
    path = copy(
        junit / "green.xml",
        tmp_path / "unit.xml",
        set_timestamp((junit / "green.xml").read_text(), ahead),
    )
    result = await report(path, tmp_path, format="junit")
    assert result.status is Status.FAIL
    assert settled(result.summary) == (
        f"unit.xml is dated {ahead:%Y-%m-%d %H:%M} UTC by its suite timestamp, 3d in the "
        "future: wrong clock, expected a time in the past"
    )


async def test_pytest_writes_local_time_with_its_offset(junit, tmp_path):
    xml = (junit / "berlin.xml").read_text()
    assert re.search(r'timestamp="[^"]+\+02:00"', xml), xml
    result = await report(junit / "berlin.xml", tmp_path, format="junit")
    assert result.status is Status.PASS, result.summary


async def test_a_timestamp_without_an_offset_is_read_in_the_configured_zone(junit, tmp_path):
    # A tool writing naive local time on a machine two hours east of UTC: read as UTC (the
    # default) it is two hours in the future; timezone says where it was written.
    local = (now_utc() + dt.timedelta(hours=2)).replace(tzinfo=None)
    xml = set_timestamp((junit / "green.xml").read_text(), local)
    path = copy(junit / "green.xml", tmp_path / "naive.xml", xml)
    as_utc = await report(path, tmp_path, format="junit")
    in_zone = await report(path, tmp_path, format="junit", timezone="+02:00")
    named = await report(path, tmp_path, format="junit", timezone="Etc/GMT-2")
    assert as_utc.status is Status.FAIL
    assert as_utc.summary.endswith(
        "wrong clock, expected a time in the past (the timestamp has no offset and was read "
        "as UTC: set timezone)"
    )
    assert in_zone.status is Status.PASS and named.status is Status.PASS


async def test_a_report_without_a_clock_is_judged_by_its_file_time_and_says_so(tmp_path):
    # ruff's JUnit has no timestamp: the file time is all there is, the time it was copied.
    path = tmp_path / "ruff-junit.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--output-format",
            "junit",
            "-o",
            str(path),
            "-",
        ],
        input="import os\n\nprint(os.sep)\n",
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert "timestamp" not in path.read_text()
    fresh = await report(path, tmp_path, format="junit")
    assert fresh.status is Status.PASS
    assert re.fullmatch(
        rf"ruff-junit\.xml \({AGE} old by file time \(the time it was copied\)\): "
        r"1 case: 1 executed, 0 skipped",
        fresh.summary,
    ), fresh.summary
    age(path, 8 * 86400)
    stale = await report(path, tmp_path, format="junit")
    assert stale.status is Status.FAIL
    assert settled(stale.summary).startswith(
        "ruff-junit.xml is 8 days old by file time (the time it was copied) ("
    ) and stale.summary.endswith("), expected at most 7d")


async def test_a_drill_report_with_its_duration(junit, tmp_path):
    # A restore drill written as JUnit: the suite's time is the restore's duration.
    xml = (junit / "green.xml").read_text()
    quick = copy(junit / "green.xml", tmp_path / "quick.xml")
    slow = copy(
        junit / "green.xml",
        tmp_path / "slow.xml",
        re.sub(r'(<testsuite [^>]*)time="[^"]*"', r'\1time="4380.5"', xml),
    )
    untimed = copy(
        junit / "green.xml",
        tmp_path / "untimed.xml",
        re.sub(r'(<testsuite [^>]*) time="[^"]*"', r"\1", xml),
    )
    ok = await report(quick, tmp_path, format="junit", max_time="1h")
    too_long = await report(slow, tmp_path, format="junit", max_time="1h")
    unknown = await report(untimed, tmp_path, format="junit", max_time="1h")
    assert ok.status is Status.PASS and ", ran " in ok.summary
    assert too_long.status is Status.FAIL
    assert too_long.summary.endswith(
        ": 2 cases: 2 executed, 0 skipped, ran 1h13m; expected a run of at most 1h"
    )
    assert unknown.status is Status.FAIL and unknown.error
    assert unknown.summary.endswith(
        ": no time attribute on the suites, cannot judge the run's duration (expected at most 1h)"
    )


@pytest.fixture(scope="module")
def cobertura(tmp_path_factory):
    """Cobertura XML written by coverage.py for a script that runs 4 of its 7 statements."""
    folder = tmp_path_factory.mktemp("cov")
    (folder / "app.py").write_text(
        "def used(x):\n    return x * 2\n\n\ndef unused(x):\n    y = x + 1\n    z = y * 3\n"
        "    return z\n\n\nprint(used(2))\n"
    )
    env = {**os.environ, "COVERAGE_FILE": str(folder / ".coverage")}
    for argv in (["run", "app.py"], ["xml", "-o", "coverage.xml"]):
        subprocess.run(
            [sys.executable, "-m", "coverage", *argv],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return folder / "coverage.xml"


def coverage_rate(path) -> tuple[float, str]:
    root = ElementTree.parse(path).getroot()
    covered, valid = int(root.get("lines-covered")), int(root.get("lines-valid"))
    return covered / valid, f"({covered} of {valid} lines)"


async def test_cobertura_thresholds(cobertura, tmp_path):
    rate, lines = coverage_rate(cobertura)
    assert 0.4 < rate < 0.9
    shown = f"{rate:.4f}".rstrip("0")
    ok = await report(cobertura, tmp_path, format="cobertura", min_line_rate=0.4)
    partial = await report(
        cobertura, tmp_path, format="cobertura", min_line_rate=0.9, partial_line_rate=0.4
    )
    low = await report(cobertura, tmp_path, format="cobertura")
    assert ok.status is Status.PASS
    assert ok.summary.endswith(
        f" old by its coverage timestamp): line rate {shown} {lines}, at least 0.4"
    )
    assert partial.status is Status.PARTIAL
    assert partial.summary.endswith(f"line rate {shown} {lines}, expected at least 0.9")
    assert low.status is Status.FAIL
    assert low.summary.endswith(f"line rate {shown} {lines}, expected at least 0.75")


def coverage_of(folder, covered: int, lines: int):
    """coverage.py's XML for a module of ``lines`` statements, ``covered`` of them run."""
    folder.mkdir()
    module = "".join(f"v{i} = {i}\n" for i in range(covered - 1))
    module += "def never():\n" + "".join(f"    w{i} = {i}\n" for i in range(lines - covered))
    (folder / "module.py").write_text(module)
    (folder / "run.py").write_text("import module\n")
    env = {**os.environ, "COVERAGE_FILE": str(folder / ".coverage")}
    for argv in (["run", "--include=module.py", "run.py"], ["xml", "-o", "coverage.xml"]):
        subprocess.run(
            [sys.executable, "-m", "coverage", *argv],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return folder / "coverage.xml"


async def test_line_rate_is_an_expectation_and_exactly_75_is_not_above_75(tmp_path):
    exact = coverage_of(tmp_path / "exact", covered=3, lines=4)
    above = coverage_of(tmp_path / "above", covered=4, lines=5)
    assert 'line-rate="0.75"' in exact.read_text()
    at_75 = await report(exact, tmp_path, format="cobertura", line_rate="> 0.75")
    at_80 = await report(above, tmp_path, format="cobertura", line_rate="> 0.75")
    as_mapping = await report(
        exact, tmp_path, format="cobertura", line_rate={"op": ">=", "value": 0.75}
    )
    assert at_75.status is Status.FAIL
    assert at_75.summary.endswith(": line rate 0.75 (3 of 4 lines), expected > 0.75")
    assert at_80.status is Status.PASS
    assert at_80.summary.endswith(": line rate 0.8 (4 of 5 lines), > 0.75")
    assert as_mapping.status is Status.PASS


async def test_min_line_rate_keeps_working_beside_line_rate(tmp_path):
    exact = coverage_of(tmp_path / "exact", covered=3, lines=4)
    result = await report(exact, tmp_path, format="cobertura", min_line_rate=0.75)
    assert result.status is Status.PASS
    assert result.summary.endswith(": line rate 0.75 (3 of 4 lines), at least 0.75")


async def test_a_touched_old_coverage_report_is_judged_by_its_timestamp(cobertura, tmp_path):
    # coverage.py writes Unix milliseconds; touch (or a copy) makes only the file time new.
    old = int((time.time() - 8 * 86400) * 1000)
    text = re.sub(r'timestamp="\d+"', f'timestamp="{old}"', cobertura.read_text())
    path = copy(cobertura, tmp_path / "coverage.xml", text)
    result = await report(path, tmp_path, format="cobertura", min_line_rate=0.4)
    assert result.status is Status.FAIL
    assert re.fullmatch(
        r"coverage\.xml is 8 days old by its coverage timestamp \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\), "
        r"expected at most 7d",
        settled(result.summary),
    ), result.summary


async def test_a_timestamp_in_seconds_as_gcovr_writes_it(cobertura, tmp_path):
    seconds = int(time.time() - 8 * 86400)
    text = re.sub(r'timestamp="\d+"', f'timestamp="{seconds}"', cobertura.read_text())
    path = copy(cobertura, tmp_path / "coverage.xml", text)
    result = await report(path, tmp_path, format="cobertura", min_line_rate=0.4)
    assert result.status is Status.FAIL and " is 8 days old by its coverage timestamp " in settled(
        result.summary
    )


async def test_a_line_rate_edited_by_hand_contradicts_the_counts(tmp_path):
    exact = coverage_of(tmp_path / "exact", covered=3, lines=4)
    text = exact.read_text().replace('line-rate="0.75"', 'line-rate="0.9"', 1)
    path = copy(exact, tmp_path / "edited.xml", text)
    result = await report(path, tmp_path, format="cobertura", line_rate="> 0.75")
    assert result.status is Status.FAIL
    assert result.summary == (
        "edited.xml has line-rate 0.9 but 3 of 4 lines covered: it contradicts itself"
    )


def trivy_doc(created: dt.datetime | None = None, **changes):
    """``TRIVY`` as scanned at ``created`` (an hour ago unless given)."""
    when = created or now_utc() - dt.timedelta(hours=1)
    return {**TRIVY, "CreatedAt": when.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"), **changes}


async def test_trivy_high_finding_fails(tmp_path):
    (tmp_path / "trivy.json").write_text(json.dumps(trivy_doc()))
    result = await report("trivy.json", tmp_path, format="trivy")
    assert result.status is Status.FAIL
    assert settled(result.summary) == (
        "trivy.json (1 hour old by its CreatedAt): 1 HIGH/CRITICAL vulnerabilities "
        "(CVE-2024-0001 in openssl), expected at most 0"
    )
    assert result.evidence["by_severity"] == {"HIGH": 1, "LOW": 1, "MEDIUM": 1}


def without_high(doc):
    return {
        **doc,
        "Results": [
            {
                **r,
                "Vulnerabilities": [
                    v for v in r.get("Vulnerabilities", []) if v["Severity"] != "HIGH"
                ],
            }
            for r in doc["Results"]
        ],
    }


async def test_trivy_clean_passes(tmp_path):
    (tmp_path / "trivy.json").write_text(json.dumps(without_high(trivy_doc())))
    result = await report("trivy.json", tmp_path, format="trivy")
    assert result.status is Status.PASS
    assert settled(result.summary) == (
        "trivy.json (1 hour old by its CreatedAt): 0 HIGH/CRITICAL vulnerabilities (2 in all)"
    )


async def test_a_scan_from_45_days_ago_copied_today_is_not_recent(tmp_path):
    created = now_utc() - dt.timedelta(days=45)
    (tmp_path / "trivy.json").write_text(json.dumps(without_high(trivy_doc(created))))
    result = await report("trivy.json", tmp_path, format="trivy")
    assert result.status is Status.FAIL
    assert settled(result.summary) == (
        f"trivy.json is 45 days old by its CreatedAt ({created:%Y-%m-%d %H:%M} UTC), "
        "expected at most 7d"
    )


async def test_a_scan_dated_tomorrow_is_a_wrong_clock(tmp_path):
    created = now_utc() + dt.timedelta(days=1, seconds=30)
    (tmp_path / "trivy.json").write_text(json.dumps(without_high(trivy_doc(created))))
    result = await report("trivy.json", tmp_path, format="trivy")
    assert result.status is Status.FAIL and "1d in the future: wrong clock" in settled(
        result.summary
    )


async def test_a_clean_scan_of_another_image_is_no_evidence_for_this_one(tmp_path):
    clean = without_high(trivy_doc())
    (tmp_path / "ours.json").write_text(json.dumps(clean))
    (tmp_path / "other.json").write_text(
        json.dumps({**clean, "ArtifactName": "registry.example/agent:1.3.0"})
    )
    (tmp_path / "nameless.json").write_text(
        json.dumps({k: v for k, v in clean.items() if k != "ArtifactName"})
    )
    image = "registry.example/agent:1.4.2"
    ours = await report("ours.json", tmp_path, format="trivy", artifact=image)
    other = await report("other.json", tmp_path, format="trivy", artifact=image)
    nameless = await report("nameless.json", tmp_path, format="trivy", artifact=image)
    assert ours.status is Status.PASS
    assert ours.summary.endswith(
        ": 0 HIGH/CRITICAL vulnerabilities in registry.example/agent:1.4.2 (2 in all)"
    )
    assert other.status is Status.FAIL
    assert other.summary.endswith(
        ": a scan of registry.example/agent:1.3.0, expected a scan of registry.example/agent:1.4.2"
    )
    assert nameless.status is Status.FAIL
    assert nameless.summary.endswith(": a scan of no ArtifactName, expected a scan of " + image)


# -- Locust: CSVs from real runs (tests/fixtures/locust, make_fixtures.py) --------------------

LOCUST = Path(__file__).parent / "fixtures" / "locust"


def history_ending(source: str, target, ended: float, stretch: float = 1.0):
    """A real history with its Timestamps moved to end at ``ended`` (spread ``stretch`` times)."""
    lines = (LOCUST / source).read_text().splitlines(keepends=True)
    stamps = [int(line.split(",", 1)[0]) for line in lines[1:]]
    last = stamps[-1]
    out = [lines[0]]
    for line, stamp in zip(lines[1:], stamps, strict=True):
        moved = math.floor(ended - (last - stamp) * stretch)
        out.append(f"{moved}," + line.split(",", 1)[1])
    target.write_text("".join(out))
    return target


def locust_run(tmp_path, name: str, ended: float, stretch: float = 1.0):
    stats = copy(LOCUST / f"{name}_stats.csv", tmp_path / f"{name}_stats.csv")
    history = history_ending(
        f"{name}_stats_history.csv", tmp_path / f"{name}_stats_history.csv", ended, stretch
    )
    return stats, history


async def test_a_healthy_locust_run_passes_judged_by_its_own_clock(tmp_path):
    stats, history = locust_run(tmp_path, "healthy", time.time() - 3600)
    result = await report(
        stats,
        tmp_path,
        format="locust",
        history=str(history),
        requests=">= 1000",
        percentiles={"95%": "< 1000"},
    )
    assert result.status is Status.PASS
    assert settled(result.summary) == (
        "healthy_stats.csv (1 hour old by its history's last Timestamp): 1,023 requests, "
        "0 % failed "
        "(at most 1 %), p95 7 ms"
    )
    assert result.evidence["format"] == "locust" and result.evidence["requests"] == 1023


async def test_a_locust_run_where_most_requests_failed_is_not_a_load_test(tmp_path):
    stats, history = locust_run(tmp_path, "failing", time.time() - 60)
    result = await report(stats, tmp_path, format="locust", history=str(history))
    assert result.status is Status.FAIL
    assert "410 of 455 requests failed (90 %), expected at most 1 %" in result.summary


async def test_an_old_locust_run_copied_today_is_not_fresh(tmp_path):
    stats, history = locust_run(tmp_path, "healthy", time.time() - 40 * 86400)
    result = await report(stats, tmp_path, format="locust", history=str(history), max_age="30d")
    assert result.status is Status.FAIL
    assert settled(result.summary).startswith(
        "healthy_stats.csv is 40 days old by its history's last Timestamp"
    )


async def test_a_short_run_is_not_a_sustained_one(tmp_path):
    short_stats, short = locust_run(tmp_path, "healthy", time.time() - 60)
    soak = tmp_path / "soak"
    soak.mkdir()
    # The real 11 s history spread over 72 min, as a run of that length writes it.
    long_stats, long = locust_run(soak, "healthy", time.time() - 60, stretch=400)
    brief = await report(
        short_stats, tmp_path, format="locust", history=str(short), duration=">= 1h"
    )
    sustained = await report(
        long_stats, tmp_path, format="locust", history=str(long), duration=">= 1h"
    )
    assert brief.status is Status.FAIL
    assert brief.summary.endswith("ran 11s, expected >= 1h")
    assert sustained.status is Status.PASS and "ran 1h13m20s" in sustained.summary


async def test_locust_stats_without_a_history_are_judged_by_file_time_and_say_so(tmp_path):
    stats = copy(LOCUST / "healthy_stats.csv", tmp_path / "peak_stats.csv")
    result = await report(stats, tmp_path, format="locust")
    missing = await report(stats, tmp_path, format="locust", history="gone_stats_history.csv")
    assert result.status is Status.PASS
    assert re.match(
        rf"peak_stats\.csv \({AGE} old by file time \(the time it was copied\)\): ",
        result.summary,
    ), result.summary
    assert missing.status is Status.FAIL
    assert missing.summary == (
        "peak_stats.csv has no history: gone_stats_history.csv does not exist "
        "(the *_stats_history.csv written with it)"
    )


async def test_a_history_of_another_run_cannot_be_judged(tmp_path):
    stats = copy(LOCUST / "failing_stats.csv", tmp_path / "failing_stats.csv")
    history = history_ending("healthy_stats_history.csv", tmp_path / "h.csv", time.time() - 60)
    result = await report(stats, tmp_path, format="locust", history=str(history))
    assert result.status is Status.FAIL and result.error
    assert "they are from different runs" in result.summary


async def test_wrong_format_and_hostile_xml_fail(tmp_path, cobertura):
    (tmp_path / "bomb.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">'
        '<!ENTITY b "&a;&a;&a;">]><testsuites>&b;</testsuites>'
    )
    bomb = await run({"report": {"path": "bomb.xml", "format": "junit"}}, tmp_path)
    wrong = await run({"report": {"path": str(cobertura), "format": "junit"}}, tmp_path)
    assert bomb.status is Status.FAIL
    assert bomb.summary == "bomb.xml is refused: EntitiesForbidden (entities or DTDs in a report)"
    assert wrong.summary == (
        "coverage.xml has root <coverage>, expected <testsuites> or <testsuite> (JUnit)"
    )


async def test_fifo_is_refused_instead_of_blocking(tmp_path):
    # The one way a local read blocks; refusing it keeps worker threads free. (A hung network
    # mount, the other way, cannot be made on loopback: the engine's timeout covers it.)
    os.mkfifo(tmp_path / "pipe.xml")
    result = await run({"report": {"path": "pipe.xml", "format": "junit"}}, tmp_path, timeout="1s")
    assert result.status is Status.FAIL
    assert result.summary == "pipe.xml is not a regular file"


async def test_missing_report_fails(tmp_path):
    result = await run({"report": {"path": "junit.xml", "format": "junit"}}, tmp_path)
    assert result.summary == "junit.xml does not exist, expected a junit report"


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"path": "r.xml", "format": "sarif"},
            'report.format must be one of junit, cobertura, trivy, locust (got "sarif")',
        ),
        (
            {"path": "r.xml", "format": "junit", "min_line_rate": 0.8},
            "report.min_line_rate is not a known field (known: format, freshness, max_age, "
            "max_failures, max_skipped, max_time, min_executed, min_tests, path, timezone)",
        ),
        (
            {"path": "r.xml", "format": "cobertura", "min_line_rate": 75},
            "report.min_line_rate must be a ratio between 0 and 1 (got 75)",
        ),
        (
            {"path": "r.xml", "format": "cobertura", "line_rate": "> 75%"},
            'report.line_rate must compare with a ratio from 0 to 1, such as "> 0.75" '
            '(got "> 75%")',
        ),
        (
            {"path": "r.xml", "format": "cobertura", "line_rate": "> 0.75", "min_line_rate": 0.7},
            "report.line_rate and min_line_rate are both set: give one",
        ),
        (
            {"path": "r.xml", "format": "junit", "min_executed": 0},
            "report.min_executed must be at least 1 (got 0)",
        ),
        (
            {"path": "r.xml", "format": "junit", "timezone": "CEST"},
            "report.timezone must be UTC, an offset such as +02:00 or a zone such as "
            'Europe/Madrid (got "CEST")',
        ),
        (
            {"path": "r.xml", "format": "junit", "freshness": "git"},
            'report.freshness must be one of report, file (got "git")',
        ),
        (
            {"path": "t.json", "format": "trivy", "severities": ["SEVERE"]},
            'report.severities must be among UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL (got "SEVERE")',
        ),
        (
            {"path": "t.json", "format": "trivy", "max_age": "a week"},
            'report.max_age must be a duration such as 30s, 5m, 1h or 90d (got "a week")',
        ),
        (
            {"path": "s.csv", "format": "locust", "duration": ">= 1h"},
            "report.duration needs history: the *_stats_history.csv holds the run's time",
        ),
        (
            {"path": "s.csv", "format": "junit", "artifact": "agent:1.4"},
            "report.artifact is not a known field (known: format, freshness, max_age, "
            "max_failures, max_skipped, max_time, min_executed, min_tests, path, timezone)",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"report": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )


@pytest.mark.parametrize("rate", ["inf", "nan", "1.5", "-0.1", "Infinity"])
async def test_a_line_rate_that_is_no_ratio_fails(tmp_path, rate):
    """float() reads "inf" and "nan": inf >= 0.75 would PASS without a line covered."""
    probe = {"report": {"path": "coverage.xml", "format": "cobertura"}}
    (tmp_path / "coverage.xml").write_text('<coverage line-rate="0.9"/>')
    fine = await run(probe, tmp_path)
    (tmp_path / "coverage.xml").write_text(f'<coverage line-rate="{rate}"/>')
    odd = await run(probe, tmp_path)
    assert fine.status is Status.PASS
    assert odd.status is Status.FAIL
    assert odd.summary == (
        f"coverage.xml line-rate {rate} is not a ratio (expected a number from 0 to 1)"
    )
