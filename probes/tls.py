"""TLS probe: handshake with SNI, refusal of old protocols, chain, hostname, self-signed, expiry.

The certificate's notAfter becomes ``Result.expires_at``, which the exporter publishes as
``readiness_item_expiry_timestamp_seconds`` so alerts can warn ahead of the probe failing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .address import HostPort
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
HOSTNAME_CODE = 62


@dataclass(frozen=True)
class Spec:
    target: HostPort
    server_name: str | None = None  # SNI and the name the certificate must match; default host
    min_version: str = "1.2"  # lower versions must be refused
    ca_file: Path | None = None  # trust these CAs instead of the system store
    warn_days: float = 30.0  # fewer days left: PARTIAL
    critical_days: float = 7.0  # fewer days left: FAIL


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    spec = Spec(
        target=f.host_port("target"),
        server_name=f.optional_text("server_name"),
        min_version=f.choice("min_version", VERSIONS),
        ca_file=f.optional_path("ca_file"),
        warn_days=f.number("warn_days"),
        critical_days=f.number("critical_days"),
    )
    if spec.critical_days > spec.warn_days and f.usable("critical_days", "warn_days"):
        f.problem(
            "critical_days",
            f"({spec.critical_days:g}) must not be above warn_days ({spec.warn_days:g})",
        )
    return spec


_legacy: dict[str, ssl.SSLContext] = {}


def legacy_context(version: str) -> ssl.SSLContext:
    """A client context that offers only protocols below ``version`` (built once per version)."""
    ctx = _legacy.get(version)
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
        # Security level 0 lets this OpenSSL offer TLS 1.0/1.1 and their SHA-1 signatures.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        _legacy[version] = ctx
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
    # Imported on first use: cryptography adds ~14 MB of RSS that a checklist without TLS
    # items skips.
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
    if code == HOSTNAME_CODE:
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


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    host, port_number, target = spec.target.host, spec.target.port, str(spec.target)
    sni = spec.server_name or host
    ca_file = str(spec.ca_file) if spec.ca_file is not None else None
    evidence: dict[str, Any] = {
        "target": str(spec.target),
        "server_name": sni,
        "min_version": spec.min_version,
    }
    ctx.log(f"TLS handshake with {spec.target} (SNI {sni})")
    verify_error: ssl.SSLCertVerificationError | None = None
    try:
        version, der = await handshake(
            host, port_number, sni, ctx.resources.ssl_context(True, ca_file), ctx, target
        )
    except ssl.SSLCertVerificationError as exc:
        verify_error = exc
        ctx.log(f"verification failed ({exc.verify_message}); reading the certificate unverified")
        try:
            version, der = await handshake(
                host, port_number, sni, ctx.resources.ssl_context(False), ctx, target
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
        return Result(
            Status.FAIL,
            f"{spec.target}: {reason}, expected a TLS {spec.min_version}+ handshake",
            {**evidence, "error": reason},
        )

    not_after = _not_after(der) if der else None
    days_left = (not_after - time.time()) / 86400 if not_after is not None else None
    evidence.update(version=version, self_signed=bool(der) and _is_self_signed(der))
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

    lower_name, _ = BELOW[spec.min_version]
    ctx.log(f"offering only TLS {lower_name} and below")
    try:
        # A server silent to an old hello has not refused it: NoAnswer, cannot judge.
        old_version, _ = await handshake(
            host,
            port_number,
            sni,
            legacy_context(spec.min_version),
            ctx,
            f"{target} offered only TLS {lower_name} and below",
        )
    except ssl.SSLError as exc:
        if exc.reason == "NO_PROTOCOLS_AVAILABLE":
            # This OpenSSL build cannot offer them at all: say so rather than claim a refusal.
            evidence["lower_versions"] = f"not checked: this OpenSSL cannot offer TLS {lower_name}"
            lower_name = ""
        else:
            evidence["lower_versions"] = f"refused ({_connect_reason(exc)})"
    except OSError as exc:
        if local := local_cause(exc):  # not a refusal: never a PASS for "old versions refused"
            return cannot_judge(f"{spec.target} with TLS {lower_name}", local, evidence)
        evidence["lower_versions"] = f"refused ({_connect_reason(exc)})"
    else:
        evidence["lower_versions"] = f"accepted {old_version}"
        return Result(
            Status.FAIL,
            f"{spec.target} accepts {old_version}, expected refusal below TLS {spec.min_version}",
            evidence,
            not_after,
        )

    assert days_left is not None and not_after is not None
    valid = f"{version}, certificate valid {days_left:.0f} days (until {_date(not_after)})"
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
    refused = f"TLS {lower_name} refused" if lower_name else "lower versions not checked"
    return Result(Status.PASS, f"{spec.target}: {valid}; {refused}", evidence, not_after)
