"""File probe on real files in tmp_path: globs, freshness, size, patterns, headings, documents."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import time

import pytest
from support.probing import config_error, run

from probes import file as file_probe
from probes.result import Status

COMPOSE = """\
services:
  api:
    image: agent:1.4
    deploy: {resources: {limits: {memory: 512M, cpus: "1.0"}}}
  worker:
    image: agent:1.4
    deploy: {resources: {limits: {memory: 256M}}}
"""

DR_PLAN = """\
# Disaster recovery plan
## RTO targets
Tier 1: 1h
## RPO targets
Tier 1: 15min
"""


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_a_pass_says_what_it_verified(tmp_path):
    (tmp_path / "sla.md").write_text("Uptime 99.9%\n")
    result = await run(
        {"file": {"path": "sla.md", "max_age": "1d", "content_regex": r"99\.9"}}, tmp_path
    )
    assert result.status is Status.PASS
    assert result.summary.startswith("sla.md: matches /99\\.9/ (13 bytes, modified ")
    # A file checked for nothing but being there says so.
    result = await run({"file": {"path": "sla.md", "min_size": 10}}, tmp_path)
    assert result.summary.startswith("sla.md present (13 bytes, at least 10, modified ")


async def test_named_patterns_and_assertions_are_said_by_name(tmp_path):
    (tmp_path / ".env").write_text("ENVIRONMENT=production\nDEBUG=false\n")
    env_file = {
        "path": ".env",
        "must_match": [
            {"name": "ENVIRONMENT=production", "pattern": "(?m)^ENVIRONMENT=production$"}
        ],
        "must_not_match": [{"name": "DEBUG switched on", "pattern": "(?mi)^DEBUG=(true|1)$"}],
    }
    result = await run({"file": env_file}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary.startswith(
        ".env: has ENVIRONMENT=production; has no DEBUG switched on (35 bytes, modified "
    ), result.summary
    (tmp_path / ".env").write_text("ENVIRONMENT=staging\nDEBUG=true\n")
    result = await run({"file": env_file}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == (
        ".env has no ENVIRONMENT=production; has DEBUG switched on at line 2, expected none"
    )
    (tmp_path / "compose.yml").write_text("services:\n  api: {mem_limit: 512m}\n")
    assert_memory = {
        "name": "services without a memory limit",
        "path": "values(services)[?!mem_limit]",
        "expect": {"op": "length", "value": 0},
    }
    result = await run(
        {"file": {"path": "compose.yml", "document": "yaml", "assert": [assert_memory]}}, tmp_path
    )
    assert result.status is Status.PASS
    assert result.summary.startswith("compose.yml: services without a memory limit: none (")


async def test_a_missing_file_fails(tmp_path):
    result = await run({"file": {"path": "nope.md"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        f"{tmp_path / 'nope.md'} does not exist",
    )


async def test_a_file_older_than_max_age_fails(tmp_path):
    path = tmp_path / "backup.dump"
    path.write_bytes(b"x")
    age(path, 2 * 86400)
    result = await run({"file": {"path": str(path), "max_age": "26h"}}, tmp_path)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "backup.dump is 2 days old, expected at most 1d2h",
    )


async def test_content_that_does_not_match(tmp_path):
    (tmp_path / "README.md").write_text("hello\n")
    result = await run(
        {"file": {"path": "README.md", "content_regex": "(?i)architecture"}}, tmp_path
    )
    assert (result.status, result.summary) == (
        Status.FAIL,
        "README.md does not match /(?i)architecture/",
    )


async def test_glob_with_min_count(tmp_path):
    books = tmp_path / "runbooks"
    books.mkdir()
    for i in range(10):
        (books / f"{i:02}-scenario.md").write_text(f"# Scenario {i}\n")
    enough = await run({"file": {"glob": "runbooks/*.md", "min_count": 10}}, tmp_path)
    few = await run({"file": {"glob": "runbooks/*.md", "min_count": 12}}, tmp_path)
    none = await run({"file": {"glob": "runbooks/*.txt"}}, tmp_path)
    one = await run({"file": {"glob": "runbooks/00-*.md"}}, tmp_path)
    assert one.summary.startswith("1 file matches 00-*.md, newest 00-scenario.md modified ")
    assert enough.status is Status.PASS
    assert enough.summary.startswith("10 files match *.md, newest ")
    assert few.status is Status.PARTIAL
    assert few.summary == f"10 files match {tmp_path}/runbooks/*.md, expected at least 12"
    assert none.status is Status.FAIL
    assert none.summary == f"no file matches {tmp_path}/runbooks/*.txt, expected at least 1"


async def test_newest_match_freshness(tmp_path):
    for i, hours in enumerate((80, 50, 30)):
        path = tmp_path / f"db-{i}.sql.gz"
        path.write_bytes(b"x" * 100)
        age(path, hours * 3600)
    stale = await run({"file": {"glob": "db-*.sql.gz", "max_age": "26h"}}, tmp_path)
    (tmp_path / "db-3.sql.gz").write_bytes(b"x" * 100)
    fresh = await run({"file": {"glob": "db-*.sql.gz", "max_age": "26h", "min_size": 50}}, tmp_path)
    assert stale.status is Status.FAIL
    assert stale.summary == "newest match db-2.sql.gz is 1 day 6 hours old, expected at most 1d2h"
    assert fresh.status is Status.PASS


async def test_min_size(tmp_path):
    (tmp_path / "backup.tar").write_bytes(b"tiny")
    result = await run({"file": {"path": "backup.tar", "min_size": 1024}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == "backup.tar 4 bytes, expected at least 1024"


async def test_must_not_match_names_the_line_not_the_secret(tmp_path):
    (tmp_path / ".env").write_text("APP_ENV=production\nJWT_SECRET=dev-secret-do-not-use\n")
    result = await run(
        {"file": {"path": ".env", "must_not_match": ["(?i)dev-secret|changeme"]}}, tmp_path
    )
    assert result.status is Status.FAIL
    assert result.summary == ".env line 2 matches /(?i)dev-secret|changeme/, expected no match"
    assert "do-not-use" not in repr(result)


async def test_must_match_some_is_partial(tmp_path):
    (tmp_path / "retention.md").write_text("Logs are kept 30 days.\n")
    result = await run(
        {"file": {"path": "retention.md", "must_match": ["30 days", "90 days"]}}, tmp_path
    )
    assert result.status is Status.PARTIAL
    assert result.summary == "retention.md does not match /90 days/"


async def test_markdown_headings(tmp_path):
    (tmp_path / "RTO-RPO.md").write_text(DR_PLAN)
    ok = await run(
        {"file": {"path": "RTO-RPO.md", "headings": ["RTO targets", "rpo TARGETS"]}}, tmp_path
    )
    some = await run(
        {"file": {"path": "RTO-RPO.md", "headings": ["RTO targets", "Failover"]}}, tmp_path
    )
    none = await run({"file": {"path": "RTO-RPO.md", "headings": ["Contacts"]}}, tmp_path)
    assert ok.status is Status.PASS
    assert some.status is Status.PARTIAL and some.summary == "RTO-RPO.md has no heading Failover"
    assert none.status is Status.FAIL


async def test_a_heading_is_found_by_its_exact_text_not_a_prefix(tmp_path):
    # "RTO" is not "RTO targets" (the regex took any heading starting with the words).
    (tmp_path / "RTO-RPO.md").write_text(DR_PLAN)
    result = await run({"file": {"path": "RTO-RPO.md", "headings": ["RTO"]}}, tmp_path)
    assert result.status is Status.FAIL and result.summary == "RTO-RPO.md has no heading RTO"


async def test_a_comment_in_a_fenced_code_block_is_not_a_heading(tmp_path):
    fenced = "# DR plan\n\n```bash\n# Degraded mode\nsystemctl stop booking\n```\n"
    real = "# DR plan\n\n## Degraded mode\n\nBookings are queued while the PMS is down.\n"
    (tmp_path / "fenced.md").write_text(fenced)
    (tmp_path / "real.md").write_text(real)
    bad = await run({"file": {"path": "fenced.md", "headings": ["Degraded mode"]}}, tmp_path)
    good = await run({"file": {"path": "real.md", "headings": ["Degraded mode"]}}, tmp_path)
    assert bad.status is Status.FAIL and bad.summary == "fenced.md has no heading Degraded mode"
    assert good.status is Status.PASS


async def test_setext_headings_are_headings(tmp_path):
    (tmp_path / "post-mortem.md").write_text(
        "Post-mortem\n===========\n\nTimeline\n--------\n\nRoot cause\n----------\n"
    )
    result = await run(
        {"file": {"path": "post-mortem.md", "headings": ["Timeline", "Root cause"]}}, tmp_path
    )
    assert result.status is Status.PASS, result.summary


async def test_heading_content_refuses_a_section_that_says_tbd(tmp_path):
    (tmp_path / "tbd.md").write_text("# DR\n\n## RTO\n\nTBD\n\n## RPO: TBD\n")
    (tmp_path / "done.md").write_text("# DR\n\n## RTO\n\n1 h for tier 1\n\n## RPO: 15 min\n")
    probe = {"headings": ["RTO", "RPO"], "heading_content": True}
    bad = await run({"file": {"path": "tbd.md", **probe}}, tmp_path)
    good = await run({"file": {"path": "done.md", **probe}}, tmp_path)
    headings_only = await run({"file": {"path": "tbd.md", "headings": ["RTO", "RPO"]}}, tmp_path)
    assert bad.status is Status.FAIL
    assert bad.summary == (
        "tbd.md heading 'RTO' (line 3) has no content (only 'TBD'); "
        "heading 'RPO' (line 7) has no content (only 'TBD')"
    )
    assert good.status is Status.PASS
    assert headings_only.status is Status.PASS  # the headings are there; content not asked


# -- freshness: the clock a time comes from ------------------------------------------------------


async def test_a_modification_time_in_the_future_is_a_wrong_clock(tmp_path):
    path = tmp_path / "backup.dump"
    path.write_bytes(b"x" * 2048)
    age(path, -3 * 86400 - 30)
    single = await run({"file": {"path": "backup.dump", "max_age": "26h"}}, tmp_path)
    glob = await run({"file": {"glob": "*.dump", "max_age": "26h"}}, tmp_path)
    recent = await run(
        {"file": {"glob": "*.dump", "recent": {"count": 1, "within": "2d"}}}, tmp_path
    )
    assert single.status is Status.FAIL
    assert re.fullmatch(
        r"backup\.dump is dated \d{4}-\d\d-\d\d \d\d:\d\d UTC, 3d\d*s? in the future: wrong "
        r"clock, expected a time in the past",
        single.summary,
    ), single.summary
    assert glob.status is Status.FAIL and glob.summary.startswith(
        "newest match backup.dump is dated "
    )
    assert recent.status is Status.FAIL and "wrong clock" in recent.summary


def git(repo, *args: str, when: float | None = None) -> None:
    """git in ``repo`` as a test identity; ``when`` back-dates the author and committer."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{int(when)} +0000"
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A repository whose drill note was committed 133 days ago and checked out just now."""
    repo = tmp_path / "app"
    (repo / "docs/dr-drills").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "docs/dr-drills/2026-q2.md").write_text("# Failover drill\n\nResult: passed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "drill", when=time.time() - 133 * 86400)
    (repo / "docs/dr-drills/2026-q2.md").unlink()
    git(repo, "checkout", "--", "docs/dr-drills/2026-q2.md")  # as a clone or checkout does
    return repo


async def test_a_drill_committed_133_days_ago_is_not_fresh_after_a_checkout(repo, tmp_path):
    note = "app/docs/dr-drills/2026-q2.md"
    by_file = await run({"file": {"path": note, "max_age": "92d"}}, tmp_path)
    by_git = await run({"file": {"path": note, "max_age": "92d", "freshness": "git"}}, tmp_path)
    glob = await run(
        {"file": {"glob": "app/docs/dr-drills/*.md", "max_age": "92d", "freshness": "git"}},
        tmp_path,
    )
    assert by_file.status is Status.PASS  # the trap: the checkout's file time is now
    assert by_git.status is Status.FAIL
    assert re.fullmatch(
        r"2026-q2\.md is 133 days old by its last commit \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\), "
        r"expected at most 92d",
        by_git.summary,
    ), by_git.summary
    assert glob.status is Status.FAIL
    assert glob.summary.startswith("newest match 2026-q2.md is 133 days")


async def test_a_recent_drill_passes_and_an_uncommitted_one_says_its_clock(repo, tmp_path):
    (repo / "docs/dr-drills/2026-q4.md").write_text("# Failover drill\n\nResult: passed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "q4 drill", when=time.time() - 20 * 86400)
    glob = {"glob": "app/docs/dr-drills/*.md", "max_age": "92d", "freshness": "git"}
    committed = await run({"file": glob}, tmp_path)
    assert committed.status is Status.PASS
    assert re.fullmatch(
        r"2 files match \*\.md, newest 2026-q4\.md 20 days old by its last commit",
        committed.summary,
    ), committed.summary
    (repo / "docs/dr-drills/2026-q4.md").write_text("# Failover drill\n\nResult: edited\n")
    edited = await run({"file": glob}, tmp_path)
    assert edited.status is Status.PASS
    assert "old by file time (uncommitted changes)" in edited.summary


async def test_a_file_outside_git_is_judged_by_its_file_time_and_says_so(tmp_path):
    (tmp_path / "drill.md").write_text("# Drill\n")
    result = await run(
        {"file": {"path": "drill.md", "max_age": "1d", "freshness": "git"}}, tmp_path
    )
    assert result.status is Status.PASS
    assert "old by file time (not in a git repository)" in result.summary


# -- glob rules: which matches are judged ---------------------------------------------------------


def runbook(n: int) -> str:
    return f"# Runbook {n}\n\n" + "".join(f"{i}. Check step {i}.\n" for i in range(20))


async def test_a_readme_and_a_template_among_runbooks_do_not_count(tmp_path):
    books = tmp_path / "runbooks"
    books.mkdir()
    for i in range(9):
        (books / f"scenario-{i}.md").write_text(runbook(i))
    (books / "README.md").write_text("# Runbooks\n\nOne per scenario.\n")
    (books / "_template.md").write_text(runbook(99))
    probe = {"glob": "runbooks/*.md", "min_count": 10, "min_size": 100}
    counted = await run({"file": probe}, tmp_path)
    excluded = await run({"file": {**probe, "exclude": ["README.md", "_*"]}}, tmp_path)
    assert counted.status is Status.FAIL  # the README is small: min_size judges every match
    assert excluded.status is Status.PARTIAL
    assert excluded.summary == (
        f"9 files match {tmp_path}/runbooks/*.md (2 excluded: README.md, _template.md), "
        "expected at least 10"
    )
    (books / "scenario-9.md").write_text(runbook(9))
    ten = await run({"file": {**probe, "exclude": ["README.md", "_*"]}}, tmp_path)
    assert ten.status is Status.PASS
    assert ten.summary.startswith("10 files match *.md (2 excluded: README.md, _template.md), ")


DUMP = b"\x1f\x8b" + b"\x00" * 4096


async def test_judge_newest_an_old_truncated_dump_beside_a_good_new_one_is_fine(tmp_path):
    (tmp_path / "db-2026-03-02.sql.gz").write_bytes(b"\x1f\x8b")  # an old failed dump
    age(tmp_path / "db-2026-03-02.sql.gz", 270 * 86400)
    (tmp_path / "db-2026-11-30.sql.gz").write_bytes(DUMP)
    probe = {"glob": "*.sql.gz", "max_age": "26h", "min_size": 1024}
    every = await run({"file": probe}, tmp_path)
    newest = await run({"file": {**probe, "judge": "newest"}}, tmp_path)
    assert every.status is Status.FAIL
    assert every.summary == "db-2026-03-02.sql.gz 2 bytes, expected at least 1024"
    assert newest.status is Status.PASS
    assert newest.summary.startswith(
        "2 files match *.sql.gz, newest db-2026-11-30.sql.gz modified "
    )
    assert newest.summary.endswith("; judged: the newest")


async def test_judge_newest_a_truncated_newest_dump_fails(tmp_path):
    (tmp_path / "db-2026-11-29.sql.gz").write_bytes(DUMP)
    age(tmp_path / "db-2026-11-29.sql.gz", 86400)
    (tmp_path / "db-2026-11-30.sql.gz").write_bytes(DUMP[:512])
    result = await run(
        {"file": {"glob": "*.sql.gz", "max_age": "26h", "min_size": 1024, "judge": "newest"}},
        tmp_path,
    )
    assert result.status is Status.FAIL
    assert result.summary == "newest match db-2026-11-30.sql.gz 512 bytes, expected at least 1024"


async def test_a_small_log_beside_good_backups_is_not_a_bad_backup(tmp_path):
    for day in range(24, 31):
        (tmp_path / f"db-2026-11-{day}.sql.gz").write_bytes(DUMP)
        age(tmp_path / f"db-2026-11-{day}.sql.gz", (30 - day) * 86400 + 60)
    (tmp_path / "backup.log").write_text("2026-11-30 03:00 dump ok\n")  # written last
    probe = {"glob": "*", "max_age": "26h", "min_size": 1024, "judge": "newest"}
    with_log = await run({"file": probe}, tmp_path)
    without = await run({"file": {**probe, "exclude": ["*.log"]}}, tmp_path)
    assert with_log.status is Status.FAIL and with_log.summary.startswith("newest match backup.log")
    assert without.status is Status.PASS, without.summary


async def test_recent_counts_the_matches_changed_within_the_window(tmp_path):
    for day in range(7):
        (tmp_path / f"db-{day}.sql.gz").write_bytes(DUMP)
        age(tmp_path / f"db-{day}.sql.gz", day * 86400 + 60)
    probe = {"glob": "*.sql.gz", "max_age": "26h", "judge": "newest"}
    daily = await run({"file": {**probe, "recent": {"count": 7, "within": "8d"}}}, tmp_path)
    for day in (2, 3, 4, 5):  # four days without a backup
        age(tmp_path / f"db-{day}.sql.gz", 20 * 86400)
    gaps = await run({"file": {**probe, "recent": {"count": 7, "within": "8d"}}}, tmp_path)
    assert daily.status is Status.PASS
    assert daily.summary.endswith(", 7 changed within 8d; judged: the newest")
    assert gaps.status is Status.PARTIAL
    assert gaps.summary == "3 of 7 matches changed within 8d, expected at least 7"


async def test_recent_per_day_counts_days_not_matches(tmp_path):
    # Seven dumps made minutes apart look like a week of daily backups to a count of matches;
    # per: day counts the UTC days that have one: one day. Seven days apart is seven days.
    yesterday_noon = (int(time.time()) // 86400 - 1) * 86400 + 43200
    burst, week = tmp_path / "burst", tmp_path / "week"
    burst.mkdir()
    week.mkdir()
    for n in range(7):
        (burst / f"db-{n}.sql.gz").write_bytes(DUMP)
        os.utime(burst / f"db-{n}.sql.gz", (yesterday_noon + 60 * n,) * 2)
        (week / f"db-{n}.sql.gz").write_bytes(DUMP)
        age(week / f"db-{n}.sql.gz", n * 86400 + 60)
    recent = {"count": 7, "within": "8d", "per": "day"}
    probe = {"glob": "*.sql.gz", "judge": "newest", "recent": recent}
    by_count = await run({"file": {**probe, "recent": {"count": 7, "within": "8d"}}}, burst)
    one_day = await run({"file": probe}, burst)
    daily = await run({"file": probe}, week)
    assert by_count.status is Status.PASS  # what per: day is for
    assert (one_day.status, one_day.summary) == (
        Status.PARTIAL,
        "matches changed on 1 day within 8d (7 of 7 matches), expected at least 7 days",
    )
    assert daily.status is Status.PASS, daily.summary
    assert ", changed on 7 days within 8d; judged: the newest" in daily.summary


# -- read: tail ----------------------------------------------------------------------------------

JSON_LINES = "".join(
    f'{{"ts":"2026-11-30T10:00:{i:02d}Z","level":"info","msg":"booking {i}"}}\n' for i in range(50)
)


async def test_read_tail_judges_a_big_log_on_its_newest_part(tmp_path):
    big = JSON_LINES * (5 * 2**20 // len(JSON_LINES) + 1)
    (tmp_path / "app.log").write_text(big + "INFO:     127.0.0.1 - GET /health 200\n")
    (tmp_path / "clean.log").write_text(big)
    probe = {"must_match": ['(?m)^\\{.*"level"'], "must_not_match": [r"(?m)^[^{\s]"]}
    head = await run({"file": {"path": "app.log", **probe}}, tmp_path)
    tail = await run({"file": {"path": "app.log", "read": "tail", **probe}}, tmp_path)
    clean = await run({"file": {"path": "clean.log", "read": "tail", **probe}}, tmp_path)
    # From its start, only the first 4 MiB is read: no must_not_match verdict on the rest.
    assert head.status is Status.FAIL and head.error
    assert head.summary == "read only the first 4 MiB of app.log: cannot judge must_not_match"
    assert tail.status is Status.FAIL
    assert re.fullmatch(
        r"app\.log \(the last 4 MiB of 5\.0 MiB read\) line \d+ of that part "
        r"matches /\(\?m\)\^\[\^\{\\s\]/, expected no match",
        tail.summary,
    ), tail.summary
    assert clean.status is Status.PASS
    assert clean.summary.endswith("; judged on the last 4 MiB of 5.0 MiB)")


async def test_read_tail_starts_at_a_whole_line(tmp_path):
    # The 4 MiB boundary falls inside a JSON line: its cut end is not a line of plain text.
    line = '{"level":"info","msg":"' + "x" * 1000 + '"}\n'
    (tmp_path / "app.log").write_text(line * (5 * 2**20 // len(line) + 1))
    result = await run(
        {"file": {"path": "app.log", "read": "tail", "must_not_match": [r"(?m)^[^{]"]}},
        tmp_path,
    )
    assert result.status is Status.PASS, result.summary


async def test_yaml_document_with_jmespath(tmp_path):
    (tmp_path / "docker-compose.prod.yml").write_text(COMPOSE)
    memory = await run(
        {
            "file": {
                "path": "docker-compose.prod.yml",
                "document": "yaml",
                "assert": [
                    {
                        "path": "values(services)[?!(deploy.resources.limits.memory || mem_limit)]",
                        "op": "length",
                        "value": 0,
                    }
                ],
            }
        },
        tmp_path,
    )
    cpus = await run(
        {
            "file": {
                "path": "docker-compose.prod.yml",
                "document": "yaml",
                "assert": [
                    {
                        "path": (
                            "values(services)[?deploy.resources.limits.cpus == null] | length(@)"
                        ),
                        "expect": "== 0",
                    },
                    {"path": "length(keys(services))", "expect": ">= 2"},
                ],
            }
        },
        tmp_path,
    )
    assert memory.status is Status.PASS, memory.summary
    (tmp_path / "docker-compose.prod.yml").write_text(COMPOSE.replace("memory: 256M", "cpus: '1'"))
    unlimited = await run(
        {
            "file": {
                "path": "docker-compose.prod.yml",
                "document": "yaml",
                "assert": [
                    {
                        "path": "values(services)[?!(deploy.resources.limits.memory || mem_limit)]",
                        "op": "length",
                        "value": 0,
                    }
                ],
            }
        },
        tmp_path,
    )
    assert unlimited.status is Status.FAIL
    # the services without a memory limit, counted (a list of mappings has no names to show)
    assert unlimited.summary == (
        "docker-compose.prod.yml values(services)[?!(deploy.resources.limits.memory || mem_l…: "
        "1, expected none"
    )
    assert cpus.status is Status.PARTIAL
    assert cpus.summary == (
        "docker-compose.prod.yml values(services)[?deploy.resources.limits.cpus == null] | l…: "
        "1, expected 0"
    )


async def test_json_document_not_json_fails(tmp_path):
    (tmp_path / "flags.json").write_text("{not json")
    result = await run(
        {
            "file": {
                "path": "flags.json",
                "document": "json",
                "assert": [{"path": "debug", "op": "==", "value": False}],
            }
        },
        tmp_path,
    )
    assert result.status is Status.FAIL
    assert result.summary == "flags.json is not valid JSON"


async def test_fifo_is_refused_instead_of_blocking(tmp_path):
    # The one way a local read blocks; the engine's timeout covers a hung network mount.
    os.mkfifo(tmp_path / "pipe.md")
    result = await run({"file": {"path": "pipe.md", "headings": ["x"]}}, tmp_path, timeout="1s")
    assert result.summary == "pipe.md is not a regular file"


@pytest.mark.parametrize(
    "probe, message",
    [
        ({"max_age": "1d"}, "file.path or glob is required: give exactly one"),
        ({"path": "a", "glob": "*.md"}, "file.path or glob is required: give exactly one"),
        ({"path": "a", "min_count": 3}, "file.min_count applies to glob only"),
        (
            {"path": "a", "document": "yaml"},
            "file.document and assert go together: the format to parse and what to check",
        ),
        (
            {"path": "a", "must_not_match": ["(unclosed"]},
            "file.must_not_match[0] must be a regular expression in RE2 syntax "
            "(missing ): (unclosed; no lookaround or backreferences, "
            'see https://github.com/google/re2/wiki/Syntax) (got "(unclosed")',
        ),
        (
            {"path": "a", "document": "toml", "assert": [{"path": "a", "op": "==", "value": 1}]},
            'file.document must be one of yaml, json (got "toml")',
        ),
        ({"path": "a", "judge": "newest"}, "file.judge applies to glob only"),
        ({"path": "a", "exclude": ["README.md"]}, "file.exclude applies to glob only"),
        (
            {"glob": "*.md", "exclude": ["docs/README.md"]},
            "file.exclude[0] is matched against file names, so it cannot hold a / "
            '(got "docs/README.md")',
        ),
        (
            {"glob": "*.md", "judge": "oldest"},
            'file.judge must be one of every, newest (got "oldest")',
        ),
        ({"glob": "*.gz", "recent": {"count": 7}}, "file.recent.within is required"),
        (
            {"glob": "*.gz", "recent": {"count": 7, "within": "8d", "per": "week"}},
            'file.recent.per must be one of day (got "week")',
        ),
        (
            {"glob": "*.gz", "recent": {"count": 0, "within": "8d"}},
            "file.recent.count must be at least 1 (got 0)",
        ),
        (
            {"path": "a", "max_age": "1d", "freshness": "commit"},
            'file.freshness must be one of file, git (got "commit")',
        ),
        ({"path": "a", "read": "end"}, 'file.read must be one of head, tail (got "end")'),
        (
            {"path": "a", "freshness": "git"},
            "file.freshness needs max_age or recent: the checks that judge a time",
        ),
        (
            {"path": "a", "heading_content": True},
            "file.heading_content needs headings: the sections whose content is judged",
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"file": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )


async def test_yaml_document_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    lines.append("services: *a8")
    (tmp_path / "compose.yml").write_text("\n".join(lines) + "\n")
    result = await run(
        {
            "file": {
                "path": str(tmp_path / "compose.yml"),
                "document": "yaml",
                "assert": [{"path": "services", "op": "length", "value": "== 1"}],
            }
        },
        tmp_path,
        timeout="2s",
    )
    assert result.status is Status.FAIL and not result.error  # judged, not timed out
    assert "refusing to expand" in result.summary


async def test_must_not_match_that_could_not_read_it_all_cannot_pass(tmp_path):
    """A secret past the first 4 MiB was never read: "no match" would be a PASS without proof."""
    padding = "x" * 79 + "\n"
    (tmp_path / "small.env").write_text(padding * 10 + "API_KEY=sk_live_123\n")
    (tmp_path / "clean.env").write_text(padding * 10)
    big = padding * (4 * 1024 * 1024 // len(padding) + 1) + "API_KEY=sk_live_123\n"
    (tmp_path / "big.env").write_text(big)
    probe = {"must_not_match": ["sk_live_"]}
    small = await run({"file": {"path": "small.env", **probe}}, tmp_path)
    clean = await run({"file": {"path": "clean.env", **probe}}, tmp_path)
    result = await run({"file": {"path": "big.env", **probe}}, tmp_path)
    assert small.status is Status.FAIL and not small.error
    assert clean.status is Status.PASS
    assert result.status is Status.FAIL and result.error
    assert result.summary == "read only the first 4 MiB of big.env: cannot judge must_not_match"
    # The other patterns judge what was read, as before.
    found = await run({"file": {"path": "big.env", "must_match": ["(?m)^x+$"]}}, tmp_path)
    assert found.status is Status.PASS


async def test_must_not_match_over_more_files_than_are_read_cannot_pass(tmp_path):
    """A glob said "1000 files match" and passed; the secret was in the 1,001st."""
    for n in range(1001):
        (tmp_path / f"f{n:04d}.cfg").write_text("ok\n")
    (tmp_path / "f1000.cfg").write_text("password = hunter2\n")
    probe = {"glob": "*.cfg", "must_not_match": ["password"]}
    result = await run({"file": probe}, tmp_path)
    (tmp_path / "f1000.cfg").unlink()
    fine = await run({"file": probe}, tmp_path)
    assert result.status is Status.FAIL and result.error
    assert result.summary == (
        f"1001 files match {tmp_path}/*.cfg, only the first 1000 are read: "
        "cannot judge must_not_match"
    )
    assert fine.status is Status.PASS, fine.summary


DUMP_SQL = (
    b"--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.guest (id integer);\n"
    + b"".join(b"INSERT INTO public.guest VALUES (%d);\n" % n for n in range(20_000))
    + b"\n--\n-- PostgreSQL database dump complete\n--\n\n"
)


async def test_complete_reads_a_gzip_dump_to_its_end(tmp_path):
    """A dump cut short by a full disk has no gzip trailer; a flipped byte fails the CRC."""
    whole = gzip.compress(DUMP_SQL)
    corrupt = bytearray(whole)
    corrupt[-8] ^= 0xFF  # the CRC-32 in the trailer
    for name, data in [("whole", whole), ("cut", whole[:4096]), ("corrupt", bytes(corrupt))]:
        (tmp_path / f"{name}.sql.gz").write_bytes(data)
    results = {
        name: await run({"file": {"path": f"{name}.sql.gz", "complete": "gzip"}}, tmp_path)
        for name in ("whole", "cut", "corrupt")
    }
    assert results["whole"].status is Status.PASS, results["whole"].summary
    assert results["cut"].status is Status.FAIL and not results["cut"].error
    assert results["cut"].summary == (
        "cut.sql.gz ends before its gzip trailer: truncated, expected a whole stream"
    )
    assert results["corrupt"].status is Status.FAIL and not results["corrupt"].error
    assert results["corrupt"].summary.startswith("corrupt.sql.gz is not a valid gzip stream (")


async def test_complete_pg_dump_wants_its_closing_comment(tmp_path):
    """pg_dump killed half-way while gzip closed its stream: a whole gzip file, half a dump."""
    half = DUMP_SQL[: len(DUMP_SQL) // 2]
    files = {
        "whole.sql.gz": gzip.compress(DUMP_SQL),
        "half.sql.gz": gzip.compress(half),
        "whole.sql": DUMP_SQL,
        "half.sql": half,
        # pg_dump 17.6 and later write \unrestrict after the comment
        "restricted.sql": DUMP_SQL + b"\\unrestrict 7Xk2\n\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    for name in files:
        result = await run({"file": {"path": name, "complete": "pg_dump"}}, tmp_path)
        if name.startswith("half"):
            assert result.status is Status.FAIL and not result.error, name
            assert result.summary == (
                f"{name} has no '-- PostgreSQL database dump complete' at its end: "
                "truncated, expected a whole pg_dump"
            )
        else:
            assert result.status is Status.PASS, (name, result.summary)
    plain = await run({"file": {"path": "whole.sql", "complete": "gzip"}}, tmp_path)
    assert plain.summary == "whole.sql is not gzip-compressed, expected a gzip file"


async def test_complete_that_cannot_read_to_the_end_cannot_judge(tmp_path, monkeypatch):
    """A custom-format dump, a dump over the byte cap and the time limit: probe errors."""
    (tmp_path / "db.dump").write_bytes(b"PGDMP\x01\x0f\x00" + b"\x00" * 100)
    (tmp_path / "db.sql.gz").write_bytes(gzip.compress(DUMP_SQL))
    custom = await run({"file": {"path": "db.dump", "complete": "pg_dump"}}, tmp_path)
    assert custom.status is Status.FAIL and custom.error
    assert "custom-format dump" in custom.summary
    # The time limit, come before the end of the stream (a direct call: the engine's deadline).
    late = file_probe.check_path(
        file_probe.Spec(path=tmp_path / "db.sql.gz", complete="gzip"), time.monotonic()
    )
    assert late.status is Status.FAIL and late.error
    assert late.summary.startswith("stopped at the time limit after reading ")
    assert late.summary.endswith(" of db.sql.gz: cannot judge whether it is complete")
    monkeypatch.setattr(file_probe, "COMPLETE_CAP", 1024)
    big = await run({"file": {"path": "db.sql.gz", "complete": "gzip"}}, tmp_path)
    assert big.status is Status.FAIL and big.error
    assert "complete reads at most" in big.summary


def test_complete_is_gzip_or_pg_dump(tmp_path):
    message = config_error({"file": {"path": "a", "complete": "zip"}}, tmp_path)
    assert message.endswith('file.complete must be one of gzip, pg_dump (got "zip")'), message
