"""Secrets kind: real git repositories with planted secrets, scanned by detect-secrets.

The planted values are made at run time (random, in the formats the scanner knows), so this
file holds none, and every test checks that no output carries a value or any 6-character
piece of one.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.probing import config_error, run
from support.procs import HealthWatch, http_get, probe_runs, start_exporter, wait_until

from probes import secrets as secrets_kind
from probes.context import ProbeContext, Resources
from probes.problems import Problems
from probes.registry import read_probe
from probes.result import Result, Status

RNG = random.SystemRandom()


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


class Planted:
    """Real-looking secrets of several kinds, new for every test."""

    def __init__(self) -> None:
        self.stripe = "sk_" + "live_" + rand(ALNUM, 24)
        self.typed = rand(ALNUM, 22)
        self.aws = "AKIA" + rand(string.ascii_uppercase + string.digits, 16)
        self.yaml_password = rand(ALNUM, 18)
        self.fixture_token = rand(ALNUM + "+/", 44)

    @property
    def values(self) -> list[str]:
        return [self.stripe, self.typed, self.aws, self.yaml_password, self.fixture_token]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(repo.parent),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "T",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def clean_app() -> dict[str, str]:
    """An application whose settings read everything from the environment."""
    return {
        "app/core/config.py": (
            "import os\n\n\nclass Settings:\n"
            '    secret_key: str = os.environ["SECRET_KEY"]\n'
            '    stripe_api_key: str = os.environ.get("STRIPE_API_KEY", "")\n'
            '    database_url: str = "postgresql://app@db/app"\n'
        ),
        "config/prod.yaml": "database:\n  host: db\n  password: ${DB_PASSWORD}\n",
        "README.md": "# App\n\nSet STRIPE_API_KEY and SECRET_KEY.\n",
    }


def leaky_app(p: Planted) -> dict[str, str]:
    """The traps: UPPER_CASE key, typed attribute, a key in YAML."""
    return {
        "app/payments.py": f'import stripe\n\nSTRIPE_API_KEY = "{p.stripe}"\n',
        "app/core/config.py": f'class Settings:\n    secret_key: str = "{p.typed}"\n',
        "config/prod.yaml": (
            f"aws:\n  access_key_id: {p.aws}\ndatabase:\n  password: {p.yaml_password}\n"
        ),
    }


def fixture_file(p: Planted) -> dict[str, str]:
    return {"tests/fixtures/tokens.py": f'FAKE_TOKEN = "{p.fixture_token}"\n'}


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "app")
    return root


def assert_nothing_shown(result: Result, planted: Planted, debug: list[str] = ()) -> None:
    """No planted value, nor any 6-character piece of one, in any output."""
    outputs = [result.summary, json.dumps(result.evidence), *debug]
    for value in planted.values:
        for i in range(len(value) - 5):
            piece = value[i : i + 6]
            for text in outputs:
                assert piece not in text, f"a piece of a planted secret is shown: {text[:200]}"


async def probe_with_debug(raw: dict, timeout: float = 60.0) -> tuple[Result, list[str]]:
    """Run the kind's probe directly with debug lines on (as "Probe now" does)."""
    problems = Problems("config.yaml")
    probe = read_probe({"secrets": raw}, Path("/"), problems)
    assert probe is not None and probe.spec is not None, problems.lines
    f_spec = probe.spec
    debug: list[str] = []
    ctx = ProbeContext(Resources(), timeout, debug)
    return await secrets_kind.probe(f_spec, ctx), debug


async def test_planted_secrets_fail_by_place_and_type_never_by_value(tmp_path):
    planted = Planted()
    repo = make_repo(tmp_path / "app", {**leaky_app(planted), **fixture_file(planted)})
    result, debug = await probe_with_debug({"path": str(repo), "exclude": ["tests/fixtures/"]})
    assert result.status is Status.FAIL and not result.error
    places = {(f["file"], f["line"]): f["types"] for f in result.evidence["findings"]}
    assert set(places) == {
        ("app/payments.py", 3),  # STRIPE_API_KEY = "sk_live_..." (upper case)
        ("app/core/config.py", 2),  # secret_key: str = "..." (typed attribute)
        ("config/prod.yaml", 2),  # an AWS key in YAML
        ("config/prod.yaml", 4),  # a password in YAML
    }
    assert "Stripe Access Key" in places[("app/payments.py", 3)]
    assert "Secret Keyword" in places[("app/payments.py", 3)]
    assert places[("app/core/config.py", 2)] == ["Secret Keyword (annotated)"]
    assert "AWS Access Key" in places[("config/prod.yaml", 2)]
    assert result.summary.startswith("4 hard-coded secrets in 3 files (git ls-files): ")
    assert "app/payments.py:3 (" in result.summary
    assert result.summary.endswith("expected at most 0; 1 excluded")
    assert_nothing_shown(result, planted, debug)


async def test_each_trap_alone_is_found(tmp_path):
    planted = Planted()
    for n, (name, text) in enumerate(leaky_app(planted).items()):
        repo = make_repo(tmp_path / f"app{n}", {**clean_app(), name: text})
        result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
        assert result.status is Status.FAIL, (name, result.summary)
        assert any(f["file"] == name for f in result.evidence["findings"])
        assert_nothing_shown(result, planted)


async def test_a_clean_repository_passes_and_a_fixture_excluded_by_config_is_not_judged(tmp_path):
    planted = Planted()
    repo = make_repo(tmp_path / "app", {**clean_app(), **fixture_file(planted)})
    result = await run(
        {"secrets": {"path": str(repo), "exclude": ["tests/fixtures/"]}}, tmp_path, timeout="60s"
    )
    assert (result.status, result.summary) == (
        Status.PASS,
        "no hard-coded secrets in 3 files (git ls-files), at most 0; 1 excluded",
    )
    # Without the exclusion, the fixture's high-entropy token is a finding.
    result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
    assert result.status is Status.FAIL
    assert result.evidence["findings"][0]["file"] == "tests/fixtures/tokens.py"
    assert_nothing_shown(result, planted)


async def test_untracked_files_are_judged_only_when_asked(tmp_path):
    planted = Planted()
    repo = make_repo(tmp_path / "app", {**clean_app(), ".gitignore": ".env\n"})
    write(repo, {".env": f"STRIPE_API_KEY={planted.stripe}\n"})
    tracked = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
    assert tracked.status is Status.PASS
    every = await run({"secrets": {"path": str(repo), "files": "all"}}, tmp_path, timeout="60s")
    assert every.status is Status.FAIL
    assert [f["file"] for f in every.evidence["findings"]] == [".env"]
    assert_nothing_shown(every, planted)


async def test_a_folder_that_is_not_a_repository_is_walked(tmp_path):
    planted = Planted()
    root = tmp_path / "export"
    write(root, leaky_app(planted))
    write(root, {".git/config": f"password = {planted.yaml_password}\n"})  # a stray .git folder
    result = await run({"secrets": {"path": str(root)}}, tmp_path, timeout="60s")
    assert result.status is Status.FAIL
    assert result.evidence["files_from"] == "walk"
    assert all(not f["file"].startswith(".git/") for f in result.evidence["findings"])
    assert_nothing_shown(result, planted)


async def test_links_are_not_followed(tmp_path):
    planted = Planted()
    outside = tmp_path / "outside.py"
    outside.write_text(f'STRIPE_API_KEY = "{planted.stripe}"\n')
    repo = make_repo(tmp_path / "app", clean_app())
    (repo / "linked.py").symlink_to(outside)
    git(repo, "add", "linked.py")
    git(repo, "commit", "-q", "-m", "link")
    result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
    assert result.status is Status.PASS, result.summary


async def test_a_scan_over_its_bounds_is_a_probe_error_not_a_pass(tmp_path):
    repo = make_repo(tmp_path / "app", clean_app())
    result = await run({"secrets": {"path": str(repo), "max_files": 2}}, tmp_path, timeout="60s")
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == "cannot judge: 3 files, more than max_files 2"
    result = await run({"secrets": {"path": str(repo), "max_bytes": 100}}, tmp_path, timeout="60s")
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith("cannot judge: ") and "more than max_bytes" in result.summary
    write(repo, {"app/static/bundle.js": "x" * 5000})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bundle")
    result = await run(
        {"secrets": {"path": str(repo), "max_file_bytes": 4096}}, tmp_path, timeout="60s"
    )
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == (
        "cannot judge: app/static/bundle.js is 5 KiB, more than max_file_bytes 4 KiB "
        "(exclude it or raise the bound)"
    )


def test_a_scan_out_of_time_is_a_probe_error(tmp_path):
    repo = make_repo(tmp_path / "app", clean_app())
    listing = secrets_kind.list_files(repo, "auto", (), 30)
    scan = secrets_kind.scan(listing, deadline=time.monotonic() - 1)
    assert scan.stopped == "stopped after 0 of 3 files: out of time"
    result = secrets_kind.judge(listing, scan, 0)
    assert (result.status, result.error) == (Status.FAIL, True)


def real_baseline(repo: Path) -> dict:
    """A baseline as detect-secrets writes one (its own API, with no verification)."""
    from detect_secrets import SecretsCollection
    from detect_secrets.core import baseline

    collection = SecretsCollection(root=str(repo))
    with secrets_kind.configured_scanner():
        cwd = Path.cwd()
        os.chdir(repo)
        try:
            collection.scan_files(*secrets_kind.list_files(repo, "tracked", (), 30).files)
        finally:
            os.chdir(cwd)
        return baseline.format_for_output(collection)


async def test_audited_false_positives_in_a_baseline_are_ignored_others_count(tmp_path):
    planted = Planted()
    repo = make_repo(tmp_path / "app", {**clean_app(), **fixture_file(planted)})
    doc = real_baseline(repo)
    assert list(doc["results"]) == ["tests/fixtures/tokens.py"]
    (repo / ".secrets.baseline").write_text(json.dumps(doc))
    git(repo, "add", ".secrets.baseline")
    git(repo, "commit", "-q", "-m", "baseline")
    spec = {"path": str(repo), "baseline": str(repo / ".secrets.baseline")}
    # Listed but not audited: still a finding.
    result = await run({"secrets": spec}, tmp_path, timeout="60s")
    assert result.status is Status.FAIL, result.summary
    # Audited as a false positive (detect-secrets audit writes is_secret: false).
    for entry in doc["results"]["tests/fixtures/tokens.py"]:
        entry["is_secret"] = False
    (repo / ".secrets.baseline").write_text(json.dumps(doc))
    result = await run({"secrets": spec}, tmp_path, timeout="60s")
    assert result.status is Status.PASS, result.summary
    assert "1 audited false positives ignored" in result.summary
    assert "1 excluded" in result.summary  # the baseline file itself
    assert_nothing_shown(result, planted)


async def test_a_broken_baseline_cannot_judge(tmp_path):
    repo = make_repo(tmp_path / "app", clean_app())
    (tmp_path / "b.json").write_text("[]")
    result = await run(
        {"secrets": {"path": str(repo), "baseline": str(tmp_path / "b.json")}},
        tmp_path,
        timeout="60s",
    )
    assert (result.status, result.error) == (Status.FAIL, True)
    assert (
        result.summary == "cannot judge: baseline b.json has no results (a detect-secrets baseline)"
    )


def test_the_scanner_never_verifies_online():
    config = secrets_kind.settings()
    paths = {f["path"] for f in config["filters_used"]}
    assert not any("verification" in p for p in paths)
    assert "IPPublicDetector" not in {p["name"] for p in config["plugins_used"]}


async def test_no_request_leaves_the_process_during_a_scan(tmp_path, monkeypatch):
    import requests

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("detect-secrets tried to send a request")

    monkeypatch.setattr(requests.Session, "send", refuse)
    planted = Planted()
    repo = make_repo(tmp_path / "app", leaky_app(planted))
    result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
    assert result.status is Status.FAIL


def test_config_errors_name_the_field(tmp_path):
    assert config_error({"secrets": {}}, tmp_path).endswith("secrets.path is required")
    assert config_error({"secrets": {"path": ".", "files": "some"}}, tmp_path).endswith(
        'secrets.files must be one of auto, tracked, all (got "some")'
    )
    assert config_error({"secrets": {"path": ".", "max_findings": -1}}, tmp_path).endswith(
        "secrets.max_findings must be at least 0 (got -1)"
    )


def test_a_walk_out_of_time_cannot_judge(tmp_path):
    """The walk runs on a worker thread nothing can interrupt: it watches the deadline itself."""
    root = tmp_path / "tree"
    write(root, {"a/x.py": "x = 1\n", "b/y.py": "y = 2\n"})
    with pytest.raises(
        secrets_kind.CannotJudge, match=r"^stopped listing files at the time limit after 0$"
    ):
        secrets_kind.list_files(root, "all", (), -1)
    assert secrets_kind.list_files(root, "all", (), 30).files == ("a/x.py", "b/y.py")


@pytest.mark.parametrize(
    ("pattern", "excluded", "kept"),
    [
        ("tests/fixtures/", ["tests/fixtures/a.py"], ["tests/a.py", "a/tests/fixtures.py"]),
        ("*.md", ["README.md", "docs/x.md"], ["docs/x.mdx"]),
        ("/docs", ["docs/x.md"], ["app/docs/x.md"]),
        ("**/*.example", ["a/b/.env.example"], ["a/b/.env"]),
    ],
)
def test_exclude_patterns_are_gitignore_patterns(tmp_path, pattern, excluded, kept):
    root = tmp_path / "tree"
    write(root, dict.fromkeys(excluded + kept, "x\n"))
    listing = secrets_kind.list_files(root, "all", (pattern,), 30)
    assert sorted(listing.files) == sorted(kept)


def test_a_file_the_scanner_cannot_open_is_a_probe_error_not_a_pass(tmp_path):
    """detect-secrets skips a file it cannot open with a log line; the kind must not PASS."""
    from test_faults import NO_READ_OVERRIDE  # setpriv without the capabilities to read 000

    planted = Planted()
    # The only secret is in the file that cannot be read: skipping it silently would PASS.
    payments = {"app/payments.py": leaky_app(planted)["app/payments.py"]}
    repo = make_repo(tmp_path / "app", {**clean_app(), **payments})
    (repo / "app" / "payments.py").chmod(0)
    code = (
        "import time; from pathlib import Path; from probes import secrets as s; "
        f"r = s.run(s.Spec(Path({str(repo)!r})), time.monotonic() + 60); "
        "print(r.status.value, r.error, r.summary)"
    )
    out = subprocess.run(
        [*NO_READ_OVERRIDE, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.startswith("fail True cannot judge: app/payments.py cannot be read"), out
    for value in planted.values:
        assert value[:6] not in out.stdout + out.stderr


async def test_text_that_is_not_utf8_cannot_be_judged_binary_is_skipped(tmp_path):
    """detect-secrets skips, without a word, a file that does not decode as UTF-8."""
    planted = Planted()
    repo = make_repo(tmp_path / "app", clean_app())
    (repo / "legacy.ini").write_bytes(
        f"; caf\xe9 config\npassword = {planted.yaml_password}\n".encode("latin-1")
    )
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (repo / "data.bin").write_bytes(b"\0\1\2" + planted.stripe.encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")
    result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith(
        "cannot judge: legacy.ini is not UTF-8 text, which the scanner cannot read"
    )
    result = await run(
        {"secrets": {"path": str(repo), "exclude": ["legacy.ini"]}}, tmp_path, timeout="60s"
    )
    assert result.status is Status.PASS, result.summary
    assert result.evidence["binary_files_skipped"] == 2
    assert_nothing_shown(result, planted)


# -- Lines the scanner's patterns would spend the daemon's time on ------------------------------


def _bundle(planted: Planted, length: int) -> str:
    """A minified line of ``length`` characters with a live key in its middle."""
    key = f'STRIPE_API_KEY="{planted.stripe}";'
    filler = "var a=1;" * (length // 16)
    return (filler + key + filler).ljust(length, " ")[:length] + "\n"


async def test_a_long_line_is_scanned_in_windows_and_its_secret_found(tmp_path):
    """detect-secrets' keyword rule is quadratic in a line: a line over max_line_length is read in
    overlapping windows. A built e-mail template's long clean line passes (the trial's S-002 was
    "cannot judge" for it); a key in the middle of a minified bundle, or across a window's edge,
    is found at its line, never shown."""
    planted = Planted()
    template = "<td style=" + '"padding:0;margin:0;"' * 200 + ">Welcome</td>\n"
    clean = make_repo(tmp_path / "clean", {**clean_app(), "build/new_account.html": template})
    result = await run({"secrets": {"path": str(clean)}}, tmp_path, timeout="60s")
    assert (result.status, result.error) == (Status.PASS, False), result.summary
    for length in (1500, 5000):
        repo = make_repo(
            tmp_path / f"app{length}",
            {**clean_app(), "static/app.min.js": _bundle(planted, length)},
        )
        result, debug = await probe_with_debug({"path": str(repo)})
        assert (result.status, result.error) == (Status.FAIL, False), result.summary
        assert [(f["file"], f["line"]) for f in result.evidence["findings"]] == [
            ("static/app.min.js", 1)
        ]
        assert_nothing_shown(result, planted, debug)
    # The key across each window edge in turn: 800 + 100 characters start the second window.
    for offset in range(700, 1001, 50):
        line = "x" * offset + f'STRIPE_API_KEY="{planted.stripe}";' + "y" * 1500
        repo = make_repo(tmp_path / f"edge{offset}", {**clean_app(), "a.js": line + "\n"})
        result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
        assert result.status is Status.FAIL and not result.error, (offset, result.summary)
    excluded = await run(
        {"secrets": {"path": str(repo), "exclude": ["*.js"]}}, tmp_path, timeout="60s"
    )
    assert excluded.status is Status.PASS, excluded.summary


async def test_a_yaml_block_of_ordinary_lines_is_not_a_long_line(tmp_path):
    """detect-secrets reads a YAML block scalar as one line; its lines are measured one by one."""
    script = "".join(f"        echo step {n} of the build and test job here\n" for n in range(60))
    workflow = "jobs:\n  test:\n    steps:\n      - run: |\n" + script
    repo = make_repo(tmp_path / "app", {**clean_app(), ".github/workflows/ci.yml": workflow})
    result = await run({"secrets": {"path": str(repo)}}, tmp_path, timeout="60s")
    assert (result.status, result.summary) == (
        Status.PASS,
        "no hard-coded secrets in 4 files (git ls-files), at most 0",
    )


def test_a_scan_past_its_deadline_stops_at_the_next_line(tmp_path):
    """The clock is read before each line, not only between files: one file of slow lines
    (0.2 s each for the scanner's keyword rule) stops where the deadline passed."""
    root = tmp_path / "tree"
    write(root, {"slow.txt": ("pwd" * 333 + "\n") * 20})
    listing = secrets_kind.list_files(root, "all", (), 30)
    result = secrets_kind.scan(listing, deadline=time.monotonic() + 0.3)
    assert result.stopped is not None and result.stopped.startswith("stopped at slow.txt:")
    line = int(result.stopped.split(":")[1].split()[0])
    assert line < 20, result.stopped  # it did not read the file to its end
    assert result.stopped.endswith(" after 0 of 1 files: out of time")


def _old_annotated_rule() -> re.Pattern[str]:
    """The rule as it was written for Python's re (cubic in spaces), to compare findings."""
    from detect_secrets.plugins import keyword

    return re.compile(
        keyword.DENYLIST_REGEX
        + r"\s*:\s*[^\v=:'\"`<>{}]+?\s*=\s*"
        + rf"({keyword.QUOTE})({keyword.SECRET})(\2)",
        flags=re.IGNORECASE,
    )


def test_the_annotated_rule_on_re2_finds_what_it_found_on_re():
    """Same findings on lines built from the pieces the rule reads, in any order."""
    from probes.secret_plugins import AnnotatedKeywordDetector

    old = _old_annotated_rule()
    rule = AnnotatedKeywordDetector()
    parts = [
        *("password", "PassWord", "api_key", "secret", "contraseña", "CONTRASEÑA", "pwd", "_x"),
        *(":", " ", "\t", "\xa0", "\u2003", "=", "'", '"', "`", ",", "str", "Optional[str]"),
        *("a", "1", "é", "<", "{", "\x0b", "-", "$"),
    ]
    rng = random.Random(12)
    for _ in range(20_000):
        line = "".join(rng.choice(parts) for _ in range(rng.randint(1, 14)))
        assert list(rule.analyze_string(line)) == [m.group(3) for m in old.finditer(line)], line
    typed = 'class S:\n    secret_key: str = "s3cr3t-v4lue"'
    assert list(rule.analyze_string(typed)) == ["s3cr3t-v4lue"]


def test_healthy_keeps_answering_while_a_repository_of_such_lines_is_scanned(tmp_path: Path):
    """The reviewer's line (``password:``, 3,500 spaces: 11 s of a held GIL with the old rule),
    scanned whole, and a line of keywords too long to scan, in two repositories scanned every
    second.

    ``/-/healthy`` is asked back to back; an answer slower than 5 s fails the test. The
    latencies are printed, not asserted.
    """
    spaces = make_repo(
        tmp_path / "spaces", {**clean_app(), "settings.py": "password:" + " " * 3500 + "x\n"}
    )
    keywords = make_repo(tmp_path / "keywords", {**clean_app(), "words.txt": "pwd" * 5000 + "\n"})
    config = tmp_path / "config.yaml"
    # R-1 raises the line bound, so that its line meets the annotated rule.
    items = "".join(
        f"      - {{id: {item}, title: Scan, priority: high, interval: 1s, timeout: 1s,\n"
        f"         probe: {{secrets: {{path: {repo}, max_line_length: {bound}}}}}}}\n"
        for item, repo, bound in (("R-1", spaces, 10_000), ("R-2", keywords, 1_000))
    )
    config.write_text(f"categories:\n  - id: c\n    title: C\n    items:\n{items}")
    proc, base = start_exporter(config, tmp_path / "exporter.log")

    def shown_item(item: str) -> dict[str, Any]:
        return json.loads(http_get(f"{base}/api/v1/items/{item}")[1])

    def summary(item: str) -> str:
        return str(shown_item(item)["summary"])

    def runs(item: str) -> float:
        return probe_runs(base, item)

    try:
        with HealthWatch(base) as health:
            wait_until(lambda: "hard-coded" in summary("R-1"), 60, "a scan of R-1")
            wait_until(lambda: runs("R-2") >= 1, 60, "a scan of R-2")
            first = runs("R-1"), runs("R-2")
            wait_until(
                lambda: runs("R-1") >= first[0] + 2 and runs("R-2") >= first[1] + 2,
                60,
                "two more scans of each",
            )
            shown = summary("R-1"), summary("R-2")
            r2 = shown_item("R-2")
    finally:
        proc.stop()
    assert not health.failures, health.failures[:5]
    assert shown[0] == "no hard-coded secrets in 4 files (git ls-files), at most 0"
    # 15 windows of keywords at up to 0.2 s each: more than the 1 s item's time, never a PASS.
    # The scan stops itself, or on a slow machine the engine's deadline comes first: either way
    # a probe error that names why.
    assert r2["status"] == "fail" and r2["error"] is True, r2
    assert (
        shown[1].endswith("cannot judge")
        or "cannot judge: stopped at words.txt:1" in shown[1]
        or shown[1] == "timed out after 1s"
    ), shown[1]
    print("\n" + health.report("secrets scans of adversarial lines"))
