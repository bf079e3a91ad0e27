"""The store after a year of a 145-item checklist: its size, and the time to open and load it.

    .venv/bin/python bench/store_year.py [--items 145] [--changes-per-day 4] [--years 1]
                                         [--repeats 5] [--dir DIR]

Simulates what the daemon writes (exporter/store.py through its public API, one transaction
per call as the daemon makes them): every item changes status ``--changes-per-day`` times a
day on average (Poisson, so some items flap more), each change with a summary and ~300 bytes of
evidence and an audit row; the last PASS time when an item leaves PASS; the decision when it
changes; and over the year what people record (attestations renewed quarterly, risk
acceptances, sign-offs, decisions, remediations). Retention runs once a simulated day, as in
the daemon. ``--years 2`` shows the size staying bounded by the 400-day retention.

Then it closes the store and measures, ``--repeats`` times, opening it (``quick_check``, the
schema check, the audit row that proves it writable, the retention check) and loading what the
exporter needs at start (``Store.load``: the last 50 changes of each item, last PASS times,
decision times, the current records). Last, the exporter itself starts on a copy of that store
(a real process, a config with the same item IDs, each item a cheap ``file`` probe), beside
the same start on an empty store: the time from launching the process to its first answer
(``/-/healthy``) and to ``/-/ready`` (every item probed once). Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.launch import (
    DAY,
    DEFAULT_ROLES,
    Attestation,
    DecisionRecord,
    Remediation,
    RiskAcceptance,
    SignOff,
    StateStamp,
)
from exporter.scoring import Decision
from exporter.store import DB_NAME, StatusChange, Store
from probes.result import Status

START = 1_767_225_600.0  # 2026-01-01 UTC
STATUSES = (Status.PASS, Status.FAIL, Status.PARTIAL, Status.PENDING)


def evidence(rng: random.Random, item: str) -> dict[str, object]:
    return {
        "url": f"https://app.example.com/api/v1/checks/{item.lower()}",
        "status_code": rng.choice((200, 200, 200, 503, 401)),
        "latency_seconds": round(rng.uniform(0.01, 1.5), 4),
        "headers": {
            "strict-transport-security": "max-age=31536000; includeSubDomains",
            "content-type": "application/json",
        },
        "expected": "2xx within 500ms",
    }


def simulate(directory: Path, items: int, per_day: float, days: int, seed: int) -> dict:
    rng = random.Random(seed)
    ids = [f"{'SPOIADMRDTCF'[n % 12]}-{n:03d}" for n in range(items)]
    status = dict.fromkeys(ids, Status.PENDING)
    events: list[tuple[float, str]] = []
    for item in ids:  # Poisson arrivals per item over the whole run
        t = START
        while True:
            t += rng.expovariate(per_day / DAY)
            if t >= START + days * DAY:
                break
            events.append((t, item))
    events.sort()
    now = [START]
    store = Store.open(directory, clock=lambda: now[0])
    writes = 0
    decision = Decision.NO_GO
    next_day = START + DAY
    people_every = DAY * 3
    next_people = START + people_every
    began = time.perf_counter()
    for at, item in events:
        now[0] = at
        while at >= next_day:  # the daemon's daily retention
            store.apply_retention(now=next_day)
            next_day += DAY
        if at >= next_people:
            record_people(store, rng, ids, status, at)
            next_people += people_every
            writes += 1
        old = status[item]
        new = rng.choice([s for s in STATUSES if s is not old])
        status[item] = new
        passed = {item: at - 60.0} if old is Status.PASS else {}
        passing = sum(s is Status.PASS for s in status.values()) / len(status)
        computed = (
            Decision.GO
            if passing >= 0.95
            else Decision.GO_WITH_CAUTION
            if passing >= 0.9
            else Decision.NO_GO
        )
        held = {decision: at - 1.0} if computed is not decision else {}
        decision = computed
        store.record_changes(
            [
                StatusChange(
                    item,
                    old,
                    new,
                    f"status {rng.randint(200, 503)}, expected 2xx "
                    f"(latency {rng.randint(5, 900)}ms)",
                    at,
                    evidence(rng, item),
                )
            ],
            passed=passed,
            decisions_held=held,
        )
        writes += 1
    elapsed = time.perf_counter() - began
    store.close()
    return {"changes": len(events), "writes": writes, "write_seconds": elapsed, "ids": ids}


def record_people(
    store: Store, rng: random.Random, ids: list[str], status: dict[str, Status], at: float
) -> None:
    """Every third simulated day, one thing a person records, in turn."""
    kind = int(at // (DAY * 3)) % 5
    item = rng.choice(ids)
    if kind == 0:
        store.record_attestation(
            Attestation(
                item,
                Status.PASS,
                "Jane Doe",
                at,
                ("Drill log https://wiki.example/drills/2026",),
                "quarterly",
                at + 90 * DAY,
                "jdoe",
            )
        )
    elif kind == 1:
        store.accept_risk(
            RiskAcceptance(
                item,
                "Ana Lopez",
                "ana",
                "medium",
                "low",
                "WAF rule and on-call runbook",
                at + 30 * DAY,
                at,
                "until the next release",
            )
        )
    elif kind == 2:
        stamp = StateStamp.of(Decision.NO_GO, Fraction(130, 145), Fraction(80, 81), status)
        store.sign(SignOff(rng.choice(DEFAULT_ROLES), "Carl Chen", "carl", at, stamp, "reviewed"))
    elif kind == 3:
        store.record_decision(
            DecisionRecord(Decision.NO_GO, "Carl Chen", "carl", at, Decision.NO_GO, None, "wait")
        )
    else:
        store.remediate(Remediation(item, "https://tracker.example/OPS-1234", "Bob", "bob", at))


def sizes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def measure(directory: Path, ids: list[str], repeats: int, clock: float) -> dict[str, list]:
    got: dict[str, list] = {"open": [], "open_cpu": [], "load": [], "load_cpu": []}
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        store = Store.open(directory, clock=lambda: clock)
        got["open"].append(time.perf_counter() - wall)
        got["open_cpu"].append(time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        state = store.load(ids)
        got["load"].append(time.perf_counter() - wall)
        got["load_cpu"].append(time.process_time() - cpu)
        store.close()
    got["histories"] = [sum(len(h) for h in state.history.values())]
    return got


ROOT = Path(__file__).resolve().parents[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def exporter_start(store_dir: Path, ids: list[str], work: Path) -> tuple[float, float, int]:
    """Launch the exporter on ``store_dir``: seconds to its first answer, to ``/-/ready``, and
    how many last-PASS series its first scrape has (the store's memory, there at once)."""
    config = work / "config.yaml"
    lines = ["checklist: {name: Store bench}", "categories:", "- id: all", "  items:"]
    lines += [
        f"  - {{id: {i}, title: {i}, priority: high, probe: {{file: {{path: config.yaml}}}}}}"
        for i in ids
    ]
    config.write_text("\n".join(lines) + "\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exporter",
            "--config.file",
            str(config),
            "--storage.path",
            str(store_dir),
            "--web.listen-address",
            f"127.0.0.1:{port}",
            "--log.level",
            "warn",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        while not _answers(f"{base}/-/healthy"):
            if proc.poll() is not None:
                raise RuntimeError("the exporter exited")
            time.sleep(0.005)
        served = time.perf_counter() - began
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
            body = resp.read().decode()
        remembered = body.count("\nreadiness_item_last_pass_timestamp_seconds{")
        while not _answers(f"{base}/-/ready"):
            time.sleep(0.005)
        ready = time.perf_counter() - began
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return served, ready, remembered


def measure_exporter(directory: Path, ids: list[str], repeats: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="readiness-start-bench-"))
    try:
        for name, source in (("a year's store", directory), ("an empty store", None)):
            served, ready, remembered = [], [], 0
            for _ in range(repeats):
                store_dir = work / "data"
                shutil.rmtree(store_dir, ignore_errors=True)
                if source is not None:
                    shutil.copytree(source, store_dir)
                first, done, remembered = exporter_start(store_dir, ids, work)
                served.append(first)
                ready.append(done)
            print(
                f"exporter start on {name} ({len(ids)} items): first answer median "
                f"{statistics.median(served) * 1000:.0f} ms, /-/ready median "
                f"{statistics.median(ready) * 1000:.0f} ms over {repeats} starts "
                f"(first answers: {', '.join(f'{x * 1000:.0f}' for x in served)} ms); "
                f"last-PASS series at the first scrape: {remembered}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=145)
    parser.add_argument("--changes-per-day", type=float, default=4.0)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None, help="keep the store here")
    args = parser.parse_args(argv)
    days = int(args.years * 365)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="readiness-store-bench-"))
    print(
        f"simulating {days} days: {args.items} items, {args.changes_per_day:g} status changes "
        f"per item per day on average, store in {directory}",
        flush=True,
    )
    run = simulate(directory, args.items, args.changes_per_day, days, args.seed)
    path = directory / DB_NAME
    size = path.stat().st_size
    with Store.open(directory, clock=lambda: START + days * DAY) as store:
        rows = {t: store.count(t) for t in ("status_changes", "audit", "attestations")}
    print(
        f"wrote {run['changes']:,} status changes in {run['writes']:,} transactions, "
        f"{run['write_seconds']:.1f} s ({run['write_seconds'] / run['writes'] * 1000:.2f} ms each)"
    )
    print(f"rows kept: {', '.join(f'{t} {n:,}' for t, n in rows.items())}")
    print(f"store size: {size / 1e6:.1f} MB ({size:,} bytes)")
    for name, bytes_ in sizes(path).items():
        if bytes_ >= 0.01 * size:
            print(f"  {name:32} {bytes_ / 1e6:6.1f} MB")
    got = measure(directory, run["ids"], args.repeats, START + days * DAY)
    med = {k: statistics.median(v) for k, v in got.items()}
    print(
        "open (quick_check, schema, audit row, retention check): "
        f"median {med['open'] * 1000:.0f} ms wall, {med['open_cpu'] * 1000:.0f} ms CPU "
        f"over {args.repeats} opens "
        f"(each: {', '.join(f'{x * 1000:.0f}' for x in got['open'])} ms)"
    )
    print(
        f"load at start ({len(run['ids'])} items, {got['histories'][0]:,} history rows and "
        f"every current record): median {med['load'] * 1000:.0f} ms wall, "
        f"{med['load_cpu'] * 1000:.0f} ms CPU "
        f"(each: {', '.join(f'{x * 1000:.0f}' for x in got['load'])} ms)"
    )
    measure_exporter(directory, run["ids"], args.repeats)


if __name__ == "__main__":
    main()
