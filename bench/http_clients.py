"""CPU per HTTP request, fresh connection each time: aiohttp's client against httpx's.

The measurement behind the choice of aiohttp for HTTP probes (README, "Why aiohttp, not
httpx"). httpx is not a dependency: ``.venv/bin/pip install httpx`` first to compare.

    .venv/bin/python bench/http_clients.py [requests]
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys

from aiohttp import web

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve() -> tuple[web.AppRunner, str]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="ok" * 50)

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]


async def measure(get, url: str) -> float:
    """CPU ms per request for N requests, 20 in flight; server CPU included (same process)."""
    for _ in range(50):
        await get(url)
    sem = asyncio.Semaphore(20)

    async def one() -> None:
        async with sem:
            await get(url)

    start = cpu()
    await asyncio.gather(*(one() for _ in range(N)))
    return (cpu() - start) / N * 1000


async def main() -> None:
    import aiohttp

    runner, url = await serve()
    results: dict[str, list[float]] = {}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0))

    async def aiohttp_get(u: str) -> None:
        async with session.get(u) as r:
            await r.read()

    clients = {"aiohttp": aiohttp_get}
    try:
        import httpx

        client = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))

        async def httpx_get(u: str) -> None:
            (await client.get(u)).read()

        clients["httpx"] = httpx_get
    except ImportError:
        print("httpx is not installed: measuring aiohttp only")
    for _ in range(3):
        for name, get in clients.items():
            results.setdefault(name, []).append(await measure(get, url))
    for name, values in results.items():
        print(
            f"{name:8} {statistics.median(values):.3f} ms CPU per request "
            f"(median of {len(values)} runs of {N}; client and server in this process)"
        )
    await session.close()
    await runner.cleanup()


asyncio.run(main())
