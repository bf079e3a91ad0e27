"""Fake HTTP APIs on loopback (Graph, GitHub, PagerDuty, Grafana, Loki, statuspage.io, the
application itself) answering the real APIs' documented shapes, so a shipped item can be
pointed at them through its variables (``GITHUB_API_URL``, ``PAGERDUTY_API_URL``, ...).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from support.servers import serve_app


@dataclass(frozen=True)
class Reply:
    """A response: status, headers (Set-Cookie may repeat: give a list), body (text or JSON)."""

    status: int = 200
    body: Any = ""
    headers: Mapping[str, str | list[str]] = field(default_factory=dict)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = Reply | dict | list | Handler


def _respond(reply: Reply) -> web.Response:
    if isinstance(reply.body, (dict, list)):
        text, content_type = json.dumps(reply.body), "application/json"
    else:
        text, content_type = str(reply.body), "text/html"
    response = web.Response(status=reply.status, text=text, content_type=content_type)
    for name, value in reply.headers.items():
        for one in [value] if isinstance(value, str) else value:
            response.headers.add(name, one)
    return response


def app(routes: Mapping[str, Route]) -> web.Application:
    """``{"GET /path": route}``; a route is a Reply, a JSON document, or a handler."""
    application = web.Application()
    for key, route in routes.items():
        method, path = key.split(" ", 1)

        def handler(route: Route = route) -> Handler:
            if callable(route):
                return route

            async def reply(request: web.Request) -> web.Response:
                return _respond(route if isinstance(route, Reply) else Reply(body=route))

            return reply

        application.router.add_route(method, path, handler())
    return application


@contextlib.asynccontextmanager
async def serve(routes: Mapping[str, Route]) -> AsyncIterator[str]:
    """Serve ``routes`` on a free loopback port; yields the base URL."""
    async with serve_app(app(routes)) as base:
        yield base


def github_runs(conclusion: str | None) -> dict[str, Any]:
    """GitHub's ``GET /repos/{repo}/actions/workflows/{file}/runs`` answer."""
    runs = (
        []
        if conclusion is None
        else [{"id": 1, "status": "completed", "conclusion": conclusion, "head_branch": "main"}]
    )
    return {"total_count": len(runs), "workflow_runs": runs}
