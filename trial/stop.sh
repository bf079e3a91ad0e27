#!/usr/bin/env bash
# Stop what trial/setup.sh and trial/check.sh started, by the process ids they recorded in
# RUN_DIR/pids (default /work/trialrun); nothing else is touched. --wipe also removes the
# database cluster and the app's reports, so the next setup starts from nothing.
set -uo pipefail
RUN="${1:-/work/trialrun}"
[ "${1:-}" = --wipe ] && RUN=/work/trialrun
WIPE=0; for a in "$@"; do [ "$a" = --wipe ] && WIPE=1; done
PGBIN=/usr/lib/postgresql/15/bin

if [ -d "$RUN/pg/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$RUN/pg/data" status >/dev/null 2>&1; then
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$RUN/pg/data" -m fast -w stop >/dev/null && echo "stopped postgres"
fi
if [ -s "$RUN/nginx/nginx.pid" ]; then
  nginx -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log" -s quit 2>/dev/null && echo "stopped nginx"
fi
if [ -f "$RUN/pids/started" ]; then
  while read -r pid name; do
    case "$name" in postgres|nginx) continue ;; esac
    # Only a process that is still the one we started (a recorded id may have been reused):
    # its command line names RUN, or node exporter's loopback port.
    if kill -0 "$pid" 2>/dev/null && { grep -qaF -- "$RUN" "/proc/$pid/cmdline" \
      || grep -qaF -- 127.0.0.1:19100 "/proc/$pid/cmdline"; }; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
      echo "stopped $name ($pid)"
    fi
  done <"$RUN/pids/started"
  : >"$RUN/pids/started"
fi
if [ "$WIPE" = 1 ]; then
  rm -rf "$RUN/pg" "$RUN/prom/data" "$RUN/am/data" "$RUN/app/backend/reports" "$RUN/backups" \
    "$RUN/logs" "$RUN/pids" "$RUN/exporter-data"
  echo "wiped $RUN (kept the app checkout, its venv, the CA and secrets.env)"
fi
