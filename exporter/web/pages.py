"""Routes of the status board and its JSON API, added to the exporter's aiohttp app.

``/`` the board, ``/items/<ID>`` one item (``POST /items/<ID>/probe`` runs it now and shows the
probe's debug lines), ``/api/v1/status`` the ``check --format json`` document,
``/api/v1/items/<ID>`` one item with its evidence, history and masked probe config, and
``/static/`` the board's styles and script. Unknown IDs are 404. Pages read the daemon's
snapshot and nothing else; probe-now goes through the engine's bounded ``probe_now``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from ..daemon import daemon_of
from ..formatting import rfc3339
from ..on_demand import RateLimited
from ..redact import redact
from ..render import json as json_doc
from ..snapshot import ItemState, Snapshot
from . import board
from . import urls as paths
from .api import acceptance_json
from .urls import Urls

STATIC = Path(__file__).with_name("static")
URLS = web.AppKey("urls", Urls)


def add_routes(app: web.Application, urls: Urls) -> None:
    app[URLS] = urls
    app.router.add_get(urls.route(paths.BOARD), board_page)
    app.router.add_get(urls.route(paths.ITEM), item_page)
    app.router.add_post(urls.route(paths.PROBE_NOW), probe_now)
    app.router.add_get(urls.route(paths.STATUS_API), status_api)
    app.router.add_get(urls.route(paths.ITEM_API), item_api)
    app.router.add_static(urls.route(paths.STATIC), STATIC, append_version=False)


def _item(request: web.Request) -> tuple[Snapshot, ItemState]:
    item_id = request.match_info["id"]
    snap = daemon_of(request).snapshot()
    state = snap.states.get(item_id)
    if state is None:
        raise web.HTTPNotFound(text=f"unknown item {item_id}: not in the running config\n")
    return snap, state


def _html(request: web.Request, text: str) -> web.Response:
    # Pages change with every probe result; never let a cache show an old decision.
    response = web.Response(
        text=text, content_type="text/html", headers={"Cache-Control": "no-store"}
    )
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression()  # rows of alike HTML: a tenth gzipped (docs/performance.md)
    return response


def _json(doc: Any) -> web.Response:
    return web.Response(
        text=json_doc.dumps(doc),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def board_page(request: web.Request) -> web.Response:
    snap = daemon_of(request).snapshot()
    filters = board.Filters.from_query(request.query)
    sort = board.Sort.from_query(request.query)
    return _html(request, board.board(snap, filters, request.app[URLS], sort=sort))


async def item_page(request: web.Request) -> web.Response:
    snap, state = _item(request)
    return _html(request, board.item_page(snap, state, request.app[URLS]))


async def probe_now(request: web.Request) -> web.Response:
    # Cross-site requests are refused for every state change (app.same_origin_only).
    snap, state = _item(request)
    if not state.item.probed:
        debug: tuple[str, ...] = (f"not run: {state.result.summary}",)
    else:
        try:
            run = await daemon_of(request).probe_now(state.item.id)
        except RateLimited as exc:
            raise web.HTTPTooManyRequests(
                text=f"{exc}\n", headers={"Retry-After": str(exc.retry_after)}
            ) from None
        snap = daemon_of(request).snapshot()
        state, debug = snap.states.get(state.item.id, run.state), run.debug
    return _html(request, board.item_page(snap, state, request.app[URLS], debug=debug))


async def status_api(request: web.Request) -> web.Response:
    return _json(json_doc.status_json(daemon_of(request).snapshot()))


def item_detail(state: ItemState) -> dict[str, Any]:
    """``/api/v1/items/<ID>``: the item's line of the status document and everything behind it."""
    item = state.item
    return {
        **json_doc.item_json(state),
        "notes": item.notes,
        "applicable": item.applicable,
        "missing_variables": list(item.missing),
        "evidence": dict(state.result.evidence),  # masked by value in the engine
        "expires_at": rfc3339(state.result.expires_at),
        "error": state.result.error,
        "runs": state.runs,
        "errors": state.errors,
        "interval_seconds": state.current_interval,
        "timeout_seconds": item.timeout,
        "last_pass_at": rfc3339(state.records.last_pass),
        "remediation": state.records.remediation,
        "risk_acceptance": None
        if state.records.acceptance is None
        else {
            **acceptance_json(state.records.acceptance),
            "in_force": bool(state.records.risk and state.records.risk.accepted),
        },
        "probe": redact(dict(item.raw_probe)),
        "history": [
            {
                "at": rfc3339(c.at),
                "before": c.before.value,
                "after": c.after.value,
                "summary": c.summary,
            }
            for c in state.history
        ],
    }


async def item_api(request: web.Request) -> web.Response:
    _snap, state = _item(request)
    return _json(item_detail(state))
