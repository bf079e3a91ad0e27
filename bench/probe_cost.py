"""What one probe run costs the exporter: CPU and wall time per run, per kind, on loopback.

Counterparts run as separate processes where that is easy (HTTP server, openssl s_server,
PostgreSQL, Prometheus), so the CPU shown is the exporter's own: the engine, the probe, the
client library. File-based kinds read files this script writes. Run:

    .venv/bin/python bench/probe_cost.py [--runs N]

Numbers are printed, not asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import trustme
from support.postgres import start_cluster
from support.probing import ITEM, checklist
from support.procs import Process, free_port, http_ok, start_prometheus, wait_until

from exporter.engine import Engine


async def measure(name: str, probe: dict, base: Path, runs: int, timeout: str = "10s") -> None:
    engine = Engine(checklist(probe, base, timeout))
    try:
        state = await engine.run_item(ITEM)  # warm-up: TLS contexts, connection setup
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(runs):
            state = await engine.run_item(ITEM)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await engine.resources.aclose()
    print(
        f"{name:34} {runs:5} runs  {cpu / runs * 1000:8.2f} ms CPU/run  "
        f"{wall / runs * 1000:8.2f} ms wall/run  {state.result.status.label}: "
        f"{state.result.summary[:60]}"
    )


def write_reports(folder: Path) -> None:
    cases = "".join(f'<testcase classname="t" name="test_{i}" time="0.01"/>' for i in range(1000))
    (folder / "junit.xml").write_text(
        f'<testsuites><testsuite name="pytest" tests="1000">{cases}</testsuite></testsuites>'
    )
    (folder / "coverage.xml").write_text(
        '<coverage line-rate="0.81" branch-rate="0" version="7"><packages/></coverage>'
    )
    vulns = [
        {"VulnerabilityID": f"CVE-2024-{i:04}", "PkgName": f"pkg{i}", "Severity": "LOW"}
        for i in range(500)
    ]
    (folder / "trivy.json").write_text(
        json.dumps(
            {
                "SchemaVersion": 2,
                "ArtifactName": "x",
                "Results": [{"Target": "x", "Vulnerabilities": vulns}],
            }
        )
    )
    books = folder / "runbooks"
    books.mkdir()
    for i in range(200):
        (books / f"{i:03}.md").write_text(
            f"# Runbook {i}\n## Detection\n## Mitigation\n" + "x\n" * 200
        )


async def main(runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="probe-cost-"))
    procs: list[Process] = []
    try:
        http_port = free_port()
        procs.append(
            Process(
                [
                    sys.executable,
                    "-m",
                    "http.server",
                    str(http_port),
                    "--bind",
                    "127.0.0.1",
                    "--directory",
                    str(work),
                ],
                work / "http.log",
            )
        )
        wait_until(lambda: http_ok(f"http://127.0.0.1:{http_port}/"), 20, "http.server")

        ca = trustme.CA()
        cert = ca.issue_cert("localhost")
        cert.private_key_and_cert_chain_pem.write_to_path(str(work / "server.pem"))
        ca.cert_pem.write_to_path(str(work / "ca.pem"))
        tls_port = free_port()
        procs.append(
            Process(
                [
                    "openssl",
                    "s_server",
                    "-quiet",
                    "-accept",
                    f"127.0.0.1:{tls_port}",
                    "-cert",
                    str(work / "server.pem"),
                    "-tls1_2",
                ],
                work / "tls.log",
            )
        )
        time.sleep(0.5)

        write_reports(work)
        print(f"probe cost, {runs} runs each (CPU of this process; servers are other processes)")
        await measure("http GET", {"http": {"url": f"http://127.0.0.1:{http_port}/"}}, work, runs)
        await measure(
            "http rate_limit burst of 100",
            {"http": {"url": f"http://127.0.0.1:{http_port}/", "rate_limit": {"requests": 100}}},
            work,
            max(1, runs // 20),
        )
        await measure(
            "tls (2 handshakes: verify + 1.1)",
            {
                "tls": {
                    "target": f"127.0.0.1:{tls_port}",
                    "server_name": "localhost",
                    "ca_file": "ca.pem",
                }
            },
            work,
            runs,
        )
        await measure(
            "report junit (1000 cases)",
            {"report": {"path": "junit.xml", "format": "junit"}},
            work,
            runs,
        )
        await measure(
            "report cobertura",
            {"report": {"path": "coverage.xml", "format": "cobertura"}},
            work,
            runs,
        )
        await measure(
            "report trivy (500 findings)",
            {"report": {"path": "trivy.json", "format": "trivy"}},
            work,
            runs,
        )
        await measure(
            "file glob 200 files + headings",
            {
                "file": {
                    "glob": "runbooks/*.md",
                    "min_count": 10,
                    "headings": ["Detection", "Mitigation"],
                }
            },
            work,
            max(1, runs // 5),
        )
        await measure("disk", {"disk": {"path": str(work), "min_free_ratio": 0}}, work, runs)
        os.environ["BENCH_SECRET"] = "k3Jq9-vXr2LmP8sWzT4yBn6HcQ1fGd7E"
        await measure("env", {"env": {"name": "BENCH_SECRET", "min_length": 32}}, work, runs)

        cluster = start_cluster(Path(tempfile.mkdtemp(prefix="readiness-pg-")))
        try:
            await measure(
                "sql (connect + SHOW ssl)",
                {"sql": {"dsn": cluster.dsn, "query": "SHOW ssl", "expect": "== off"}},
                work,
                runs,
            )
        finally:
            cluster.stop()

        prom, url = start_prometheus(work / "prom", "global: {scrape_interval: 1s}\n")
        procs.append(prom)
        await measure(
            "promql (vector(1) < 2)",
            {"promql": {"url": url, "query": "vector(1)", "expect": "< 2"}},
            work,
            runs,
        )
    finally:
        for proc in procs:
            proc.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    asyncio.run(main(parser.parse_args().runs))
