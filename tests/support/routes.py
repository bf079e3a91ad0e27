"""Every route the exporter serves, as (method, path), so a new endpoint is covered at once."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web


def app_routes(app: web.Application, item_ids: Iterable[str]) -> list[tuple[str, str]]:
    """Routes taking an item ID once per ID in ``item_ids``; static assets as one real file."""
    ids = list(item_ids)
    found = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource else {}
        if "prefix" in info:
            found.append(
                (
                    route.method,
                    f"{info['prefix']}/{sorted(p.name for p in info['directory'].iterdir())[0]}",
                )
            )
        elif info.get("path"):
            found.append((route.method, info["path"]))
        elif "{id}" in info.get("formatter", ""):
            found += [(route.method, info["formatter"].replace("{id}", i)) for i in ids]
    return found
