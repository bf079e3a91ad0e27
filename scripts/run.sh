#!/usr/bin/env bash
# Set up .venv and serve the shipped config.yaml (extra arguments go to the exporter).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/readiness-exporter --config.file config.yaml "$@"
