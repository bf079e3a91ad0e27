"""A real pg_dump of a small hotel database, gzip-compressed as a nightly backup job writes it
(`pg_dump | gzip > db.sql.gz`), and the two ways such a job leaves a dump that is cut short."""

from __future__ import annotations

import gzip
import subprocess
from dataclasses import dataclass

from support.postgres import Cluster

from traps.databases import drop_database, new_database

# Enough rows that the compressed dump is tens of KiB: a cut at 4 KiB is well inside it.
HOTEL = (
    "CREATE TABLE guest (id int PRIMARY KEY, email text NOT NULL)",
    "CREATE TABLE booking (id int PRIMARY KEY, guest_id int REFERENCES guest, note text)",
    "INSERT INTO guest SELECT n, md5(n::text) || '@example.com' FROM generate_series(1, 2000) n",
    "INSERT INTO booking SELECT n, n, md5((n * 7)::text) FROM generate_series(1, 2000) n",
)


@dataclass(frozen=True)
class Dumps:
    whole: bytes  # the gzip file of a pg_dump that ran to its end
    cut: bytes  # that file cut at 4 KiB (a full disk, a copy interrupted): no gzip trailer
    text_cut: bytes  # pg_dump killed half-way with gzip closing its stream: a whole gzip file
    # of SQL without pg_dump's closing comment


def make_dumps(cluster: Cluster) -> Dumps:
    db = new_database(cluster)
    try:
        db.execute(*HOTEL)
        sql = subprocess.run(
            [str(cluster.bin / "pg_dump"), "--no-owner", db.dsn()],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    finally:
        drop_database(db)
    whole = gzip.compress(sql)
    assert len(whole) > 16 * 1024, len(whole)  # the cut below is well inside the stream
    return Dumps(whole, whole[:4096], gzip.compress(sql[: len(sql) // 2]))
