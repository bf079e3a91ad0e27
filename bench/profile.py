"""Profile readiness-exporter under load with py-spy (``pip install py-spy``; run as root).

    python -m bench.profile KIND N INTERVAL SECONDS OUT.txt

N items of KIND (http, https, tcp) against a private nginx, every INTERVAL seconds; py-spy
samples the exporter for SECONDS once it is ready, or, with ``first-round`` for SECONDS, from
its start (once healthy) to ready, asking /-/ready every 0.05 s as the scale benchmark does.
OUT.txt gets the collapsed stacks plus a summary of the functions with the most samples (own
and cumulative).
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from support.procs import http_ok, wait_until

from .targets import Nginx, checklist, items_of, start_readiness


def summarize(collapsed: str, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    out = [f"{samples} samples", "", "own time:"]
    out += [f"{100 * n / samples:5.1f}%  {f}" for f, n in own.most_common(top)]
    out += ["", "cumulative:"]
    out += [f"{100 * n / samples:5.1f}%  {f}" for f, n in total.most_common(top)]
    return "\n".join(out)


def main(kind: str, n: int, interval: float, seconds: float | None, out: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    nginx = Nginx(work / "nginx").start()
    config = work / "config.yaml"
    config.write_text(yaml.safe_dump(checklist(items_of(kind, n, nginx), f"{interval:g}s", "5s")))
    started = time.monotonic()
    proc, base = start_readiness(config, work / "exporter.log")
    raw = work / "stacks.txt"
    record = [spy, "record", "--format", "raw", "--nonblocking", "-r", "200"]
    record += ["-p", str(proc.proc.pid), "-o", str(raw)]
    try:
        if seconds is None:  # the first round: until ready, then py-spy writes what it has
            spying = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: http_ok(f"{base}/-/ready"), 120, "first round")
            print(f"ready after {time.monotonic() - started:.1f} s from the start")
            spying.send_signal(signal.SIGINT)
            spying.wait(30)
        else:
            wait_until(lambda: http_ok(f"{base}/-/ready"), 120, "first round")
            time.sleep(1)
            subprocess.run([*record, "-d", str(int(seconds))], check=True, capture_output=True)
        collapsed = raw.read_text()
        out.write_text(summarize(collapsed) + "\n\n" + collapsed)
        print(summarize(collapsed))
    finally:
        proc.stop()
        nginx.stop()


if __name__ == "__main__":
    seconds = None if sys.argv[4] == "first-round" else float(sys.argv[4])
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), seconds, Path(sys.argv[5]))
