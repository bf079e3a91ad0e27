#!/usr/bin/env bash
# Prepare this checkout: Debian packages the tests use (as root, only those missing) and .venv.
#   scripts/setup.sh            the virtual environment with the exporter and its test tools
#   scripts/setup.sh --system   also the Debian packages (Prometheus, Alertmanager, PostgreSQL, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--system" ]; then
  # command -> Debian package; only what is missing is installed.
  declare -A want=(
    [prometheus]=prometheus
    [promtool]=prometheus
    [prometheus-alertmanager]=prometheus-alertmanager
    [amtool]=prometheus-alertmanager
    [/usr/lib/postgresql]=postgresql
    [nginx]=nginx-light
    [chromium]=chromium
    [chromedriver]=chromium-driver
    [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
  )
  missing=()
  for cmd in "${!want[@]}"; do
    if [[ "$cmd" == /* ]]; then [ -e "$cmd" ] && continue
    else command -v "$cmd" >/dev/null 2>&1 && continue; fi
    missing+=("${want[$cmd]}")
  done
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
    else
      mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
      echo "setup: installing ${missing[*]}" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
      # The packages start their own services; tests start private instances instead.
      for svc in prometheus prometheus-alertmanager prometheus-blackbox-exporter nginx postgresql; do
        service "$svc" stop >/dev/null 2>&1 || true
      done
    fi
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip's own exit code counts; only the machine's notes about missing local indexes are dropped.
log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
grep -v 'is ignored: it is neither' "$log" >&2 || true
rm -f "$log"
