"""Traps for the Application items: CI's reports, never the application run from here."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

from probes.result import Status
from traps.conftest import age
from traps.shipped import passes, run_shipped


def run_days_ago(report: Path, days: float) -> str:
    """A JUnit report as if its run had been ``days`` ago: its suite timestamp moved back."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return re.sub(r'timestamp="[^"]*"', f'timestamp="{when.isoformat()}"', report.read_text())


def one_skipped(report: Path) -> str:
    """A passing JUnit report whose test_cancel case was skipped instead (as pytest writes it)."""
    return re.sub(
        r'(<testcase [^>]*name="test_cancel"[^>]*?)\s*/>',
        r'\1><skipped type="pytest.skip" message="no browser in CI" /></testcase>',
        report.read_text(),
    )


A001_PATHS = ("reports/unit-junit.xml", "reports/integration-junit.xml", "reports/e2e-junit.xml")


async def test_a001_a_failing_integration_suite_is_not_all_tests_passing(tree, reports):
    bad = tree(
        "bad",
        dict(
            zip(
                A001_PATHS,
                [reports.junit_passed, reports.junit_failed, reports.junit_passed],
                strict=True,
            )
        ),
    )
    good = tree("good", dict.fromkeys(A001_PATHS, reports.junit_passed))
    result = await run_shipped("A-001", {"APP_REPO": str(bad)}, bad)
    assert not passes(result)
    assert "test_suite::test_reservation_flow" in result.summary
    assert passes(await run_shipped("A-001", {"APP_REPO": str(good)}, good))


async def test_a001_reports_elsewhere_are_named_by_their_variables(tree, reports):
    # One combined report for unit and integration, as many projects write.
    repo = tree(
        "repo", {"out/junit.xml": reports.junit_passed, "out/e2e.xml": reports.junit_passed}
    )
    env = {
        "APP_REPO": str(repo),
        "UNIT_JUNIT_PATH": "out/junit.xml",
        "INTEGRATION_JUNIT_PATH": "out/junit.xml",
        "E2E_JUNIT_PATH": "out/e2e.xml",
    }
    assert passes(await run_shipped("A-001", env, repo))


async def test_a001_an_all_skipped_suite_is_not_tests_passing(tree, reports):
    bad = tree(
        "bad",
        {
            **dict.fromkeys(A001_PATHS, reports.junit_passed),
            "reports/e2e-junit.xml": reports.junit_skipped,
        },
    )
    assert not passes(await run_shipped("A-001", {"APP_REPO": str(bad)}, bad))


async def test_a001_an_old_report_copied_today_is_not_fresh(tree, reports):
    # Written a second ago (a copy, a download); run 40 days ago by its own timestamp.
    bad = tree("bad", dict.fromkeys(A001_PATHS, run_days_ago(reports.junit_passed, 40)))
    result = await run_shipped("A-001", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "40 days old by its suite timestamp" in result.summary


async def test_a001_a_report_from_a_pipeline_that_stopped_fails(tree, reports):
    bad = tree("bad", dict.fromkeys(A001_PATHS, reports.junit_passed))
    (bad / "reports/unit-junit.xml").write_text(run_days_ago(reports.junit_passed, 8))
    age(bad / "reports/unit-junit.xml", 8)
    result = await run_shipped("A-001", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "unit-junit.xml is 8 days" in result.summary


async def test_a001_a_skipped_test_is_not_a_passing_one(tree, reports):
    bad = tree(
        "bad",
        {
            **dict.fromkeys(A001_PATHS, reports.junit_passed),
            "reports/integration-junit.xml": one_skipped(reports.junit_passed),
        },
    )
    result = await run_shipped("A-001", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "3 cases: 2 executed, 1 skipped" in result.summary


async def test_a002_ruffs_own_junit_with_a_violation_fails(tree, reports):
    bad = tree("bad", {"reports/ruff-junit.xml": reports.ruff_dirty})
    good = tree("good", {"reports/ruff-junit.xml": reports.ruff_clean})
    result = await run_shipped("A-002", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "F401" in result.summary
    assert passes(await run_shipped("A-002", {"APP_REPO": str(good)}, good))


async def test_a003_exactly_75_percent_is_not_above_75(tree, reports):
    bad = tree("bad", {"reports/coverage.xml": reports.coverage_075})
    good = tree("good", {"reports/coverage.xml": reports.coverage_080})
    assert 'line-rate="0.75"' in reports.coverage_075.read_text()
    assert not passes(await run_shipped("A-003", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("A-003", {"APP_REPO": str(good)}, good))


async def test_a003_a_touched_old_coverage_report_is_not_fresh(tree, reports):
    old = reports.coverage_080.read_text()
    stamp = old.split('timestamp="', 1)[1].split('"', 1)[0]
    bad = tree("bad", {"reports/coverage.xml": old.replace(stamp, "1727000000000")})
    assert not passes(await run_shipped("A-003", {"APP_REPO": str(bad)}, bad))


async def test_a004_mypys_own_junit_with_an_error_fails(tree, reports):
    bad = tree("bad", {"reports/mypy-junit.xml": reports.mypy_error})
    good = tree("good", {"reports/mypy-junit.xml": reports.mypy_clean})
    assert not passes(await run_shipped("A-004", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("A-004", {"APP_REPO": str(good)}, good))


GOOD_ENV = """\
ENVIRONMENT=production
DATABASE_URL=postgresql://app:k3Jq9vXr2LmP8sWz@db:5432/app
SECRET_KEY=ulJQx0Zq8Rk3v9T2mWb7YcN4pLs6Hd1F
DEBUG=false  # prod
LOG_LEVEL=warn
SENTRY_DSN=
"""


async def test_a005_staging_or_an_empty_required_setting_is_not_validated(tree):
    for name, text in [
        ("staging", GOOD_ENV.replace("=production", "=staging")),
        (
            "empty",
            GOOD_ENV.replace(
                "DATABASE_URL=postgresql://app:k3Jq9vXr2LmP8sWz@db:5432/app", 'DATABASE_URL=""'
            ),
        ),
        ("absent", GOOD_ENV.replace("DATABASE_URL=", "# DATABASE_URL=")),
    ]:
        bad = tree(name, {".env": text})
        result = await run_shipped("A-005", {"APP_ENV_FILE": str(bad / ".env")}, bad)
        assert not passes(result), name
    good = tree("good", {".env": GOOD_ENV})
    assert passes(await run_shipped("A-005", {"APP_ENV_FILE": str(good / ".env")}, good))


async def test_a005_the_settings_are_the_applications_own(tree):
    # full-stack-fastapi-template: no DATABASE_URL, POSTGRES_* settings instead.
    text = "ENVIRONMENT='production'\nPOSTGRES_SERVER=db\nPOSTGRES_PASSWORD=\nSECRET_KEY=x9\n"
    repo = tree("repo", {".env": text})
    env = {
        "APP_ENV_FILE": str(repo / ".env"),
        "APP_REQUIRED_SETTINGS": "POSTGRES_SERVER|POSTGRES_PASSWORD|SECRET_KEY",
    }
    result = await run_shipped("A-005", env, repo)
    assert not passes(result) and "line 3" in result.summary  # POSTGRES_PASSWORD is empty


async def test_a006_debug_turned_on_again_later_fails(tree):
    bad = tree("bad", {".env": GOOD_ENV + "export DEBUG=true\n"})
    prefixed = tree("prefixed", {".env": GOOD_ENV + "APP_DEBUG=1\n"})
    good = tree("good", {".env": GOOD_ENV})
    for repo in (bad, prefixed):
        assert not passes(await run_shipped("A-006", {"APP_ENV_FILE": str(repo / ".env")}, repo))
    assert passes(await run_shipped("A-006", {"APP_ENV_FILE": str(good / ".env")}, good))


def _app_log(folder: Path, level: str, fmt: str = "%(levelname)s:     %(message)s") -> Path:
    """A log written by Python's logging at ``level`` (uvicorn's line format by default): the
    application's every level is called, logging keeps those at ``level`` and above."""
    log = folder / "app.log"
    code = (
        "import logging, sys\n"
        "logging.basicConfig(filename=sys.argv[1], level=sys.argv[2], format=sys.argv[3])\n"
        "log = logging.getLogger('uvicorn.error')\n"
        "log.debug('request headers: accept=*/*')\n"
        "log.info('127.0.0.1:51234 - \"GET /api/v1/utils/health-check/ HTTP/1.1\" 200')\n"
        "log.warning('slow query: 1.2 s')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(log), level, fmt], check=True)
    return log


async def test_a007_the_applications_own_log_says_its_level(tree):
    """The trial's app has no level setting and logs at uvicorn's INFO: that is INFO."""
    repo = tree("repo", {".env": GOOD_ENV.replace("LOG_LEVEL=warn\n", "")})
    env = {"APP_ENV_FILE": str(repo / ".env"), "APP_LOG_FILE": str(_app_log(repo, "INFO"))}
    result = await run_shipped("A-007", env, repo)
    assert passes(result), result.summary


async def test_a007_json_lines_at_warning_pass(tree):
    repo = tree("repo", {".env": GOOD_ENV})  # LOG_LEVEL=warn: fine in an unusual way
    log = _app_log(repo, "WARNING", '{"level": "%(levelname)s", "msg": "%(message)s"}')
    result = await run_shipped(
        "A-007", {"APP_ENV_FILE": str(repo / ".env"), "APP_LOG_FILE": str(log)}, repo
    )
    assert passes(result), result.summary


async def test_a007_a_log_at_debug_fails(tree):
    """No setting, or one that says INFO, while the application writes DEBUG lines."""
    for name, text in [("none", GOOD_ENV.replace("LOG_LEVEL=warn\n", "")), ("info", GOOD_ENV)]:
        repo = tree(name, {".env": text})
        env = {"APP_ENV_FILE": str(repo / ".env"), "APP_LOG_FILE": str(_app_log(repo, "DEBUG"))}
        result = await run_shipped("A-007", env, repo)
        assert result.status is Status.FAIL and "app.log" in result.summary, result.summary


async def test_a007_a_setting_that_says_debug_fails_whatever_the_log_shows(tree):
    bad = tree(
        "bad", {".env": GOOD_ENV.replace("LOG_LEVEL=warn", "LOG_LEVEL=INFO") + "LOG_LEVEL=debug\n"}
    )
    env = {"APP_ENV_FILE": str(bad / ".env"), "APP_LOG_FILE": str(_app_log(bad, "INFO"))}
    result = await run_shipped("A-007", env, bad)
    assert result.status is Status.FAIL and ".env" in result.summary, result.summary


async def test_a007_a_log_with_no_level_at_all_fails(tree):
    """Only ERROR lines (or no level in the lines) do not show INFO or WARNING."""
    repo = tree("repo", {".env": GOOD_ENV.replace("LOG_LEVEL=warn\n", "")})
    env = {"APP_ENV_FILE": str(repo / ".env"), "APP_LOG_FILE": str(_app_log(repo, "ERROR"))}
    assert not passes(await run_shipped("A-007", env, repo))


# uv lock's output for a project depending on fastapi (trimmed to two packages).
UV_LOCK = """\
version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "agente-api"
version = "1.4.2"
source = { virtual = "." }
dependencies = [
    { name = "fastapi" },
]

[package.metadata]
requires-dist = [{ name = "fastapi", specifier = ">=0.115" }]

[[package]]
name = "fastapi"
version = "0.115.6"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/fastapi-0.115.6.tar.gz", hash = "sha256:9ec4" }
"""

# poetry lock's output, trimmed: [package.dependencies] holds ranges, the versions are pinned.
POETRY_LOCK = """\
# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "fastapi"
version = "0.115.6"
description = "FastAPI framework, high performance, easy to learn"
optional = false
python-versions = ">=3.8"
files = [
    {file = "fastapi-0.115.6-py3-none-any.whl", hash = "sha256:e9240b29e36fa8f4"},
]

[package.dependencies]
pydantic = ">=1.7.4,<1.8 || >1.8,<1.8.1 || >1.8.1,<2.0.0 || >2.1.0,<3.0.0"
starlette = ">=0.40.0,<0.42.0"

[package.extras]
all = ["email-validator (>=2.0.0)", "httpx (>=0.23.0)"]

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "5e2a1b4c"
"""

# pip-compile's output: pinned, with the comments it writes.
REQUIREMENTS = """\
#
# This file is autogenerated by pip-compile with Python 3.11
#
fastapi==0.115.6
    # via -r requirements.in
uvicorn[standard]==0.32.1 ; python_version >= "3.8"
    # via -r requirements.in
"""


async def test_a009_an_unpinned_requirements_file_pins_nothing(tree):
    """The audit's requirements.txt (bare names and a range) and its spellings of "not pinned"."""
    env = {"LOCK_FILE_PATH": "requirements.txt"}
    for name, text in [
        ("audit", "fastapi\nuvicorn[standard]>=0.20\nsqlalchemy\npsycopg[binary]\n"),
        ("one range", REQUIREMENTS + "sqlalchemy~=2.0\n"),
        ("one bare", REQUIREMENTS + "psycopg[binary]  # the driver\n"),
        ("wildcard", REQUIREMENTS + "sqlalchemy==2.0.*\n"),
        ("comments only", "# pinned by CI\n"),
    ]:
        bad = tree(name, {"requirements.txt": text})
        result = await run_shipped("A-009", {**env, "APP_REPO": str(bad)}, bad)
        assert not passes(result), (name, result.summary)
    good = tree("good", {"requirements.txt": REQUIREMENTS})
    result = await run_shipped("A-009", {**env, "APP_REPO": str(good)}, good)
    assert passes(result), result.summary
    poetry = tree("poetry", {"poetry.lock": POETRY_LOCK})
    result = await run_shipped("A-009", {"APP_REPO": str(poetry)}, poetry)
    assert passes(result), result.summary


async def test_a009_an_empty_lock_file_pins_nothing(tree):
    bad = tree("bad", {"poetry.lock": ""})
    good = tree("good", {"uv.lock": UV_LOCK})
    assert not passes(await run_shipped("A-009", {"APP_REPO": str(bad)}, bad))
    env = {"APP_REPO": str(good), "LOCK_FILE_PATH": "uv.lock"}
    assert passes(await run_shipped("A-009", env, good))


def sbom(*names: str) -> str:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {"component": {"name": "agente-api", "type": "container"}},
            "components": [{"type": "library", "name": n, "version": "1.0"} for n in names],
        }
    )


async def test_a010_an_image_with_pytest_in_it_has_dev_dependencies(tree):
    bad = tree("bad", {"reports/sbom.cdx.json": sbom("fastapi", "uvicorn", "pytest")})
    good = tree("good", {"reports/sbom.cdx.json": sbom("fastapi", "uvicorn", "pydantic")})
    result = await run_shipped("A-010", {"APP_REPO": str(bad)}, bad)
    assert not passes(result) and "pytest" in result.summary
    assert passes(await run_shipped("A-010", {"APP_REPO": str(good)}, good))


async def test_a010_an_sbom_of_nothing_or_a_dev_tool_spelled_otherwise_fails(tree):
    """The audit's SBOMs: no components at all, and dev tools named as pip allows (any case,
    _ or . for -) or a pytest plugin not in the list. pytesseract is no pytest."""
    for name, text in [
        ("nothing", sbom()),
        ("xdist", sbom("fastapi", "pytest-xdist")),
        ("Faker", sbom("fastapi", "Faker")),
        ("pytest_mock", sbom("fastapi", "pytest_mock")),
        ("factory_boy", sbom("fastapi", "Factory_Boy")),
        ("pre.commit", sbom("fastapi", "pre.commit")),
    ]:
        bad = tree(name, {"reports/sbom.cdx.json": text})
        result = await run_shipped("A-010", {"APP_REPO": str(bad)}, bad)
        assert result.status is Status.FAIL, (name, result.summary)
    fine = sbom("fastapi", "typing_extensions", "pytesseract", "Pillow")
    good = tree("good", {"reports/sbom.cdx.json": fine})
    result = await run_shipped("A-010", {"APP_REPO": str(good)}, good)
    assert passes(result), result.summary


def licenses(*pairs: tuple[str, str]) -> str:
    # pip-licenses --format=json, minified as some pipelines write it
    return json.dumps(
        [{"Name": n, "Version": "1.0", "License": lic} for n, lic in pairs], separators=(",", ":")
    )


async def test_a011_gpl_spelled_out_or_unknown_is_not_compliant(tree):
    for name, lic in [("gpl", "GNU General Public License v3 (GPLv3)"), ("unknown", "UNKNOWN")]:
        bad = tree(name, {"reports/licenses.json": licenses(("fastapi", "MIT"), ("x", lic))})
        result = await run_shipped("A-011", {"APP_REPO": str(bad)}, bad)
        assert not passes(result), name
    good = tree(
        "good",
        {
            "reports/licenses.json": licenses(
                ("fastapi", "MIT"),
                ("psycopg", "GNU Lesser General Public License v3 (LGPLv3)"),
                ("certifi", "Mozilla Public License 2.0 (MPL 2.0)"),
            )
        },
    )
    assert passes(await run_shipped("A-011", {"APP_REPO": str(good)}, good))
    # pip-licenses lists the application itself, with no license classifier: not a dependency
    itself = tree(
        "itself", {"reports/licenses.json": licenses(("fastapi", "MIT"), ("app", "UNKNOWN"))}
    )
    env = {"APP_REPO": str(itself), "APP_PACKAGE_NAME": "app"}
    assert passes(await run_shipped("A-011", env, itself))


async def test_a013_the_pms_integration_report_with_a_failure_fails(tree, reports):
    bad = tree("bad", {"reports/pms-integration-junit.xml": reports.junit_failed})
    good = tree("good", {"reports/pms-integration-junit.xml": reports.junit_passed})
    assert not passes(await run_shipped("A-013", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("A-013", {"APP_REPO": str(good)}, good))


async def test_a013_pms_tests_all_skipped_in_ci_are_not_tested(tree, reports):
    bad = tree("bad", {"reports/pms-integration-junit.xml": reports.junit_skipped})
    some = tree("some", {"reports/pms-integration-junit.xml": one_skipped(reports.junit_passed)})
    assert not passes(await run_shipped("A-013", {"APP_REPO": str(bad)}, bad))
    assert not passes(await run_shipped("A-013", {"APP_REPO": str(some)}, some))


async def test_a012_another_app_subscribed_or_a_webhook_that_ignores_the_challenge_fails(
    tmp_path,
):
    from aiohttp import web

    from traps.apis import Reply, serve

    def routes(app_id: str, echo: bool) -> dict:
        async def webhook(request: web.Request) -> web.Response:
            if echo and request.query.get("hub.verify_token") == "verify-me":
                return web.Response(text=request.query["hub.challenge"])
            return web.Response(text="OK")

        return {
            "GET /v23.0/{waba}/subscribed_apps": Reply(
                body={"data": [{"whatsapp_business_api_data": {"id": app_id, "name": "Agente"}}]}
            ),
            "GET /webhooks/whatsapp": webhook,
        }

    env = {
        "WHATSAPP_BUSINESS_ACCOUNT_ID": "1001",
        "WHATSAPP_ACCESS_TOKEN": "EAAG" + "x" * 30,
        "WHATSAPP_APP_ID": "42",
        "WHATSAPP_VERIFY_TOKEN": "verify-me",
        "WHATSAPP_WEBHOOK_PATH": "/webhooks/whatsapp",
    }
    for app_id, echo, should_pass in (("7", True, False), ("42", False, False), ("42", True, True)):
        async with serve(routes(app_id, echo)) as base:
            result = await run_shipped(
                "A-012", {**env, "WHATSAPP_GRAPH_URL": f"{base}/v23.0", "APP_URL": base}, tmp_path
            )
            assert passes(result) is should_pass, result.summary
            assert "verify-me" not in repr(result)


async def test_a006_an_empty_file_or_a_short_true_is_not_debug_off(tree):
    """pydantic reads t, y, On as True; an empty file (or another environment's) turns nothing
    off: the file must name the production environment, as A-005 asks."""
    for name, text in [
        ("empty", ""),
        ("t", GOOD_ENV.replace("DEBUG=false", "DEBUG=t")),
        ("y", GOOD_ENV.replace("DEBUG=false", "DEBUG='y'")),
        ("On", GOOD_ENV.replace("DEBUG=false", "FASTAPI_DEBUG=On")),
        ("staging", GOOD_ENV.replace("=production", "=staging")),
    ]:
        bad = tree(name, {".env": text})
        result = await run_shipped("A-006", {"APP_ENV_FILE": str(bad / ".env")}, bad)
        assert not passes(result), (name, result.summary)
    # DEBUG=f(alse) and no DEBUG line at all are off
    for name, text in [("f", GOOD_ENV.replace("DEBUG=false", "DEBUG=f")), ("none", GOOD_ENV)]:
        good = tree(f"good-{name}", {".env": text.replace("DEBUG=false  # prod\n", "")})
        result = await run_shipped("A-006", {"APP_ENV_FILE": str(good / ".env")}, good)
        assert passes(result), (name, result.summary)
