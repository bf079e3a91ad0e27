"""A real nginx on loopback for tests: server blocks given as text, certificates from trustme.

nginx runs in the foreground as one process (``master_process off``), as the test's user,
with every path under a temp folder; ports are free loopback ports chosen before it starts
and named in the config as ``@NAME@``. Tests that need nginx are skipped where it is not
installed (scripts/test.sh installs it as root).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import trustme

from .procs import Process, free_port, require, wait_until

MAIN = """\
daemon off;
master_process off;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log info;
events { worker_connections 64; }
http {
    access_log @DIR@/access.log;
    client_body_temp_path @DIR@/tmp/body;
    proxy_temp_path @DIR@/tmp/proxy;
    fastcgi_temp_path @DIR@/tmp/fastcgi;
    uwsgi_temp_path @DIR@/tmp/uwsgi;
    scgi_temp_path @DIR@/tmp/scgi;
    default_type text/plain;
@SERVERS@
}
"""


@dataclass
class Nginx:
    ports: dict[str, int]  # the @NAME@ placeholders and the ports they stand for
    workdir: Path
    process: Process

    def url(self, name: str, scheme: str = "http", path: str = "/") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}{path}"

    def target(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"


def certificate(ca: trustme.CA, workdir: Path, *names: str) -> tuple[Path, Path]:
    """A leaf for ``names`` signed by ``ca``: the chain file and the key file nginx reads."""
    leaf = ca.issue_cert(*names)
    chain, key = workdir / f"{names[0]}.pem", workdir / f"{names[0]}.key"
    chain.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    return chain, key


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


@contextlib.contextmanager
def nginx(workdir: Path, servers: str, ports: Sequence[str]) -> Iterator[Nginx]:
    """nginx serving ``servers`` (server blocks; ``@NAME@`` for each name in ``ports`` and
    ``@DIR@`` for ``workdir``), ready on every port; stopped at the end."""
    binary = require("nginx")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    chosen = {name: free_port() for name in ports}
    text = MAIN.replace("@SERVERS@", servers)
    for name, port in chosen.items():
        text = text.replace(f"@{name}@", str(port))
    text = text.replace("@DIR@", str(workdir))
    (workdir / "nginx.conf").write_text(text)
    process = Process(
        [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf")], workdir / "nginx.log"
    )
    try:
        wait_until(
            lambda: process.proc.poll() is not None or all(map(_listening, chosen.values())),
            30,
            "nginx listening",
        )
        if process.proc.poll() is not None:
            error = (workdir / "error.log").read_text() if (workdir / "error.log").exists() else ""
            raise RuntimeError(f"nginx exited: {process.log()}{error}")
        yield Nginx(chosen, workdir, process)
    finally:
        process.stop()
