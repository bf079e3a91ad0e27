"""The web server's deadlines are the ones docs/security.md promises: 10 s to complete a
request's headers, 60 s for an idle keep-alive connection.

The fault tests run the listener with short deadlines (``Limits(header_timeout=0.5)``), so
nothing held the defaults: ``HEADER_TIMEOUT = 1000`` passed the whole suite. Here the defaults
are read where the daemon takes them (``Limits.for_descriptors``), checked against the
document, and the header deadline is watched on a running exporter.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from support.procs import ROOT, start_exporter

from exporter.web.server import Limits

HEADER_TIMEOUT = 10.0  # as docs/security.md, "Connections", says
IDLE_TIMEOUT = 60.0


def test_the_daemons_limits_have_the_documented_deadlines():
    for limits in (Limits.for_descriptors(), Limits.for_descriptors(16)):
        assert (limits.header_timeout, limits.idle_timeout) == (HEADER_TIMEOUT, IDLE_TIMEOUT)
    doc = (ROOT / "docs" / "security.md").read_text()
    assert "must complete its request headers within 10 s of being accepted" in doc
    assert "A keep-alive connection idle for 60 s is closed" in doc


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (it sent nothing, so a read returns b"" then)."""
    try:
        return sock.recv(1, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_a_running_exporter_closes_a_silent_connection_after_10_s(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "categories:\n  - id: c\n    title: C\n    items:\n"
        "      - {id: X-1, title: X, priority: high, probe: {command: {argv: ['true']}}}\n"
    )
    proc, base = start_exporter(config, tmp_path / "exporter.log")
    url = urlsplit(base)
    try:
        with socket.create_connection((url.hostname, url.port)) as silent:
            connected = time.monotonic()
            time.sleep(HEADER_TIMEOUT - 1.5)
            assert not _closed(silent), "closed before its 10 s"
            while not _closed(silent) and time.monotonic() - connected < HEADER_TIMEOUT + 4:
                time.sleep(0.1)
            waited = time.monotonic() - connected
    finally:
        proc.stop()
    assert HEADER_TIMEOUT - 1.5 < waited < HEADER_TIMEOUT + 4, f"closed after {waited:.1f} s"
