"""Start real programs on loopback for tests: the exporter itself, Prometheus, Alertmanager.

Every process gets a free port, a temp dir, and is stopped when the test ends. Tests that need
a program that is not installed are skipped here and installed by scripts/test.sh in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not after {timeout}s")


def http_get(
    url: str, timeout: float = 5.0, tls: ssl.SSLContext | None = None
) -> tuple[int, bytes]:
    """Status and body of a GET, errors included (no exception for 4xx/5xx)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=tls) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_ok(url: str, tls: ssl.SSLContext | None = None) -> bool:
    try:
        return http_get(url, timeout=1.0, tls=tls)[0] == 200
    except OSError:
        return False


def served_samples(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample ``/metrics`` at ``base`` serves, by name and labels (parsed by
    prometheus_client, as a scraper would)."""
    from prometheus_client.parser import text_string_to_metric_families

    status, body = http_get(f"{base}/metrics")
    assert status == 200, status
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
    }


def served_value(base: str, name: str, **labels: str) -> float | None:
    """One sample's value, or None when it is not served."""
    return served_samples(base).get((name, frozenset(labels.items())))


def probe_runs(base: str, item: str) -> float:
    """``readiness_probe_runs_total`` of one item (0 before its first run)."""
    return served_value(base, "readiness_probe_runs_total", item=item) or 0.0


class HealthWatch:
    """``/-/healthy`` (or ``path``) asked from a thread while a test runs, ``pause`` seconds
    apart, as a liveness probe would: an answer that is not 200 or slower than ``timeout`` is a
    failure; latencies are kept for ``report`` (printed, never asserted)."""

    def __init__(
        self, base: str, timeout: float = 5.0, path: str = "/-/healthy", pause: float = 0.0
    ):
        self.url, self.timeout, self.pause = base + path, timeout, pause
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)

    def _ask(self) -> None:
        while not self._stop.wait(self.pause):
            started = time.perf_counter()
            try:
                status, _ = http_get(self.url, timeout=self.timeout)
            except OSError as exc:
                self.failures.append(repr(exc))
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.failures.append(f"status {status}")

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def report(self, during: str) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        return (
            f"/-/healthy during {during}: {len(ms)} answers, "
            f"p50 {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms"
        )


class Process:
    """A child process with a log file, stopped with SIGTERM (then SIGKILL) by ``stop()``."""

    def __init__(
        self,
        argv: Sequence[str],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.argv = list(argv)
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL to the whole group; returns the exit code.

        The program's own children (nginx's workers) are in its process group: any still alive
        once it has exited, orphaned by a leader that died first, are killed too.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if live_group_members(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        return self.proc.returncode


def live_group_members(pgid: int) -> list[str]:
    """Processes of group ``pgid`` that still run (zombies left out), as ``pid command``.

    Read from /proc: a zombie stays in its group until its parent reaps it, and an orphan's
    new parent (PID 1 in a container) may never do so, so ``killpg(pgid, 0)`` cannot tell.
    """
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{stat.parent.name} {text[text.index('(') + 1 : text.rindex(')')]}")
    return found


def start_exporter(
    config: Path,
    log: Path,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
    health_tls: ssl.SSLContext | None = None,
    wrapper: Sequence[str] = (),
    port: int = 0,
) -> tuple[Process, str]:
    """The exporter serving ``config`` on a free port; returns the process and its base URL.

    ``health_tls``: the exporter serves HTTPS (``--web.config.file``); trust this context.
    ``wrapper``: a command the exporter runs under (``setpriv ...``).
    ``port``: this port rather than a free one (a restart where Prometheus scrapes it).
    """
    port = port or free_port()
    proc = Process(
        [
            *wrapper,
            sys.executable,
            "-m",
            "exporter",
            "--config.file",
            str(config),
            "--web.listen-address",
            f"127.0.0.1:{port}",
            *extra,
        ],
        log,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    base = f"{'https' if health_tls else 'http'}://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: http_ok(f"{base}/-/healthy", health_tls) or proc.proc.poll() is not None,
            20,
            "exporter healthy",
        )
    except TimeoutError:
        proc.stop()
        raise
    if proc.proc.poll() is not None:
        raise RuntimeError(f"exporter exited: {proc.log()}")
    return proc, base


def require(program: str) -> str:
    """The program's path, or skip the test (scripts/test.sh installs it as root)."""
    import pytest

    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (scripts/test.sh installs it as root)")
    return path


def _start_service(
    program: str, name: str, workdir: Path, config_yaml: str, flags: Sequence[str]
) -> tuple[Process, str]:
    """A Prometheus-family server on a free loopback port, ready; returns it and its URL.

    The config goes to ``workdir/{name}.yml``, the log to ``workdir/{name}.log``.
    """
    binary = require(program)
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"{name}.yml").write_text(config_yaml)
    proc = Process(
        [
            binary,
            f"--config.file={workdir / (name + '.yml')}",
            f"--web.listen-address=127.0.0.1:{port}",
            *flags,
        ],
        workdir / f"{name}.log",
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{base}/-/ready") or proc.proc.poll() is not None, 30, f"{name} ready"
    )
    if proc.proc.poll() is not None:
        raise RuntimeError(f"{name} exited: {proc.log()}")
    return proc, base


def start_prometheus(
    workdir: Path, config_yaml: str, extra: Sequence[str] = ()
) -> tuple[Process, str]:
    """Debian's Prometheus with ``config_yaml`` and a temp storage dir; returns it and its URL."""
    return _start_service(
        "prometheus",
        "prometheus",
        workdir,
        config_yaml,
        [f"--storage.tsdb.path={workdir / 'data'}", "--web.enable-lifecycle", *extra],
    )


def start_alertmanager(workdir: Path, config_yaml: str) -> tuple[Process, str]:
    """Debian's Alertmanager with ``config_yaml``, no clustering; returns it and its URL."""
    return _start_service(
        "prometheus-alertmanager",
        "alertmanager",
        workdir,
        config_yaml,
        [f"--storage.path={workdir / 'data'}", "--cluster.listen-address="],
    )
