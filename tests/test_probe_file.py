"""File probe on real files in tmp_path: globs, freshness, size, patterns, headings, documents."""

from __future__ import annotations

import os
import time

import pytest
from support.probing import config_error, run

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


async def test_plain_path_keeps_its_summary(tmp_path):
    (tmp_path / "sla.md").write_text("Uptime 99.9%\n")
    result = await run({"file": {"path": "sla.md", "content_regex": r"99\.9"}}, tmp_path)
    assert result.status is Status.PASS
    assert result.summary.startswith("sla.md present (13 bytes, modified ")


async def test_glob_with_min_count(tmp_path):
    books = tmp_path / "runbooks"
    books.mkdir()
    for i in range(10):
        (books / f"{i:02}-scenario.md").write_text(f"# Scenario {i}\n")
    enough = await run({"file": {"glob": "runbooks/*.md", "min_count": 10}}, tmp_path)
    few = await run({"file": {"glob": "runbooks/*.md", "min_count": 12}}, tmp_path)
    none = await run({"file": {"glob": "runbooks/*.txt"}}, tmp_path)
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
    assert stale.summary == "newest match db-2.sql.gz is 1d6h old, expected at most 1d2h"
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
    ok = await run({"file": {"path": "RTO-RPO.md", "headings": ["RTO", "RPO"]}}, tmp_path)
    some = await run({"file": {"path": "RTO-RPO.md", "headings": ["RTO", "Failover"]}}, tmp_path)
    none = await run({"file": {"path": "RTO-RPO.md", "headings": ["Contacts"]}}, tmp_path)
    assert ok.status is Status.PASS
    assert some.status is Status.PARTIAL and some.summary == "RTO-RPO.md has no heading Failover"
    assert none.status is Status.FAIL


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
    assert unlimited.summary.endswith(
        'observed [{"deploy": {"resources": {"limits": {"cpus": '
        '"1"}}}, "image": "agent:1.4"}], expected length == 0'
    )
    assert cpus.status is Status.PARTIAL
    assert cpus.summary == (
        "docker-compose.prod.yml values(services)[?deploy.resources.limits.cpus"
        " == null] | length(@): observed 1, expected == 0"
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
