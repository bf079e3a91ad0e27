"""Report probe on real reports: JUnit by pytest itself, Cobertura by coverage.py, Trivy JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from xml.etree import ElementTree

import pytest
from support.probing import config_error, run

from probes.result import Status

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


@pytest.fixture(scope="module")
def junit(tmp_path_factory):
    """JUnit XML written by pytest itself: one run all passing, one with a failure."""
    folder = tmp_path_factory.mktemp("junit")
    (folder / "test_tiny.py").write_text(TINY_TESTS)
    for name, select in (("green.xml", ["-k", "not broken"]), ("red.xml", [])):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={folder / name}",
                *select,
                str(folder / "test_tiny.py"),
            ],
            cwd=folder,
            capture_output=True,
            timeout=120,
        )
    return folder


@pytest.fixture(scope="module")
def cobertura(tmp_path_factory):
    """Cobertura XML written by coverage.py for a script that runs 2 of its 4 branches' lines."""
    folder = tmp_path_factory.mktemp("cov")
    (folder / "app.py").write_text(
        textwrap.dedent("""
        def used(x):
            return x * 2

        def unused(x):
            y = x + 1
            z = y * 3
            return z

        print(used(2))
    """)
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


async def test_junit_all_passing(junit, tmp_path):
    result = await run(
        {"report": {"path": str(junit / "green.xml"), "format": "junit", "min_tests": 2}}, tmp_path
    )
    assert result.status is Status.PASS
    assert result.summary.startswith("green.xml (")
    assert result.summary.endswith("old): 2 tests, 0 failures, 0 errors")  # -k deselects one


async def test_junit_too_few_tests_is_partial(junit, tmp_path):
    result = await run(
        {"report": {"path": str(junit / "green.xml"), "format": "junit", "min_tests": 50}}, tmp_path
    )
    assert result.status is Status.PARTIAL
    assert result.summary.endswith(", expected at least 50 tests")


async def test_junit_with_a_failure_fails_naming_it(junit, tmp_path):
    result = await run({"report": {"path": str(junit / "red.xml"), "format": "junit"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.endswith(
        "old): 3 tests, 1 failures, 0 errors (test_tiny::test_broken), expected at most 0 failing"
    )


async def test_stale_report_fails(junit, tmp_path):
    path = junit / "green.xml"
    week_ago = time.time() - 8 * 86400
    stale = tmp_path / "stale.xml"
    stale.write_bytes(path.read_bytes())
    os.utime(stale, (week_ago, week_ago))
    result = await run({"report": {"path": str(stale), "format": "junit"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == "stale.xml is 8d old, expected at most 7d"


async def test_cobertura_thresholds(cobertura, tmp_path):
    rate = float(ElementTree.parse(cobertura).getroot().get("line-rate"))
    assert 0.4 < rate < 0.9
    ok = await run(
        {"report": {"path": str(cobertura), "format": "cobertura", "min_line_rate": 0.4}}, tmp_path
    )
    partial = await run(
        {
            "report": {
                "path": str(cobertura),
                "format": "cobertura",
                "min_line_rate": 0.9,
                "partial_line_rate": 0.4,
            }
        },
        tmp_path,
    )
    low = await run({"report": {"path": str(cobertura), "format": "cobertura"}}, tmp_path)
    assert ok.status is Status.PASS and ok.summary.endswith(f"line rate {rate:.2f}, at least 0.4")
    assert partial.status is Status.PARTIAL
    assert partial.summary.endswith(f"line rate {rate:.2f}, expected at least 0.9")
    assert low.status is Status.FAIL
    assert low.summary.endswith(f"line rate {rate:.2f}, expected at least 0.75")


async def test_trivy_high_finding_fails(tmp_path):
    (tmp_path / "trivy.json").write_text(json.dumps(TRIVY))
    result = await run({"report": {"path": "trivy.json", "format": "trivy"}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary.endswith(
        "old): 1 HIGH/CRITICAL vulnerabilities (CVE-2024-0001 in openssl), expected at most 0"
    )
    assert result.evidence["by_severity"] == {"HIGH": 1, "LOW": 1, "MEDIUM": 1}


async def test_trivy_clean_passes(tmp_path):
    clean = {
        **TRIVY,
        "Results": [
            {
                **r,
                "Vulnerabilities": [
                    v for v in r.get("Vulnerabilities", []) if v["Severity"] != "HIGH"
                ],
            }
            for r in TRIVY["Results"]
        ],
    }
    (tmp_path / "trivy.json").write_text(json.dumps(clean))
    result = await run({"report": {"path": "trivy.json", "format": "trivy"}}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary.endswith("old): 0 HIGH/CRITICAL vulnerabilities (2 in all)")


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
            'report.format must be one of junit, cobertura, trivy (got "sarif")',
        ),
        (
            {"path": "r.xml", "format": "junit", "min_line_rate": 0.8},
            "report.min_line_rate is not a known field (known: format, max_age, max_failures, "
            "min_tests, path)",
        ),
        (
            {"path": "r.xml", "format": "cobertura", "min_line_rate": 75},
            "report.min_line_rate must be a ratio between 0 and 1 (got 75)",
        ),
        (
            {"path": "t.json", "format": "trivy", "severities": ["SEVERE"]},
            'report.severities must be among UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL (got "SEVERE")',
        ),
        (
            {"path": "t.json", "format": "trivy", "max_age": "a week"},
            'report.max_age must be a duration such as 30s, 5m, 1h or 90d (got "a week")',
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
