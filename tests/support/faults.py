"""Misbehaving servers on loopback for fault-injection tests, each on a free port in a thread.

Every server speaks real TCP (and HTTP where it answers at all): one that accepts and never
says a word, one that drips a body a byte a second, one with a 50 MB body, a redirect loop.
``with Server(behaviour) as port:`` runs one for the length of a block.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

Behaviour = Callable[[socket.socket, threading.Event], None]


class Server:
    """Accepts connections on 127.0.0.1 and hands each to ``behaviour`` in its own thread."""

    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> int:
        self._thread.start()
        return self.port

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._thread.join(5)
        for conn in self._conns:
            conn.close()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour(conn, self.stopping)
        except OSError:
            pass  # the prober hung up: expected for every fault here


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def never_answers(conn: socket.socket, stopping: threading.Event) -> None:
    """Accept, then hold the connection without a byte until the test ends."""
    stopping.wait()


def drips(conn: socket.socket, stopping: threading.Event) -> None:
    """A 200 whose 1000-byte body arrives one byte a second."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n")
    while not stopping.wait(1.0):
        conn.sendall(b".")


def huge_body(size: int = 50 * 1024 * 1024, marker: bytes = b"END-OF-BODY") -> Behaviour:
    """A 200 with a ``size``-byte body whose last bytes are ``marker``."""

    def behaviour(conn: socket.socket, stopping: threading.Event) -> None:
        _read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % size
        )
        chunk = b"x" * 65536
        left = size - len(marker)
        while left > 0 and not stopping.is_set():
            n = min(left, len(chunk))
            conn.sendall(chunk[:n])
            left -= n
        conn.sendall(marker)

    return behaviour


def redirects_forever(conn: socket.socket, stopping: threading.Event) -> None:
    """Every request is sent back to itself."""
    while _read_request(conn):
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")


def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for PID 1 to reap it counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def tls(context: ssl.SSLContext, then: Behaviour) -> Behaviour:
    """``then`` over TLS with ``context`` (a server context: its certificate is the fault)."""

    def behaviour(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(5)
        try:
            wrapped = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the prober refused our certificate: the expected end
        then(wrapped, stopping)  # type: ignore[arg-type]

    return behaviour


def answers_ok(conn: socket.socket, stopping: threading.Event) -> None:
    """A plain 200 (behind a bad certificate, the prober should never see it)."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def answers(status: str, body: bytes, content_type: str = "application/json") -> Behaviour:
    """An HTTP server that answers every request with this status line and body."""

    def behaviour(conn: socket.socket, stopping: threading.Event) -> None:
        _read_request(conn)
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    return behaviour
