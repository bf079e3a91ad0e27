"""HTTP endpoints: /metrics, the landing page, health, readiness and reload."""

from __future__ import annotations

import html

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from . import __version__
from .daemon import Daemon
from .scoring import percent

MAX_REQUEST_BYTES = 64 * 1024


def build_app(daemon: Daemon) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app["daemon"] = daemon
    app.router.add_get("/", landing)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    return app


def _daemon(request: web.Request) -> Daemon:
    return request.app["daemon"]


async def metrics(request: web.Request) -> web.Response:
    body = _daemon(request).exposition.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="Healthy\n")


async def ready(request: web.Request) -> web.Response:
    snap = _daemon(request).engine.snapshot()
    if snap.ready:
        return web.Response(text="Ready\n")
    probed = [s for s in snap.states.values() if s.item.probed]
    done = sum(s.checked_at is not None for s in probed)
    return web.Response(status=503, text=f"Not ready: {done} of {len(probed)} items probed\n")


async def reload(request: web.Request) -> web.Response:
    errors = await _daemon(request).reload()
    if errors:
        return web.Response(status=500, text="failed to reload config:\n" + "\n".join(errors) + "\n")
    return web.Response(text="Reloaded\n")


async def landing(request: web.Request) -> web.Response:
    snap = _daemon(request).engine.snapshot()
    sc = snap.scores
    name = html.escape(snap.checklist.name)
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{name} — readiness-exporter</title></head>
<body>
<h1>{name}</h1>
<p><strong>Decision: {sc.decision.label}</strong> — {html.escape(sc.reason)}</p>
<p>Total score {percent(sc.total.score)} ({sc.total.passed} of {sc.total.applicable} applicable items PASS);
critical score {percent(sc.critical.score)} ({sc.critical.passed} of {sc.critical.applicable}).</p>
<p><a href="/metrics">Metrics</a></p>
<p>readiness-exporter {__version__}</p>
</body></html>
"""
    return web.Response(text=body, content_type="text/html")
