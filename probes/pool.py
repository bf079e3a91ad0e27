"""PostgreSQL connections shared by the sql items: one bounded pool per DSN.

Opening a connection per item at once made ``check`` (ten sql items) run into a role's normal
connection limit, and half the items FAILed with "too many connections" about a database that was
fine. Here every item that names the same DSN shares at most ``size`` connections (2 unless the
config's ``engine.sql_connections_per_dsn`` says otherwise); an item waits for one within its own
budget. A connection is kept for ``IDLE_SECONDS`` after use, so a round of items reuses it instead
of opening another (a closed backend lingers for a moment and still counts against the limit), and
then closed, so the exporter holds no slot between rounds.

Every connection is read-only (``default_transaction_read_only``) and named
``application_name=readiness-exporter``, so a check that counts sessions can leave the
exporter's own out. Before each use the session is reset (``DISCARD ALL``: nothing one item's
query set reaches the next) and given a ``statement_timeout`` inside that item's budget.

A server whose connection slots are full ("too many clients", "remaining connection slots are
reserved", "too many connections for role") has not answered the question: ``SlotsFull`` tells
the probe, which reports it as a probe error, never as a verdict about the database.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "readiness-exporter"
DEFAULT_PER_DSN = 2  # connections one DSN may have open at once, shared by its items
IDLE_SECONDS = 10.0  # an unused connection is closed after this long
# libpq's words for a server (or role, or database) whose connection slots are all taken
# (SQLSTATE 53300, which libpq does not expose for a refused connection).
SLOTS_FULL = (
    "too many clients already",
    "remaining connection slots are reserved",
    "too many connections for role",
    "too many connections for database",
)
FIRST_RETRY = 0.05  # seconds before trying a full server again; doubled up to MAX_RETRY
MAX_RETRY = 1.0


class SlotsFull(Exception):
    """Raised when the server refused a connection because its slots were full, until the
    probe's patience for it ran out; the message is libpq's reason (it names no password)."""


def slots_full(exc: BaseException) -> bool:
    """Whether a connection error is the server saying it has no free connection slot."""
    text = str(exc)
    return any(words in text for words in SLOTS_FULL)


def reason(exc: BaseException) -> str:
    """The first line of a psycopg error, without libpq's "connection failed: " prefix."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text.removeprefix("connection failed: ")


class Pool:
    """At most ``size`` open connections to one DSN; callers beyond that wait their turn."""

    def __init__(self, dsn: str, size: int):
        self._dsn = dsn
        self.size = size
        self.open = 0  # connections open or being opened (idle ones included)
        self._idle: list[tuple[psycopg.AsyncConnection, asyncio.TimerHandle]] = []
        # Each waiter gets a parked connection or None, the right to open one.
        self._waiters: collections.deque[asyncio.Future[psycopg.AsyncConnection | None]] = (
            collections.deque()
        )
        self._closed = False

    @property
    def waiting(self) -> int:
        return sum(not w.done() for w in self._waiters)

    @asynccontextmanager
    async def connection(self, deadline: float) -> AsyncIterator[psycopg.AsyncConnection]:
        """A session whose statements the server cancels at ``deadline`` (monotonic).

        A server with no free slot is tried again for half the time left, then ``SlotsFull``.
        """
        import psycopg

        conn = await self._checkout()
        usable = False
        try:
            conn = await self._ready(conn, deadline)
            yield conn
            usable = True
        except psycopg.Error:
            usable = True  # a query's error: the session is fine if it is idle (below)
            raise
        finally:
            # Anything else (the budget cut a query short) leaves the session unknown: closed.
            self._checkin(conn, usable)

    async def _checkout(self) -> psycopg.AsyncConnection | None:
        """A parked connection, or None with the right to open one; waits when at ``size``."""
        if self._closed:
            raise RuntimeError("the database connections are closed")
        if self._idle:
            conn, expiry = self._idle.pop()
            expiry.cancel()
            return conn
        if self.open < self.size:
            self.open += 1
            return None
        waiter: asyncio.Future[psycopg.AsyncConnection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._hand_on(waiter.result())  # handed over as the caller gave up: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    async def _ready(
        self, conn: psycopg.AsyncConnection | None, deadline: float
    ) -> psycopg.AsyncConnection:
        """``conn`` reset for a new query, or a new connection when it is gone or was None."""
        import psycopg

        left = max(0.001, deadline - time.monotonic())
        timeout_ms = max(1, int(left * 1000))
        if conn is not None:
            try:
                await conn.execute("DISCARD ALL")
                await conn.execute(f"SET statement_timeout = {timeout_ms}")
                return conn
            except psycopg.Error:
                await conn.close()  # the server ended it while it was parked: open another
        give_up = time.monotonic() + left / 2
        delay = FIRST_RETRY
        while True:
            try:
                return await psycopg.AsyncConnection.connect(
                    self._dsn,
                    autocommit=True,
                    # Past the budget: the caller's ctx.wait decides when a silent server is
                    # given up.
                    connect_timeout=math.ceil(left) + 1,
                    options="-c default_transaction_read_only=on "
                    f"-c statement_timeout={timeout_ms}",
                    application_name=APPLICATION_NAME,
                )
            except psycopg.OperationalError as exc:
                if not slots_full(exc):
                    raise
                if self._idle:
                    # Our own parked connection may hold the slot we need: use it instead.
                    parked, expiry = self._idle.pop()
                    expiry.cancel()
                    self._hand_on(None)  # the room this caller had for a new connection
                    return await self._ready(parked, deadline)
                if time.monotonic() + delay > give_up:
                    raise SlotsFull(reason(exc)) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY)

    def _checkin(self, conn: psycopg.AsyncConnection | None, usable: bool) -> None:
        """Give ``conn`` to the next waiter or park it; close it when it cannot be trusted."""
        from psycopg.pq import TransactionStatus

        if (
            usable
            and conn is not None
            and not self._closed
            and not conn.closed
            and conn.info.transaction_status == TransactionStatus.IDLE
        ):
            self._hand_on(conn)
            return
        if conn is not None and not conn.closed:
            # A query cut off by the budget, or a broken session: never handed to another item.
            conn.pgconn.finish()
        self._hand_on(None)

    def _hand_on(self, conn: psycopg.AsyncConnection | None) -> None:
        """Pass a connection (or, for None, a free slot) to the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is None:
            self.open -= 1
        elif self._closed:
            conn.pgconn.finish()
            self.open -= 1
        else:
            expiry = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._expire, conn)
            self._idle.append((conn, expiry))

    def _expire(self, conn: psycopg.AsyncConnection) -> None:
        for i, (parked, _) in enumerate(self._idle):
            if parked is conn:
                del self._idle[i]
                conn.pgconn.finish()
                self.open -= 1
                return

    def resize(self, size: int) -> None:
        """Allow ``size`` connections from now on; waiters get the new room at once."""
        self.size = size
        while self.open < self.size and self.waiting:
            self.open += 1
            self._hand_on(None)
        while self.open > self.size and self._idle:
            conn, expiry = self._idle.pop()
            expiry.cancel()
            conn.pgconn.finish()
            self.open -= 1

    def close(self) -> None:
        """Close the parked connections; those in use are closed when they come back."""
        self._closed = True
        while self._idle:
            conn, expiry = self._idle.pop()
            expiry.cancel()
            conn.pgconn.finish()
            self.open -= 1


class Databases:
    """The pools of every DSN the sql items use, for the life of the engine."""

    def __init__(self, per_dsn: int = DEFAULT_PER_DSN):
        self.per_dsn = per_dsn
        self._pools: dict[str, Pool] = {}

    def pool(self, dsn: str) -> Pool:
        """The pool for ``dsn`` (its full text, so a rotated password gets its own)."""
        pool = self._pools.get(dsn)
        if pool is None:
            pool = self._pools[dsn] = Pool(dsn, self.per_dsn)
        return pool

    def resize(self, per_dsn: int) -> None:
        self.per_dsn = per_dsn
        for pool in self._pools.values():
            pool.resize(per_dsn)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
