"""Benchmarks of readiness-exporter against blackbox_exporter on loopback (``make bench``)."""

import sys
from pathlib import Path

# The test suite's process helpers (tests/support), reused as they are. Set here, before any
# benchmark module is imported: import sorting puts ``support`` above the package's own imports.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
