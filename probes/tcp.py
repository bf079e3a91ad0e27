"""TCP probe: a port must accept connections, optionally greet with a banner, or stay closed."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from re import Pattern
from typing import Any

from .context import ProbeContext
from .fields import Fields, SpecError
from .local_errors import cannot_judge, local_cause
from .masking import clip
from .result import Result, Status, failed, passed

BANNER_CAP = 4096  # bytes of a banner read at most


@dataclass(frozen=True)
class Spec:
    target: str  # host:port
    expect: str = "open"  # open | closed (firewall items: the port must not answer)
    banner: Pattern[str] | None = None  # open only: first bytes must match


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


async def _connect(family: int, address: Any, budget: float) -> socket.socket:
    """A socket connected to ``address``; raises the OSError (or TimeoutError) it met."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, address), budget)
    except BaseException:
        sock.close()
        raise
    return sock


def _shown(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    host, _, port = spec.target.rpartition(":")
    host = host.strip("[]")
    evidence: dict[str, Any] = {"target": spec.target}
    # Leave a tenth of the budget so a filtered port reads as "closed", not as a probe timeout.
    budget = ctx.remaining() * 0.9
    ctx.log(f"connecting to {host}:{port} (budget {budget:.2f}s)")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        # A name that does not resolve says nothing about the port: never a "closed" PASS.
        why = f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}"
        ctx.log(why)
        return Result(
            Status.FAIL,
            f"{spec.target}: {why}, cannot judge",
            {**evidence, "reason": why},
            error=True,
        )
    # Every address the name has, at once: a port closed on IPv4 may be open on IPv6.
    addresses = list(dict.fromkeys((family, address) for family, _, _, _, address in infos))
    outcomes = await asyncio.gather(
        *(_connect(family, address, budget) for family, address in addresses),
        return_exceptions=True,
    )
    connected: list[socket.socket] = []
    failures: dict[str, BaseException] = {}
    for (_, address), outcome in zip(addresses, outcomes, strict=True):
        if isinstance(outcome, socket.socket):
            connected.append(outcome)
        elif isinstance(outcome, (OSError, TimeoutError)):
            failures[_shown(address)] = outcome
        else:
            raise outcome  # a bug, not an answer: the engine reports it as a probe error
    for where, failure in failures.items():
        ctx.log(f"{where} not connected: {_why(failure)}")
    if not connected:
        return _unreachable(spec, failures, evidence)
    for extra in connected[1:]:
        extra.close()
    reader, writer = await asyncio.open_connection(sock=connected[0])
    try:
        if spec.expect == "closed":
            return failed(f"{spec.target} accepts connections, expected closed", **evidence)
        if spec.banner is None:
            return passed(f"{spec.target} open", **evidence)
        return await _judge_banner(spec, spec.banner, reader, ctx, evidence)
    finally:
        writer.close()


def _unreachable(
    spec: Spec, failures: dict[str, BaseException], evidence: dict[str, Any]
) -> Result:
    """The verdict when no address connected: the target's answer, or no verdict at all."""
    for where, exc in failures.items():
        local = local_cause(exc)
        if local is not None:
            return cannot_judge(where, local, evidence)
    reasons = list(dict.fromkeys(_why(exc) for exc in failures.values()))
    why = ", ".join(reasons)
    evidence = {**evidence, "reason": why}
    if len(failures) > 1:
        evidence["addresses"] = {where: _why(exc) for where, exc in failures.items()}
    if spec.expect == "closed":
        return passed(f"{spec.target} closed ({why}), expected closed", **evidence)
    return Result(
        Status.FAIL,
        f"{spec.target} not reachable ({why}), expected open",
        evidence,
        # No answer at all (a filtered port, a host that is off) cannot tell "down" from "slow".
        error=all(isinstance(exc, TimeoutError) for exc in failures.values()),
    )


async def _judge_banner(
    spec: Spec,
    banner: Pattern[str],
    reader: asyncio.StreamReader,
    ctx: ProbeContext,
    evidence: dict[str, Any],
) -> Result:
    seen = b""
    try:
        while not banner.search(seen.decode("utf-8", "replace")) and len(seen) < BANNER_CAP:
            chunk = await asyncio.wait_for(reader.read(1024), ctx.remaining() * 0.9)
            if not chunk:
                break
            seen += chunk
    except TimeoutError:
        pass
    text = seen.decode("utf-8", "replace")
    ctx.log(f"banner read: {clip(text, 200)!r}")
    evidence["banner"] = clip(text, 200)
    if banner.search(text):
        return passed(f"{spec.target} open, banner matches", **evidence)
    return failed(
        f"{spec.target} banner {clip(text, 60)!r} does not match /{banner.pattern}/", **evidence
    )
