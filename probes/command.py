"""Command probe: run an argv list (never a shell), judge by exit code and an output pattern."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .context import NoAnswer, ProbeContext
from .fields import Fields
from .patterns import Pattern
from .result import Result, failed, passed

OUTPUT_CAP = 64 * 1024  # bytes of output kept; the rest is read and dropped
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL
# Colour codes and other terminal controls: tools emit them when CI forces colour, and they would
# garble the board, the reports and the JUnit XML (which cannot carry most control characters).
TERMINAL_CONTROLS = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Spec:
    argv: tuple[str, ...]
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    expect_exit: tuple[int, ...] = (0,)
    stdout_regex: Pattern | None = None


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    return Spec(
        argv=f.texts("argv"),
        cwd=f.optional_path("cwd"),
        env=f.text_map("env"),
        expect_exit=f.integers("expect_exit"),
        stdout_regex=f.optional_regex("stdout_regex"),
    )


async def _read_capped(stream: asyncio.StreamReader) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < OUTPUT_CAP:
            kept += chunk[: OUTPUT_CAP - len(kept)]
    return bytes(kept)


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _tail(data: bytes, limit: int = 200) -> str:
    """The last ``limit`` characters of the output as plain text, terminal controls removed."""
    text = TERMINAL_CONTROLS.sub("", data.decode("utf-8", "replace")).strip()
    return text[-limit:]


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"running {list(spec.argv)}")
    try:
        proc = await asyncio.create_subprocess_exec(
            *spec.argv,
            cwd=spec.cwd,
            env={**os.environ, **spec.env} if spec.env else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
    except OSError as exc:
        return failed(f"cannot run {spec.argv[0]} ({exc.strerror or exc})", argv=list(spec.argv))
    try:
        out, err = await _communicate(proc, ctx, f"command {Path(spec.argv[0]).name}")
    finally:
        if proc.returncode is None:
            await _terminate(proc)
        else:
            # Children it left running in its process group (``cmd &``) go with it.
            _kill_group(proc.pid, signal.SIGKILL)
    code = proc.returncode
    evidence = {
        "argv": list(spec.argv),
        "exit_code": code,
        "stdout_tail": _tail(out),
        "stderr_tail": _tail(err),
    }
    ctx.log(f"exit code {code}; stdout {len(out)} bytes, stderr {len(err)} bytes")
    if code not in spec.expect_exit:
        # The last line is where tools put their verdict ("Found 3 errors."); a summary is one line.
        lines = _tail(err or out, 2000).splitlines()
        detail = lines[-1].strip()[:120] if lines else ""
        expected = " or ".join(str(c) for c in spec.expect_exit)
        return failed(
            f"exit code {code}, expected {expected}" + (f": {detail}" if detail else ""), **evidence
        )
    if spec.stdout_regex is not None and not spec.stdout_regex.search(
        out.decode("utf-8", "replace")
    ):
        cut = f" (first {OUTPUT_CAP // 1024} KiB read)" if len(out) >= OUTPUT_CAP else ""
        return failed(f"output does not match /{spec.stdout_regex.pattern}/{cut}", **evidence)
    return passed(f"exit code {code}", **evidence)


async def _communicate(
    proc: asyncio.subprocess.Process, ctx: ProbeContext, target: str
) -> tuple[bytes, bytes]:
    """stdout and stderr once the command ends; NoAnswer when it outlives its budget."""
    # SIGTERM early enough that the grace period and the SIGKILL fit in the budget.
    grace = min(KILL_GRACE, ctx.budget() / 2)
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    try:
        out, err, _ = await ctx.wait(
            asyncio.gather(_read_capped(proc.stdout), _read_capped(proc.stderr), proc.wait()),
            target,
            reserve=grace,
        )
    except NoAnswer as silence:
        ctx.log("still running: killing its process group")
        await _terminate(proc, grace)
        silence.note = "killed with its process group"
        raise
    return out, err


async def _terminate(proc: asyncio.subprocess.Process, grace: float = KILL_GRACE) -> None:
    """SIGTERM the whole process group, then SIGKILL what is left after a grace period."""
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
    except TimeoutError:
        pass
    finally:
        # Children may outlive the leader, and a probe cancelled during the grace period
        # (engine timeout, shutdown) must not leave them running: SIGKILL either way.
        _kill_group(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        await proc.wait()
