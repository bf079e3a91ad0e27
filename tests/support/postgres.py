"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, pg_ctl on a free loopback port.

initdb refuses to run as root, so when the tests run as root the cluster belongs to the
``postgres`` user (made by Debian's package) and its commands run through ``runuser``. The
cluster trusts local connections: it listens on 127.0.0.1 only and lives for one test session.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .procs import free_port


def bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them out of PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    bin: Path
    datadir: Path
    port: int
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *argv], check=True, capture_output=True, text=True, timeout=60
        )

    def psql(self, sql: str) -> str:
        out = self.run(
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        )
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )


def start_cluster(workdir: Path, settings: Mapping[str, str] | None = None) -> Cluster:
    """A running cluster in ``workdir`` (which must be empty or new); skips when not installed.

    ``workdir`` must be reachable by the postgres user: not under pytest's basetemp, whose
    ``/tmp/pytest-of-root`` every pytest session (other checkouts' too) resets to mode 0700.
    ``settings`` go to postgresql.conf before the start (``archive_mode`` needs a start).
    """
    bin_dir = bindir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (scripts/test.sh installs it as root)")
    workdir.mkdir(parents=True, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses root: the folder belongs to the postgres user instead.
        shutil.chown(workdir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    datadir = workdir / "data"
    port = free_port()
    cluster = Cluster(bin_dir, datadir, port, as_user)
    cluster.run(
        str(bin_dir / "initdb"),
        "-D",
        str(datadir),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale",
        "C",
    )
    if settings:
        with (datadir / "postgresql.conf").open("a") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n")
    cluster.run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(datadir),
        "-l",
        str(workdir / "postgres.log"),
        "-w",
        "-t",
        "60",
        "-o",
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
        "-c fsync=off -c max_connections=20",
        "start",
    )
    return cluster


def owned_folder(cluster: Cluster, path: Path) -> Path:
    """``path`` made as a folder the cluster's server can write (an archive, for one)."""
    path.mkdir(parents=True, exist_ok=True)
    if cluster.as_user:
        shutil.chown(path, "postgres", "postgres")
    return path


@contextmanager
def archiving(command: str | None) -> Iterator[tuple[Cluster, Path]]:
    """A cluster with archive_mode on and ``command`` as its archive_command (``{archive}``
    stands for its archive folder, which the server can write), and that folder."""
    workdir = Path(tempfile.mkdtemp(prefix="readiness-pg-archive-"))
    archive = workdir / "archive"
    settings = {"archive_mode": "on"}
    if command is not None:
        settings["archive_command"] = command.format(archive=archive)
    try:
        cluster = start_cluster(workdir, settings)
        owned_folder(cluster, archive)
        try:
            yield cluster, archive
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def archiver_row(dsn: str) -> dict[str, Any]:
    """The archiver's counts, the age of its last archive and the segments waiting."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(
            "SELECT archived_count, failed_count, "
            "extract(epoch FROM now() - last_archived_time) AS archived_ago, "
            "(SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS ready "
            "FROM pg_stat_archiver"
        )
        names = [c.name for c in cur.description or ()]
        row = cur.fetchone()
        assert row is not None
        return dict(zip(names, row, strict=True))


def switch_wal(dsn: str) -> None:
    """Complete a WAL segment now (something written first, or there is nothing to switch)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS wal_filler (n int)")
        conn.execute("INSERT INTO wal_filler VALUES (1)")
        conn.execute("SELECT pg_switch_wal()")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One PostgreSQL cluster for the whole test session, stopped and removed at its end."""
    workdir = Path(tempfile.mkdtemp(prefix="readiness-pg-"))
    try:
        cluster = start_cluster(workdir)
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
