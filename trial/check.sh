#!/usr/bin/env bash
# Run this worktree's exporter against the trial stack as a user would: `check` (JSON and
# text), then the daemon once (scraping /metrics, the board and an item page), score the JSON
# against trial/expected.yaml and scan every output for the stack's secret values.
# Usage: trial/check.sh [RUN_DIR] (default /work/trialrun). Outputs in RUN_DIR/out.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
RUN="$(cd "${1:-/work/trialrun}" && pwd)"
OUT="$RUN/out"
DAEMON_ADDR=127.0.0.1:20145
mkdir -p "$OUT" "$RUN/pids"

# The secrets are read, not exported: only exporter.env's variables reach the exporter.
# shellcheck disable=SC1091
. "$RUN/secrets.env"
set -a
# shellcheck disable=SC1091
. "$HERE/exporter.env"
set +a
export PYTHONPATH="$ROOT"
EXP=("$ROOT/.venv/bin/readiness-exporter")
STORE="$RUN/exporter-data"

echo "== check --format json"
start=$(date +%s.%N)
"${EXP[@]}" check --config.file "$ROOT/config.yaml" --format json \
  >"$OUT/check.json" 2>"$OUT/check-json.stderr" || true
end=$(date +%s.%N)
python3 -c "print(f'check --format json: {$end - $start:.1f} s')" | tee "$OUT/check-time.txt"
"${EXP[@]}" check --config.file "$ROOT/config.yaml" --format table \
  --color never >"$OUT/check.txt" 2>"$OUT/check-text.stderr" || true

echo "== daemon on $DAEMON_ADDR"
setsid "${EXP[@]}" --config.file "$ROOT/config.yaml" --storage.path "$STORE" \
  --web.listen-address "$DAEMON_ADDR" >"$OUT/daemon.log" 2>&1 </dev/null &
DPID=$!
echo "$DPID readiness-daemon" >>"$RUN/pids/started"
for _ in $(seq 100); do
  curl -sf "http://$DAEMON_ADDR/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
sleep "${DAEMON_SETTLE:-40}"  # every item probed once, Prometheus scraped it at least once
curl -s "http://$DAEMON_ADDR/metrics" >"$OUT/metrics.txt"
curl -s "http://$DAEMON_ADDR/" >"$OUT/board.html"
curl -s "http://$DAEMON_ADDR/items/S-013" >"$OUT/item-S-013.html"
curl -s "http://$DAEMON_ADDR/items/D-010" >"$OUT/item-D-010.html"
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null || true
grep -c '^readiness_item_status{' "$OUT/metrics.txt" | sed 's/^/item status series: /'
grep -E '^readiness_(decision|total_score|critical_score)' "$OUT/metrics.txt" | head -8 || true

"$ROOT/.venv/bin/python" "$HERE/score.py" --daemon "$OUT/check.json" "$OUT/metrics.txt" \
  | tee "$OUT/daemon-vs-check.txt"

echo "== score"
"$ROOT/.venv/bin/python" "$HERE/score.py" "$OUT/check.json" "$HERE/expected.yaml" \
  | tee "$OUT/score.md" | tail -12

echo "== secrets in outputs"
"$ROOT/.venv/bin/python" "$HERE/score.py" --scan "$RUN/secrets.env" "$OUT"/* | tee "$OUT/secrets-scan.txt"
