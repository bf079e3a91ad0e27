#!/usr/bin/env bash
# Serve the shipped config.yaml (extra arguments go to the exporter).
# The first start makes .venv and installs the exporter with its runtime dependencies only (the
# test tools are scripts/setup.sh's job); later starts reuse it, and install again only when
# pyproject.toml has changed since (its dependencies may have).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-from
if [ ! -x .venv/bin/readiness-exporter ] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # pip's own exit code counts; only the machine's notes about missing local indexes are dropped.
  log=$(mktemp)
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e . >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; exit 1
  fi
  grep -v 'is ignored: it is neither' "$log" >&2 || true
  rm -f "$log"
  sha256sum pyproject.toml >"$stamp"
fi
exec .venv/bin/readiness-exporter --config.file config.yaml "$@"
