"""Coverage-guided fuzzing of the config loader (atheris, libFuzzer), bounded to 8 seconds.

The hypothesis tests in test_bad_input.py feed random and mutated YAML; libFuzzer instead grows
inputs towards new branches of the loader. Anything but a located ConfigError is a crash, which
libFuzzer reports with the input (``bench/fuzz_config.py`` holds the harness; longer runs are
in docs/reliability.md).

Each run of the suite fuzzes afresh, so the search adds up over runs; 8 s is some 30,000
inputs here, after about 10 s of instrumenting the imports. READINESS_FUZZ_SECONDS=300 fuzzes
longer in the same test (before a release, or after changing the loader).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from support.procs import ROOT

SECONDS = int(os.environ.get("READINESS_FUZZ_SECONDS", "8"))


def test_fuzzing_the_config_loader_finds_no_crash(tmp_path):
    pytest.importorskip("atheris", reason="atheris ships wheels for Linux x86_64 only")
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fuzz_config.py"),
            "-runs=1000000",
            f"-max_total_time={SECONDS}",
            "-max_len=4096",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=SECONDS + 120,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    done = re.search(r"^Done (\d+) runs", out.stderr, re.M)
    assert done and int(done.group(1)) > 100, out.stderr[-2000:]
    print(f"\natheris: {done.group(0)} on the config loader")
