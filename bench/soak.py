"""Load and soak benchmarks for the exporter process; prints numbers, asserts only correctness.

    .venv/bin/python bench/soak.py            # every phase (about 22 minutes), or `make soak`
    .venv/bin/python bench/soak.py load       # one phase: load, reload, soak, sigterm,
                                              # idle-flood, probe-flood
    .venv/bin/python bench/soak.py --quick    # shorter runs, for a smoke check
    .venv/bin/python bench/soak.py idle-flood --flood-seconds 120   # a bounded flood

Phases (numbers go to docs/reliability.md):
- load: 50 concurrent scrapers for 30 s against the shipped config.yaml; failed scrapes, p50/p99.
- reload: 100 reloads (two configs in turn) while 10 scrapers run; no error responses and no
  scrape that misses an item present in both configs.
- soak: fast intervals until 20,000 probe runs; RSS after warm-up and at the end (growth < 10 MB).
- sigterm: SIGTERM with probes in flight; exit code and seconds to exit.
- idle-flood: for 10 minutes, an attacker keeps 2,000 connections open that send nothing or
  drip a header a second, against an exporter limited to 1,024 descriptors; /-/healthy latency
  (p50/p99/max, failures) every 50 ms, descriptors and RSS each second (growth < 10 MB), and
  the descriptors back at their baseline after the flood.
- probe-flood: for 10 minutes, 20 clients click "Probe now" back to back on random items while
  a 250 ms heartbeat item runs; /-/healthy latency, answers by status, the heartbeat's pace,
  descriptors and RSS.
Exits 1 when a correctness condition fails (a failed scrape or health check, a missing item,
RSS growth >= 10 MB, descriptors not back to their baseline, a heartbeat that fell behind, a
non-zero exit), so it can gate a release; latencies are printed, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.procs import Process, start_exporter

ITEM_RE = re.compile(r'^readiness_item_status\{[^}]*item="([^"]+)"', re.M)
RUNS_RE = re.compile(r'^readiness_probe_runs_total\{item="[^"]+"\} (\S+)$', re.M)
RSS_GROWTH_LIMIT_MB = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Scrapers:
    """``n`` clients scraping /metrics back to back; latencies, failures, and an item check."""

    def __init__(self, url: str, n: int, must_have: set[str] | None = None):
        self.url, self.n = url, n
        self.must_have = must_have or set()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.missing: list[str] = []
        self._stop = asyncio.Event()

    async def _one(self, session: aiohttp.ClientSession) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                async with session.get(self.url) as resp:
                    body = await resp.text()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.failures.append(repr(exc))
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.failures.append(f"status {status}")
            elif self.must_have:
                gone = self.must_have - set(ITEM_RE.findall(body))
                if gone:
                    self.missing.append(", ".join(sorted(gone)[:5]))

    async def run_while(
        self, work: asyncio.Future[object] | None = None, seconds: float | None = None
    ) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
        ) as s:
            tasks = [asyncio.create_task(self._one(s)) for _ in range(self.n)]
            if work is not None:
                await work
            if seconds is not None:
                await asyncio.sleep(seconds)
            self._stop.set()
            await asyncio.gather(*tasks)

    def report(self, seconds: float) -> str:
        ms = [x * 1000 for x in self.latencies]
        return (
            f"{len(ms)} scrapes in {seconds:.1f}s ({len(ms) / seconds:.0f}/s), "
            f"{len(self.failures)} failed, p50 {statistics.median(ms):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms"
        )


def start(config: Path, work: Path, extra: list[str] | None = None) -> tuple[Process, str]:
    return start_exporter(config, work / "exporter.log", extra=extra or [])


def stop_process(proc: Process) -> tuple[int, float]:
    started = time.monotonic()
    code = proc.stop(timeout=30)
    return code, time.monotonic() - started


# -- phases -------------------------------------------------------------------------------


async def phase_load(work: Path, seconds: float) -> bool:
    config = work / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    proc, base = start(config, work)
    try:
        scrapers = Scrapers(base + "/metrics", 50)
        started = time.monotonic()
        await scrapers.run_while(seconds=seconds)
        took = time.monotonic() - started
        print(
            f"load: 50 scrapers, shipped config ({len(set(ITEM_RE.findall(_get(base))))} items): "
            f"{scrapers.report(took)}; exporter RSS {rss_mb(proc.proc.pid):.1f} MB"
        )
    finally:
        stop_process(proc)
    return not scrapers.failures


def _get(base: str) -> str:
    import urllib.request

    with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
        return resp.read().decode()


def two_configs(work: Path) -> tuple[str, str, set[str]]:
    """The shipped config, and a variant without its first category's items and with the
    next category's intervals changed; returns both texts and the item IDs in both."""
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    ids_a = {i["id"] for c in doc["categories"] for i in c["items"]}
    doc["categories"][0]["items"] = doc["categories"][0]["items"][:1]
    for item in doc["categories"][1]["items"]:
        item["interval"] = "7m"
    ids_b = {i["id"] for c in doc["categories"] for i in c["items"]}
    return (ROOT / "config.yaml").read_text(), yaml.safe_dump(doc, sort_keys=False), ids_a & ids_b


async def phase_reload(work: Path, reloads: int) -> bool:
    config = work / "config.yaml"
    text_a, text_b, common = two_configs(work)
    config.write_text(text_a)
    proc, base = start(config, work)
    errors: list[str] = []
    try:
        scrapers = Scrapers(base + "/metrics", 10, must_have=common)

        async def reload_many() -> None:
            async with aiohttp.ClientSession() as session:
                for n in range(reloads):
                    config.write_text(text_b if n % 2 == 0 else text_a)
                    async with session.post(base + "/-/reload") as resp:
                        if resp.status != 200:
                            errors.append(f"reload {n}: {resp.status} {await resp.text()}")
                    await asyncio.sleep(0.02)

        started = time.monotonic()
        await scrapers.run_while(asyncio.ensure_future(reload_many()))
        took = time.monotonic() - started
        print(
            f"reload: {reloads} reloads in {took:.1f}s while 10 scrapers ran: "
            f"{len(errors)} failed reloads, {len(scrapers.missing)} scrapes missing an item "
            f"present in both configs ({len(common)} items); {scrapers.report(took)}"
        )
        for line in (errors + scrapers.missing)[:5]:
            print("   ", line)
    finally:
        stop_process(proc)
    return not errors and not scrapers.missing and not scrapers.failures


def soak_config(port: int, work: Path) -> str:
    (work / "evidence.yaml").write_text(
        "status: pass\nvalidated_by: Soak\ndate: 2026-11-01\nevidence: [soak]\n"
    )
    for n in range(6):  # an attestation names its item: one evidence file per item
        (work / f"evidence-{n}.yaml").write_text(
            f"item: ATTESTATION-{n}\nstatus: pass\nvalidated_by: Soak\ndate: 2026-11-01\n"
            "evidence: [soak]\n"
        )
    kinds = [
        ("http", f"{{http: {{url: 'http://127.0.0.1:{port}/ok', body_regex: ok}}}}", "100ms"),
        ("http404", f"{{http: {{url: 'http://127.0.0.1:{port}/missing'}}}}", "100ms"),
        ("tcp", f"{{tcp: {{target: '127.0.0.1:{port}'}}}}", "100ms"),
        ("file", "{file: {path: evidence.yaml, content_regex: Soak}}", "100ms"),
        ("attestation", "{attestation: {file: evidence-{n}.yaml}}", "100ms"),
        (
            "all",
            (
                f"{{all: [{{tcp: {{target: '127.0.0.1:{port}'}}}}, "
                "{file: {path: evidence.yaml}}]}"
            ),
            "100ms",
        ),
        ("command", "{command: {argv: ['true']}}", "500ms"),
    ]
    items = []
    for n in range(6):
        for name, probe, interval in kinds:
            items.append(
                f"      - {{id: {name.upper()}-{n}, title: {name} {n}, priority: high, "
                f"interval: {interval}, timeout: {interval}, "
                f"probe: {probe.replace('{n}', str(n))}}}"
            )
    return "categories:\n  - id: soak\n    title: Soak\n    items:\n" + "\n".join(items) + "\n"


async def phase_soak(work: Path, runs: int) -> bool:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = work / "config.yaml"
    config.write_text(soak_config(port, work))
    proc, base = start(config, work)
    ok_ = True
    try:
        warm = max(2000, runs // 10)
        total = 0.0
        started = time.monotonic()
        warm_rss = None
        async with aiohttp.ClientSession() as session:
            while total < runs:
                async with session.get(base + "/metrics") as resp:
                    total = sum(float(x) for x in RUNS_RE.findall(await resp.text()))
                if warm_rss is None and total >= warm:
                    warm_rss, warm_at = rss_mb(proc.proc.pid), total
                await asyncio.sleep(0.5)
        took = time.monotonic() - started
        end_rss = rss_mb(proc.proc.pid)
        growth = end_rss - (warm_rss or end_rss)
        print(
            f"soak: {total:.0f} probe runs in {took:.0f}s ({total / took:.0f}/s, 42 items, "
            f"intervals 100-500ms): RSS {warm_rss:.1f} MB after {warm_at:.0f} runs, "
            f"{end_rss:.1f} MB at the end, growth {growth:+.1f} MB (limit {RSS_GROWTH_LIMIT_MB} MB)"
        )
        ok_ = growth < RSS_GROWTH_LIMIT_MB
        code, exit_s = stop_process(proc)
        print(f"sigterm: after the soak, with probes in flight: exit code {code} in {exit_s:.2f}s")
        ok_ = ok_ and code == 0 and exit_s < 5
    finally:
        if proc.proc.poll() is None:
            stop_process(proc)
        await runner.cleanup()
    return ok_


async def phase_sigterm(work: Path, rounds: int) -> bool:
    config = work / "config.yaml"
    config.write_text(f"""categories:
  - id: c
    title: C
    items:
      - {{id: SLOW, title: Slow command, priority: high, interval: 10m, timeout: 5m,
          probe: {{command: {{argv: [{sys.executable}, -c, "import signal, time;
            signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"]}}}}}}
      - {{id: SLEEP, title: Children, priority: high, interval: 10m, timeout: 5m,
          probe: {{command: {{argv: [sh, -c, "sleep 300 & sleep 300 & sleep 300"]}}}}}}
""")
    times, codes = [], []
    for _ in range(rounds):
        proc, _base = start(config, work)
        await asyncio.sleep(0.5)
        proc.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        codes.append(proc.proc.wait(30))
        times.append(time.monotonic() - started)
        proc.stop()
    print(
        f"sigterm: {rounds} runs with stubborn commands in flight: "
        f"exit codes {sorted(set(codes))}, "
        f"{statistics.median(times):.2f}s median, {max(times):.2f}s max to exit"
    )
    return set(codes) == {0} and max(times) < 5


# -- floods: idle sockets and probe-now clicks --------------------------------------------

FLOOD_NOFILE = 1024  # the exporter's descriptor limit in the floods (a common default)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def fds_settled(pid: int, baseline: int, within: float = 30.0) -> int:
    """The process's descriptors once back at ``baseline``, or after ``within`` seconds."""
    deadline = time.monotonic() + within
    while open_fds(pid) > baseline and time.monotonic() < deadline:  # noqa: ASYNC110 - /proc
        await asyncio.sleep(0.2)
    return open_fds(pid)


class Vitals:
    """Samples a process's descriptors and RSS every second, and /-/healthy every 50 ms.

    In a thread of its own, on a new connection each time (as a liveness probe does), so the
    attacker's event loop in this process does not delay the checks."""

    def __init__(self, pid: int, base: str):
        self.pid, self.base = pid, base
        self.fds: list[int] = []
        self.rss: list[float] = []
        self.healthy_ms: list[float] = []
        self.unhealthy: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Vitals:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        next_sample = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_sample:
                self.fds.append(open_fds(self.pid))
                self.rss.append(rss_mb(self.pid))
                next_sample = now + 1.0
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.base + "/-/healthy", timeout=10) as resp:
                    resp.read()
            except OSError as exc:  # HTTPError included
                self.unhealthy.append(repr(exc))
            else:
                self.healthy_ms.append((time.perf_counter() - started) * 1000)
            self._stop.wait(0.05)

    def report(self) -> str:
        ms = self.healthy_ms or [float("nan")]
        warm = len(self.rss) // 10  # after the first tenth of the run
        failed = f" ({', '.join(sorted(set(self.unhealthy))[:3])})" if self.unhealthy else ""
        return (
            f"/-/healthy {len(self.healthy_ms)} checks on new connections, "
            f"{len(self.unhealthy)} failed{failed}, p50 {statistics.median(ms):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.0f} ms; descriptors "
            f"{self.fds[0]} at the start, at most {max(self.fds)}, {self.fds[-1]} at the end; "
            f"RSS {self.rss[warm]:.1f} MB after warm-up, {self.rss[-1]:.1f} MB at the end "
            f"({self.rss_growth():+.1f} MB)"
        )

    def rss_growth(self) -> float:
        return self.rss[-1] - self.rss[len(self.rss) // 10]


def flood_config(work: Path, items: int = 20) -> Path:
    (work / "evidence.yaml").write_text(
        "status: pass\nvalidated_by: Soak\ndate: 2026-11-01\nevidence: [soak]\n"
    )
    for n in range(items):  # an attestation names its item: one evidence file per item
        (work / f"F-{n}.yaml").write_text(
            f"item: F-{n}\nstatus: pass\nvalidated_by: Soak\ndate: 2026-11-01\nevidence: [soak]\n"
        )
    lines = [
        "      - {id: HEARTBEAT, title: Heartbeat, priority: high, interval: 250ms, "
        "timeout: 250ms, probe: {file: {path: evidence.yaml}}}"
    ] + [
        f"      - {{id: F-{n}, title: File {n}, priority: high, interval: 5s, timeout: 2s, "
        f"probe: {{attestation: {{file: F-{n}.yaml}}}}}}"
        for n in range(items)
    ]
    config = work / "config.yaml"
    config.write_text(
        "categories:\n  - id: f\n    title: F\n    items:\n" + "\n".join(lines) + "\n"
    )
    return config


def start_flood_target(config: Path, work: Path) -> tuple[Process, str]:
    return start_exporter(
        config, work / "exporter.log", wrapper=["prlimit", f"--nofile={FLOOD_NOFILE}"]
    )


async def phase_idle_flood(work: Path, seconds: float) -> bool:
    proc, base = start_flood_target(flood_config(work), work)
    port = int(base.rsplit(":", 1)[1])
    stop = asyncio.Event()
    vitals = Vitals(proc.proc.pid, base)
    closed_by_server = opened = 0
    holders = 2000

    async def hold(drip: bool) -> None:
        nonlocal closed_by_server, opened
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            opened += 1
            try:
                if drip:
                    writer.write(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n")
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                            closed_by_server += 1
                            break
                    if drip:
                        writer.write(b"X-Drip: 1\r\n")
            except ConnectionError:
                closed_by_server += 1
            finally:
                writer.close()

    ok = True
    try:
        await asyncio.sleep(1)  # a baseline before the flood
        baseline = open_fds(proc.proc.pid)
        with vitals:
            attackers = [asyncio.ensure_future(hold(n % 2 == 1)) for n in range(holders)]
            await asyncio.sleep(seconds)
            stop.set()
            await asyncio.gather(*attackers)
        after = await fds_settled(proc.proc.pid, baseline)
        print(
            f"idle-flood: {seconds:.0f}s, {holders} attackers (half silent, half dripping a "
            f"header a second), RLIMIT_NOFILE {FLOOD_NOFILE}: {opened} connections opened, "
            f"{closed_by_server} closed by the exporter; {vitals.report()}; descriptors "
            f"{after} after the flood (baseline {baseline})"
        )
        ok = (
            not vitals.unhealthy and after <= baseline and vitals.rss_growth() < RSS_GROWTH_LIMIT_MB
        )
    finally:
        stop.set()
        code, _ = stop_process(proc)
    return ok and code == 0


async def phase_probe_flood(work: Path, seconds: float) -> bool:
    items = 20
    proc, base = start_flood_target(flood_config(work, items), work)
    stop = asyncio.Event()
    vitals = Vitals(proc.proc.pid, base)
    statuses: dict[int, int] = {}
    runs_re = re.compile(r'^readiness_probe_runs_total\{item="HEARTBEAT"\} (\S+)$', re.M)

    async def heartbeat_runs(session: aiohttp.ClientSession) -> float:
        async with session.get(base + "/metrics") as resp:
            found = runs_re.search(await resp.text())
        return float(found.group(1)) if found else 0.0

    async def click(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            item = f"F-{random.randrange(items)}"  # the heartbeat's pace is the schedule's
            try:
                async with session.post(f"{base}/items/{item}/probe") as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except (TimeoutError, aiohttp.ClientError):
                statuses[0] = statuses.get(0, 0) + 1

    ok = True
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            await asyncio.sleep(1)
            baseline = open_fds(proc.proc.pid)
            before, started = await heartbeat_runs(session), time.monotonic()
            with vitals:
                clickers = [asyncio.ensure_future(click(session)) for _ in range(20)]
                await asyncio.sleep(seconds)
                stop.set()
                await asyncio.gather(*clickers)
            pace = (await heartbeat_runs(session) - before) / (time.monotonic() - started)
        after = await fds_settled(proc.proc.pid, baseline)
        answers = ", ".join(f"{n} x {s or 'failed'}" for s, n in sorted(statuses.items()))
        print(
            f"probe-flood: {seconds:.0f}s, 20 clients clicking 'Probe now' on {items} items: "
            f"answers {answers}; heartbeat (250 ms) ran {pace:.2f}/s (its schedule: 4/s); "
            f"{vitals.report()}; descriptors {after} after the flood (baseline {baseline})"
        )
        ok = (
            not vitals.unhealthy
            and 0 not in statuses
            and pace >= 3.0
            and after <= baseline
            and vitals.rss_growth() < RSS_GROWTH_LIMIT_MB
        )
    finally:
        stop.set()
        code, _ = stop_process(proc)
    return ok and code == 0


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "phases",
        nargs="*",
        default=["load", "reload", "soak", "sigterm", "idle-flood", "probe-flood"],
    )
    parser.add_argument("--quick", action="store_true", help="short runs (smoke check)")
    parser.add_argument(
        "--flood-seconds", type=float, default=None, help="length of each flood (default 600)"
    )
    args = parser.parse_args()
    quick = args.quick
    flood = args.flood_seconds or (20 if quick else 600)
    settings = {
        "load": 5 if quick else 30,
        "reload": 20 if quick else 100,
        "soak": 3000 if quick else 20000,
        "sigterm": 2 if quick else 5,
        "idle-flood": flood,
        "probe-flood": flood,
    }
    phases = {
        "load": phase_load,
        "reload": phase_reload,
        "soak": phase_soak,
        "sigterm": phase_sigterm,
        "idle-flood": phase_idle_flood,
        "probe-flood": phase_probe_flood,
    }
    results = {}
    for name in args.phases:
        with tempfile.TemporaryDirectory(prefix=f"soak-{name}-") as tmp:
            results[name] = await phases[name](Path(tmp), settings[name])
    failed = [n for n, good in results.items() if not good]
    print("FAILED: " + ", ".join(failed) if failed else "all phases passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
