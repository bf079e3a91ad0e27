"""HTTP endpoints: /metrics, the status board (pages.py), health, readiness and reload.

Every answer carries the security headers of ``server.SECURITY_HEADERS``; every state-changing
request (``POST``, ``PUT``, ...) from a browser on another site is refused (``same_origin_only``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..daemon import DAEMON, Daemon, daemon_of
from ..metrics import accepts_gzip, negotiate
from . import api, pages
from . import urls as paths
from .api import WritePolicy
from .server import SECURITY_HEADERS, track_requests
from .urls import Urls

MAX_REQUEST_BYTES = 64 * 1024
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def build_app(
    daemon: Daemon, urls: Urls | None = None, write_policy: WritePolicy | None = None
) -> web.Application:
    """The exporter's app; ``urls`` default to the daemon's external URL, routes at ``/``;
    ``write_policy`` says who may record through ``POST /api/v1/...`` (web/api.py)."""
    urls = urls or Urls(daemon.external_url)
    app = web.Application(
        client_max_size=MAX_REQUEST_BYTES,
        middlewares=[track_requests, same_origin_only(urls)],
    )
    app[DAEMON] = daemon
    app.on_response_prepare.append(add_security_headers)
    pages.add_routes(app, urls)
    api.add_routes(app, urls, write_policy or WritePolicy())
    app.router.add_get(urls.route(paths.METRICS), metrics)
    app.router.add_get(urls.route(paths.HEALTHY), healthy, name="healthy")
    app.router.add_get(urls.route(paths.READY), ready)
    # Prometheus accepts both; so do we.
    app.router.add_post(urls.route(paths.RELOAD), reload)
    app.router.add_put(urls.route(paths.RELOAD), reload)
    if urls.route_prefix != "/":
        # Outside the prefix only its root is served: a redirect into it.
        into = redirect_to(urls.route(paths.BOARD))
        app.router.add_get("/", into)
        app.router.add_get(urls.route_prefix, into)
    return app


def redirect_to(location: str) -> Handler:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location)

    return redirect


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def cross_site(request: web.Request, external_origin: str) -> str | None:
    """Why a state-changing request looks sent by a page of another site, or None.

    Browsers say where a request comes from (``Sec-Fetch-Site``, ``Origin``); tools such as
    curl or a deploy script send neither and are let through (they carry no victim's cookies
    or credentials by accident). Allowed origins: the one the request was sent to, and the
    external URL's (a browser behind a reverse proxy).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if origin == external_origin or urlsplit(origin).netloc == request.host:
        return None
    return f"Origin: {origin}"


def same_origin_only(urls: Urls) -> Middleware:
    """A middleware refusing (403) state-changing requests that come from another site."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in STATE_CHANGING:
            reason = cross_site(request, urls.origin)
            if reason is not None:
                raise web.HTTPForbidden(
                    text=f"{request.method} {request.path} from another site ({reason}) "
                    "is refused; behind a proxy, set --web.external-url\n"
                )
        return await handler(request)

    return middleware


async def metrics(request: web.Request) -> web.Response:
    # Text format or OpenMetrics as asked; gzip when allowed (Prometheus always asks for it).
    fmt = negotiate(request.headers.get("Accept", ""))
    gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    headers = {"Content-Type": fmt.value, "Vary": "Accept, Accept-Encoding"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=daemon_of(request).exposition.scrape(fmt, gzip), headers=headers)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="Healthy\n")


async def ready(request: web.Request) -> web.Response:
    engine = daemon_of(request).engine
    if engine.ready:
        return web.Response(text="Ready\n")
    done, probed = engine.probed_so_far()
    return web.Response(status=503, text=f"Not ready: {done} of {probed} items probed\n")


async def reload(request: web.Request) -> web.Response:
    errors = await daemon_of(request).reload()
    if errors:
        return web.Response(
            status=500, text="failed to reload config:\n" + "\n".join(errors) + "\n"
        )
    return web.Response(text="Reloaded\n")
