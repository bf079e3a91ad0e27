"""TCP probe: a port must accept connections, optionally greet with a banner, or stay closed.

The target's name is resolved and every address it has is tried at once (a port closed on IPv4
may be open on IPv6); each failure is classified on its own (``local_errors``): a failure on
this machine is no answer from the target, so it is never a "closed" PASS. Nor is any other
failure: "closed" is only a refusal, silence or a host reported unreachable (``TARGET_ANSWERS``);
anything else cannot judge.

A port that must be closed is a firewall question, which only a connection from outside can
answer: when the target is this machine (loopback, or one of its own addresses: ``vantage``),
the probe cannot judge and says so, before it connects. ``local_ok: true`` lets tests and labs,
whose "outside" is a loopback port, judge anyway.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .address import HostPort
from .context import NoAnswer, ProbeContext
from .fields import Fields
from .local_errors import cannot_judge, local_cause
from .masking import clip
from .patterns import Pattern
from .result import Result, Status, failed, passed
from .vantage import is_this_machine

BANNER_CAP = 4096  # bytes of a banner read at most


@dataclass(frozen=True)
class Spec:
    target: HostPort
    expect: str = "open"  # open | closed (firewall items: the port must not answer)
    banner: Pattern | None = None  # open only: first bytes must match
    # closed only: judge a target that is this machine (tests and labs on loopback, never
    # production: from the host itself the firewall is not in the path)
    local_ok: bool = False


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        target=f.host_port("target"),
        expect=f.choice("expect", ("open", "closed")),
        banner=f.optional_regex("banner"),
        local_ok=f.flag("local_ok"),
    )
    if spec.banner is not None and spec.expect == "closed" and f.usable("expect"):
        f.problem("banner", "only applies when expect is open")
    if spec.local_ok and spec.expect == "open" and f.usable("expect", "local_ok"):
        f.problem("local_ok", "only applies when expect is closed")
    return spec


async def _connect(family: int, address: Any) -> socket.socket:
    """A socket connected to ``address``; raises the OSError it met."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


def _shown(address: Any) -> str:
    return str(HostPort(address[0], address[1]))


# The failures of a connect that the target (or the network in front of it) gave: a refusal
# (RST), silence until the kernel gave up, or an ICMP "host unreachable". Only these mean closed.
TARGET_ANSWERS = frozenset(
    {errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.EHOSTDOWN}
)


def _target_answered(exc: BaseException) -> bool:
    return isinstance(exc, NoAnswer) or (isinstance(exc, OSError) and exc.errno in TARGET_ANSWERS)


def _why(exc: BaseException) -> str:
    if isinstance(exc, NoAnswer):
        return "no answer"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def _first_connection(
    addresses: Sequence[tuple[int, Any]], ctx: ProbeContext
) -> tuple[socket.socket | None, dict[str, BaseException]]:
    """The first address to accept (the others given up), or how each one failed."""
    tasks = {
        asyncio.ensure_future(ctx.wait(_connect(family, address), _shown(address))): address
        for family, address in addresses
    }
    failures: dict[str, BaseException] = {}
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is None:
                    return task.result(), failures
                if not isinstance(exc, OSError | NoAnswer):
                    raise exc  # a bug, not an answer: the engine reports it as a probe error
                failures[_shown(tasks[task])] = exc
        return None, failures
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    host, port, target = spec.target.host, spec.target.port, str(spec.target)
    evidence: dict[str, Any] = {"target": target}
    ctx.log(f"connecting to {target} (budget {ctx.budget():.2f}s)")
    addresses = _numeric(host, port)
    if addresses is None:
        try:
            # A resolver that stays silent says nothing about the port: NoAnswer, never "closed".
            infos = await ctx.wait(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
                f"{target} (resolving {host})",
            )
        except (socket.gaierror, UnicodeError) as exc:
            # A name that does not resolve says nothing about the port: never a "closed" PASS.
            why = f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}"
            ctx.log(why)
            return Result(
                Status.FAIL,
                f"{target}: {why}, cannot judge",
                {**evidence, "reason": why},
                error=True,
            )
        addresses = list(dict.fromkeys((family, address) for family, _, _, _, address in infos))
    if spec.expect == "closed" and not spec.local_ok:
        local = _this_machine(spec.target, addresses, evidence)
        if local is not None:
            ctx.log(local.summary)
            return local
    sock, failures = await _first_connection(addresses, ctx)
    for where, failure in failures.items():
        ctx.log(f"{where} not connected: {_why(failure)}")
    if sock is None:
        return _unreachable(spec, failures, evidence, ctx)
    if spec.expect == "closed" or spec.banner is None:
        sock.close()  # nothing to read: no streams to build
        if spec.expect == "closed":
            return failed(f"{target} accepts connections, expected closed", **evidence)
        return passed(f"{target} open", **evidence)
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        return await _judge_banner(spec, spec.banner, reader, ctx, evidence)
    finally:
        writer.close()


def _numeric(host: str, port: int) -> list[tuple[int, Any]] | None:
    """A numeric host's address as getaddrinfo gives it, without the resolver's thread (asyncio
    hands every getaddrinfo to a thread, a hop that cost more than the connect); None for a
    name."""
    for family, address in ((socket.AF_INET, (host, port)), (socket.AF_INET6, (host, port, 0, 0))):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return [(family, address)]
    return None


def _this_machine(
    target: HostPort, addresses: Sequence[tuple[int, Any]], evidence: dict[str, Any]
) -> Result | None:
    """The probe error to give when the target is this machine: no vantage point for a firewall."""
    for family, address in addresses:
        try:
            local = is_this_machine(family, address)
        except OSError as exc:
            return cannot_judge(_shown(address), exc, evidence)
        if local:
            host = target.host
            shown = host if address[0] == host else f"{host} ({address[0]})"
            why = f"{shown} is this machine; a firewall is judged from outside the network"
            return Result(
                Status.FAIL, f"cannot judge: {why}", {**evidence, "reason": why}, error=True
            )
    return None


def _unreachable(
    spec: Spec, failures: dict[str, BaseException], evidence: dict[str, Any], ctx: ProbeContext
) -> Result:
    """The verdict when no address connected: the target's answer, or no verdict at all."""
    target = str(spec.target)
    for where, exc in failures.items():
        local = local_cause(exc)
        if local is not None:
            return cannot_judge(where, local, evidence)
    if spec.expect == "closed":
        for where, exc in failures.items():
            if not _target_answered(exc):
                # Only the target's refusal, its silence or a router's "unreachable" is an
                # answer; anything else (a driver's EINVAL, an OSError without errno) is not.
                why = f"{_why(exc)}, which is no answer from the target"
                return Result(
                    Status.FAIL,
                    f"cannot judge {where}: {why}",
                    {**evidence, "reason": why},
                    error=True,
                )
    silent = all(isinstance(exc, NoAnswer) for exc in failures.values())
    if silent and spec.expect != "closed":
        # No answer at all (a filtered port, a host that is off) cannot tell "down" from "slow".
        raise NoAnswer(target, ctx.timeout)
    why = ", ".join(dict.fromkeys(_why(exc) for exc in failures.values()))
    evidence = {**evidence, "reason": why}
    if len(failures) > 1:
        evidence["addresses"] = {where: _why(exc) for where, exc in failures.items()}
    if spec.expect == "closed":
        # A filtered port drops the attempt: silence is the answer "closed" asks for.
        return passed(f"{target} closed ({why}), expected closed", **evidence)
    return Result(Status.FAIL, f"{target} not reachable ({why}), expected open", evidence)


async def _judge_banner(
    spec: Spec,
    banner: Pattern,
    reader: asyncio.StreamReader,
    ctx: ProbeContext,
    evidence: dict[str, Any],
) -> Result:
    target = str(spec.target)
    seen = b""
    try:
        while not banner.search(seen.decode("utf-8", "replace")) and len(seen) < BANNER_CAP:
            chunk = await ctx.wait(reader.read(1024), f"{target} banner")
            if not chunk:
                break
            seen += chunk
    except NoAnswer as silence:
        # Neither a matching banner nor the end of the greeting came: cannot judge.
        silence.evidence.update(evidence, banner=clip(seen.decode("utf-8", "replace"), 200))
        raise
    text = seen.decode("utf-8", "replace")
    ctx.log(f"banner read: {clip(text, 200)!r}")
    evidence["banner"] = clip(text, 200)
    if banner.search(text):
        return passed(f"{target} open, banner matches", **evidence)
    return failed(
        f"{target} banner {clip(text, 60)!r} does not match /{banner.pattern}/", **evidence
    )
