"""The programs a benchmark measures or probes, each on loopback with a temp dir and free ports.

``Nginx``: a small page over HTTP and HTTPS (certificate made here) and a plain TCP port.
``Blackbox``: Debian's blackbox_exporter with one module per probe kind.
``start_readiness``: the exporter under test, optionally pinned to CPU cores.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trustme
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's process helpers, reused as they are

from support.procs import Process, free_port, http_ok, wait_until

PAGE = "<!doctype html><title>ready</title><p>ready</p>\n"


def _program(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path is None:
        raise SystemExit(f"bench: {name} is not installed; run scripts/setup.sh --system as root")
    return path


@dataclass
class Nginx:
    """A private nginx: one worker, no access log, pinned to ``cpus`` when given."""

    workdir: Path
    cpus: str | None = None

    def start(self) -> Nginx:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.workdir / "server.pem"))
        ca.cert_pem.write_to_path(str(self.workdir / "ca.pem"))
        self.ca_file = str(self.workdir / "ca.pem")
        self.http_port, self.https_port, self.tcp_port = free_port(), free_port(), free_port()
        tmp = self.workdir / "tmp"
        tmp.mkdir(exist_ok=True)
        conf = f"""
daemon off;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{self.http_port};
    listen 127.0.0.1:{self.https_port} ssl;
    listen 127.0.0.1:{self.tcp_port};
    ssl_certificate {self.workdir}/server.pem;
    ssl_certificate_key {self.workdir}/server.pem;
    default_type text/html;
    location / {{ return 200 '{PAGE.strip()}'; }}
  }}
}}
"""
        (self.workdir / "nginx.conf").write_text(conf)
        argv = [
            _program("nginx"),
            "-p",
            str(self.workdir),
            "-c",
            str(self.workdir / "nginx.conf"),
            "-e",
            str(self.workdir / "error.log"),
        ]
        if self.cpus is not None:
            argv = ["taskset", "-c", self.cpus, *argv]
        self.proc = Process(argv, self.workdir / "nginx.out")
        wait_until(
            lambda: http_ok(self.url("http")) or self.proc.proc.poll() is not None, 20, "nginx"
        )
        if self.proc.proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {self.proc.log()}")
        return self

    def url(self, scheme: str) -> str:
        port = self.https_port if scheme == "https" else self.http_port
        return f"{scheme}://127.0.0.1:{port}/"

    @property
    def tcp_target(self) -> str:
        return f"127.0.0.1:{self.tcp_port}"

    def pause(self) -> None:
        """Freeze master and worker: the kernel still accepts connections, never answered."""
        os.killpg(self.proc.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.proc.stop()


@dataclass
class Blackbox:
    """Debian's blackbox_exporter with modules http_2xx, https_2xx (our CA) and tcp_connect."""

    workdir: Path
    ca_file: str

    MODULE = {"http": "http_2xx", "https": "https_2xx", "tcp": "tcp_connect"}

    def start(self) -> Blackbox:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ip4 = {"preferred_ip_protocol": "ip4"}
        modules = {
            "http_2xx": {"prober": "http", "timeout": "5s", "http": dict(ip4)},
            "https_2xx": {
                "prober": "http",
                "timeout": "5s",
                "http": {**ip4, "tls_config": {"ca_file": self.ca_file}},
            },
            "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": dict(ip4)},
        }
        (self.workdir / "blackbox.yml").write_text(yaml.safe_dump({"modules": modules}))
        self.port = free_port()
        self.proc = Process(
            [
                _program("prometheus-blackbox-exporter"),
                f"--config.file={self.workdir / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.workdir / "blackbox.log",
        )
        self.base = f"http://127.0.0.1:{self.port}"
        wait_until(
            lambda: http_ok(f"{self.base}/-/healthy") or self.proc.proc.poll() is not None,
            20,
            "blackbox_exporter",
        )
        if self.proc.proc.poll() is not None:
            raise RuntimeError(f"blackbox_exporter exited: {self.proc.log()}")
        return self

    def stop(self) -> None:
        self.proc.stop()


def start_readiness(
    config: Path, log: Path, cpus: str | None = None, lags: Path | None = None
) -> tuple[Process, str]:
    """readiness-exporter serving ``config``; with ``lags``, the lag-recording runner instead."""
    port = free_port()
    listen = f"127.0.0.1:{port}"
    if lags is None:
        argv: Sequence[str] = [
            sys.executable,
            "-m",
            "exporter",
            "--config.file",
            str(config),
            "--web.listen-address",
            listen,
        ]
    else:
        argv = [sys.executable, "-m", "bench.lag_recorder", str(config), listen, str(lags)]
    if cpus is not None:
        argv = ["taskset", "-c", cpus, *argv]
    proc = Process(argv, log, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=config.parent)
    base = f"http://{listen}"
    wait_until(
        lambda: http_ok(f"{base}/-/healthy") or proc.proc.poll() is not None,
        120,
        "readiness-exporter healthy",
    )
    if proc.proc.poll() is not None:
        raise RuntimeError(f"readiness-exporter exited: {proc.log()}")
    return proc, base


def checklist(items: list[dict], interval: str, timeout: str, categories: int = 10) -> dict:
    """A config document with ``items`` dealt round-robin into ``categories`` categories."""
    cats = [{"id": f"cat{c:02d}", "title": f"Category {c}", "items": []} for c in range(categories)]
    for n, item in enumerate(items):
        cats[n % categories]["items"].append(item)
    return {
        "checklist": {"name": "bench"},
        "defaults": {"interval": interval, "timeout": timeout},
        "categories": cats,
    }


def items_of(kind: str, count: int, nginx: Nginx) -> list[dict]:
    """``count`` items probing ``nginx`` the way ``kind`` (http, https, tcp) says."""
    priorities = ("critical", "high", "medium", "low")
    if kind == "tcp":
        probe: dict = {"tcp": {"target": nginx.tcp_target}}
    elif kind == "https":
        probe = {"http": {"url": nginx.url("https"), "ca_file": nginx.ca_file}}
    else:
        probe = {"http": {"url": nginx.url("http")}}
    # A copy per item: a shared dict would be dumped as YAML aliases, which the loader caps.
    return [
        {
            "id": f"B-{n:05d}",
            "title": f"bench item {n}",
            "priority": priorities[n % 4],
            "probe": copy.deepcopy(probe),
        }
        for n in range(count)
    ]
