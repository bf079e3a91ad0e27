"""A PostgreSQL cluster of the traps' own, with TLS, so the sql items can be shown both a
plaintext and an encrypted client session; each trap gets a database of its own.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import trustme
from support.postgres import Cluster, start_cluster


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
