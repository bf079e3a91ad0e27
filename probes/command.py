"""Command probe: run an argv list (never a shell), judge by exit code and an output pattern.

A command gets a minimal environment: ``PATH``, ``HOME``, ``LANG`` and ``TZ`` from the
exporter's, and the variables the item declares in ``env:``. The exporter's environment holds
every other item's credentials (``${DB_PASSWORD}``), and a command that prints its environment,
or a tool that reports it on a crash, would show them all.
"""

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
from .local_errors import EXHAUSTED, cannot_judge, local_cause
from .masking import clip
from .patterns import Pattern
from .result import Result, failed, passed

INHERITED = ("PATH", "HOME", "LANG", "TZ")  # the only variables a command gets unasked
OUTPUT_CAP = 64 * 1024  # bytes of output kept; the rest is read and dropped
TAIL = 200  # characters of each stream shown in the evidence
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


def environment(spec: Spec) -> dict[str, str]:
    """What the command runs with: ``INHERITED`` from the exporter's, then the item's ``env``."""
    return {**{k: os.environ[k] for k in INHERITED if k in os.environ}, **spec.env}


def _plain(data: bytes) -> str:
    """The output as plain text, terminal controls removed."""
    return TERMINAL_CONTROLS.sub("", data.decode("utf-8", "replace")).strip()


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    ctx.log(f"running {list(spec.argv)}")
    loop = asyncio.get_running_loop()
    try:
        # create_subprocess_exec spelled out, to hold the transport: it must be closed below.
        transport, protocol = await loop.subprocess_exec(
            lambda: asyncio.subprocess.SubprocessStreamProtocol(limit=2**16, loop=loop),
            *spec.argv,
            cwd=spec.cwd,
            env=environment(spec),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
    except OSError as exc:
        local = local_cause(exc, EXHAUSTED)
        if local is not None:
            return cannot_judge(f"running {spec.argv[0]}", local, {"argv": list(spec.argv)})
        return failed(f"cannot run {spec.argv[0]} ({exc.strerror or exc})", argv=list(spec.argv))
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    try:
        out, err = await _communicate(proc, ctx, f"command {Path(spec.argv[0]).name}")
    finally:
        try:
            if proc.returncode is None:
                await _terminate(proc)
            else:
                # Children it left running in its process group (``cmd &``) go with it.
                _kill_group(proc.pid, signal.SIGKILL)
        finally:
            # A child that left the group (setsid) may hold the output pipes open forever: the
            # pipes would stay open on our side too, one descriptor leaked per run.
            transport.close()
    code = proc.returncode
    stdout, stderr = _plain(out), _plain(err)
    evidence = {
        "argv": list(spec.argv),
        "exit_code": code,
        "stdout_tail": clip(stdout, TAIL, keep_end=True),
        "stderr_tail": clip(stderr, TAIL, keep_end=True),
    }
    ctx.log(f"exit code {code}; stdout {len(out)} bytes, stderr {len(err)} bytes")
    if code not in spec.expect_exit:
        # The last line is where tools put their verdict ("Found 3 errors."); a summary is one line.
        lines = (stderr or stdout).splitlines()
        detail = clip(lines[-1].strip(), 120) if lines else ""
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
