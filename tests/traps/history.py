"""A Prometheus whose data began days before the test, for the items that judge a window
(P-005, P-009, P-012, I-002, I-008, I-011): each job's past is backfilled with promtool (TSDB
blocks written before Prometheus starts) and its present is scraped live from a loopback target
with the same labels, so a query over a week sees a week, and the traps see what only a window
shows: a peak two days ago, an afternoon spike, a week that is really two days.

Values are functions of time. Counters are integrals of a rate, kept continuous from the
backfilled past into the live present, so ``rate()`` reads the same on both sides of "now".
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from support.procs import require, start_prometheus

from traps.stacks import MetricsTarget, Prometheus, query, wait_until

HOUR, DAY = 3600.0, 86400.0
STEP = 120.0  # seconds between backfilled samples: two inside rate()'s 5-minute window

Gauge = Callable[[float], float]  # time -> value


@dataclass(frozen=True)
class Counter:
    """A counter growing at ``rate(t)`` per second since ``start``."""

    rate: Gauge


@dataclass(frozen=True)
class Job:
    """A scrape job: how long its past is, and its series (``name{labels}`` -> how it moves)."""

    history: float  # seconds of data before the test began
    series: Mapping[str, Gauge | Counter]


def _daily(hour_from: int, hour_to: int, inside: float, outside: float) -> Gauge:
    """``inside`` between the two UTC hours of every day, ``outside`` the rest of it."""

    def value(t: float) -> float:
        hour = (t % DAY) / HOUR
        return inside if hour_from <= hour < hour_to else outside

    return value


def _once(start: float, length: float, inside: float, outside: float) -> Gauge:
    """``inside`` for ``length`` seconds from ``start`` (a past time), ``outside`` otherwise."""
    return lambda t: inside if start <= t < start + length else outside


def _flat(value: float) -> Gauge:
    return lambda t: value


def node(busy: Gauge, available: float = 0.6, fs_avail: Gauge = _flat(4e10)) -> dict:
    fs = 'device="/dev/vda1",fstype="ext4",mountpoint="/var/lib/postgresql"'
    return {
        'node_cpu_seconds_total{cpu="0",mode="idle"}': Counter(lambda t: 1 - busy(t)),
        'node_cpu_seconds_total{cpu="0",mode="user"}': Counter(busy),
        "node_memory_MemAvailable_bytes": _flat(available * 1e10),
        "node_memory_MemTotal_bytes": _flat(1e10),
        f"node_filesystem_avail_bytes{{{fs}}}": fs_avail,
        f"node_filesystem_size_bytes{{{fs}}}": _flat(1e11),
    }


def redis(clients: Gauge, used: Gauge, maxmemory: float = 2e9, hit_share: float = 0.83) -> dict:
    return {
        "redis_connected_clients": clients,
        "redis_config_maxclients": _flat(10000),
        "redis_memory_used_bytes": used,
        "redis_memory_max_bytes": _flat(maxmemory),
        "redis_keyspace_hits_total": Counter(lambda t: 100 * hit_share),
        "redis_keyspace_misses_total": Counter(lambda t: 100 * (1 - hit_share)),
    }


def jobs(now: float) -> dict[str, Job]:
    """The jobs, good and bad, in the names the shipped queries use."""
    rss = lambda base: {"process_resident_memory_bytes": base}  # noqa: E731
    return {
        # I-002 / I-008: a week of a node with headroom; busy every afternoon; two days only;
        # a filesystem losing a gigabyte a day (60 GB left: gone in two months)
        "node-week": Job(8 * DAY, node(_flat(0.3))),
        "node-afternoons": Job(8 * DAY, node(_daily(14, 16, 0.92, 0.1))),
        "node-two-days": Job(2 * DAY, node(_flat(0.3))),
        "node-filling": Job(
            8 * DAY, node(_flat(0.3), fs_avail=lambda t: 6e10 - (t - now) / DAY * 1e9)
        ),
        # P-009 / I-011 / P-012: a week of a Redis with room; peaks two and four days ago;
        # two days only; no maxmemory; ten minutes since a restart (P-012's hour); mostly misses
        "redis-week": Job(8 * DAY, redis(_flat(240), _flat(1.1e9))),
        "redis-peaks": Job(
            8 * DAY,
            redis(
                _once(now - 2 * DAY, HOUR, 9000, 240),
                _once(now - 4 * DAY, HOUR, 1.76e9, 1.0e9),
            ),
        ),
        "redis-two-days": Job(2 * DAY, redis(_flat(240), _flat(1.1e9))),
        "redis-no-maxmemory": Job(8 * DAY, redis(_flat(240), _flat(1.1e9), maxmemory=0)),
        "redis-restarted": Job(10 * 60, redis(_flat(240), _flat(1.1e9))),
        "redis-misses": Job(2 * HOUR, redis(_flat(240), _flat(1.1e9), hit_share=0.1)),
        # P-005: an hour of flat memory; the 8 minutes since a restart; 30 % growth in an hour
        "app-soak": Job(2 * HOUR, rss(_flat(2e8))),
        "app-restarted": Job(8 * 60, rss(_flat(2e8))),
        "app-leaking": Job(
            2 * HOUR, rss(lambda t: 2e8 * (1 + 0.3 * min(1.0, max(0.0, (t - now + HOUR) / HOUR))))
        ),
    }


class _Values:
    """A job's series at any time; counters integrated on the STEP grid from the past on."""

    def __init__(self, job: Job, start: float):
        self.job = job
        self.start = start
        self._grid: dict[str, list[float]] = {}
        for name, how in job.series.items():
            if isinstance(how, Counter):
                total, cumulative = 0.0, []
                for i in range(int((time.time() + DAY - start) // STEP) + 1):
                    cumulative.append(total)
                    total += how.rate(start + i * STEP) * STEP
                self._grid[name] = cumulative

    def at(self, t: float) -> dict[str, float]:
        out = {}
        for name, how in self.job.series.items():
            if isinstance(how, Counter):
                i = min(int((t - self.start) // STEP), len(self._grid[name]) - 1)
                out[name] = self._grid[name][i] + how.rate(t) * (t - self.start - i * STEP)
            else:
                out[name] = how(t)
        return out


def _labelled(name: str, job: str, instance: str) -> str:
    base, _, rest = name.partition("{")
    extra = f'job="{job}",instance="{instance}"'
    return f"{base}{{{extra},{rest}" if rest else f"{base}{{{extra}}}"


def _exposition(values: _Values) -> Callable[[int], str]:
    def text(scrape: int) -> str:
        return "".join(f"{name} {v}\n" for name, v in values.at(time.time()).items())

    return text


@contextmanager
def start_history(workdir: Path) -> Iterator[Prometheus]:
    """The Prometheus of ``jobs()``: the past backfilled, the present scraped every second."""
    promtool = require("promtool")
    now = time.time()
    targets: list[MetricsTarget] = []
    lines: dict[str, list[str]] = {}
    scrape_configs = []
    try:
        for name, job in jobs(now).items():
            values = _Values(job, now - job.history)
            target = MetricsTarget(_exposition(values))
            targets.append(target)
            scrape_configs.append(
                {"job_name": name, "static_configs": [{"targets": [target.address]}]}
            )
            t = now - job.history
            while t < now:
                for series, v in values.at(t).items():
                    family = series.split("{")[0]
                    lines.setdefault(family, []).append(
                        f"{_labelled(series, name, target.address)} {v} {t:.3f}"
                    )
                t += STEP
        workdir.mkdir(parents=True, exist_ok=True)
        source = workdir / "history.om"
        source.write_text(
            "".join(f"# TYPE {f} gauge\n" + "\n".join(ls) + "\n" for f, ls in lines.items())
            + "# EOF\n"
        )
        subprocess.run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--quiet",
                str(source),
                str(workdir / "data"),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        source.unlink()
        config = {"global": {"scrape_interval": "1s"}, "scrape_configs": scrape_configs}
        proc, url = start_prometheus(workdir, yaml.safe_dump(config))
    except BaseException:
        for target in targets:
            target.close()
        raise
    prom = Prometheus(url, [proc], targets, began=now)
    try:
        for name in jobs(now):
            wait_until(
                lambda name=name: bool(query(url, f'count_over_time(up{{job="{name}"}}[1m]) >= 2')),
                f"two scrapes of {name}",
            )
        yield prom
    finally:
        prom.stop()
