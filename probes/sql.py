"""SQL probe: a read-only PostgreSQL query whose scalar or row count is compared (psycopg 3),
or the health of PostgreSQL's WAL archiver (``archiver:``, for point-in-time recovery).

Sessions come from a bounded pool per DSN that every sql item shares (``probes/pool.py``): each
is read-only (``default_transaction_read_only``), named ``application_name=readiness-exporter``
and carries a ``statement_timeout`` inside the probe's budget, so a probe can neither write nor
leave a query running after it gave up. The DSN is a secret (``${DATABASE_URL}`` or
``dsn_file``) and never appears in a result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .compare import Expect, parse_expect, render
from .context import NoAnswer, ProbeContext
from .fields import Fields, Secret, format_age, format_duration
from .local_errors import cannot_judge, local_reason_in_libpq, socket_shortage
from .masking import clip_words
from .pool import SlotsFull
from .result import Result, Status

MAX_ROWS = 10_000  # rows fetched at most for a row count
NO_DETAILS = "no error details available"  # psycopg's words when libpq gave no reason

T = TypeVar("T")


@dataclass(frozen=True)
class Archiver:
    """What the WAL archiver must show: segments archived recently, no failure since."""

    archived_within: float = 3600.0  # seconds: the last archive, or the oldest waiting segment
    idle_ok: bool = True  # nothing waiting to be archived excuses an old last archive


@dataclass(frozen=True)
class Spec:
    dsn: Secret
    query: str = ""  # required unless archiver is given
    expect: Expect | None = None  # required with query
    result: str = "scalar"  # scalar: first column of the first row; rows: the row count
    archiver: Archiver | None = None  # judge pg_stat_archiver instead of a query
    name: str = ""  # what the query counts, in words: summaries say it instead of the query


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    archiver = _archiver(f)
    spec = Spec(
        dsn=f.secret("dsn"),
        query=f.text("query"),
        expect=f.optional_parsed("expect", parse_expect),
        result=f.choice("result", ("scalar", "rows")),
        archiver=archiver,
        name=f.text("name"),
    )
    if f.has("archiver"):
        for key in ("query", "expect", "result", "name"):
            if f.has(key):
                f.problem(key, "is not used with archiver (it runs its own queries)")
        return spec
    for key in ("query", "expect"):
        if not f.has(key):
            f.problem(key, "is required")
    if (
        spec.result == "rows"
        and spec.expect is not None
        and spec.expect.op in ("contains", "length")
        and f.usable("result", "expect")
    ):
        f.problem("expect", f"must compare a number when result is rows (got {spec.expect.op})")
    return spec


def _archiver(f: Fields) -> Archiver | None:
    sub = f.sub("archiver")
    if sub is None:
        return None
    a = sub.defaults_from(Archiver)
    return Archiver(archived_within=a.duration("archived_within"), idle_ok=a.flag("idle_ok"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _short(query: str) -> str:
    return clip_words(query, 60)


class _Judged(Exception):
    """The probe's result, reached before the query's answer (a refused connection, an error)."""

    def __init__(self, result: Result):
        self.result = result


async def in_session(
    spec: Spec,
    ctx: ProbeContext,
    target: str,
    evidence: dict[str, Any],
    work: Callable[[Any], Awaitable[T]],
) -> T:
    """What ``work(connection)`` returns, run in a pooled session within the probe's budget.

    Raises NoAnswer for silence (the server's statement_timeout included) and ``_Judged`` with
    the result a refused connection or a failed query means.
    """
    import psycopg

    dsn = spec.dsn.reveal()
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        # Its message quotes the part it could not parse: often a piece of the password.
        raise _Judged(
            Result(
                Status.FAIL,
                "dsn is neither a postgresql:// URL nor key=value pairs (psycopg's message is "
                "not shown: it quotes the DSN)",
                evidence,
                error=True,
            )
        ) from None
    pool = ctx.resources.databases.pool(dsn)
    connected = False

    async def run() -> T:
        nonlocal connected
        async with pool.connection(ctx.deadline) as conn:
            connected = True
            return await work(conn)

    try:
        return await ctx.wait(run(), target)
    except NoAnswer as silence:
        if not connected and pool.open >= pool.size:
            silence.note = f"it waited for a database connection: all {pool.size} in use"
        raise
    except SlotsFull as exc:
        # The server could not give a session: nothing was looked at, so no verdict.
        reason = str(exc)
        raise _Judged(
            Result(
                Status.FAIL,
                f"cannot judge: the database refused a connection ({reason}); its connection "
                "slots are full",
                {**evidence, "error": reason},
                error=True,
            )
        ) from None
    except psycopg.errors.QueryCanceled as exc:
        if "statement timeout" in str(exc):
            # The server's clock ran out first: the same silence as ctx.wait's.
            evidence["cancelled_by"] = "statement_timeout"
            raise NoAnswer(target, ctx.timeout, evidence=evidence) from None
        reason = _first_line(exc)  # cancelled by someone else
        raise _Judged(
            Result(Status.FAIL, f"{target}: query failed: {reason}", {**evidence, "error": reason})
        ) from None
    except psycopg.OperationalError as exc:
        reason = _first_line(exc).removeprefix("connection failed: ")
        local = local_reason_in_libpq(str(exc))
        if local is None and NO_DETAILS in reason:  # libpq could not even say why: no verdict
            local = socket_shortage() or reason
        if local is not None:
            raise _Judged(cannot_judge("the database", local, evidence)) from None
        raise _Judged(
            Result(
                Status.FAIL,
                f"cannot connect to the database: {reason}",
                {**evidence, "error": reason},
            )
        ) from None
    except psycopg.Error as exc:
        reason = _first_line(exc)
        raise _Judged(
            Result(Status.FAIL, f"{target}: query failed: {reason}", {**evidence, "error": reason})
        ) from None


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    try:
        if spec.archiver is not None:
            return await probe_archiver(spec, spec.archiver, ctx)
        return await probe_query(spec, ctx)
    except _Judged as judged:
        return judged.result


async def probe_query(spec: Spec, ctx: ProbeContext) -> Result:
    query = _short(spec.query)
    evidence: dict[str, Any] = {"query": spec.query, "result": spec.result}
    ctx.log(f"running {query!r}")

    async def run(conn: Any) -> tuple[Any, int]:
        async with conn.cursor() as cur:
            await cur.execute(spec.query)
            if cur.description is None:
                return None, 0
            rows = await cur.fetchmany(MAX_ROWS)
            return (rows[0][0] if rows else None), len(rows)

    value, rows = await in_session(spec, ctx, query, evidence, run)
    evidence.update(
        value=value if isinstance(value, (str, int, float, bool, type(None))) else str(value),
        rows=rows,
    )
    ctx.log(f"{rows} rows, first value {value!r}")
    expect = spec.expect if spec.expect is not None else Expect("==", None)
    observed = rows if spec.result == "rows" else value
    if spec.name:
        # "standbys replaying within the lag bound: 0, expected >= 1"
        said, shown = spec.name, render(observed)
    else:
        said = query
        shown = f"{rows} rows" if spec.result == "rows" else f"returned {render(observed)}"
    if spec.result == "scalar" and rows == 0:
        return Result(Status.FAIL, f"{said}: no rows, expected a value {expect}", evidence)
    if not expect.holds(observed):
        return Result(Status.FAIL, f"{said}: {shown}, expected {expect}", evidence)
    return Result(Status.PASS, f"{said}: {shown}, expected {expect}", evidence)


# -- archiver ------------------------------------------------------------------------------

ARCHIVER_QUERY = """
SELECT current_setting('archive_mode'), pg_is_in_recovery(), now(),
       archived_count, last_archived_wal, last_archived_time,
       failed_count, last_failed_wal, last_failed_time, stats_reset
FROM pg_stat_archiver
"""
# Segments complete but not archived yet; the function needs pg_monitor (or a GRANT EXECUTE).
WAITING_QUERY = """
SELECT count(*), min(modification)
FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'
"""


@dataclass(frozen=True)
class ArchiverState:
    """What the server says about its archiver, on its own clock (``now``)."""

    mode: str
    in_recovery: bool
    now: dt.datetime
    archived_count: int
    last_archived_wal: str | None
    last_archived_time: dt.datetime | None
    failed_count: int
    last_failed_wal: str | None
    last_failed_time: dt.datetime | None
    stats_reset: dt.datetime | None
    waiting: int | None  # .ready segments; None when they could not be counted
    oldest_waiting: dt.datetime | None
    waiting_unknown: str = ""  # why they could not be counted

    def age(self, moment: dt.datetime, bound: float | None = None) -> str:
        return format_age((self.now - moment).total_seconds(), bound)

    def evidence(self) -> dict[str, Any]:
        return {
            k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in vars(self).items()
        }


async def read_archiver(conn: Any) -> ArchiverState:
    import psycopg

    cur = await conn.execute(ARCHIVER_QUERY)
    row = await cur.fetchone()
    waiting: int | None = None
    oldest: dt.datetime | None = None
    unknown = ""
    try:
        cur = await conn.execute(WAITING_QUERY)
        waiting, oldest = await cur.fetchone()
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFunction) as exc:
        unknown = _first_line(exc)
    (
        mode,
        in_recovery,
        now,
        archived,
        archived_wal,
        archived_at,
        failed,
        failed_wal,
        failed_at,
        reset,
    ) = row
    return ArchiverState(
        mode=mode,
        in_recovery=in_recovery,
        now=now,
        archived_count=archived,
        last_archived_wal=archived_wal,
        last_archived_time=archived_at,
        failed_count=failed,
        last_failed_wal=failed_wal,
        last_failed_time=failed_at,
        stats_reset=reset,
        waiting=waiting,
        oldest_waiting=oldest,
        waiting_unknown=unknown,
    )


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "the cluster's start"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _segments(n: int) -> str:
    return _count(n, "segment")


def judge_archiver(s: ArchiverState, want: Archiver) -> Result:
    """Whether WAL is being archived now, from what the server says (pure)."""
    evidence = s.evidence()
    within = format_duration(want.archived_within)
    if s.mode == "off":
        return Result(
            Status.FAIL,
            "archive_mode off: WAL is not archived (no point-in-time recovery)",
            evidence,
        )
    if s.in_recovery and s.mode != "always":
        return Result(
            Status.FAIL,
            f"cannot judge: this server is a standby, where archive_mode {s.mode} archives "
            "nothing (always would); point the DSN at the primary",
            evidence,
            error=True,
        )
    waiting = ""
    if s.waiting:
        assert s.oldest_waiting is not None
        waiting = f"; {_segments(s.waiting)} waiting, the oldest for {s.age(s.oldest_waiting)}"
    failing = s.last_failed_time is not None and (
        s.last_archived_time is None or s.last_failed_time > s.last_archived_time
    )
    if failing:
        assert s.last_failed_time is not None
        last = f"last failure {s.age(s.last_failed_time)} ago ({s.last_failed_wal})"
        if s.last_archived_time is None:
            return Result(
                Status.FAIL,
                f"archive_mode {s.mode}, but {_segments(s.archived_count)} archived and "
                f"{_count(s.failed_count, 'failure')} since {_when(s.stats_reset)}; "
                f"{last}{waiting}",
                evidence,
            )
        return Result(
            Status.FAIL,
            f"archive_mode {s.mode}, but archiving fails: {last}, after the last success "
            f"{s.age(s.last_archived_time)} ago; {_count(s.failed_count, 'failure')} since "
            f"{_when(s.stats_reset)}{waiting}",
            evidence,
        )
    if s.oldest_waiting is not None and s.waiting:
        stuck = (s.now - s.oldest_waiting).total_seconds() > want.archived_within
        if stuck:
            return Result(
                Status.FAIL,
                f"archive_mode {s.mode}, but {_segments(s.waiting)} wait to be archived, the "
                f"oldest for {s.age(s.oldest_waiting, want.archived_within)}, expected archived "
                f"within {within}",
                evidence,
            )
    if s.waiting is None:
        last = (
            f"last archived {s.age(s.last_archived_time)} ago"
            if s.last_archived_time is not None
            else "nothing archived yet"
        )
        return Result(
            Status.FAIL,
            f"cannot judge: segments waiting to be archived cannot be counted "
            f"({s.waiting_unknown}; the role needs pg_monitor); {last}, no failure since",
            evidence,
            error=True,
        )
    if s.last_archived_time is None:
        return Result(
            Status.FAIL,
            f"cannot judge: no segment archived since {_when(s.stats_reset)} and no failure: "
            f"nothing shows archiving works yet{waiting or '; none waiting'}",
            evidence,
            error=True,
        )
    age = (s.now - s.last_archived_time).total_seconds()
    history = (
        f" ({_count(s.failed_count, 'earlier failure')}, the last {s.age(s.last_failed_time)} ago)"
        if s.failed_count and s.last_failed_time is not None
        else ""
    )
    last = (
        f"last archived {s.age(s.last_archived_time, want.archived_within)} ago "
        f"({s.last_archived_wal}), "
        f"no failure since{history}"
    )
    if age > want.archived_within:
        if not want.idle_ok:
            return Result(
                Status.FAIL,
                f"archive_mode {s.mode}: {last}, expected archived within {within}",
                evidence,
            )
        idle = waiting.removeprefix("; ") if waiting else "nothing waiting (idle)"
        return Result(Status.PASS, f"archive_mode {s.mode}: {idle}; {last}", evidence)
    queue = waiting.removeprefix("; ") if waiting else "nothing waiting"
    return Result(Status.PASS, f"archive_mode {s.mode}: {last}; {queue}", evidence)


async def probe_archiver(spec: Spec, want: Archiver, ctx: ProbeContext) -> Result:
    evidence: dict[str, Any] = {"archiver": True}
    ctx.log("reading pg_stat_archiver and pg_ls_archive_statusdir()")
    state = await in_session(spec, ctx, "pg_stat_archiver", evidence, read_archiver)
    return judge_archiver(state, want)
