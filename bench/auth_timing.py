"""How long a basic-auth check takes for a known user with a wrong password, an unknown user,
and a correct (cached) login: the first two must cost the same, so timing does not reveal users.

    .venv/bin/python bench/auth_timing.py [rounds]
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bcrypt

from exporter.web.webconfig import BasicAuth


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def main(rounds: int) -> None:
    auth = BasicAuth({"prometheus": bcrypt.hashpw(b"right", bcrypt.gensalt(10))})
    cases = {
        "known user, wrong password": header("prometheus", "wrong"),
        "unknown user": header("mallory", "wrong"),
        "correct (cached after the first)": header("prometheus", "right"),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):  # interleaved, so machine noise hits every case alike
        for name, value in cases.items():
            started = time.perf_counter()
            await auth.check(value)
            times[name].append((time.perf_counter() - started) * 1000)
    for name, ms in times.items():
        print(
            f"{name:34s} median {statistics.median(ms):7.2f} ms  "
            f"min {min(ms):7.2f} ms  max {max(ms):7.2f} ms  ({rounds} checks)"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
