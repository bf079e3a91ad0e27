"""Coverage-guided fuzzing of the config loader (atheris, libFuzzer), beside the hypothesis tests.

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_config.py -runs=20000 -max_len=4096 [corpus_dir]

Anything but a ConfigError whose lines name the file is a crash that libFuzzer reports with the
input that caused it. The shipped config.yaml seeds the corpus when no folder is given.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from exporter.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[1]
ENV = {"APP_URL": "http://127.0.0.1:1", "APP_REPO": "/nonexistent", "PUBLIC_HOST": "127.0.0.1"}
WORK = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
PATH = WORK / "config.yaml"


def one_input(data: bytes) -> None:
    PATH.write_bytes(data)
    try:
        load(PATH, ENV)
    except ConfigError as exc:
        for line in exc.errors:
            if not line.startswith(("config.yaml: ", f"{PATH}:")):
                raise AssertionError(f"error without a location: {line!r}") from None


def main() -> None:
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        seeds = WORK / "seeds"
        seeds.mkdir()
        (seeds / "shipped.yaml").write_bytes((ROOT / "config.yaml").read_bytes()[:4096])
        args.append(str(seeds))
    os.chdir(WORK)
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
