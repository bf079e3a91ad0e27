"""TCP probe: a port must accept connections, optionally greet with a banner, or stay closed."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from .context import NoAnswer, ProbeContext
from .fields import Fields, SpecError
from .patterns import Pattern
from .result import Result, Status, failed, passed


@dataclass(frozen=True)
class Spec:
    target: str  # host:port
    expect: str = "open"  # open | closed (firewall items: the port must not answer)
    banner: Pattern | None = None  # open only: first bytes must match


def split_target(fields: Fields, key: str) -> tuple[str, int]:
    value = fields.raw.get(key)
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SpecError(fields.name(key), f'must be host:port (got "{value}")')
    return host.strip("[]"), int(port)


def parse_spec(f: Fields) -> Spec:
    spec = Spec(
        target=f.str("target"),
        expect=f.choice("expect", ("open", "closed"), "open"),
        banner=f.regex("banner", None),
    )
    if isinstance(spec.target, str):
        split_target(f, "target")
    if spec.banner is not None and spec.expect == "closed":
        raise f.error("banner", "only applies when expect is open")
    f.done()
    return spec


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    host, _, port = spec.target.rpartition(":")
    host = host.strip("[]")
    ctx.log(f"connecting to {host}:{port} (budget {ctx.budget():.2f}s)")
    try:
        reader, writer = await ctx.wait(asyncio.open_connection(host, int(port)), spec.target)
    except NoAnswer:
        if spec.expect != "closed":
            raise
        # A filtered port drops the attempt: silence is the answer "closed" asks for.
        return passed(
            f"{spec.target} closed (no answer), expected closed",
            target=spec.target,
            reason="no answer",
        )
    except (socket.gaierror, UnicodeError) as exc:
        # A name that does not resolve says nothing about the port: never a "closed" PASS.
        why = f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}"
        ctx.log(why)
        return Result(
            Status.FAIL,
            f"{spec.target}: {why}, cannot judge",
            {"target": spec.target, "reason": why},
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
                f"{spec.target} closed ({why}), expected closed", target=spec.target, reason=why
            )
        return Result(
            Status.FAIL,
            f"{spec.target} not reachable ({why}), expected open",
            {"target": spec.target, "reason": why},
            error=isinstance(exc, asyncio.TimeoutError),
        )
    try:
        if spec.expect == "closed":
            return failed(f"{spec.target} accepts connections, expected closed", target=spec.target)
        if spec.banner is None:
            return passed(f"{spec.target} open", target=spec.target)
        seen = b""
        try:
            while not spec.banner.search(seen.decode("utf-8", "replace")) and len(seen) < 4096:
                chunk = await ctx.wait(reader.read(1024), f"{spec.target} banner")
                if not chunk:
                    break
                seen += chunk
        except NoAnswer as silence:
            # Neither a matching banner nor the end of the greeting came: cannot judge.
            silence.evidence.update(
                target=spec.target, banner=seen.decode("utf-8", "replace")[:200]
            )
            raise
        text = seen.decode("utf-8", "replace")
        ctx.log(f"banner read: {text[:200]!r}")
        if spec.banner.search(text):
            return passed(
                f"{spec.target} open, banner matches", target=spec.target, banner=text[:200]
            )
        return failed(
            f"{spec.target} banner {text[:60]!r} does not match /{spec.banner.pattern}/",
            target=spec.target,
            banner=text[:200],
        )
    finally:
        writer.close()
