"""The long-running exporter: config, store, engine and HTTP server, with reload and clean
shutdown.

The store (exporter/store.py) is opened before anything is served: a damaged or unwritable one
is an error at start (``StoreError``), never a silent loss. Its memory (history, last PASS and
decision times, people's records) seeds the engine; what the engine observes goes back through
the ``StoreWorker`` thread. Every 2 s the daemon asks whether another process (the command
line) wrote to the store and reads people's records again if so; once a day it applies the
retention. At SIGTERM it records when PASS items were last PASS and the decision last held.

The web layer sees the daemon only through ``snapshot()`` (everything a page shows),
``probe_now()``, ``reload()``, ``record()`` (people's writes, exporter/process.py),
``exposition`` and ``external_url``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

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
from .store import (
    DEFAULT_RETENTION,
    StatusChange,
    Store,
    StoreWorker,
    default_storage_path,
)
from .web.server import Limits, Site, TLSContexts
from .web.urls import default_external_url

log = structlog.get_logger("readiness.daemon")

DEFAULT_PORT = 10145
DEFAULT_LISTEN = f":{DEFAULT_PORT}"
SHUTDOWN_GRACE = 1.0  # seconds open HTTP connections get to finish after SIGTERM
METRICS_REFRESH = 1.0  # seconds between two writes of changed items' /metrics lines
STORE_POLL = 2.0  # seconds between looks for another process's writes to the store
RETENTION_EVERY = 86400.0  # seconds between two retention clean-ups of the store

T = TypeVar("T")


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
        storage_path: Path | None = None,
        retention: float = DEFAULT_RETENTION,
    ):
        """Read the config and open the store (``storage_path``, default ``data/`` beside the
        config); raises ConfigError or StoreError before anything runs."""
        self.config_path = Path(config_path)
        self.env = env
        self.kinds = kinds
        # Where people and dashboards reach the exporter (--web.external-url; web/urls.py),
        # also shown by readiness_exporter_web_info.
        self.external_url = external_url or default_external_url(DEFAULT_PORT)
        checklist = config.load(self.config_path, env, kinds)
        self.storage_path = storage_path or default_storage_path(self.config_path)
        store = Store.open(self.storage_path, retention=retention)
        try:
            memory = store.load([i.id for i in checklist.items])
        except BaseException:
            store.close()
            raise
        self.store = StoreWorker(store)
        self.engine = Engine(checklist, kinds=kinds, memory=memory, recorder=self._record)
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
            known = set(self.engine.states)
            new = [i.id for i in checklist.items if i.id not in known]
            memory = await self.store.call(lambda s: s.load(new)) if new else None
            self.engine.reload(checklist, memory)
            self.reload_status = ReloadStatus(True, time.time())
            return []

    # -- the store ------------------------------------------------------------------------

    def _record(
        self,
        changes: Sequence[StatusChange],
        passed: Mapping[str, float],
        held: Mapping[str, float],
    ) -> None:
        """The engine's recorder: queued on the store's thread, never waited for."""
        future = self.store.submit(lambda s: s.record_changes(changes, passed, held))
        future.add_done_callback(_log_failure)

    async def record(self, write: Callable[[Store], T]) -> T:
        """Run a write people asked for (exporter/process.py) on the store, then show it."""
        result = await self.store.call(write)
        await self.refresh_people()
        return result

    async def refresh_people(self) -> None:
        """Read people's records again and hand them to the engine."""
        self.engine.set_people(await self.store.call(lambda s: s.people()))

    async def _watch_store(self) -> None:
        """Notice writes another process (the command line) made to the store."""
        seen = await self.store.call(lambda s: s.data_version())
        while True:
            await asyncio.sleep(STORE_POLL)
            try:
                version = await self.store.call(lambda s: s.data_version())
                if version != seen:
                    seen = version
                    await self.refresh_people()
            except Exception as exc:  # noqa: BLE001 - a bad moment of the disk; look again
                log.error("could not read the store", error=str(exc))

    async def _clean_store(self) -> None:
        while True:
            await asyncio.sleep(RETENTION_EVERY)
            try:
                dropped = await self.store.call(lambda s: s.apply_retention())
                if dropped:
                    log.info("store retention applied", dropped=dropped)
            except Exception as exc:  # noqa: BLE001 - tried again tomorrow
                log.error("store retention failed", error=str(exc))

    def close(self) -> None:
        """Finish the store's queued writes and close it (after ``serve`` or without it)."""
        self.store.close()

    def snapshot(self) -> Snapshot:
        """The checklist's current results, with each item's recent status changes."""
        return self.engine.snapshot()

    @property
    def checklist(self) -> config.Checklist:
        """The running config (the last that loaded)."""
        return self.engine.checklist

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
        background = [
            asyncio.ensure_future(self._refresh_metrics()),
            asyncio.ensure_future(self._watch_store()),
            asyncio.ensure_future(self._clean_store()),
        ]
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
            for task in background:
                task.cancel()
            self.engine.remember()
            await self.engine.stop()
            await runner.cleanup()
            await asyncio.to_thread(self.close)


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("could not record in the store", error=str(exc))


DAEMON = web.AppKey("daemon", Daemon)
