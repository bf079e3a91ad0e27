"""Security header policies: what HSTS, CSP, frame protection and nosniff headers mean.

The http kind's ``security_headers`` option judges the values a browser would act on, not the
presence of a name (a ``Strict-Transport-Security: max-age=0`` header switches HSTS off). Each
header is read as the standard that defines it says a browser reads it:

- HSTS, RFC 6797: directives separated by ``;``, names without case, values a token or a
  quoted string, each directive at most once, ``max-age`` required; a header that breaks the
  syntax is ignored by the browser (6.1). Only a response over https counts (8.1). Two header
  fields are refused here: the RFC has a browser use the first, but a proxy that joins them
  (``max-age=0, max-age=31536000``) makes one invalid value.
- CSP, CSP Level 3: every enforced policy applies (a load must pass them all), so a source is
  allowed only when each policy allows it; comma-separated policies in one field count as
  separate policies; a directive repeated in one policy keeps its first value; script-src falls
  back to default-src; a nonce, a hash or ``'strict-dynamic'`` makes browsers ignore
  ``'unsafe-inline'``, and ``'strict-dynamic'`` makes them ignore host and scheme sources for
  scripts. ``Content-Security-Policy-Report-Only`` enforces nothing.
- Framing, the HTML standard's "X-Frame-Options" processing: a CSP ``frame-ancestors`` makes
  browsers ignore X-Frame-Options; values are split on commas and compared without case; one
  value ``deny`` or ``sameorigin`` protects, several values of which one is deny, sameorigin or
  allowall block framing, anything else (``ALLOWALL``, ``ALLOW-FROM``) allows it.
- ``X-Content-Type-Options``, the Fetch standard: the first value must be ``nosniff``.

A policy's verdict is a list of findings, each a status and words naming what is wrong beside
what is expected, and a line saying what held when nothing is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from multidict import MultiMapping

from .fields import Fields
from .masking import clip
from .result import Status

HSTS = "Strict-Transport-Security"
CSP = "Content-Security-Policy"
CSP_REPORT_ONLY = "Content-Security-Policy-Report-Only"
XFO = "X-Frame-Options"
XCTO = "X-Content-Type-Options"

# CSP fetch directives that fall back to default-src (CSP3 6.8.3, simplified to one level:
# script-src-elem/-attr fall back to script-src first).
FETCH_DIRECTIVES = (
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "img-src",
    "font-src",
    "connect-src",
    "media-src",
    "object-src",
    "frame-src",
    "child-src",
    "worker-src",
    "manifest-src",
)
SCRIPT_DIRECTIVES = ("script-src", "script-src-elem", "script-src-attr")
UNSAFE_FALLBACK = {
    "script-src-elem": ("script-src", "default-src"),
    "script-src-attr": ("script-src", "default-src"),
    "style-src-elem": ("style-src", "default-src"),
    "style-src-attr": ("style-src", "default-src"),
    "worker-src": ("child-src", "script-src", "default-src"),
    "frame-src": ("child-src", "default-src"),
}
DEFAULT_FORBID = ("*", "http:", "https:", "data:", "'unsafe-inline'", "'unsafe-eval'")
_NONCE_OR_HASH = re.compile(r"^'(nonce-|sha256-|sha384-|sha512-)", re.IGNORECASE)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 7230 token
_SCHEME_SOURCE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:$")
DAY = 86400.0


# -- the policies a config asks for ------------------------------------------------------------


@dataclass(frozen=True)
class HstsPolicy:
    min_max_age: float = 180 * DAY  # seconds; below FAILs, 0 switches HSTS off
    include_subdomains: bool = True  # missing includeSubDomains: PARTIAL


@dataclass(frozen=True)
class CspPolicy:
    directives: tuple[str, ...] = ("default-src", "script-src")  # judged as browsers apply them
    forbid: tuple[str, ...] = DEFAULT_FORBID  # sources that must not be allowed


@dataclass(frozen=True)
class SecurityHeaders:
    """Which protections a response must carry, and how strong each must be."""

    hsts: HstsPolicy | None = None
    csp: CspPolicy | None = None
    frame_protection: bool = False  # X-Frame-Options DENY/SAMEORIGIN or CSP frame-ancestors
    nosniff: bool = False  # X-Content-Type-Options: nosniff


def parse_security_headers(f: Fields) -> SecurityHeaders:
    """``security_headers: {hsts: true | {...}, csp: true | {...}, frame_protection, nosniff}``."""
    f = f.defaults_from(SecurityHeaders)
    spec = SecurityHeaders(
        hsts=_parse_hsts(f),
        csp=_parse_csp(f),
        frame_protection=f.flag("frame_protection"),
        nosniff=f.flag("nosniff"),
    )
    if spec == SecurityHeaders() and f.usable("hsts", "csp", "frame_protection", "nosniff"):
        f.reading.problems.add(
            f"{f.prefix} must ask for at least one of hsts, csp, frame_protection, nosniff"
        )
    return spec


def _policy(f: Fields, key: str) -> Fields | bool | None:
    """``true``/``false``, or a reader of the mapping under ``key``; None when absent or wrong."""
    if isinstance(f.raw.get(key), Mapping):
        return f.sub(key)
    return f.optional_flag(key)


def _parse_hsts(f: Fields) -> HstsPolicy | None:
    given = _policy(f, "hsts")
    if not isinstance(given, Fields):
        return HstsPolicy() if given else None
    given = given.defaults_from(HstsPolicy)
    return HstsPolicy(
        min_max_age=given.duration("min_max_age"),
        include_subdomains=given.flag("include_subdomains"),
    )


def _parse_csp(f: Fields) -> CspPolicy | None:
    given = _policy(f, "csp")
    if not isinstance(given, Fields):
        return CspPolicy() if given else None
    given = given.defaults_from(CspPolicy)
    policy = CspPolicy(directives=given.texts("directives"), forbid=given.texts("forbid"))
    unknown = [d for d in policy.directives if d.lower() not in FETCH_DIRECTIVES]
    if unknown and given.usable("directives"):
        given.problem(
            "directives",
            f'must be fetch directives such as default-src, script-src (got "{unknown[0]}"; '
            "framing is frame_protection's question)",
        )
    return CspPolicy(tuple(d.lower() for d in policy.directives), policy.forbid)


# -- reading the headers as browsers do ------------------------------------------------------


class HeaderSyntaxError(ValueError):
    """Raised when a header value breaks its grammar: browsers ignore such a header."""


def _skip_ows(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _token_at(text: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(text) and _TOKEN.match(text[j]):
        j += 1
    return text[i:j], j


def _quoted_at(text: str, i: int) -> tuple[str, int]:
    """The quoted-string starting at ``text[i] == '"'``, unescaped, and the index after it."""
    out, j = [], i + 1
    while j < len(text):
        char = text[j]
        if char == "\\" and j + 1 < len(text):
            out.append(text[j + 1])
            j += 2
        elif char == '"':
            return "".join(out), j + 1
        else:
            out.append(char)
            j += 1
    raise HeaderSyntaxError("an unterminated quoted value")


def parse_hsts(value: str) -> dict[str, str | None]:
    """An STS header's directives by lower-case name (RFC 6797 6.1); HeaderSyntaxError if the
    browser must ignore the header (bad syntax, a directive twice, no valid max-age)."""
    directives: dict[str, str | None] = {}
    i = 0
    while True:
        i = _skip_ows(value, i)
        if i < len(value) and value[i] != ";":
            name, i = _token_at(value, i)
            if not name:
                raise HeaderSyntaxError(f"unexpected {value[i]!r}")
            i = _skip_ows(value, i)
            directive_value: str | None = None
            if i < len(value) and value[i] == "=":
                i = _skip_ows(value, i + 1)
                if i < len(value) and value[i] == '"':
                    directive_value, i = _quoted_at(value, i)
                else:
                    directive_value, i = _token_at(value, i)
                i = _skip_ows(value, i)
            key = name.lower()
            if key in directives:
                raise HeaderSyntaxError(f"{name} given twice")
            directives[key] = directive_value
        if i >= len(value):
            break
        if value[i] != ";":
            raise HeaderSyntaxError(f"unexpected {value[i]!r}")
        i += 1
    max_age = directives.get("max-age")
    if "max-age" not in directives:
        raise HeaderSyntaxError("no max-age")
    if max_age is None or not max_age.isdigit():
        raise HeaderSyntaxError(f"max-age {max_age!r} is not a number of seconds")
    if "includesubdomains" in directives and directives["includesubdomains"] is not None:
        raise HeaderSyntaxError("includeSubDomains takes no value")
    return directives


Policy = dict[str, tuple[str, ...]]  # directive name (lower case) -> its source list


def parse_csp(values: Sequence[str]) -> list[Policy]:
    """Every policy in the header fields (CSP3 2.2.1): one per comma-separated part, its
    directives by lower-case name, a repeated directive keeping its first value."""
    policies = []
    for value in values:
        for part in value.split(","):
            policy: Policy = {}
            for directive in part.split(";"):
                words = directive.split()
                if not words or not _TOKEN.match(words[0]):
                    continue
                policy.setdefault(words[0].lower(), tuple(words[1:]))
            if policy:
                policies.append(policy)
    return policies


def split_values(values: Sequence[str]) -> list[str]:
    """Fetch's "get, decode and split": every field's comma-separated values, trimmed."""
    return [v.strip() for value in values for v in value.split(",")]


# -- judging ------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What a response's headers show against a SecurityHeaders spec."""

    problems: list[tuple[Status, str]] = field(default_factory=list)  # what is wrong
    held: list[str] = field(default_factory=list)  # what was asked and holds
    evidence: dict[str, object] = field(default_factory=dict)

    def wrong(self, text: str, status: Status = Status.FAIL) -> None:
        self.problems.append((status, text))


def age(seconds: float) -> str:
    """A max-age in the unit people think of it in: ``60 s``, ``2 h``, ``180 d``."""
    for size, unit in ((DAY, "d"), (3600.0, "h"), (60.0, "min")):
        if seconds >= 2 * size:
            return f"{round(seconds / size, 1):g} {unit}"
    return f"{seconds:g} s"


def _cut(text: str, limit: int = 200) -> str:
    """A header value as shown: credentials masked (a report-uri with a token), then cut."""
    return clip(text, limit)


def judge(spec: SecurityHeaders, headers: MultiMapping[str], https: bool) -> Verdict:
    """The verdict on ``headers`` (every field of each name), received over https or not."""
    verdict = Verdict()
    policies = parse_csp(headers.getall(CSP, []))
    if spec.hsts is not None:
        judge_hsts(spec.hsts, headers.getall(HSTS, []), https, verdict)
    if spec.csp is not None:
        report_only = bool(headers.getall(CSP_REPORT_ONLY, []))
        judge_csp(spec.csp, headers.getall(CSP, []), policies, report_only, verdict)
    if spec.frame_protection:
        judge_framing(policies, headers.getall(XFO, []), verdict)
    if spec.nosniff:
        judge_nosniff(headers.getall(XCTO, []), verdict)
    return verdict


def judge_hsts(policy: HstsPolicy, values: Sequence[str], https: bool, verdict: Verdict) -> None:
    expected = f"expected at least {age(policy.min_max_age)}"
    verdict.evidence["hsts"] = [_cut(v) for v in values]
    if not https:
        verdict.wrong(
            "HSTS cannot take effect over plain http (browsers ignore the header there), "
            "expected it on an https:// response"
        )
        return
    if not values:
        verdict.wrong(f"no {HSTS} header, {expected} of HSTS max-age")
        return
    if len(values) > 1:
        verdict.wrong(
            f"{len(values)} {HSTS} headers, expected one (a browser reads only the first, and "
            "joined by a proxy they are one invalid value)"
        )
        return
    try:
        directives = parse_hsts(values[0])
    except HeaderSyntaxError as exc:
        verdict.wrong(f"HSTS header invalid ({exc}): browsers ignore it, {expected} of max-age")
        return
    max_age = float(directives["max-age"] or 0)
    verdict.evidence["hsts_max_age_seconds"] = max_age
    if max_age == 0:
        verdict.wrong(f"HSTS max-age 0 s (switches HSTS off), {expected}")
        return
    if max_age < policy.min_max_age:
        verdict.wrong(f"HSTS max-age {age(max_age)}, {expected}")
        return
    subdomains = "includesubdomains" in directives
    if policy.include_subdomains and not subdomains:
        verdict.wrong(
            f"HSTS max-age {age(max_age)} without includeSubDomains, expected includeSubDomains",
            Status.PARTIAL,
        )
        return
    verdict.held.append(
        f"HSTS max-age {age(max_age)}" + (", includeSubDomains" if subdomains else "")
    )


def _fallbacks(directive: str) -> tuple[str, ...]:
    """The directives whose list applies to ``directive`` when it is not set, in order."""
    if directive == "default-src":
        return ()
    return UNSAFE_FALLBACK.get(directive, ("default-src",))


def _in_force(policy: Policy, directive: str) -> tuple[str, tuple[str, ...]] | None:
    """The directive whose source list governs ``directive`` in ``policy``, and that list."""
    for name in (directive, *_fallbacks(directive)):
        if name in policy:
            return name, policy[name]
    return None


def _host_is_wildcard(source: str) -> bool:
    """``*``, ``*:443``, ``https://*``, ``https://*:*/path``: any host at all."""
    rest = source.split("://", 1)[1] if "://" in source else source
    host = rest.split("/", 1)[0].rsplit(":", 1)[0] if not rest.startswith("[") else rest
    return host == "*"


def allowed(sources: Sequence[str], forbid: Sequence[str], scripts: bool) -> list[str]:
    """The entries of ``forbid`` that ``sources`` lets through, as CSP3 browsers read them."""
    lowered = [s.lower() for s in sources]
    strict = scripts and "'strict-dynamic'" in lowered
    nonce_or_hash = any(_NONCE_OR_HASH.match(s) for s in sources)
    out = []
    for entry in forbid:
        word = entry.lower()
        if word == "'unsafe-inline'":
            hit = word in lowered and not (nonce_or_hash or strict)
        elif word == "*":
            hit = not strict and any(_host_is_wildcard(s) for s in lowered)
        elif not word.startswith("'"):  # a scheme or host source: ignored under strict-dynamic
            hit = not strict and word in lowered
        else:
            hit = word in lowered
        if hit:
            out.append(entry)
    return out


def judge_csp(
    policy: CspPolicy,
    values: Sequence[str],
    policies: Sequence[Policy],
    report_only: bool,
    verdict: Verdict,
) -> None:
    verdict.evidence["csp"] = [_cut(v) for v in values]
    if not policies:
        if report_only:
            verdict.wrong(
                f"CSP is report-only ({CSP_REPORT_ONLY} enforces nothing), expected {CSP}"
            )
        else:
            verdict.wrong(f"no {CSP} header, expected a policy that restricts scripts")
        return
    # directive -> (the directive whose list governs it, the forbidden sources it lets through)
    seen: dict[str, tuple[str, list[str]]] = {}
    for directive in policy.directives:
        in_force = [_in_force(p, directive) for p in policies]
        if all(f is None for f in in_force):
            if directive == "default-src" and len(policy.directives) > 1:
                continue  # nothing falls back to it: the other directives judged say it all
            verdict.wrong(
                f"CSP sets neither {directive} nor default-src: {directive} loads from "
                "anywhere, expected a policy that restricts them"
            )
            continue
        # A load must pass every policy: a source is let through when no policy refuses it.
        scripts = directive in SCRIPT_DIRECTIVES
        common = set.intersection(
            *(
                set(policy.forbid) if f is None else set(allowed(f[1], policy.forbid, scripts))
                for f in in_force
            )
        )
        names = {f[0] for f in in_force if f is not None}
        governing = names.pop() if len(names) == 1 else directive
        seen[directive] = (governing, [e for e in policy.forbid if e in common])
    for directive, (governing, through) in seen.items():
        if not through or (governing != directive and seen.get(governing) == (governing, through)):
            continue  # fine, or told once with the directive it falls back to
        falls = [
            d for d, judged in seen.items() if d != directive and judged == (directive, through)
        ]
        where = f" (from {governing})" if governing != directive else ""
        note = f" ({' and '.join(falls)} fall{'s' * (len(falls) == 1)} back to it)" if falls else ""
        verdict.wrong(f"CSP {directive}{where} allows {', '.join(through)}{note}")
    if seen and not any(through for _, through in seen.values()):
        what = (
            "no wildcard or unsafe source"
            if policy.forbid == DEFAULT_FORBID
            else f"none of {', '.join(policy.forbid)}"
        )
        judged = [d + (f" (from {g})" if g != d else "") for d, (g, _) in seen.items()]
        verdict.held.append(f"CSP {', '.join(judged)} allow{'s' * (len(judged) == 1)} {what}")


def _anyone_may_frame(sources: Sequence[str]) -> bool:
    lowered = [s.lower() for s in sources]
    return any(_host_is_wildcard(s) or _SCHEME_SOURCE.match(s) for s in lowered)


def judge_framing(policies: Sequence[Policy], xfo: Sequence[str], verdict: Verdict) -> None:
    """Framing refused, as the HTML standard's X-Frame-Options processing decides it."""
    ancestors = [p["frame-ancestors"] for p in policies if "frame-ancestors" in p]
    verdict.evidence["x_frame_options"] = [_cut(v) for v in xfo]
    if ancestors:
        verdict.evidence["frame_ancestors"] = [" ".join(a) for a in ancestors]
        # Each policy applies: one frame-ancestors that refuses is enough.
        refusing = [a for a in ancestors if not _anyone_may_frame(a)]
        if refusing:
            shown = " ".join(refusing[0]) or "(empty: 'none')"
            verdict.held.append(f"framing refused by CSP frame-ancestors {shown}")
            return
        ignored = f" (X-Frame-Options {', '.join(xfo)} is ignored beside it)" if xfo else ""
        verdict.wrong(
            f"CSP frame-ancestors {' '.join(ancestors[0])} lets any site frame the page"
            f"{ignored}, expected 'none', 'self' or a list of origins"
        )
        return
    options = {v.lower() for v in split_values(xfo)}
    if not xfo:
        verdict.wrong(
            "no X-Frame-Options or CSP frame-ancestors: any site can frame the page, "
            "expected X-Frame-Options DENY or SAMEORIGIN"
        )
    elif len(options) == 1 and options <= {"deny", "sameorigin"}:
        verdict.held.append(f"framing refused (X-Frame-Options {xfo[0].strip().upper()})")
    elif len(options) > 1 and options & {"deny", "sameorigin", "allowall"}:
        verdict.held.append(
            f"framing refused (X-Frame-Options {', '.join(xfo)}: conflicting values block it)"
        )
    else:
        value = ", ".join(xfo)
        why = " (obsolete: browsers ignore it)" if "allow-from" in value.lower() else ""
        verdict.wrong(
            f"X-Frame-Options {_cut(value, 80)}{why} lets any site frame the page, "
            "expected DENY or SAMEORIGIN (or CSP frame-ancestors)"
        )


def judge_nosniff(values: Sequence[str], verdict: Verdict) -> None:
    """Fetch: only the first value counts, and it must be ``nosniff``."""
    verdict.evidence["x_content_type_options"] = [_cut(v) for v in values]
    first = split_values(values)[0] if values else None
    if first is None:
        verdict.wrong(f"no {XCTO} header, expected nosniff")
    elif first.lower() != "nosniff":
        verdict.wrong(f"{XCTO} {_cut(first, 80)}, expected nosniff")
    else:
        verdict.held.append(f"{XCTO} nosniff")
