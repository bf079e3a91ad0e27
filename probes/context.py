"""What a probe run gets besides its spec: shared clients built once, its time budget, a debug log."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field

import httpx


class Resources:
    """Expensive things probes share for the life of the engine: HTTP clients and TLS contexts.

    Building an ``httpx.AsyncClient`` builds a TLS context (about 24 ms of CPU), so clients are
    made once per distinct TLS setting and reused by every probe run.
    """

    def __init__(self) -> None:
        self._clients: dict[tuple[bool, str | None], httpx.AsyncClient] = {}
        self._ssl: dict[tuple[bool, str | None], ssl.SSLContext] = {}

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

    def http_client(self, verify: bool = True, ca_file: str | None = None) -> httpx.AsyncClient:
        key = (verify, ca_file)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                verify=self.ssl_context(verify, ca_file),
                # Redirects, timeouts and limits are set per request by the probe.
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


@dataclass
class ProbeContext:
    """Per-run context: shared resources, the run's time budget, and debug lines when asked for."""

    resources: Resources
    timeout: float
    debug: list[str] | None = None
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        """Record a debug line (shown by probe-now); free when nobody is listening."""
        if self.debug is not None:
            self.debug.append(f"{time.monotonic() - self.started:7.3f}s {message}")

    def remaining(self) -> float:
        """Seconds left of this run's timeout (never below a millisecond)."""
        return max(0.001, self.timeout - (time.monotonic() - self.started))

    def child(self) -> "ProbeContext":
        return ProbeContext(self.resources, self.remaining(), self.debug, time.monotonic())

