"""The HTTP listener: bounded connections, the deadlines aiohttp lacks, TLS per connection.

aiohttp closes idle keep-alive connections but sets no deadline for a request's headers: a
client that connected and sent nothing (or completed a TLS handshake and idled) held its socket
for good, and at the descriptor limit every accept failed, ``/-/healthy`` stopped answering and
asyncio logged a traceback per failed accept. Here the listener accepts connections itself and
every accepted socket is a ``Connection`` (aiohttp's request handler, watched to its close):

- ``HEADER_TIMEOUT``: a new connection must complete its TLS handshake and its first request's
  headers within 10 s of being accepted, and a later request's headers within 10 s of its first
  byte; otherwise it is closed.
- ``IDLE_TIMEOUT``: a keep-alive connection idle for 60 s after a response is closed.
- ``--web.max-connections`` caps the sockets the HTTP side holds (accepted, open, or closing).
  By default it is half of the soft ``RLIMIT_NOFILE`` (8 to 4,096): the other half is left to
  probes. At the cap, the connection idle longest is closed to make room for the next one
  (never one whose request is being handled), so a flood of idle sockets cannot lock out
  Prometheus or a liveness check; when every connection is busy, a new one is closed at once.
  asyncio's own accept loop takes up to a listen backlog of sockets per tick before anyone can
  count them, which is why the listener is ours.
- Accept errors (EMFILE, ENFILE, ...), connections closed at the cap and failed requests are
  logged at most once per ``LOG_INTERVAL``, with a count of what was left out, never as a flood.
- TLS is negotiated per connection with the context ``ServerTLS`` hands out at that moment, so a
  certificate rotated on disk is used by the next connection (web/webconfig.py).

``track_requests`` (a middleware) tells each connection when a request is in the handler, which
is the one time it is neither timed out nor closed at the cap. Handlers are bounded themselves.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import socket
import time
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

log = structlog.get_logger("readiness.web")

HEADER_TIMEOUT = 10.0  # seconds from accept (or a request's first byte) to complete headers
IDLE_TIMEOUT = 60.0  # seconds a keep-alive connection may wait for its next request
MAX_CONNECTIONS = 4096  # the default cap's ceiling: an exporter has a few scrapers and browsers
MIN_CONNECTIONS = 8
BACKLOG = 1024  # the kernel's queue of connections not accepted yet (not our descriptors)
ACCEPT_BATCH = 32  # most accepts per wake-up, so a flood cannot hold the event loop
ACCEPT_RETRY = 1.0  # seconds to wait after an accept failed for lack of descriptors
OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
LOG_INTERVAL = 10.0  # seconds between two log lines about the same kind of trouble
# On every answer, error pages included: no sniffing, no framing, nothing but our own assets,
# and a Server header that names the program but not its versions.
SECURITY_HEADERS = {
    "Server": "readiness-exporter",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class Limits:
    max_connections: int
    header_timeout: float = HEADER_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT

    @classmethod
    def for_descriptors(cls, max_connections: int = 0) -> Limits:
        """``max_connections``, or 0 for half the soft descriptor limit (8 to 4,096)."""
        if max_connections:
            return cls(max_connections)
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return cls(MAX_CONNECTIONS)
        return cls(max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft // 2)))


class TLSContexts(Protocol):
    """Hands out the TLS context for a new connection (``webconfig.ServerTLS``)."""

    def context(self) -> Any: ...


class Every:
    """Lets one event through per ``interval`` seconds and counts the ones it held back."""

    def __init__(self, interval: float = LOG_INTERVAL):
        self.interval = interval
        self.held_back = 0
        self._last = float("-inf")

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.interval:
            self.held_back += 1
            return False
        self._last = now
        return True

    def take_held_back(self) -> int:
        held, self.held_back = self.held_back, 0
        return held


class Connections:
    """The sockets the HTTP side holds, least recently active first; keeps them under the cap.

    ``starting``: accepted, transport not made yet; ``_open``: connections; ``closing``: closed
    to make room, descriptor not released yet. Their sum passes ``max_connections`` by at most
    one, for the moment between closing a connection and its descriptor being released.
    """

    def __init__(self, server: web.Server, limits: Limits, tls: TLSContexts | None = None):
        self.server = server  # aiohttp's: handles the requests, and their graceful shutdown
        self.limits = limits
        self.tls = tls
        self.starting = 0
        self.closing = 0
        self._open: dict[Connection, None] = {}
        self._cap_log = Every()
        self.error_log = Every()
        self.closed_at_cap = 0  # connections closed to make room, since start
        self.refused = 0  # new connections closed because every open one was busy

    def __len__(self) -> int:
        return len(self._open)

    @property
    def held(self) -> int:
        return self.starting + len(self._open) + self.closing

    def over(self) -> bool:
        """Whether a connection closed to make room still holds its descriptor."""
        return self.held > self.limits.max_connections

    def make_room(self) -> bool:
        """Room for one more; at the cap, close the connection idle longest. False: all busy."""
        if self.held < self.limits.max_connections:
            return True
        victim = next((c for c in self._open if not c.busy), None)
        if victim is None:
            self.refused += 1
            self._note_cap()
            return False
        del self._open[victim]
        self.closing += 1
        victim.evicted = True
        victim.abort()
        self.closed_at_cap += 1
        self._note_cap()
        return True

    def _note_cap(self) -> None:
        if self._cap_log.allow():
            log.warning(
                "connection cap reached: closing the connection idle longest",
                max_connections=self.limits.max_connections,
                closed_at_cap=self.closed_at_cap,
                refused=self.refused,
                more_since_last_line=self._cap_log.take_held_back(),
            )

    def opened(self, conn: Connection) -> None:
        self.starting -= 1
        self._open[conn] = None

    def active(self, conn: Connection) -> None:
        """``conn`` just finished a request: it goes to the back of the eviction order."""
        if conn in self._open:
            del self._open[conn]
            self._open[conn] = None

    def closed(self, conn: Connection) -> None:
        if conn.evicted:
            conn.evicted = False
            self.closing -= 1
        else:
            self._open.pop(conn, None)

    def abort_idle(self) -> None:
        """At shutdown: close every connection no request is using (aiohttp lets those finish)."""
        for conn in [c for c in self._open if not c.busy]:
            conn.abort()


class Connection(RequestHandler):
    """aiohttp's request handler, with deadlines from accept to close and TLS done here."""

    def __init__(self, pool: Connections):
        loop = asyncio.get_running_loop()
        super().__init__(pool.server, loop=loop)
        self._pool = pool
        self._socket: asyncio.Transport | None = None  # the TCP transport, TLS or not
        self._deadline: asyncio.TimerHandle | None = None
        self._started = False  # aiohttp's connection_made has run (after the TLS handshake)
        self._handshake_task: asyncio.Task[None] | None = None
        self.busy = False  # a request is in the handler
        self.evicted = False  # closed to make room, its descriptor not released yet
        self._idle = False  # between requests, nothing of the next one received yet
        self._finished = False
        self._client_error = False  # handle_error is answering a malformed request

    # -- life cycle -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._socket = transport
        self._pool.opened(self)
        self._arm(self._pool.limits.header_timeout)  # covers the TLS handshake too
        if self._pool.tls is None:
            self._start(transport)
        else:
            transport.pause_reading()  # the handshake starts once start_tls owns the socket
            self._handshake_task = asyncio.ensure_future(
                self._handshake(transport, self._pool.tls.context())
            )

    async def _handshake(self, transport: asyncio.Transport, context: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            secure = await loop.start_tls(
                transport,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self._pool.limits.header_timeout,
            )
        except (OSError, ValueError):
            secure = None  # a failed handshake (the client's business): start_tls closed it
        if secure is None or secure.is_closing():
            self._finish()
            return
        self._start(secure)

    def _start(self, transport: asyncio.BaseTransport) -> None:
        self._started = True
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._idle:  # the first bytes of the next request: its headers have 10 s
            self._idle = False
            self._arm(self._pool.limits.header_timeout)
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._finish()
        if self._started:
            super().connection_lost(exc)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._pool.closed(self)

    def abort(self) -> None:
        """Close at once: the descriptor is freed now, whatever is left unsent."""
        if self._socket is not None:
            self._socket.abort()

    # -- deadlines --------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._deadline = None
        if not self.busy:
            self.abort()

    def request_started(self) -> None:
        self.busy = True
        self._idle = False
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def request_finished(self) -> None:
        # The response is still being written: a client that does not read it is bounded by
        # the idle deadline and may be closed at the cap.
        self.busy = False
        self._idle = True
        self._arm(self._pool.limits.idle_timeout)
        self._pool.active(self)

    # -- aiohttp's error answers ------------------------------------------------------------

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # A malformed request is the client's mistake: a line now and then, no traceback.
        self._client_error = status < 500
        if self._client_error and self._pool.error_log.allow():
            log.info(
                "malformed request refused",
                status=status,
                reason=str(message or exc)[:200],
                more_since_last_line=self._pool.error_log.take_held_back(),
            )
        try:
            response = super().handle_error(request, status, exc, message)
        finally:
            self._client_error = False
        # Answers aiohttp writes itself bypass the app's hooks: add the headers here.
        response.headers.update(SECURITY_HEADERS)
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # Our own errors keep their traceback, but a flood of them is not a flood of lines.
        if not self._client_error and self._pool.error_log.allow():
            super().log_exception(*args, **kw)


@web.middleware
async def track_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Marks the connection busy while the request is in the handler (see ``Connection``)."""
    conn = request.protocol
    if not isinstance(conn, Connection):  # served some other way (a test client)
        return await handler(request)
    conn.request_started()
    try:
        return await handler(request)
    finally:
        conn.request_finished()


def listening_sockets(host: str | None, port: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for ``host`` (None: every interface) and port."""
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE | socket.AI_NUMERICSERV
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: v4 and v6 each on their own socket
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Site(web.BaseSite):
    """aiohttp's TCP site with an accept loop of its own, under ``Connections``' cap."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        limits: Limits,
        tls: TLSContexts | None = None,
    ):
        super().__init__(runner)
        self._host, self._port = host, port
        assert runner.server is not None
        self.connections = Connections(runner.server, limits, tls)
        self._secure = tls is not None
        self._sockets: list[socket.socket] = []
        self._accept_log = Every()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def name(self) -> str:
        return f"{'https' if self._secure else 'http'}://{self._host or '*'}:{self._port}"

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when asked for 0)."""
        return int(self._sockets[0].getsockname()[1])

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._sockets = await loop.run_in_executor(
            None, listening_sockets, self._host or None, self._port
        )
        for sock in self._sockets:
            loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(ACCEPT_BATCH):
            if self.connections.over():
                return  # wait for the descriptor being released (the socket stays readable)
            try:
                conn, _address = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in OUT_OF_RESOURCES:
                    raise
                self._out_of_descriptors(sock, exc)
                return
            if not self.connections.make_room():  # every connection is busy with a request
                conn.close()
                continue
            conn.setblocking(False)
            self.connections.starting += 1
            task = loop.create_task(self._connect(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(lambda: Connection(self.connections), conn)
        except OSError:
            # The client left before its transport was made; connection_made never ran.
            self.connections.starting -= 1
            conn.close()

    def _out_of_descriptors(self, sock: socket.socket, exc: OSError) -> None:
        if self._accept_log.allow():
            log.error(
                "cannot accept connections",
                error=exc.strerror,
                retry_in_seconds=ACCEPT_RETRY,
                more_since_last_line=self._accept_log.take_held_back(),
            )
        # The socket stays readable: stop watching it for a while, or the loop spins.
        loop = asyncio.get_running_loop()
        loop.remove_reader(sock.fileno())
        loop.call_later(ACCEPT_RETRY, self._resume, sock)

    def _resume(self, sock: socket.socket) -> None:
        if sock in self._sockets:
            asyncio.get_running_loop().add_reader(sock.fileno(), self._accept, sock)

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []
        await super().stop()
        self.connections.abort_idle()
