"""What masking credentials costs per probe result, and what one command's output costs.

    .venv/bin/python -m bench.redaction

Not part of ``make bench`` (in-process, a few seconds). The engine masks every result with the
checklist's ``Redactor``: one substring search per form of every credential the checklist
holds, plus a read of each ``*_file`` credential. Measured: the shipped config with every
variable set (credential-looking ones to distinct values), then synthetic checklists of 10 to
1,000 inline credentials and of 10 ``*_file`` ones; each with a typical result (a summary and
evidence with a 200-character output tail) and with a command's whole 64 KiB output (masked
before its tail is cut). Medians of repeated runs, in microseconds of CPU on this machine.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from exporter import config
from exporter.redact import Redactor, forms, secrets_in_spec
from probes.fields import Secret
from probes.result import Result, Status

from .procstat import median
from .targets import ROOT

RESULT = Result(
    Status.FAIL,
    "exit code 1, expected 0: Found 3 errors in 2 files (checked 41 source files)",
    {
        "argv": ["ruff", "check", "."],
        "exit_code": 1,
        "stdout_tail": "app/main.py:12:5: F401 `os` imported but unused\n" * 4,
        "stderr_tail": "",
    },
)
OUTPUT = "".join(f"line {n}: building module {n % 97} ... ok\n" for n in range(1800))[:65536]


def timed(work: Callable[[], object], repeats: int) -> float:
    """Median microseconds of one ``work()``."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        samples.append(time.perf_counter() - t0)
    return median(samples) * 1e6


def shipped() -> Redactor:
    text = (ROOT / "config.yaml").read_text()
    names = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    env = {
        n: f"https://{n.lower()}.example" if n.endswith("_URL") else f"value-of-{n.lower()}-{i:04d}"
        for i, n in enumerate(sorted(names))
    }
    env["DATABASE_URL"] = "postgresql://app:db-password-0001@db:5432/app"
    return config.load(ROOT / "config.yaml", env).redactor


def row(label: str, redactor: Redactor) -> str:
    count = len(set().union(*map(forms, redactor.values), *(f.forms() for f in redactor.files)))
    result = timed(lambda: redactor.result(RESULT), 300)
    output = timed(lambda: redactor.text(OUTPUT), 30)
    return f"| {label} | {count} | {result:,.0f} | {output:,.0f} |"


def main() -> None:
    lines = [
        "| checklist | forms masked | one result (µs) | 64 KiB output (µs) |",
        "|---|---|---|---|",
        row("no credentials", Redactor()),
        row("shipped config.yaml, every variable set", shipped()),
    ]
    for n in (10, 100, 1000):
        lines.append(
            row(f"{n} inline credentials", Redactor(f"credential-{k:06d}" for k in range(n)))
        )
    with tempfile.TemporaryDirectory() as tmp:
        secrets = []
        for k in range(10):
            path = Path(tmp) / f"token-{k}"
            path.write_text(f"file-credential-{k:06d}\n")
            secrets.append(Secret(file=path))
        _, files = secrets_in_spec(secrets)
        lines.append(row("10 `*_file` credentials (read at each redaction)", Redactor((), files)))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
