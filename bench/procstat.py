"""What a process costs, read from /proc, and a description of the machine the numbers come from."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
from importlib import metadata

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the whole process (every thread), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """Resident memory now, or with ``field="VmHWM"`` its peak since the process started."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no {field} for process {pid}")


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of resident memory (VmHWM): no sampling can miss the peak."""
    return rss_bytes(pid, "VmHWM")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    """min–max of a few runs, to show the noise next to their median."""
    return f"{min(values):.3g}–{max(values):.3g}" if values else "n/a"


def loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def machine() -> dict[str, str]:
    """CPU, cores, memory, kernel and the versions of everything measured."""
    model = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    return {
        "cpu": f"{model}, {os.cpu_count()} cores",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "aiohttp": metadata.version("aiohttp"),
        "blackbox_exporter": _version(["prometheus-blackbox-exporter", "--version"]),
        "nginx": _version(["nginx", "-v"]),
    }
