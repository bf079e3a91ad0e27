#!/usr/bin/env bash
# The whole test suite, from a fresh clone: Debian packages (as root), .venv, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --system
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
