"""SQL probe: a read-only PostgreSQL query whose scalar or row count is compared (psycopg 3).

The session is read-only (``default_transaction_read_only``) and carries a ``statement_timeout``
inside the probe's budget, so a probe can neither write nor leave a query running after it gave
up. The DSN is a secret (``${DATABASE_URL}`` or ``dsn_file``) and never appears in a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .compare import Expect, parse_expect, render
from .context import NoAnswer, ProbeContext
from .fields import Fields, Secret
from .local_errors import cannot_judge, local_reason_in_libpq, socket_shortage
from .masking import clip
from .result import Result, Status

MAX_ROWS = 10_000  # rows fetched at most for a row count
NO_DETAILS = "no error details available"  # psycopg's words when libpq gave no reason


@dataclass(frozen=True)
class Spec:
    dsn: Secret
    query: str
    expect: Expect
    result: str = "scalar"  # scalar: first column of the first row; rows: the row count


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        dsn=f.secret("dsn"),
        query=f.text("query"),
        expect=f.parsed("expect", parse_expect, Expect("==", None)),
        result=f.choice("result", ("scalar", "rows")),
    )
    if (
        spec.result == "rows"
        and spec.expect.op in ("contains", "length")
        and f.usable("result", "expect")
    ):
        f.problem("expect", f"must compare a number when result is rows (got {spec.expect.op})")
    return spec


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _short(query: str) -> str:
    return clip(" ".join(query.split()), 60)


async def run_query(spec: Spec, budget: float) -> tuple[Any, int]:
    """The first column of the first row and the number of rows (at most MAX_ROWS)."""
    # Imported on first use: psycopg adds ~22 MB of RSS that a checklist without SQL items skips.
    import psycopg

    conn = await psycopg.AsyncConnection.connect(
        spec.dsn.reveal(),
        autocommit=True,
        # Past the budget: the caller's ctx.wait decides when a silent server is given up.
        connect_timeout=math.ceil(budget) + 1,
        # The server gives up at the budget too, so no query outlives the probe.
        options="-c default_transaction_read_only=on "
        f"-c statement_timeout={max(1, int(budget * 1000))}",
        application_name="readiness-exporter",
    )
    try:
        async with conn.cursor() as cur:
            await cur.execute(spec.query)
            if cur.description is None:
                return None, 0
            rows = await cur.fetchmany(MAX_ROWS)
            return (rows[0][0] if rows else None), len(rows)
    finally:
        await conn.close()


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    import psycopg

    query = _short(spec.query)
    evidence: dict[str, Any] = {"query": spec.query, "result": spec.result}
    ctx.log(f"running {query!r}")
    try:
        psycopg.conninfo.conninfo_to_dict(spec.dsn.reveal())
    except psycopg.ProgrammingError:
        # Its message quotes the part it could not parse: often a piece of the password.
        return Result(
            Status.FAIL,
            "dsn is neither a postgresql:// URL nor key=value pairs (psycopg's message is not "
            "shown: it quotes the DSN)",
            evidence,
            error=True,
        )
    budget = ctx.budget()
    try:
        value, rows = await ctx.wait(run_query(spec, budget), query)
    except psycopg.errors.QueryCanceled as exc:
        if "statement timeout" in str(exc):
            # The server's clock ran out first: the same silence as ctx.wait's.
            evidence["cancelled_by"] = "statement_timeout"
            raise NoAnswer(query, ctx.timeout, evidence=evidence) from None
        reason = _first_line(exc)  # cancelled by someone else
        return Result(
            Status.FAIL, f"{query}: query failed: {reason}", {**evidence, "error": reason}
        )
    except psycopg.OperationalError as exc:
        reason = _first_line(exc)
        local = local_reason_in_libpq(str(exc))
        if local is None and NO_DETAILS in reason:  # libpq could not even say why: no verdict
            local = socket_shortage() or reason
        if local is not None:
            return cannot_judge("the database", local, evidence)
        return Result(
            Status.FAIL, f"cannot connect to the database: {reason}", {**evidence, "error": reason}
        )
    except psycopg.Error as exc:
        reason = _first_line(exc)
        return Result(
            Status.FAIL, f"{query}: query failed: {reason}", {**evidence, "error": reason}
        )
    evidence.update(
        value=value if isinstance(value, (str, int, float, bool, type(None))) else str(value),
        rows=rows,
    )
    ctx.log(f"{rows} rows, first value {value!r}")
    observed = rows if spec.result == "rows" else value
    shown = f"{rows} rows" if spec.result == "rows" else f"returned {render(observed)}"
    if spec.result == "scalar" and rows == 0:
        return Result(Status.FAIL, f"{query}: no rows, expected a value {spec.expect}", evidence)
    if not spec.expect.holds(observed):
        return Result(Status.FAIL, f"{query}: {shown}, expected {spec.expect}", evidence)
    return Result(Status.PASS, f"{query}: {shown}, expected {spec.expect}", evidence)
