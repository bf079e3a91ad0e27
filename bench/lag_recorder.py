"""readiness-exporter as ``serve`` runs it, plus a record of every probe's scheduling lag.

    python -m bench.lag_recorder CONFIG HOST:PORT LAGS.json

On SIGTERM it stops like the exporter and writes ``[[planned_unix_time, lag_seconds], ...]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from exporter import logs
from exporter.daemon import Daemon
from exporter.web.app import build_app


async def main(config: str, listen: str, out: Path) -> None:
    daemon = Daemon(config)
    lags: list[tuple[float, float]] = []
    daemon.engine.on_lag = lambda planned, lag: lags.append((planned, lag))
    try:
        await daemon.serve(listen, build_app(daemon))
    finally:
        out.write_text(json.dumps(lags))


if __name__ == "__main__":
    config_path, listen_address, lags_path = sys.argv[1:4]
    logs.setup("info", "json")  # as `serve` sets it up by default
    asyncio.run(main(config_path, listen_address, Path(lags_path)))
