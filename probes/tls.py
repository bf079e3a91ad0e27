"""TLS probe: handshake with SNI, refusal of old protocols, chain, hostname, self-signed, expiry.

``judge`` says which question the probe answers, so one item asks one question: ``protocol``
(the server refuses versions below ``min_version``; the certificate is not looked at),
``certificate`` (chain, name, self-signed, days left; old versions are not offered) or ``both``.

The certificate's notAfter becomes ``Result.expires_at``, which the exporter publishes as
``readiness_item_expiry_timestamp_seconds`` so alerts can warn ahead of the probe failing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .address import HostPort, parse_server_name
from .context import NoAnswer, ProbeContext
from .fields import Fields
from .local_errors import cannot_judge, local_cause
from .result import Result, Status

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
# The highest version below each minimum: the one offered to check that the server refuses it.
BELOW = {"1.2": ("1.1", ssl.TLSVersion.TLSv1_1), "1.3": ("1.2", ssl.TLSVersion.TLSv1_2)}
# OpenSSL's X509_V_ERR_* codes that deserve their own words.
SELF_SIGNED_CODES = {18, 19}  # depth-zero self-signed, self-signed in chain
EXPIRED_CODE = 10
HOSTNAME_CODES = {62, 64}  # host name mismatch, IP address mismatch
JUDGES = ("both", "protocol", "certificate")
# OpenSSL's security level on the one context that offers old versions: level 0 lets it offer
# TLS 1.0/1.1 and their SHA-1 signatures, which level 1 and above refuse to send.
LEGACY_SECLEVEL = 0
# Reasons OpenSSL gives when it refuses, on our side, to send a hello with those versions.
CANNOT_OFFER = {"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"}


@dataclass(frozen=True)
class Spec:
    target: HostPort
    server_name: str | None = None  # SNI and the name the certificate must match; default host
    min_version: str = "1.2"  # lower versions must be refused
    ca_file: Path | None = None  # trust these CAs instead of the system store
    warn_days: float = 30.0  # fewer days left: PARTIAL
    critical_days: float = 7.0  # fewer days left: FAIL
    judge: str = "both"  # protocol | certificate | both: the question this probe answers


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        target=f.host_port("target"),
        # Empty (``${APP_SERVER_NAME:-}``) is the target's host.
        server_name=f.optional_parsed("server_name", parse_server_name) or None,
        min_version=f.choice("min_version", VERSIONS),
        ca_file=f.optional_path("ca_file"),
        warn_days=f.number("warn_days"),
        critical_days=f.number("critical_days"),
        judge=f.choice("judge", JUDGES),
    )
    if spec.critical_days > spec.warn_days and f.usable("critical_days", "warn_days"):
        f.problem(
            "critical_days",
            f"({spec.critical_days:g}) must not be above warn_days ({spec.warn_days:g})",
        )
    return spec


_legacy: dict[tuple[str, int], ssl.SSLContext] = {}


def legacy_context(version: str) -> ssl.SSLContext:
    """A client context that offers only protocols below ``version`` (built once per version)."""
    ctx = _legacy.get((version, LEGACY_SECLEVEL))
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # offering them is the point
            ctx.minimum_version = (
                ssl.TLSVersion.TLSv1 if version == "1.2" else ssl.TLSVersion.TLSv1_2
            )
            ctx.maximum_version = BELOW[version][1]
        ctx.set_ciphers(f"DEFAULT:@SECLEVEL={LEGACY_SECLEVEL}")
        _legacy[(version, LEGACY_SECLEVEL)] = ctx
    return ctx


async def handshake(
    host: str, port: int, sni: str, tls: ssl.SSLContext, ctx: ProbeContext, target: str
) -> tuple[str, bytes]:
    """The negotiated protocol and the leaf certificate (DER) of one TLS handshake."""
    _, writer = await ctx.wait(
        asyncio.open_connection(
            # asyncio's own handshake timer runs past the budget: ctx.wait decides.
            host,
            port,
            ssl=tls,
            server_hostname=sni,
            ssl_handshake_timeout=ctx.budget() + 1,
        ),
        target,
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return ssl_object.version() or "?", ssl_object.getpeercert(binary_form=True) or b""
    finally:
        writer.close()


def _not_after(der: bytes) -> float | None:
    # Imported on first use: cryptography's memory is spared a checklist without TLS items
    # (docs/performance.md).
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return cert.not_valid_after_utc.timestamp()


def _is_self_signed(der: bytes) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return cert.issuer == cert.subject


def _date(ts: float) -> str:
    return f"{dt.datetime.fromtimestamp(ts, dt.UTC):%Y-%m-%d}"


def _verify_reason(exc: ssl.SSLCertVerificationError, sni: str, der: bytes) -> str:
    code = exc.verify_code
    if code in SELF_SIGNED_CODES or (der and _is_self_signed(der)):
        return "certificate is self-signed, expected one issued by a trusted CA"
    if code == EXPIRED_CODE:
        return "certificate has expired"
    if code in HOSTNAME_CODES:
        return f"certificate does not match {sni}"
    return f"certificate not trusted: {exc.verify_message or exc.reason}"


def _connect_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"handshake failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionResetError):
        return "handshake failed: connection reset by the server"
    if isinstance(exc, OSError) and (exc.strerror or str(exc)):
        return exc.strerror or str(exc)
    return f"handshake failed: {type(exc).__name__}"


@dataclass
class Handshake:
    """What the first handshake showed: the protocol, the leaf and its expiry."""

    version: str
    der: bytes
    not_after: float | None
    days_left: float | None


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    sni = spec.server_name or spec.target.host
    evidence: dict[str, Any] = {"target": str(spec.target), "server_name": sni}
    if spec.judge != "certificate":
        evidence["min_version"] = spec.min_version
    ctx.log(f"TLS handshake with {spec.target} (SNI {sni}), judging {spec.judge}")
    # The protocol question does not look at the certificate: an untrusted one is S-012's.
    first = await first_handshake(spec, ctx, sni, evidence, verify=spec.judge != "protocol")
    if isinstance(first, Result):
        return first
    if spec.judge != "certificate":
        lower = await lower_versions(spec, ctx, sni, evidence)
        if isinstance(lower, Result):
            return replace(lower, expires_at=None if spec.judge == "protocol" else first.not_after)
        if spec.judge == "protocol":
            return Result(Status.PASS, f"{spec.target}: {first.version}; {lower}", evidence)
    else:
        lower = ""
    return judge_expiry(spec, first, lower, evidence)


async def first_handshake(
    spec: Spec, ctx: ProbeContext, sni: str, evidence: dict[str, Any], verify: bool
) -> Handshake | Result:
    """The handshake with the default client settings (TLS 1.2+); a Result when it fails."""
    host, port, target = spec.target.host, spec.target.port, str(spec.target)
    ca_file = str(spec.ca_file) if spec.ca_file is not None else None
    verify_error: ssl.SSLCertVerificationError | None = None
    try:
        version, der = await handshake(
            host, port, sni, ctx.resources.ssl_context(verify, ca_file), ctx, target
        )
    except ssl.SSLCertVerificationError as exc:
        verify_error = exc
        ctx.log(f"verification failed ({exc.verify_message}); reading the certificate unverified")
        try:
            version, der = await handshake(
                host, port, sni, ctx.resources.ssl_context(False), ctx, target
            )
        except (OSError, NoAnswer) as again:
            # Only details (the expiry) are missing: the verdict is the verification error.
            version, der = "?", b""
            ctx.log(f"unverified handshake failed too: {again}")
    except OSError as exc:
        if local := local_cause(exc):
            return cannot_judge(target, local, evidence)
        reason = _connect_reason(exc)
        ctx.log(reason)
        expected = (
            "expected a TLS handshake to read the certificate"
            if spec.judge == "certificate"
            else f"expected a TLS {spec.min_version}+ handshake"
        )
        return Result(
            Status.FAIL, f"{spec.target}: {reason}, {expected}", {**evidence, "error": reason}
        )
    not_after = _not_after(der) if der else None
    days_left = (not_after - time.time()) / 86400 if not_after is not None else None
    evidence["version"] = version
    if verify:
        evidence["self_signed"] = bool(der) and _is_self_signed(der)
        if not_after is not None and days_left is not None:
            evidence.update(
                not_after=dt.datetime.fromtimestamp(not_after, dt.UTC).isoformat(),
                days_left=round(days_left, 1),
            )
    if verify_error is not None:
        reason = _verify_reason(verify_error, sni, der)
        evidence["verify_error"] = verify_error.verify_message
        if not_after is not None and days_left is not None:
            reason += (
                f" (expires {_date(not_after)})"
                if days_left > 0
                else f" (expired {_date(not_after)})"
            )
        return Result(Status.FAIL, f"{spec.target}: {reason}", evidence, not_after)
    return Handshake(version, der, not_after, days_left)


class CannotOffer(Exception):
    """Raised when this machine's OpenSSL will not send a hello with the old versions."""


class Unclear(Exception):
    """Raised when the server's answer to the old hello says neither yes nor no."""


# TLS record and handshake bytes read from the server's first answer (RFC 5246 6.2, 7.4).
ALERT, HANDSHAKE, SERVER_HELLO = 21, 22, 2
WIRE_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2"}
ALERTS = {40: "handshake failure", 70: "protocol version", 71: "insufficient security"}


async def offer_old(
    host: str, port: int, sni: str, below: str, ctx: ProbeContext, target: str
) -> tuple[str | None, str]:
    """Send a hello offering only versions below ``below`` and read the server's first answer:
    (the version its ServerHello chose, words) or (None, how it refused).

    The answer is read off the wire rather than from a finished handshake: this machine's
    OpenSSL may give up on an old handshake the server accepted (SHA-1 signatures), which must
    not read as the server's refusal.
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    hello = legacy_context(below).wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        hello.do_handshake()
    except ssl.SSLWantReadError:
        pass  # the hello is written; the server's answer is read below
    except ssl.SSLError as exc:
        if exc.reason in CANNOT_OFFER:
            raise CannotOffer(exc.reason) from None
        raise
    try:
        reader, writer = await ctx.wait(asyncio.open_connection(host, port), target)
    except OSError as exc:  # it took the first handshake: this is no answer to the hello
        if local_cause(exc):
            raise  # this machine's failure: lower_versions says so
        raise Unclear(f"could not connect again: {_connect_reason(exc)}") from None
    try:
        writer.write(outgoing.read())
        await ctx.wait(writer.drain(), target)
        header = await ctx.wait(reader.readexactly(5), target)
        body = await ctx.wait(reader.readexactly(min(6, int.from_bytes(header[3:5]))), target)
    except asyncio.IncompleteReadError:
        return None, "the server closed the connection"
    except (ConnectionResetError, BrokenPipeError):
        return None, "the server reset the connection"
    finally:
        writer.close()
    if header[0] == ALERT and len(body) >= 2:
        return None, f"alert {ALERTS.get(body[1], body[1])}"
    if header[0] == HANDSHAKE and len(body) >= 6 and body[0] == SERVER_HELLO:
        chosen = int.from_bytes(body[4:6])
        name = WIRE_VERSIONS.get(chosen, f"version 0x{chosen:04x}")
        if chosen < VERSIONS[below].value:
            return name, f"accepted {name}"
        return None, f"answered with {name} anyway"
    raise Unclear(f"its answer is not a TLS alert or ServerHello (record type {header[0]})")


async def lower_versions(
    spec: Spec, ctx: ProbeContext, sni: str, evidence: dict[str, Any]
) -> str | Result:
    """Words saying the server refused a hello offering only versions below ``min_version``,
    or the Result when it accepted one, or when this machine could not offer them."""
    lower_name, _ = BELOW[spec.min_version]
    ctx.log(f"offering only TLS {lower_name} and below")
    try:
        # A server silent to an old hello has not refused it: NoAnswer, cannot judge.
        accepted, words = await offer_old(
            spec.target.host,
            spec.target.port,
            sni,
            spec.min_version,
            ctx,
            f"{spec.target} offered only TLS {lower_name} and below",
        )
    except (CannotOffer, Unclear) as exc:
        # Nothing was asked (our OpenSSL would not send such a hello), or nothing was answered.
        why = (
            f"this machine's OpenSSL cannot offer TLS {lower_name} ({exc})"
            if isinstance(exc, CannotOffer)
            else f"offered TLS {lower_name}: {exc}"
        )
        evidence["lower_versions"] = f"not checked: {why}"
        return Result(
            Status.FAIL,
            f"{spec.target}: {why}; cannot judge whether the server refuses it",
            evidence,
            error=True,
        )
    except OSError as exc:
        if local := local_cause(exc):  # not a refusal: never a PASS for "old versions refused"
            return cannot_judge(f"{spec.target} with TLS {lower_name}", local, evidence)
        raise
    ctx.log(f"old hello: {words}")
    if accepted is not None:
        evidence["lower_versions"] = words
        return Result(
            Status.FAIL,
            f"{spec.target} accepts {accepted}, expected refusal below TLS {spec.min_version}",
            evidence,
        )
    evidence["lower_versions"] = f"refused ({words})"
    return f"TLS {lower_name} and below refused"


def judge_expiry(spec: Spec, first: Handshake, lower: str, evidence: dict[str, Any]) -> Result:
    """The verdict on a trusted certificate's days left (``lower``: the refusal, if asked)."""
    not_after, days_left = first.not_after, first.days_left
    if not_after is None or days_left is None:
        return Result(
            Status.FAIL,
            f"{spec.target}: the certificate could not be read; cannot judge its expiry",
            evidence,
            error=True,
        )
    if days_left < spec.critical_days:
        return Result(
            Status.FAIL,
            f"{spec.target}: certificate expires in {days_left:.1f} days, "
            f"expected at least {spec.critical_days:g}",
            evidence,
            not_after,
        )
    if days_left < spec.warn_days:
        return Result(
            Status.PARTIAL,
            f"{spec.target}: certificate expires in {days_left:.0f} days, "
            f"expected at least {spec.warn_days:g}",
            evidence,
            not_after,
        )
    valid = f"{first.version}, certificate valid {days_left:.0f} days (until {_date(not_after)})"
    return Result(
        Status.PASS,
        f"{spec.target}: {valid}" + (f"; {lower}" if lower else ""),
        evidence,
        not_after,
    )
