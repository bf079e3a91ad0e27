"""DNS probe: resolve a name (A, AAAA, CNAME, MX, TXT) and optionally expect values in the answer.

The system resolver (``/etc/resolv.conf``) is used unless ``resolver`` names a server. Expected
values are compared without case and without the trailing dot; an MX value may be written with
or without its preference (``10 mail.example.com`` or ``mail.example.com``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .address import HostPort, parse_resolver
from .context import NoAnswer, ProbeContext
from .fields import Fields, to_text
from .local_errors import cannot_judge, local_cause
from .result import Result, Status

if TYPE_CHECKING:  # annotations only: dnspython itself is imported on first use
    import dns.asyncresolver
    import dns.resolver

TYPES = ("A", "AAAA", "CNAME", "MX", "TXT")


@dataclass(frozen=True)
class Spec:
    name: str
    type: str = "A"
    resolver: HostPort | None = None  # written ip or ip:port (IPv6 as [::1]:53); None: the system's
    expect: tuple[str, ...] = ()  # values that must all be in the answer


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    return Spec(
        name=f.text("name"),
        type=f.choice("type", TYPES),
        resolver=f.optional_parsed("resolver", _resolver_address),
        expect=f.texts("expect"),
    )


def _resolver_address(value: object, where: str) -> HostPort:
    return parse_resolver(to_text(value, where), where)


def normalize(value: str) -> str:
    return value.strip().strip('"').rstrip(".").lower()


def answer_values(answer: dns.resolver.Answer, rdtype: str) -> list[str]:
    """The answer's records as text a person would write (TXT unquoted and joined), sorted.

    A record set has no order, so sorting keeps a summary the same from run to run.
    """
    values = []
    for rdata in answer:
        if rdtype == "TXT":
            values.append(b"".join(rdata.strings).decode("utf-8", "replace"))
        else:
            values.append(rdata.to_text())
    return sorted(values)


def matches(expected: str, values: list[str], rdtype: str) -> bool:
    want = normalize(expected)
    for value in values:
        have = normalize(value)
        if have == want:
            return True
        if rdtype == "MX" and have.split()[-1] == want:
            return True
        if rdtype in ("A", "AAAA"):
            try:
                if ipaddress.ip_address(have) == ipaddress.ip_address(want):
                    return True
            except ValueError:
                pass
    return False


def _resolver(spec: Spec) -> dns.asyncresolver.Resolver:
    # Imported on first use: dnspython's memory is spared a checklist without DNS items
    # (docs/performance.md).
    import dns.asyncresolver

    if spec.resolver is None:
        return dns.asyncresolver.Resolver()
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [spec.resolver.host]
    resolver.port = spec.resolver.port
    return resolver


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    import dns.exception
    import dns.resolver

    where = f"{spec.name} {spec.type}"
    evidence: dict[str, object] = {
        "name": spec.name,
        "type": spec.type,
        "resolver": str(spec.resolver or "system"),
    }
    server = str(spec.resolver) if spec.resolver else "the system resolver"
    ctx.log(f"resolving {where} via {server}")
    budget = ctx.budget()
    try:
        resolver = _resolver(spec)
        # The per-try timeout within the budget too, or the first try alone outlasts it;
        # dnspython may overshoot its lifetime by a retry's backoff: ctx.wait holds the line.
        resolver.timeout = min(resolver.timeout, budget)
        answer = await ctx.wait(
            resolver.resolve(spec.name, spec.type, lifetime=budget, search=False),
            f"{where} via {server}",
        )
    except dns.resolver.NXDOMAIN:
        return Result(
            Status.FAIL,
            f"{spec.name} does not exist (NXDOMAIN), expected {spec.type} records",
            evidence,
        )
    except dns.resolver.NoAnswer:
        return Result(Status.FAIL, f"{spec.name} has no {spec.type} records", evidence)
    except dns.resolver.LifetimeTimeout:
        # dnspython's own clock ran out first: the same silence as ctx.wait's.
        raise NoAnswer(f"{where} via {server}", ctx.timeout, evidence=evidence) from None
    except dns.resolver.NoNameservers as exc:
        # Each server's error as (server, tcp, port, error, answer): ours (EMFILE) is no answer.
        for error in exc.kwargs.get("errors") or ():
            if isinstance(error[3], BaseException) and (local := local_cause(error[3])):
                return cannot_judge(where, local, evidence)
        return Result(Status.FAIL, f"{where}: no server could answer ({exc})", evidence)
    except dns.resolver.NoResolverConfiguration:
        return Result(
            Status.FAIL, f"{where}: no system resolver configured (/etc/resolv.conf)", evidence
        )
    except dns.exception.DNSException as exc:
        return Result(Status.FAIL, f"{where}: {exc}", evidence)
    values = answer_values(answer, spec.type)
    evidence.update(values=values, ttl=answer.rrset.ttl if answer.rrset is not None else None)
    ctx.log(f"answer: {values}")
    shown = ", ".join(values[:5]) + (f" and {len(values) - 5} more" if len(values) > 5 else "")
    if not spec.expect:
        return Result(Status.PASS, f"{where}: {shown}", evidence)
    missing = [v for v in spec.expect if not matches(v, values, spec.type)]
    evidence["missing"] = missing
    if not missing:
        return Result(Status.PASS, f"{where}: {shown}", evidence)
    status = Status.PARTIAL if len(missing) < len(spec.expect) else Status.FAIL
    return Result(status, f"{where}: {shown}; expected also {', '.join(missing)}", evidence)
