"""TCP probe: a port must accept connections, optionally greet with a banner, or stay closed."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from .address import HostPort
from .context import NoAnswer, ProbeContext
from .fields import Fields
from .patterns import Pattern
from .result import Result, Status, failed, passed


@dataclass(frozen=True)
class Spec:
    target: HostPort
    expect: str = "open"  # open | closed (firewall items: the port must not answer)
    banner: Pattern | None = None  # open only: first bytes must match


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        target=f.host_port("target"),
        expect=f.choice("expect", ("open", "closed")),
        banner=f.optional_regex("banner"),
    )
    if spec.banner is not None and spec.expect == "closed" and f.usable("expect"):
        f.problem("banner", "only applies when expect is open")
    return spec


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    host, port, target = spec.target.host, spec.target.port, str(spec.target)
    ctx.log(f"connecting to {host}:{port} (budget {ctx.budget():.2f}s)")
    try:
        reader, writer = await ctx.wait(asyncio.open_connection(host, port), target)
    except NoAnswer:
        if spec.expect != "closed":
            raise
        # A filtered port drops the attempt: silence is the answer "closed" asks for.
        return passed(
            f"{target} closed (no answer), expected closed", target=target, reason="no answer"
        )
    except (socket.gaierror, UnicodeError) as exc:
        # A name that does not resolve says nothing about the port: never a "closed" PASS.
        why = f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}"
        ctx.log(why)
        return Result(
            Status.FAIL,
            f"{spec.target}: {why}, cannot judge",
            {"target": target, "reason": why},
            error=True,
        )
    except (TimeoutError, OSError) as exc:
        if isinstance(exc, asyncio.TimeoutError):
            why = "no answer"
        elif isinstance(exc, ConnectionRefusedError):
            why = "connection refused"
        else:
            why = exc.strerror or str(exc)
        ctx.log(f"not connected: {why}")
        if spec.expect == "closed":
            return passed(
                f"{spec.target} closed ({why}), expected closed", target=target, reason=why
            )
        return Result(
            Status.FAIL,
            f"{spec.target} not reachable ({why}), expected open",
            {"target": target, "reason": why},
            error=isinstance(exc, asyncio.TimeoutError),
        )
    try:
        if spec.expect == "closed":
            return failed(f"{spec.target} accepts connections, expected closed", target=target)
        if spec.banner is None:
            return passed(f"{spec.target} open", target=target)
        seen = b""
        try:
            while not spec.banner.search(seen.decode("utf-8", "replace")) and len(seen) < 4096:
                chunk = await ctx.wait(reader.read(1024), f"{target} banner")
                if not chunk:
                    break
                seen += chunk
        except NoAnswer as silence:
            # Neither a matching banner nor the end of the greeting came: cannot judge.
            silence.evidence.update(target=target, banner=seen.decode("utf-8", "replace")[:200])
            raise
        text = seen.decode("utf-8", "replace")
        ctx.log(f"banner read: {text[:200]!r}")
        if spec.banner.search(text):
            return passed(f"{spec.target} open, banner matches", target=target, banner=text[:200])
        return failed(
            f"{spec.target} banner {text[:60]!r} does not match /{spec.banner.pattern}/",
            target=target,
            banner=text[:200],
        )
    finally:
        writer.close()
