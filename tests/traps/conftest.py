"""Fixtures the trap tests share: reports made once per session by the real tools, and a
folder writer for repositories and env files."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from support.postgres import Cluster

from traps.artifacts import Reports, make_reports
from traps.databases import Database, drop_database, new_database, start_tls_cluster
from traps.dumps import Dumps, make_dumps
from traps.history import start_history
from traps.metrics import BAD_RULES, GOOD_RULES, JOBS, OWN_RULES_ONLY
from traps.stacks import (
    AlertingStack,
    Prometheus,
    Receiver,
    closed_url,
    notifications_done,
    start_alerting,
    start_scraping,
    wait_until,
)


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    return make_reports(tmp_path_factory.mktemp("reports"))


def write_tree(root: Path, files: Mapping[str, str | bytes | Path]) -> Path:
    """Write ``{relative path: text, bytes, or a file to copy}`` under ``root``; returns root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            path.write_bytes(content.read_bytes())
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    root.mkdir(parents=True, exist_ok=True)
    return root


def age(path: Path, days: float) -> Path:
    """Set ``path``'s modification time ``days`` back (as a copy from an old run keeps it)."""
    then = time.time() - days * 86400
    os.utime(path, (then, then))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[str, Mapping[str, str | bytes | Path]], Path]:
    """``tree("bad", {...})``: a fresh folder under tmp_path holding those files."""

    def make(name: str, files: Mapping[str, str | bytes | Path]) -> Path:
        return write_tree(tmp_path / name, files)

    return make


@pytest.fixture(scope="session")
def trap_cluster() -> Iterator[Cluster]:
    """The traps' PostgreSQL (TLS on), started once, outside pytest's 0700 basetemp."""
    workdir = Path(tempfile.mkdtemp(prefix="readiness-traps-pg-"))
    try:
        cluster = start_tls_cluster(workdir)
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def database(trap_cluster: Cluster) -> Iterator[Database]:
    """A database of this test's own in the traps' cluster."""
    db = new_database(trap_cluster)
    try:
        yield db
    finally:
        drop_database(db)


@pytest.fixture(scope="session")
def scraping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus scraping a good and a bad job of each kind (traps.metrics.JOBS), with the
    good alerting rules loaded."""
    prom = start_scraping(tmp_path_factory.mktemp("scraping"), JOBS, GOOD_RULES)
    yield prom
    prom.stop()


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus whose jobs have days of past (traps.history): the window items' data."""
    with start_history(tmp_path_factory.mktemp("history")) as prom:
        yield prom


@pytest.fixture(scope="session")
def bad_rules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus whose loaded rules look like detection but are not (traps.metrics)."""
    prom = start_scraping(
        tmp_path_factory.mktemp("bad-rules"), {"app-good": JOBS["app-good"]}, BAD_RULES
    )
    yield prom
    prom.stop()


@pytest.fixture(scope="session")
def own_rules_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus that evaluates this exporter's own rules and none of the application's."""
    prom = start_scraping(
        tmp_path_factory.mktemp("own-rules"), {"app-good": JOBS["app-good"]}, OWN_RULES_ONLY
    )
    yield prom
    prom.stop()


@pytest.fixture(scope="session")
def deliveries(tmp_path_factory) -> Iterator[tuple[AlertingStack, AlertingStack, AlertingStack]]:
    """Three stacks: receivers that answer (Slack and PagerDuty), Slack only, and every
    receiver at a dead port; each has delivered (or failed) at least once."""
    receiver = Receiver()
    stacks: list[AlertingStack] = []
    try:
        for name, target, pagerduty in (
            ("live", receiver.url, True),
            ("slack-only", receiver.url, False),
            ("dead", closed_url(), True),
        ):
            stacks.append(start_alerting(tmp_path_factory.mktemp(name), target, pagerduty))
        for stack, integrations in zip(
            stacks, (("slack", "pagerduty"), ("slack",), ("slack", "pagerduty")), strict=True
        ):
            wait_until(
                lambda s=stack, i=integrations: notifications_done(s.prometheus, i),
                "notifications completed",
            )
        yield stacks[0], stacks[1], stacks[2]
    finally:
        for stack in stacks:
            stack.stop()
        receiver.close()


@pytest.fixture(scope="session")
def dumps(trap_cluster: Cluster) -> Dumps:
    """A real gzip-compressed pg_dump, whole and cut short (traps.dumps)."""
    return make_dumps(trap_cluster)
