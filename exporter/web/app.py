"""HTTP endpoints: /metrics, the status board (pages.py), health, readiness and reload."""

from __future__ import annotations

from aiohttp import web

from ..daemon import DAEMON, Daemon, daemon_of
from ..metrics import accepts_gzip, negotiate
from . import pages

MAX_REQUEST_BYTES = 64 * 1024


def build_app(daemon: Daemon) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[DAEMON] = daemon
    pages.add_routes(app)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    return app


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
    snap = daemon_of(request).engine.snapshot()
    if snap.ready:
        return web.Response(text="Ready\n")
    probed = [s for s in snap.states.values() if s.item.probed]
    done = sum(s.checked_at is not None for s in probed)
    return web.Response(status=503, text=f"Not ready: {done} of {len(probed)} items probed\n")


async def reload(request: web.Request) -> web.Response:
    errors = await daemon_of(request).reload()
    if errors:
        return web.Response(
            status=500, text="failed to reload config:\n" + "\n".join(errors) + "\n"
        )
    return web.Response(text="Reloaded\n")
