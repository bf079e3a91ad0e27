"""Blocking work on bounded pools of its own: a stalled mount takes its pool, nothing else.

A folder whose file-system calls never return stands in for a hung network mount (the calls are
patched for that folder only). File probes pointed at it fill the file workers; attestations,
config reloads and shutdown must go on regardless, and a glob's walk stops at its bounds.
"""

from __future__ import annotations

import asyncio
import glob
import os
import signal
import time
from os.path import isfile
from pathlib import Path

import pytest
from support.procs import start_exporter, wait_until
from support.stalls import stalled_folder  # noqa: F401 - a fixture used below

from exporter import config
from exporter.daemon import Daemon
from probes import file as file_probe
from probes.context import FILE_WORKERS, WorkerPool
from probes.result import Status
from probes.walk import WalkStopped, bounded_glob

SHUTDOWN_PROMISE = 5.0  # seconds from SIGTERM to exit, as docs/security.md promises
# support.stalls for a process of its own: every call under FOLDER blocks for good.
STALLING_SITE = """\
import os, threading
_never = threading.Event()
def _stalling(real):
    def call(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(FOLDER):
            _never.wait()
        return real(path, *args, **kwargs)
    return call
for _name in ("stat", "lstat", "open", "scandir", "statvfs"):
    setattr(os, _name, _stalling(getattr(os, _name)))
"""


def stalled_config(folder: Path, evidence: Path, stalled_items: int) -> str:
    stalled = "\n".join(
        f"      - {{id: F-{n}, title: stalled {n}, priority: high, timeout: 1s, "
        f'probe: {{file: {{path: "{folder}/file-{n}.md"}}}}}}'
        for n in range(stalled_items)
    )
    return f"""\
categories:
  - id: c
    title: C
    items:
{stalled}
      - {{id: A-1, title: signed, priority: high, timeout: 1s,
          probe: {{attestation: {{file: "{evidence}"}}}}}}
"""


def sign(path: Path) -> None:
    path.write_text(
        "item: A-1\nstatus: pass\nvalidated_by: Jane Doe\ndate: 2026-01-05\nevidence: [drill]\n"
    )


async def test_a_stalled_mount_takes_only_the_file_workers(tmp_path, stalled_folder):  # noqa: F811
    evidence = tmp_path / "A-1.yaml"
    sign(evidence)
    path = tmp_path / "config.yaml"
    # More stalled items than file workers: the last ones wait for a worker, then give up.
    path.write_text(stalled_config(stalled_folder, evidence, FILE_WORKERS + 2))
    daemon = Daemon(path, {})
    engine = daemon.engine
    try:
        snap = await engine.run_round()
        states = snap.states
        stalled = [states[f"F-{n}"] for n in range(FILE_WORKERS + 2)]
        assert all((s.status, s.result.error) == (Status.FAIL, True) for s in stalled)
        waited = [s for s in stalled if "waited for a files worker" in s.result.summary]
        assert len(waited) == 2, [s.result.summary for s in stalled]
        assert waited[0].result.summary.endswith(
            f"no answer within the 1s timeout; cannot judge "
            f"(it waited for a files worker: all {FILE_WORKERS} busy)"
        )
        # Attestations have workers of their own.
        assert states["A-1"].status is Status.PASS, states["A-1"].result
        # A reload reads the config on Python's shared pool, which the stalled calls left free.
        # (Bounded so that a reload queued behind stuck threads fails here instead of hanging.)
        assert await asyncio.wait_for(daemon.reload(), 30) == []
        assert engine.resources.files.busy == FILE_WORKERS
    finally:
        await engine.stop()


async def test_queued_calls_are_dropped_when_the_probe_gives_up():
    pool = WorkerPool("test", 1)
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    blocker = pool.submit(lambda: asyncio.run_coroutine_threadsafe(release.wait(), loop).result())
    ran = []
    queued = pool.submit(ran.append, 1)
    assert queued.cancel()  # what a probe that gave up does to a call not yet started
    release.set()
    await asyncio.wrap_future(blocker)
    later = pool.submit(ran.append, 2)
    await asyncio.wrap_future(later)
    assert ran == [2]
    pool.close()
    with pytest.raises(RuntimeError, match="the test workers are closed"):
        pool.submit(ran.append, 3)


def test_shutdown_is_prompt_while_threads_are_stuck_in_a_stalled_mount(tmp_path: Path):
    """SIGTERM with file probes stuck in the file system: the exporter exits anyway.

    A ``sitecustomize`` in the exporter process makes every call under one folder block for
    good; Python's own thread pool would be joined at exit and wait on them forever.
    """
    site = tmp_path / "site"
    site.mkdir()
    folder = tmp_path / "stalled-mount"
    (site / "sitecustomize.py").write_text(STALLING_SITE.replace("FOLDER", repr(str(folder))))
    evidence = tmp_path / "A-1.yaml"
    sign(evidence)
    path = tmp_path / "config.yaml"
    path.write_text(stalled_config(folder, evidence, FILE_WORKERS))
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc, base = start_exporter(path, tmp_path / "exporter.log", env=env)
    try:
        from support.procs import http_get

        def stuck() -> bool:
            text = http_get(f"{base}/metrics")[1].decode()
            return 'readiness_probe_errors_total{item="F-0"} 1.0' in text

        wait_until(stuck, 30, "the stalled items' first runs")
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        code = proc.proc.wait(SHUTDOWN_PROMISE)  # raises TimeoutExpired past the promise
        took = time.monotonic() - started
    finally:
        proc.stop()
    print(f"\nSIGTERM to exit with {FILE_WORKERS} threads stuck in a stalled mount: {took:.2f}s")
    assert code == 0, proc.log_path.read_text()[-2000:]


# -- the glob's walk ---------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in (
        "a.md",
        "b.txt",
        ".hidden.md",
        "docs/x.md",
        "docs/y.txt",
        "docs/deep/z.md",
        "docs/deep/deeper/w.md",
        ".git/config.md",
        "other/docs/v.md",
        "ab1.txt",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    "pattern",
    [
        "*.md",
        "**/*.md",
        "**",
        "docs/*.md",
        "*/docs/*.md",
        "docs/**/*.md",
        "**/deep/*.md",
        ".*.md",
        ".git/*",
        "a?[0-9].txt",
        "docs/x.md",
        "nothing/*.md",
    ],
)
def test_the_walk_matches_as_glob_does(tree: Path, pattern: str):
    # Files are what the probe judges (glob also names the folder "**" starts from).
    expected = [p for p in sorted(glob.glob(str(tree / pattern), recursive=True)) if isfile(p)]
    found = bounded_glob(str(tree / pattern), 1000, time.monotonic() + 60)
    assert [p for p in found if isfile(p)] == expected


def test_the_walk_stops_at_its_entry_bound(tree: Path):
    with pytest.raises(WalkStopped, match="stopped after visiting 5 entries"):
        bounded_glob(str(tree / "**/*.md"), 5, time.monotonic() + 60)


def test_the_walk_stops_at_its_deadline(tree: Path):
    with pytest.raises(WalkStopped, match="stopped at the time limit after visiting 1 entries"):
        bounded_glob(str(tree / "**/*.md"), 1000, time.monotonic() - 1)


def test_a_walk_cut_short_is_a_probe_error_never_a_pass(tree: Path, monkeypatch):
    """A must-not check over part of a tree proves nothing: the secret may be in the rest."""
    spec = (
        config.parse(
            {
                "categories": [
                    {
                        "id": "c",
                        "items": [
                            {
                                "id": "N-1",
                                "title": "no secrets",
                                "priority": "critical",
                                "probe": {
                                    "file": {"glob": "**/*.md", "must_not_match": ["password"]}
                                },
                            }
                        ],
                    }
                ]
            },
            tree / "config.yaml",
            {},
        )
        .items[0]
        .spec
    )
    assert file_probe.check_glob(spec, time.monotonic() + 60).status is Status.PASS
    monkeypatch.setattr(file_probe, "MAX_VISITED", 5)
    cut = file_probe.check_glob(spec, time.monotonic() + 60)
    assert (cut.status, cut.error) == (Status.FAIL, True)
    assert cut.summary == f"{tree}/**/*.md: stopped after visiting 5 entries, cannot judge"
