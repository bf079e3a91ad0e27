"""A PostgreSQL cluster of the traps' own, with TLS, so the sql items can be shown both a
plaintext and an encrypted client session; each trap gets a database of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import trustme
from support.postgres import Cluster, owned_folder, start_cluster
from support.procs import free_port


@dataclass
class Database:
    """One database in the trap cluster, made for one test and dropped after it."""

    cluster: Cluster
    name: str

    def dsn(self, user: str = "postgres", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        base = f"postgresql://{user}@127.0.0.1:{self.cluster.port}/{self.name}"
        return f"{base}?{query}" if query else base

    def execute(self, *statements: str) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def connect(self, **params: str) -> psycopg.Connection:
        """A client session held open, as the application's would be."""
        return psycopg.connect(self.dsn(**params), autocommit=True)


def start_tls_cluster(workdir: Path) -> Cluster:
    """A cluster that accepts TLS (certificate from a throwaway CA) and plaintext alike."""
    cluster = start_cluster(workdir)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    for name, blob in (
        ("server.crt", cert.cert_chain_pems[0]),
        ("server.key", cert.private_key_pem),
    ):
        path = cluster.datadir / name
        blob.write_to_path(str(path))
        os.chmod(path, 0o600)
        if cluster.as_user:
            shutil.chown(path, "postgres", "postgres")
    cluster.psql("ALTER SYSTEM SET ssl = on")
    cluster.psql("SELECT pg_reload_conf()")
    return cluster


def new_database(cluster: Cluster) -> Database:
    name = f"trap_{uuid.uuid4().hex[:12]}"
    cluster.psql(f"CREATE DATABASE {name}")
    return Database(cluster, name)


def drop_database(db: Database) -> None:
    db.cluster.psql(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")


@contextmanager
def replicated(primary: Cluster) -> Iterator[Cluster]:
    """A hot standby of ``primary`` (pg_basebackup -R), streaming from it until the block ends.

    initdb's trust rules already admit replication connections from 127.0.0.1.
    """
    workdir = Path(tempfile.mkdtemp(prefix="readiness-traps-standby-"))
    owned_folder(primary, workdir)
    datadir = workdir / "data"  # pg_basebackup makes it, 0700 as the server wants
    try:
        primary.run(
            str(primary.bin / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(datadir), "-R", "-X", "stream", "--no-sync"),
        )
        standby = Cluster(primary.bin, datadir, free_port(), primary.as_user)
        primary.run(
            str(primary.bin / "pg_ctl"),
            *("-D", str(datadir), "-l", str(workdir / "standby.log"), "-w", "-t", "60"),
            "-o",
            f"-c port={standby.port} -c listen_addresses=127.0.0.1 "
            "-c unix_socket_directories='' -c fsync=off",
            "start",
        )
        try:
            yield standby
        finally:
            standby.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def replication_states(primary: Cluster) -> list[str]:
    """``application_name:state`` of each walsender on the primary."""
    out = primary.psql("SELECT application_name || ':' || state FROM pg_stat_replication")
    return out.split()


@contextmanager
def receiving_wal(primary: Cluster) -> Iterator[None]:
    """pg_receivewal streaming ``primary``'s WAL into a folder (a row in pg_stat_replication,
    state streaming, that replays nothing) until the block ends."""
    workdir = Path(tempfile.mkdtemp(prefix="readiness-traps-wal-"))
    workdir.chmod(0o755)
    wal = owned_folder(primary, workdir / "wal")
    argv = [*primary.as_user, str(primary.bin / "pg_receivewal"), "--no-sync", "-D", str(wal)]
    address = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
    receiver = subprocess.Popen([*argv, *address], stderr=subprocess.PIPE, text=True)
    try:
        yield
    finally:
        receiver.terminate()
        receiver.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)
