"""Status board weight and speed on the shipped 145-item config: prints numbers, asserts nothing.

    .venv/bin/python bench/board_page.py [LOADS]

Starts the exporter on a copy of config.yaml and Debian's headless Chromium, then reports the
page weight (HTML as sent with and without gzip, CSS, JS), the server's time to render ``/``,
and the browser's first paint / first contentful paint over LOADS page loads (default 10).
"""

from __future__ import annotations

import gzip
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.browser import start_chromium
from support.procs import ROOT, http_get, start_exporter, wait_until

PAINTS = """
const done = arguments[0];
const seen = {};
new PerformanceObserver(list => {
  for (const e of list.getEntries()) seen[e.name] = e.startTime;
  if ("first-contentful-paint" in seen) done(Object.entries(seen));
}).observe({type: "paint", buffered: true});
setTimeout(() => done(Object.entries(seen)), 5000);
"""


def fetch(url: str, gz: bool = False) -> bytes:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def main(loads: int = 10) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        shutil.copy(ROOT / "config.yaml", config)
        proc, base = start_exporter(config, Path(tmp) / "exporter.log")
        try:
            wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 60, "every item probed once")
            html, html_gz = fetch(f"{base}/"), fetch(f"{base}/", gz=True)
            css, js = fetch(f"{base}/static/board.css"), fetch(f"{base}/static/board.js")
            print(
                f"page weight: HTML {len(html) / 1024:.1f} KiB "
                f"({len(html_gz) / 1024:.1f} KiB gzip), "
                f"CSS {len(css) / 1024:.1f} KiB (sent uncompressed; "
                f"{len(gzip.compress(css)) / 1024:.1f} KiB gzip), "
                f"JS {len(js) / 1024:.1f} KiB; total as sent "
                f"{(len(html_gz) + len(css) + len(js)) / 1024:.1f} KiB, no other requests"
            )
            render = []
            for _ in range(50):
                started = time.perf_counter()
                fetch(f"{base}/")
                render.append(time.perf_counter() - started)
            print(
                "GET / (145 rows, uncompressed): "
                f"median {statistics.median(render) * 1000:.1f} ms, "
                f"max {max(render) * 1000:.1f} ms over 50 requests"
            )
            driver = start_chromium()
            try:
                for path, what in (
                    ("/-/healthy", "a one-line text page (baseline)"),
                    ("/", "the board"),
                ):
                    fp, fcp = [], []
                    for _ in range(loads):
                        driver.get("about:blank")
                        driver.get(f"{base}{path}")
                        # Paint entries arrive once the frame is presented, a little after load.
                        paints = dict(driver.execute_async_script(PAINTS))
                        fp.append(paints.get("first-paint", float("nan")))
                        fcp.append(paints.get("first-contentful-paint", float("nan")))
                    rows = driver.execute_script(
                        "return document.querySelectorAll('#items tr.item').length"
                    )
                    print(
                        f"Chromium headless, {what} ({rows} rows), {loads} loads: "
                        f"first paint median {statistics.median(fp):.0f} ms (max {max(fp):.0f}), "
                        f"first contentful paint median {statistics.median(fcp):.0f} ms "
                        f"(max {max(fcp):.0f})"
                    )
            finally:
                driver.quit()
        finally:
            proc.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
