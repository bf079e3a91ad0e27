"""Benchmark: what the shipped rules cost Prometheus to evaluate at the checklist's real size.

Backfills an hour of history (the longest window the rules read) for N exporters of 145 items
each, scraped every 15 s, into a private Prometheus with ``promtool tsdb create-blocks-from
openmetrics``; then lets that Prometheus evaluate alerts/readiness.rules.yml every second and
prints the mean and worst evaluation time of each rule group and rule, read from Prometheus's
rules API. The latches start empty in a fresh Prometheus (backfilled history
does not set them), so the regression alerts are evaluated in full but stay silent here.

    .venv/bin/python bench/alert_rules_cost.py [--exporters 4] [--evaluations 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.procs import ROOT, http_get, start_prometheus, wait_until

ITEMS = 145
SCRAPE = 15  # seconds between samples in the backfilled history
HISTORY = 3600  # seconds of history: the longest range the rules read is [1h]
STATUSES = ("pass", "partial", "fail", "pending", "na")
PRIORITIES = ("critical", "high", "medium", "low")


def item_status(exporter: int, item: int, t: int) -> str:
    """Mostly PASS; a few items FAIL in the second half hour, one is N/A, one PENDING."""
    if item == 7:
        return "na"
    if item == 11:
        return "pending"
    if item % 20 in (0, 1) and t > HISTORY // 2:  # critical and high items (i % 4 is 0 or 1)
        return "fail"
    return "pass"


def write_openmetrics(path: Path, exporters: int, end: int) -> int:
    """An hour of the exporter's series for ``exporters`` exporters; returns the sample count."""
    times = range(end - HISTORY, end + 1, SCRAPE)
    samples = 0
    with path.open("w") as out:

        def family(name: str, kind: str, series) -> None:  # type: ignore[no-untyped-def]
            nonlocal samples
            out.write(f"# TYPE {name} {kind}\n")
            sample_name = f"{name}_total" if kind == "counter" else name
            for labels, value in series:
                text = ",".join(f'{k}="{v}"' for k, v in labels.items())
                for t in times:
                    out.write(f"{sample_name}{{{text}}} {value(t)} {t}\n")
                    samples += 1

        def items():  # type: ignore[no-untyped-def]
            for e in range(exporters):
                for i in range(ITEMS):
                    base = {
                        "job": "readiness",
                        "instance": f"exporter-{e}:10145",
                        "item": f"X-{i:03d}",
                    }
                    yield e, i, base

        cat = lambda i: f"category-{i % 12}"  # noqa: E731
        prio = lambda i: PRIORITIES[i % 4]  # noqa: E731
        family(
            "readiness_item_status",
            "gauge",
            (
                (
                    {**b, "category": cat(i), "priority": prio(i), "status": s},
                    lambda t, e=e, i=i, s=s: int(item_status(e, i, t) == s),
                )
                for e, i, b in items()
                for s in STATUSES
            ),
        )
        family(
            "readiness_item_info",
            "gauge",
            (
                (
                    {
                        **b,
                        "category": cat(i),
                        "priority": prio(i),
                        "title": f"Item number {i}",
                        "probe": "http",
                    },
                    lambda t: 1,
                )
                for e, i, b in items()
            ),
        )
        family(
            "readiness_item_last_probe_timestamp_seconds",
            "gauge",
            ((b, lambda t: t - 5) for e, i, b in items() if i not in (7, 11)),
        )
        family(
            "readiness_item_interval_seconds",
            "gauge",
            ((b, lambda t: 60) for e, i, b in items() if i not in (7, 11)),
        )
        family(
            "readiness_item_expiry_timestamp_seconds",
            "gauge",
            ((b, lambda t, i=i: end + 86400 * (i % 30)) for e, i, b in items() if i % 5 == 0),
        )
        family(
            "readiness_probe_runs",
            "counter",
            ((b, lambda t: (t - end + HISTORY) // 60) for e, i, b in items() if i not in (7, 11)),
        )
        family(
            "readiness_probe_errors",
            "counter",
            (
                (b, lambda t, i=i: (t - end + HISTORY) // 60 if i == 13 else 0)
                for e, i, b in items()
                if i not in (7, 11)
            ),
        )
        exporters_labels = [
            {"job": "readiness", "instance": f"exporter-{e}:10145"} for e in range(exporters)
        ]
        family(
            "readiness_decision",
            "gauge",
            (
                (
                    {**x, "decision": d},
                    lambda t, d=d: int(d == ("go" if t < end - HISTORY // 2 else "no_go")),
                )
                for x in exporters_labels
                for d in ("go", "go_with_caution", "no_go")
            ),
        )
        family(
            "readiness_total_score_ratio", "gauge", ((x, lambda t: 0.97) for x in exporters_labels)
        )
        family(
            "readiness_exporter_config_last_reload_successful",
            "gauge",
            ((x, lambda t: 1) for x in exporters_labels),
        )
        family("up", "gauge", ((x, lambda t: 1) for x in exporters_labels))
        out.write("# EOF\n")
    return samples


def last_durations(prom: str) -> dict[str, float]:
    """Seconds the last evaluation of each rule group and rule took (Prometheus's rules API)."""
    _, body = http_get(f"{prom}/api/v1/rules")
    out = {}
    for group in json.loads(body)["data"]["groups"]:
        out[f"group {group['name']}"] = group["evaluationTime"]
        for rule in group["rules"]:
            out[f"  {rule['name']}"] = rule["evaluationTime"]
    return out


def query(prom: str, expr: str) -> list:  # type: ignore[type-arg]
    _, body = http_get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return json.loads(body)["data"]["result"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exporters", type=int, default=4)
    parser.add_argument(
        "--evaluations", type=int, default=30, help="evaluations to sample (1 per second)"
    )
    args = parser.parse_args()
    promtool = shutil.which("promtool")
    if promtool is None:
        print("promtool is not installed (scripts/setup.sh --system installs it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rules-bench-") as tmp:
        work = Path(tmp)
        end = int(time.time())
        samples = write_openmetrics(work / "history.om", args.exporters, end)
        subprocess.run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(work / "history.om"),
                str(work / "prom" / "data"),
            ],
            check=True,
        )
        (work / "history.om").unlink()
        shutil.copy(ROOT / "alerts" / "readiness.rules.yml", work / "prom" / "readiness.rules.yml")
        prom, url = start_prometheus(
            work / "prom", "global: {evaluation_interval: 1s}\nrule_files: [readiness.rules.yml]\n"
        )
        try:
            wait_until(
                lambda: bool(query(url, "readiness_item:has_passed")), 60, "first evaluation"
            )
            per_rule: dict[str, list[float]] = {}
            for _ in range(args.evaluations):  # one sample per evaluation interval
                for name, last in last_durations(url).items():
                    per_rule.setdefault(name, []).append(last)
                time.sleep(1.0)
            firing = query(url, 'count by (alertname) (ALERTS{alertstate="firing"})')
            pending = query(url, 'count by (alertname) (ALERTS{alertstate="pending"})')
        finally:
            prom.stop()
    print(
        f"{args.exporters} exporters x {ITEMS} items, {samples} backfilled samples "
        f"({HISTORY // 60} min at {SCRAPE}s); evaluation every 1s"
    )
    for name, values in per_rule.items():
        print(
            f"  {name:34s} mean {1000 * sum(values) / len(values):7.2f} ms  "
            f"max {1000 * max(values):7.2f} ms  ({len(values)} samples)"
        )
    for name, result in (("pending", pending), ("firing", firing)):
        print(
            f"  {name}: "
            + (", ".join(f"{r['metric']['alertname']} x{r['value'][1]}" for r in result) or "none")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
