"""What a probe run gets besides its spec: shared clients built once, a time budget, a debug log."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field

import aiohttp


class Resources:
    """Expensive things probes share for the life of the engine: the HTTP session, TLS contexts.

    A TLS context costs about 24 ms of CPU to build, so one is made per distinct setting and
    reused. The HTTP session opens a fresh connection per request (as blackbox_exporter does),
    keeps no cookies between probes, and is built lazily inside the running event loop.
    """

    def __init__(self) -> None:
        self._ssl: dict[tuple[bool, str | None], ssl.SSLContext] = {}
        self._session: aiohttp.ClientSession | None = None

    def ssl_context(self, verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
        key = (verify, ca_file)
        ctx = self._ssl.get(key)
        if ctx is None:
            ctx = ssl.create_default_context(cafile=ca_file)
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._ssl[key] = ctx
        return ctx

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0, ssl=self.ssl_context()),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@dataclass
class ProbeContext:
    """Per-run context: shared resources, the run's time budget, and debug lines when asked for."""

    resources: Resources
    timeout: float
    debug: list[str] | None = None
    started: float = field(default_factory=time.monotonic)
    item: str = ""  # the ID of the item probed: evidence that names its item is checked against it

    def log(self, message: str) -> None:
        """Record a debug line (shown by probe-now); free when nobody is listening."""
        if self.debug is not None:
            self.debug.append(f"{time.monotonic() - self.started:7.3f}s {message}")

    def remaining(self) -> float:
        """Seconds left of this run's timeout (never below a millisecond)."""
        return max(0.001, self.timeout - (time.monotonic() - self.started))

    def child(self) -> ProbeContext:
        return ProbeContext(
            self.resources, self.remaining(), self.debug, time.monotonic(), self.item
        )
