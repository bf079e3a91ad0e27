"""One HTTP request as the http kind sends it: its settings, and sending it with bounds.

The three http probes (response checks, https redirect, rate-limit burst) share these settings
and this code; ``read_capped`` and ``client_error_reason`` serve the promql kind too.
Credentials (``bearer_token``, ``basic_auth``, ``secret_headers``) print as ``<secret>`` and
are revealed only in ``request_headers``, right before sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from .address import parse_server_name
from .context import ProbeContext
from .credentials import Auth, parse_auth
from .fields import Fields, Secret

BODY_CAP = 1024 * 1024  # bytes of body read at most; the rest is never downloaded
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Request:
    url: str  # http:// or https://
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: Mapping[str, Secret] = field(default_factory=dict)
    auth: Auth | None = None
    body: str | None = None
    follow_redirects: bool = True  # at most MAX_REDIRECTS, credentials kept to the origin
    verify: bool = True
    ca_file: str | None = None  # trust these CAs instead of the system store
    # The name the site answers to (Host, SNI, certificate, redirects to it), reached at the
    # URL's host; None: the URL's host is the name.
    server_name: str | None = None


@dataclass
class Hop:
    """One request of a redirect chain: where it went, and the status it got (None: none)."""

    url: URL  # as the site names it (the server_name, not the address connected to)
    status: int | None = None
    sent: bool = True  # False: a redirect to another host, recorded and not followed


def parse_request(f: Fields) -> Request:
    f = f.defaults_from(Request)
    ca_file = f.optional_path("ca_file")
    return Request(
        url=f.url("url"),
        method=f.choice("method", METHODS),
        headers=f.text_map("headers"),
        secret_headers=f.secret_map("secret_headers"),
        auth=parse_auth(f),
        body=f.optional_text("body"),
        follow_redirects=f.flag("follow_redirects"),
        verify=f.flag("verify"),
        ca_file=str(ca_file) if ca_file is not None else None,
        server_name=f.optional_parsed("server_name", parse_server_name) or None,
    )


def request_headers(request: Request, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers to send, secrets revealed: build only right before sending."""
    headers = dict(request.headers)
    headers.update({k: v.reveal() for k, v in request.secret_headers.items()})
    if request.auth is not None:
        headers.update(request.auth.header())
    headers.update(extra or {})
    return headers


async def fetch(
    request: Request,
    ctx: ProbeContext,
    follow: bool | None = None,
    extra: Mapping[str, str] | None = None,
    read_body: bool = True,
    chain: list[Hop] | None = None,
    same_host: bool = False,
) -> tuple[aiohttp.ClientResponse, bytes]:
    """The response and up to BODY_CAP bytes of its body; ``chain`` gets every request made.

    ``same_host``: a redirect to another host is recorded in ``chain`` (not sent) and its
    response returned, as if it were not followed.

    Redirects are followed here, not by aiohttp: aiohttp drops only ``Authorization`` when a
    redirect leaves the origin, and would hand ``secret_headers`` and custom headers to any host
    a target redirects to. Past the first origin only ``extra`` (probe-made headers) is sent.
    With ``server_name``, requests to that name (the first one, and redirects back to it) go to
    the URL's host with the name as Host and SNI, as ``curl --resolve`` does.
    """
    follow = request.follow_redirects if follow is None else follow
    ssl_ctx = ctx.resources.ssl_context(request.verify, request.ca_file)
    url, method, data = URL(request.url), request.method, request.body
    address = url.host
    if request.server_name:
        url = url.with_host(request.server_name)
    origin = url.origin()
    chain = [] if chain is None else chain
    for _ in range(MAX_REDIRECTS + 1):
        headers = request_headers(request, extra) if url.origin() == origin else dict(extra or {})
        target, server_hostname = url, None
        if request.server_name and address and url.host == request.server_name:
            target = url.with_host(address)
            headers.setdefault("Host", url.host_port_subcomponent or request.server_name)
            server_hostname = request.server_name if url.scheme == "https" else None
        hop = Hop(url)
        chain.append(hop)
        async with ctx.resources.http.request(
            method,
            target,
            headers=headers,
            data=data,
            ssl=ssl_ctx,
            server_hostname=server_hostname,
            allow_redirects=False,
        ) as response:
            hop.status = response.status
            location = response.headers.get("Location")
            if follow and response.status in REDIRECTS and location:
                url = url.join(URL(location))
                if same_host and url.host != origin.host:
                    chain.append(Hop(url, sent=False))
                    return response, b""
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, data = "GET", None
                ctx.log(f"status {response.status}: redirected to {url.with_user(None)}")
                continue
            body = await read_capped(response, BODY_CAP) if read_body else b""
            if len(body) >= BODY_CAP:
                ctx.log(f"body cut at {BODY_CAP} bytes")
            return response, body
    raise aiohttp.TooManyRedirects(response.request_info, response.history)


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body up to ``cap`` bytes (one ``read(n)`` returns only what is buffered so far)."""
    body = bytearray()
    while len(body) < cap:
        chunk = await response.content.read(cap - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def client_error_reason(exc: BaseException) -> str:
    """A failed request in words: refused, untrusted certificate, too many redirects, ..."""
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        return (
            f"certificate not trusted: {getattr(cert_error, 'verify_message', None) or cert_error}"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def decode(body: bytes, charset: str | None) -> str:
    """The body as text in its declared charset; UTF-8 when none is declared or Python lacks it."""
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:  # e.g. MySQL's "utf8mb4"
        return body.decode("utf-8", "replace")
