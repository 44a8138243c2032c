#!/usr/bin/env bash
# Start AllReview on the embedded defaults (SQLite and a filesystem broker under var/): web
# server, Celery workers and Celery beat in the foreground. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
mkdir -p var

# Local trial over plain http on this machine; production sets these through docker/.env.
# Created with mode 0600 from its first byte (os.open with the mode), then linked into place.
[ -s var/secret_key ] || "$VENV/bin/python" -m allreview.lib.secretfile var/secret_key
export SECRET_KEY_FILE="${SECRET_KEY_FILE:-$PWD/var/secret_key}"
export DEBUG="${DEBUG:-false}"
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-false}"
export SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-false}"
export CSRF_COOKIE_SECURE="${CSRF_COOKIE_SECURE:-false}"
export SECURE_HSTS_SECONDS="${SECURE_HSTS_SECONDS:-0}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
PY="$VENV/bin/python"

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput >/dev/null
"$PY" manage.py demo_setup

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping AllReview..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

# Two workers, so a retraining run never holds up the classification of new cases.
"$VENV/bin/celery" -A allreview worker -Q default,inference --concurrency 1 \
  --loglevel INFO -n "worker@%h" &
pids+=($!)
"$VENV/bin/celery" -A allreview worker -Q training --concurrency 1 \
  --loglevel INFO -n "training@%h" &
pids+=($!)
"$VENV/bin/celery" -A allreview beat --loglevel INFO &
pids+=($!)
# devserver: runserver with TCP_NODELAY, so a browser's keep-alive requests do not wait ~40 ms.
"$PY" manage.py devserver "$HOST:$PORT" --noreload &
pids+=($!)

sleep 2
cat <<MSG

  AllReview is running at http://$HOST:$PORT/
  Log in as: admin   password: $(cat var/admin_password)
  Demo readers of case DEMO-003, each with their own password:
             rita    password: $(cat var/rita_password)
             sam     password: $(cat var/sam_password)
  (The starter model was trained on synthetic cells: it is for trying the platform, not for patients.)
  Press Ctrl-C to stop the web server, the workers and beat.

MSG
wait -n "${pids[@]}"
