#!/usr/bin/env bash
# The whole test suite, from a fresh clone: Debian packages (as root), .venv, the linters, then
# pytest. Any linter finding fails the build before a test runs; arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --system
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy exporter probes
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
