"""The long-running exporter: config, engine and HTTP server, with reload and clean shutdown.

The web layer sees the daemon only through ``snapshot()`` (everything a page shows),
``probe_now()``, ``reload()``, ``exposition`` and ``external_url``.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import structlog
from aiohttp import web

from probes.kind import Registry
from probes.registry import KINDS

from . import config
from .engine import Engine
from .errors import UsageError
from .metrics import Exposition, ReloadStatus
from .on_demand import Run
from .snapshot import Snapshot
from .web.server import Limits, Site, TLSContexts
from .web.urls import default_external_url

log = structlog.get_logger("readiness.daemon")

DEFAULT_PORT = 10145
DEFAULT_LISTEN = f":{DEFAULT_PORT}"
SHUTDOWN_GRACE = 1.0  # seconds open HTTP connections get to finish after SIGTERM
METRICS_REFRESH = 1.0  # seconds between two writes of changed items' /metrics lines


def split_listen_address(value: str) -> tuple[str | None, int]:
    """``HOST:PORT``, ``[::1]:PORT`` or ``:PORT`` (every interface) as (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--web.listen-address must be HOST:PORT or :PORT (got {value!r})")
    host = host.strip("[]")
    return (host or None), int(port)


def daemon_of(request: web.Request) -> Daemon:
    """The daemon an HTTP handler serves."""
    return request.app[DAEMON]


class Daemon:
    """Holds the running config and engine; reloads keep the last good config on failure."""

    def __init__(
        self,
        config_path: str | Path,
        env: Mapping[str, str] | None = None,
        kinds: Registry = KINDS,
        external_url: str = "",
    ):
        self.config_path = Path(config_path)
        self.env = env
        self.kinds = kinds
        # Where people and dashboards reach the exporter (--web.external-url; web/urls.py),
        # also shown by readiness_exporter_web_info.
        self.external_url = external_url or default_external_url(DEFAULT_PORT)
        self.engine = Engine(config.load(self.config_path, env, kinds), kinds=kinds)
        self.reload_status = ReloadStatus(True, time.time())
        self.exposition = Exposition(
            self.engine.snapshot, lambda: self.reload_status, lambda: self.external_url
        )
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()

    async def reload(self) -> list[str]:
        """Re-read the config file; returns the errors (empty when it was applied)."""
        async with self._lock:
            try:
                checklist = await asyncio.to_thread(
                    config.load, self.config_path, self.env, self.kinds
                )
            except config.ConfigError as exc:
                errors = exc.errors
            except Exception as exc:  # noqa: BLE001 - a loader bug must not skip the bookkeeping
                errors = [
                    f"{self.config_path.name}: could not be loaded ({type(exc).__name__}: {exc})"
                ]
            else:
                errors = []
            if errors:
                self.reload_status = ReloadStatus(False, self.reload_status.last_success)
                log.error("config reload failed; keeping the running config", errors=errors)
                return errors
            self.engine.reload(checklist)
            self.reload_status = ReloadStatus(True, time.time())
            return []

    def snapshot(self) -> Snapshot:
        """The checklist's current results, with each item's recent status changes."""
        return self.engine.snapshot()

    async def probe_now(self, item_id: str) -> Run:
        """Run an item because a person asked (bounded; raises ``on_demand.RateLimited``)."""
        return await self.engine.probe_now(item_id)

    def stop(self) -> None:
        self._stopping.set()

    async def _refresh_metrics(self) -> None:
        # Lines of results written between scrapes keep /metrics fast with thousands of items.
        while True:
            await asyncio.sleep(METRICS_REFRESH)
            self.exposition.refresh()

    async def serve(
        self,
        listen: str,
        app: web.Application,
        tls: TLSContexts | None = None,
        max_connections: int = 0,
    ) -> None:
        """Start probing and serving; return after SIGTERM/SIGINT (or ``stop()``).

        ``tls`` hands out the TLS context per connection (``webconfig.ServerTLS``);
        ``max_connections`` 0 derives the cap from the descriptor limit (web/server.py).
        """
        host, port = split_listen_address(listen)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        # A client that keeps a connection open (idle keep-alive, a body it never finishes)
        # must not hold up shutdown: aiohttp's default waits 60 s for it.
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE
        )
        await runner.setup()
        limits = Limits.for_descriptors(max_connections)
        site = Site(runner, host, port, limits, tls)
        await site.start()
        # The config and item states built so far live as long as the process: move them out
        # of the collector's generations so full collections stop walking them again.
        gc.collect()
        gc.freeze()
        self.engine.start()
        refresher = asyncio.ensure_future(self._refresh_metrics())
        log.info(
            "listening",
            address=listen,
            items=len(self.engine.states),
            config=str(self.config_path),
            external_url=self.external_url,
            max_connections=limits.max_connections,
        )
        try:
            await self._stopping.wait()
        finally:
            log.info("shutting down")
            refresher.cancel()
            await self.engine.stop()
            await runner.cleanup()


DAEMON = web.AppKey("daemon", Daemon)
