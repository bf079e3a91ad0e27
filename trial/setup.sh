#!/usr/bin/env bash
# Build the trial stack on loopback: PostgreSQL 15 (TLS, WAL archiving), the FastAPI template's
# backend under uvicorn (two instances), nginx with TLS and security headers, Prometheus,
# Alertmanager with a webhook receiver, node exporter; then the app's own evidence: pytest
# (JUnit + coverage, on a SCRATCH database), ruff and mypy reports, a short Locust run and a
# pg_dump backup. Usage: trial/setup.sh [RUN_DIR] (default /work/trialrun). Stop: trial/stop.sh.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
RUN="$(mkdir -p "${1:-/work/trialrun}" && cd "${1:-/work/trialrun}" && pwd)"
APP_MIRROR="${APP_MIRROR:-/work/.mirror/fastapi+full-stack-fastapi-template/repo}"
# The last commit before the template moved to Python 3.14 (14728b63, June 2026), which this
# machine does not have; it runs on 3.10..3.13 unchanged.
APP_COMMIT="${APP_COMMIT:-a727535488542228dc19b13f217a104ad317c122}"
PYTHON_APP="${PYTHON_APP:-/root/.pyenv/versions/3.13.0/bin/python}"
EXPORTER_PY="$ROOT/.venv/bin/python"
PGBIN=/usr/lib/postgresql/15/bin

# Ports: all on 127.0.0.1.
PG_PORT=55432 APP_PORT_1=18001 APP_PORT_2=18002 HTTP_PORT=18080 HTTPS_PORT=18443
PROM_PORT=19090 AM_PORT=19093 RECEIVER_PORT=19095 NODE_PORT=19100

log() { printf '[setup %s] %s\n' "$(date +%T)" "$*"; }
mkdir -p "$RUN"/{bin,logs,pids,tls,backups,prom,am}
: >"$RUN/pids/started"
started() { echo "$1 $2" >>"$RUN/pids/started"; }  # pid name: what stop.sh may end

# ---- 1. the application, pinned -------------------------------------------------------------
if [ ! -d "$RUN/app/.git" ]; then
  git clone -q "$APP_MIRROR" "$RUN/app"
fi
git -C "$RUN/app" checkout -q -f "$APP_COMMIT"
APP="$RUN/app/backend"
if [ ! -x "$RUN/appvenv/bin/python" ]; then
  log "app venv"
  "$PYTHON_APP" -m venv "$RUN/appvenv"
  # The dependencies by the ranges of backend/pyproject.toml at APP_COMMIT (the project itself
  # is not installed: PYTHONPATH below), plus Locust and the metrics instrumentator.
  "$RUN/appvenv/bin/pip" install -q \
    "fastapi[standard]<1.0.0,>=0.114.2" "python-multipart<1.0.0,>=0.0.27" \
    "email-validator<3.0.0.0,>=2.1.0.post1" "tenacity<10.0.0,>=8.2.3" "pydantic>2.0" \
    "emails<1.0,>=0.6" "jinja2<4.0.0,>=3.1.4" "alembic<2.0.0,>=1.12.1" \
    "httpx<1.0.0,>=0.25.1" "psycopg[binary]<4.0.0,>=3.1.13" "sqlmodel<1.0.0,>=0.0.21" \
    "pydantic-settings<3.0.0,>=2.2.1" "sentry-sdk[fastapi]>=2.0.0,<3.0.0" \
    "pyjwt<3.0.0,>=2.13.0" "pwdlib[argon2,bcrypt]>=0.3.0" "pytest<10.0.0,>=7.4.3" \
    "mypy<3.0.0,>=1.8.0" "ruff<1.0.0,>=0.2.2" "coverage<8.0.0,>=7.4.3" \
    locust prometheus-fastapi-instrumentator
fi
AV="$RUN/appvenv/bin"
export PYTHONPATH="$APP"  # the app is not installed (see above): its package is found here

# ---- 2. throwaway secrets (never in the repo) -----------------------------------------------
if [ ! -f "$RUN/secrets.env" ]; then
  "$EXPORTER_PY" - >"$RUN/secrets.env" <<'EOF'
import secrets
for name in ("POSTGRES_PASSWORD", "READINESS_DB_PASSWORD", "APPTEST_DB_PASSWORD",
             "SECRET_KEY", "FIRST_SUPERUSER_PASSWORD"):
    print(f"{name}={secrets.token_urlsafe(32)}")
EOF
  chmod 600 "$RUN/secrets.env"
fi
set -a; . "$RUN/secrets.env"; set +a

# ---- 3. a private CA and the server certificate (127.0.0.1 and app.trial.test) ---------------
if [ ! -f "$RUN/tls/ca.pem" ]; then
  log "private CA (trustme)"
  "$EXPORTER_PY" - "$RUN/tls" <<'EOF'
import sys, trustme
ca = trustme.CA(organization_name="readiness trial CA")
cert = ca.issue_cert("127.0.0.1", "app.trial.test", "localhost")
d = sys.argv[1]
ca.cert_pem.write_to_path(f"{d}/ca.pem")
cert.private_key_pem.write_to_path(f"{d}/server.key")
cert.cert_chain_pems[0].write_to_path(f"{d}/server.crt")
EOF
fi

# ---- 4. PostgreSQL 15: TLS, WAL archiving, scram passwords -----------------------------------
PG="$RUN/pg"
if [ ! -d "$PG/data" ]; then
  log "initdb"
  mkdir -p "$PG/archive" "$PG/sock"
  install -o postgres -g postgres -m 600 "$RUN/tls/server.key" "$PG/server.key"
  install -o postgres -g postgres -m 644 "$RUN/tls/server.crt" "$PG/server.crt"
  chown -R postgres:postgres "$PG"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PG/data" -U postgres -A trust -E UTF8 \
    --locale C >"$RUN/logs/initdb.log"
  cat >>"$PG/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG/sock'
max_connections = 50
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$PG/server.crt'
ssl_key_file = '$PG/server.key'
archive_mode = on
archive_command = 'test ! -f $PG/archive/%f && cp %p $PG/archive/%f'
archive_timeout = 300
EOF
  cat >"$PG/data/pg_hba.conf" <<'EOF'
local all postgres trust
hostssl all all 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
EOF
fi
if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG/data" status >/dev/null 2>&1; then
  log "start PostgreSQL on 127.0.0.1:$PG_PORT"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/postgres.log" -w start >/dev/null
fi
started "$(head -1 "$PG/data/postmaster.pid")" postgres
psql_su() { runuser -u postgres -- "$PGBIN/psql" -h "$PG/sock" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_su -c "SELECT count(*) FROM pg_roles WHERE rolname='app'")" = 0 ]; then
  log "roles and databases"
  psql_su <<EOF
CREATE ROLE app LOGIN PASSWORD '$POSTGRES_PASSWORD';
CREATE DATABASE app OWNER app;
-- the scratch database for the app's test suite: another role, no right on 'app'
CREATE ROLE apptest LOGIN PASSWORD '$APPTEST_DB_PASSWORD';
CREATE DATABASE app_test OWNER apptest;
REVOKE CONNECT ON DATABASE app FROM PUBLIC;
GRANT CONNECT ON DATABASE app TO app;
-- the exporter's read-only role (pg_monitor: other sessions' details)
CREATE ROLE readiness LOGIN PASSWORD '$READINESS_DB_PASSWORD' IN ROLE pg_monitor;
GRANT CONNECT ON DATABASE app TO readiness;
EOF
  psql_su -d app <<'EOF'
ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO readiness;
EOF
fi

# ---- 5. the production env file the app reads (backend/../.env) -----------------------------
# The template's .env (placeholders, FASTAPI_ENV=development) is replaced as a deployment would.
cat >"$RUN/app/.env" <<EOF
# production settings of the trial (throwaway values made by trial/setup.sh)
DOMAIN=127.0.0.1
FRONTEND_HOST=https://dashboard.trial.test
ENVIRONMENT=production
PROJECT_NAME="Full Stack FastAPI Project"
STACK_NAME=full-stack-fastapi-project
BACKEND_CORS_ORIGINS="https://dashboard.trial.test"
SECRET_KEY=$SECRET_KEY
FIRST_SUPERUSER=admin@example.com
FIRST_SUPERUSER_PASSWORD=$FIRST_SUPERUSER_PASSWORD
SMTP_HOST=
SMTP_USER=
SMTP_PASSWORD=
EMAILS_FROM_EMAIL=info@example.com
SMTP_TLS=True
SMTP_SSL=False
SMTP_PORT=587
POSTGRES_SERVER=127.0.0.1
POSTGRES_PORT=$PG_PORT
POSTGRES_DB=app
POSTGRES_USER=app
POSTGRES_PASSWORD=$POSTGRES_PASSWORD
SENTRY_DSN=
EOF
chmod 600 "$RUN/app/.env"

log "migrations and initial data (production database)"
(cd "$APP" && "$AV/python" app/backend_pre_start.py >>"$RUN/logs/prestart.log" 2>&1 \
  && "$AV/alembic" upgrade head >>"$RUN/logs/prestart.log" 2>&1 \
  && "$AV/python" app/initial_data.py >>"$RUN/logs/prestart.log" 2>&1)
psql_su -d app -c 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO readiness'

# ---- 6. the backend: two uvicorn instances, instrumented outside the app's code ---------------
mkdir -p "$RUN/serve"
cp "$HERE/trial_asgi.py" "$RUN/serve/trial_asgi.py"
for port in $APP_PORT_1 $APP_PORT_2; do
  if ! curl -sf "http://127.0.0.1:$port/api/v1/utils/health-check/" >/dev/null 2>&1; then
    log "uvicorn on 127.0.0.1:$port"
    setsid env -C "$APP" PYTHONPATH="$RUN/serve:$APP" "$AV/uvicorn" trial_asgi:app \
      --host 127.0.0.1 --port "$port" --proxy-headers --forwarded-allow-ips 127.0.0.1 \
      --no-server-header >>"$RUN/logs/app.log" 2>&1 </dev/null &
    echo $! >"$RUN/pids/app-$port"
  fi
  started "$(cat "$RUN/pids/app-$port")" "uvicorn:$port"
done

# ---- 7. nginx: TLS 1.2+, http -> https, security headers, a rate limit on /api/ -------------
mkdir -p "$RUN/nginx/tmp"
sed -e "s#@RUN@#$RUN#g" -e "s#@HTTP_PORT@#$HTTP_PORT#g" -e "s#@HTTPS_PORT@#$HTTPS_PORT#g" \
  -e "s#@APP_PORT_1@#$APP_PORT_1#g" -e "s#@APP_PORT_2@#$APP_PORT_2#g" \
  "$HERE/nginx.conf.in" >"$RUN/nginx/nginx.conf"
nginx -t -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log" 2>>"$RUN/logs/nginx-test.log"
if [ ! -s "$RUN/nginx/nginx.pid" ] || ! kill -0 "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null; then
  log "nginx on 127.0.0.1:$HTTP_PORT and :$HTTPS_PORT"
  nginx -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log"
  sleep 0.5
fi
started "$(cat "$RUN/nginx/nginx.pid")" nginx

# ---- 8. node exporter, webhook receiver, Alertmanager, Prometheus -----------------------------
start_bg() {  # name pidfile command...
  local name="$1" pidfile="$RUN/pids/$1"; shift
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    started "$(cat "$pidfile")" "$name"
    return
  fi
  log "start $name"
  setsid "$@" >>"$RUN/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  started "$!" "$name"
}
if command -v prometheus-node-exporter >/dev/null; then
  start_bg node-exporter prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" \
    --collector.filesystem.mount-points-exclude='^/(dev|proc|sys|run)($|/)'
fi
cp "$HERE/receiver.py" "$RUN/bin/receiver.py"
start_bg receiver "$EXPORTER_PY" "$RUN/bin/receiver.py" "$RECEIVER_PORT"
sed -e "s#@RECEIVER_PORT@#$RECEIVER_PORT#g" "$HERE/alertmanager.yml.in" >"$RUN/am/alertmanager.yml"
start_bg alertmanager prometheus-alertmanager --config.file="$RUN/am/alertmanager.yml" \
  --storage.path="$RUN/am/data" --web.listen-address="127.0.0.1:$AM_PORT" \
  --cluster.listen-address=
cp "$HERE/app.rules.yml" "$RUN/prom/app.rules.yml"
cp "$ROOT/alerts/readiness.rules.yml" "$RUN/prom/readiness.rules.yml"
sed -e "s#@RUN@#$RUN#g" -e "s#@AM_PORT@#$AM_PORT#g" -e "s#@NODE_PORT@#$NODE_PORT#g" \
  -e "s#@APP_PORT_1@#$APP_PORT_1#g" -e "s#@APP_PORT_2@#$APP_PORT_2#g" -e "s#@PROM_PORT@#$PROM_PORT#g" \
  "$HERE/prometheus.yml.in" >"$RUN/prom/prometheus.yml"
promtool check config "$RUN/prom/prometheus.yml" >>"$RUN/logs/promtool.log"
start_bg prometheus prometheus --config.file="$RUN/prom/prometheus.yml" \
  --storage.tsdb.path="$RUN/prom/data" --web.listen-address="127.0.0.1:$PROM_PORT"

# ---- 9. the app's own evidence, as its CI would make it -------------------------------------
if [ "${TRIAL_EVIDENCE:-1}" = 0 ]; then log "stack up (evidence kept as it is)"; exit 0; fi
mkdir -p "$APP/reports/load"
log "pytest with coverage on the SCRATCH database app_test (role apptest)"
# Every setting the tests read is given in the environment, which wins over ../.env (the
# production file): the suite's fixtures delete every row of the database they are given.
TEST_ENV=(env POSTGRES_DB=app_test POSTGRES_USER=apptest "POSTGRES_PASSWORD=$APPTEST_DB_PASSWORD"
  ENVIRONMENT=local SECRET_KEY=trial-tests-only-secret-key-0123456789abcdef
  FIRST_SUPERUSER_PASSWORD=trial-tests-only-password)
before="$(psql_su -d app -c 'SELECT count(*) FROM "user"')"
(cd "$APP" && "${TEST_ENV[@]}" "$AV/alembic" upgrade head >>"$RUN/logs/pytest.log" 2>&1 \
  && "${TEST_ENV[@]}" "$AV/coverage" run -m pytest tests/ -q \
    --junitxml=reports/pytest-junit.xml >>"$RUN/logs/pytest.log" 2>&1 || true)
(cd "$APP" && "$AV/coverage" xml -o reports/coverage.xml >>"$RUN/logs/pytest.log" 2>&1 || true)
after="$(psql_su -d app -c 'SELECT count(*) FROM "user"')"
[ "$before" = "$after" ] || { log "the production user count changed ($before -> $after)"; exit 1; }
log "ruff and mypy reports"
(cd "$APP" && "$AV/ruff" check --output-format junit app >reports/ruff-junit.xml 2>>"$RUN/logs/ruff.log" || true)
(cd "$APP" && "$AV/mypy" app --junit-xml reports/mypy-junit.xml >>"$RUN/logs/mypy.log" 2>&1 || true)

for _ in $(seq 50); do
  curl -sf --cacert "$RUN/tls/ca.pem" "https://127.0.0.1:$HTTPS_PORT/api/v1/utils/health-check/" >/dev/null && break
  sleep 0.2
done
log "Locust: 10 users for 100 s through nginx (https://127.0.0.1:$HTTPS_PORT)"
(cd "$APP" && TRIAL_CA_FILE="$RUN/tls/ca.pem" TRIAL_USER=admin@example.com \
  TRIAL_PASSWORD="$FIRST_SUPERUSER_PASSWORD" "$AV/locust" -f "$HERE/locustfile.py" --headless \
  -u 10 -r 5 -t 100s --host "https://127.0.0.1:$HTTPS_PORT" --csv reports/load/peak \
  --only-summary >>"$RUN/logs/locust.log" 2>&1 || true)

log "pg_dump backup and a WAL switch (something archived now)"
runuser -u postgres -- "$PGBIN/pg_dump" -h "$PG/sock" -p "$PG_PORT" -U postgres app \
  | gzip >"$RUN/backups/app-$(date -u +%Y%m%dT%H%M%SZ).sql.gz"
psql_su -c 'SELECT pg_switch_wal()' >/dev/null
log "stack up; run trial/check.sh $RUN"
