"""Routes of the status board and its JSON API, added to the exporter's aiohttp app.

``/`` the board, ``/items/<ID>`` one item (``POST /items/<ID>/probe`` runs it now and shows the
probe's debug lines), ``/api/v1/status`` the ``check --format json`` document,
``/api/v1/items/<ID>`` one item with its evidence, history and masked probe config, and
``/static/`` the board's styles and script. Unknown IDs are 404.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..daemon import daemon_of
from ..redact import redact
from ..render import json as json_doc
from ..snapshot import ItemState
from . import board

STATIC = Path(__file__).with_name("static")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", board_page)
    app.router.add_get("/items/{id}", item_page)
    app.router.add_post("/items/{id}/probe", probe_now)
    app.router.add_get("/api/v1/status", status_api)
    app.router.add_get("/api/v1/items/{id}", item_api)
    app.router.add_static("/static/", STATIC, append_version=False)


def _category(request: web.Request, state: ItemState) -> str:
    titles = {c.id: c.title for c in daemon_of(request).engine.checklist.categories}
    return titles.get(state.item.category, state.item.category)


def _state(request: web.Request) -> ItemState:
    item_id = request.match_info["id"]
    state = daemon_of(request).engine.snapshot().states.get(item_id)
    if state is None:
        raise web.HTTPNotFound(text=f"unknown item {item_id}: not in the running config\n")
    return state


def _html(request: web.Request, text: str) -> web.Response:
    # Pages change with every probe result; never let a cache show an old decision.
    response = web.Response(
        text=text, content_type="text/html", headers={"Cache-Control": "no-store"}
    )
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression()  # 145 rows are ~85 KB of HTML, ~10 KB gzipped
    return response


def _json(doc: Any) -> web.Response:
    return web.Response(
        text=json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n",
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def board_page(request: web.Request) -> web.Response:
    snap = daemon_of(request).engine.snapshot()
    return _html(request, board.board(snap, board.Filters.from_query(request.query)))


async def item_page(request: web.Request) -> web.Response:
    state = _state(request)
    changes = list(daemon_of(request).engine.history.get(state.item.id, ()))
    return _html(request, board.item_page(state, changes, category=_category(request, state)))


async def probe_now(request: web.Request) -> web.Response:
    # A page on another site must not make a visitor's browser run probes here.
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text=f"probe-now from another site ({origin}) is refused\n")
    state = _state(request)
    engine = daemon_of(request).engine
    lines: list[str] = []
    if state.item.probed:
        state = await engine.run_item(state.item.id, debug=lines)
    else:
        lines.append(f"not run: {state.result.summary}")
    return _html(
        request,
        board.item_page(
            state,
            list(engine.history.get(state.item.id, ())),
            debug=lines,
            category=_category(request, state),
        ),
    )


async def status_api(request: web.Request) -> web.Response:
    return _json(json_doc.status_json(daemon_of(request).engine.snapshot()))


def item_detail(state: ItemState, changes: list[Any]) -> dict[str, Any]:
    """``/api/v1/items/<ID>``: the item's line of the status document and everything behind it."""
    item = state.item
    return {
        **json_doc.item_json(state),
        "notes": item.notes,
        "applicable": item.applicable,
        "missing_variables": list(item.missing),
        "evidence": dict(state.result.evidence),  # masked by value in the engine
        "expires_at": board.iso(state.result.expires_at) or None,
        "error": state.result.error,
        "runs": state.runs,
        "errors": state.errors,
        "interval_seconds": item.interval,
        "timeout_seconds": item.timeout,
        "probe": redact(dict(item.raw_probe)),
        "history": [
            {
                "at": board.iso(c.at),
                "before": c.before.value,
                "after": c.after.value,
                "summary": c.summary,
            }
            for c in changes
        ],
    }


async def item_api(request: web.Request) -> web.Response:
    state = _state(request)
    return _json(item_detail(state, list(daemon_of(request).engine.history.get(state.item.id, ()))))
