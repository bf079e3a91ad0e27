"""Fault injection on real loopback servers, commands and files, one exporter process per fault.

Each fault must end in the affected item reporting a clear FAIL within its timeout, while a
heartbeat item keeps its schedule and ``/metrics`` keeps answering. The scrape latency seen
during each fault is printed (``pytest -s``), not asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import ssl
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from support import faults
from support.faults import alive
from support.procs import http_get, start_exporter, wait_until

PY = sys.executable
TIMEOUT = 1.5  # the fault item's timeout (seconds)
INTERVAL = 2.0  # and interval
SLACK = 1.0  # scheduling and process start-up on a busy 2-core machine


@dataclass(frozen=True)
class Fault:
    name: str
    probe: str  # YAML, {port}/{tmp} filled in
    summary: str  # regex the FAIL summary must match
    server: Callable[[], ContextManager[int]] | None = None
    prepare: Callable[[Path], None] | None = None  # files the fault needs
    pids: bool = False  # {tmp}/pids lists processes to be killed
    unprivileged: bool = False  # file permissions must hold, even as root


def serve(behaviour: faults.Behaviour) -> Callable[[], ContextManager[int]]:
    return lambda: faults.Server(behaviour)


@contextlib.contextmanager
def closed() -> Iterator[int]:
    yield faults.closed_port()


def fifo(name: str) -> Callable[[Path], None]:
    return lambda tmp: os.mkfifo(tmp / name)


def directory(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir()


def unreadable(name: str, content: str) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        (tmp / name).write_text(content)
        (tmp / name).chmod(0)

    return make


# Root reads any file: an unprivileged fault's exporter runs without the two capabilities that
# let it (setpriv is util-linux's, in every Debian), so mode 000 refuses it as it would a user.
NO_READ_OVERRIDE = (
    [
        "setpriv",
        "--bounding-set",
        "-dac_override,-dac_read_search",
        "--inh-caps",
        "-dac_override,-dac_read_search",
    ]
    if os.geteuid() == 0
    else []
)


IGNORES_TERM = (
    "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "open(r'{tmp}/pids', 'w').write(str(os.getpid())); time.sleep(120)"
)
PRINTS_100MB = (
    "import sys; out = sys.stdout.buffer; chunk = b'x' * 1048576\\n"
    "for _ in range(100): out.write(chunk)\\nout.write(b'END-OF-OUTPUT')"
)
# Children keep the output pipe open, so the command 'ends' only when its group is killed.
FORKS_HOLDING_PIPE = "sleep 120 & echo $! >> {tmp}/pids; sleep 120 & echo $! >> {tmp}/pids; exit 0"
# Children detach from the output: the command exits at once, FAIL by its exit code.
FORKS_DETACHED = (
    "sleep 120 >/dev/null 2>&1 & echo $! >> {tmp}/pids; "
    "sleep 120 >/dev/null 2>&1 & echo $! >> {tmp}/pids; exit 1"
)

TRUSTED_CA = trustme.CA()  # the probes trust it through ca_file; another CA stands for self-signed


def tls_server(*hosts: str, ca: trustme.CA = TRUSTED_CA, expired: bool = False) -> faults.Behaviour:
    """HTTPS on 127.0.0.1 with a certificate for ``hosts`` from ``ca``, valid or expired."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    when = (
        {"not_before": dt.datetime(2020, 1, 1), "not_after": dt.datetime(2021, 1, 1)}
        if expired
        else {}
    )
    ca.issue_cert(*hosts, **when).configure_cert(ctx)
    return faults.tls(ctx, faults.answers_ok)


def trust_ca(tmp: Path) -> None:
    TRUSTED_CA.cert_pem.write_to_path(tmp / "ca.pem")


HTTPS = '{http: {url: "https://127.0.0.1:{port}/", ca_file: "{tmp}/ca.pem"}}'
TLS_FAULTS = [
    Fault(
        "tls-self-signed",
        HTTPS,
        r"certificate not trusted: unable to get local issuer certificate",
        serve(tls_server("127.0.0.1", ca=trustme.CA())),
        trust_ca,
    ),
    Fault(
        "tls-wrong-host",
        HTTPS,
        r"certificate not trusted: .*(mismatch|not valid for)",
        serve(tls_server("other.example")),
        trust_ca,
    ),
    Fault(
        "tls-expired",
        HTTPS,
        r"certificate not trusted: certificate has expired",
        serve(tls_server("127.0.0.1", expired=True)),
        trust_ca,
    ),
    Fault(
        "tls-stalls-mid-handshake",
        HTTPS,
        r"no answer within the .+ timeout; cannot judge",
        serve(faults.never_answers),
        trust_ca,
    ),
]

FAULTS = [
    Fault(
        "tcp-accepts-never-answers",
        '{http: {url: "http://127.0.0.1:{port}/"}}',
        r"no answer within the .+ timeout; cannot judge",
        serve(faults.never_answers),
    ),
    Fault(
        "tcp-banner-never-sent",
        '{tcp: {target: "127.0.0.1:{port}", banner: "^SSH-"}}',
        r"banner: no answer within the .+ timeout; cannot judge",
        serve(faults.never_answers),
    ),
    Fault(
        "body-drips-1-byte-per-second",
        '{http: {url: "http://127.0.0.1:{port}/"}}',
        r"no answer within the .+ timeout; cannot judge",
        serve(faults.drips),
    ),
    Fault(
        "body-50-MB",
        '{http: {url: "http://127.0.0.1:{port}/", body_regex: END-OF-BODY}}',
        r"body does not match /END-OF-BODY/ \(first 1 MiB read\)",
        serve(faults.huge_body()),
    ),
    Fault(
        "redirect-loop",
        '{http: {url: "http://127.0.0.1:{port}/"}}',
        r"too many redirects",
        serve(faults.redirects_forever),
    ),
    *TLS_FAULTS,
    Fault(
        "http-connection-refused",
        '{http: {url: "http://127.0.0.1:{port}/"}}',
        r"connection refused",
        closed,
    ),
    Fault(
        "tcp-connection-refused",
        '{tcp: {target: "127.0.0.1:{port}"}}',
        r"not reachable \(connection refused\), expected open",
        closed,
    ),
    Fault(
        "unknown-dns-name",
        '{http: {url: "http://no-such-host.invalid/"}}',
        r"request failed \(cannot connect: .+\)|no answer within the .+ timeout; cannot judge",
    ),
    Fault(
        "command-ignores-sigterm",
        f'{{command: {{argv: [{PY}, -c, "{IGNORES_TERM}"]}}}}',
        r"no answer within the 1\.5s timeout; cannot judge \(killed with its process group\)",
        pids=True,
    ),
    Fault(
        "command-prints-100-MB",
        f'{{command: {{argv: [{PY}, -c, "{PRINTS_100MB}"], stdout_regex: END-OF-OUTPUT}}}}',
        r"output does not match /END-OF-OUTPUT/ \(first 64 KiB read\)",
    ),
    Fault(
        "command-children-hold-its-output",
        f'{{command: {{argv: [sh, -c, "{FORKS_HOLDING_PIPE}"]}}}}',
        r"no answer within the 1\.5s timeout; cannot judge \(killed with its process group\)",
        pids=True,
    ),
    Fault(
        "command-children-outlive-it",
        f'{{command: {{argv: [sh, -c, "{FORKS_DETACHED}"]}}}}',
        r"exit code 1, expected 0",
        pids=True,
    ),
    Fault(
        "file-is-a-directory",
        '{file: {path: "{tmp}/data", content_regex: x}}',
        r"data is not a regular file",
        prepare=directory("data"),
    ),
    Fault(
        "file-is-a-fifo",
        '{file: {path: "{tmp}/data", content_regex: x}}',
        r"data is not a regular file",
        prepare=fifo("data"),
    ),
    Fault(
        "file-unreadable",
        '{file: {path: "{tmp}/data", content_regex: x}}',
        r"^data cannot be read \(Permission denied\)$",
        prepare=unreadable("data", "x"),
        unprivileged=True,
    ),
    Fault(
        "attestation-unreadable",
        '{attestation: {file: "{tmp}/signed.yaml"}}',
        r"^signed.yaml cannot be read \(Permission denied\)$",
        prepare=unreadable(
            "signed.yaml", "item: FAULT\nstatus: pass\nvalidated_by: J\ndate: 2026-11-01\n"
        ),
        unprivileged=True,
    ),
    Fault(
        "prometheus-answers-500",
        '{promql: {url: "http://127.0.0.1:{port}", query: up}}',
        r"query error \(internal\): boom",
        serve(
            faults.answers(
                "500 Internal Server Error",
                b'{"status":"error","errorType":"internal","error":"boom"}',
            )
        ),
    ),
    Fault(
        "prometheus-malformed-json",
        '{promql: {url: "http://127.0.0.1:{port}", query: up}}',
        r"Prometheus answered status 200 without JSON",
        serve(faults.answers("200 OK", b'{"status":"success","data":{"resultType')),
    ),
    Fault(
        "postgresql-refuses-connections",
        (
            '{sql: {dsn: "postgresql://probe@127.0.0.1:{port}/app", '
            'query: "SELECT 1", expect: "== 1"}}'
        ),
        r"cannot connect to the database: .*Connection refused",
        closed,
    ),
    Fault(
        "attestation-is-a-fifo",
        '{attestation: {file: "{tmp}/signed.yaml"}}',
        r"signed.yaml cannot be read \(is a FIFO, expected a regular file\)",
        prepare=fifo("signed.yaml"),
    ),
]

CONFIG = """\
checklist: {{name: Fault injection}}
categories:
  - id: faults
    title: Faults
    items:
      - {{id: HEARTBEAT, title: Keeps its schedule, priority: low, interval: 250ms,
          timeout: 200ms, probe: {{file: {{path: config.yaml}}}}}}
      - {{id: FAULT, title: The fault, priority: critical, interval: {interval}s,
          timeout: {timeout}s, probe: {probe}}}
"""


class Scraper:
    """Scrapes /metrics back to back in a thread and keeps each scrape's latency."""

    def __init__(self, url: str):
        self.url = url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            started = time.perf_counter()
            try:
                status, _ = http_get(self.url, timeout=5)
            except OSError as exc:
                self.failures.append(repr(exc))
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.failures.append(f"status {status}")

    def report(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        if not ms:
            return "no scrapes"
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return (
            f"{len(ms)} scrapes, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
            f"max {ms[-1]:.1f} ms"
        )


def metric(body: str, name: str, item: str) -> float | None:
    m = re.search(rf'^{name}\{{[^}}]*\bitem="{item}"[^}}]*\}} (\S+)$', body, re.M)
    return float(m.group(1)) if m else None


def summaries(log: str, item: str) -> list[str]:
    """The summaries of the item's status changes, from the exporter's JSON log."""
    found = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("msg") == "status changed" and entry.get("item") == item:
                found.append(entry["summary"])
    return found


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_fails_only_its_item(fault: Fault, tmp_path: Path):
    if fault.prepare:
        fault.prepare(tmp_path)
    server = fault.server() if fault.server else contextlib.nullcontext(0)
    with server as port:
        probe = fault.probe.replace("{port}", str(port)).replace("{tmp}", str(tmp_path))
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG.format(interval=INTERVAL, timeout=TIMEOUT, probe=probe))
        proc, base = start_exporter(
            config,
            tmp_path / "exporter.log",
            wrapper=NO_READ_OVERRIDE if fault.unprivileged else (),
            extra=["--log.format", "json"],
        )
        try:
            with Scraper(base + "/metrics") as scraper:
                wait_until(
                    lambda: (
                        (
                            metric(
                                http_get(base + "/metrics")[1].decode(),
                                "readiness_probe_runs_total",
                                "FAULT",
                            )
                            or 0
                        )
                        >= 1
                    ),
                    30,
                    "first run of the fault item",
                )
                beats_before = (
                    metric(
                        http_get(base + "/metrics")[1].decode(),
                        "readiness_probe_runs_total",
                        "HEARTBEAT",
                    )
                    or 0
                )
                wait_until(
                    lambda: (
                        (
                            metric(
                                http_get(base + "/metrics")[1].decode(),
                                "readiness_probe_runs_total",
                                "FAULT",
                            )
                            or 0
                        )
                        >= 2
                    ),
                    30,
                    "second run of the fault item",
                )
                body = http_get(base + "/metrics")[1].decode()
        finally:
            assert proc.stop() == 0
    log = (tmp_path / "exporter.log").read_text()
    print(f"\n{fault.name}: scrape latency during the fault: {scraper.report()}")

    assert re.search(
        r'^readiness_item_status\{[^}]*item="FAULT".*status="fail"\} 1\.0$', body, re.M
    ), body
    duration = metric(body, "readiness_item_probe_duration_seconds", "FAULT")
    assert duration is not None and duration <= TIMEOUT + SLACK, duration
    said = summaries(log, "FAULT")
    assert said and re.search(fault.summary, said[-1]), said
    # The heartbeat went on probing while the fault item was stuck in its second run.
    beats = metric(body, "readiness_probe_runs_total", "HEARTBEAT") or 0
    assert beats - beats_before >= 2, (beats_before, beats)
    assert re.search(
        r'^readiness_item_status\{[^}]*item="HEARTBEAT".*status="pass"\} 1\.0$', body, re.M
    )
    assert not scraper.failures, scraper.failures
    assert scraper.latencies
    if fault.pids:
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        assert pids
        wait_until(lambda: not any(alive(p) for p in pids), 5, f"processes {pids} killed")


def test_shared_faults_servers_really_misbehave():
    """The fault servers do what they claim, or the suite above proves nothing."""
    import socket

    with (
        faults.Server(faults.never_answers) as port,
        socket.create_connection(("127.0.0.1", port), timeout=2) as s,
    ):
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(1)
    with (
        faults.Server(faults.redirects_forever) as port,
        socket.create_connection(("127.0.0.1", port), timeout=2) as s,
    ):
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 302")
    with (
        faults.Server(faults.huge_body(3 * 1024 * 1024)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as s,
    ):
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        # Headers come first, so the body's end arrives after more than 3 MiB: read to it.
        while not got.endswith(b"END-OF-BODY") and (chunk := s.recv(1 << 20)):
            got += chunk
        assert got.endswith(b"END-OF-BODY")
