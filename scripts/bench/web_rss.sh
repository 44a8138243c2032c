#!/bin/bash
# Resident set of the web process after start and its first page, on runserver and on gunicorn
# (docker/gunicorn.conf.py, one worker), for the checkout in DIR (default: this one).
# Usage: scripts/bench/web_rss.sh [DIR] [PORT]   (docs/benchmarks.md, "Web process without the ML stack")
set -u
DIR=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
PORT=${2:-8931}
cd "$DIR"
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-tests.settings}
export DATABASE_URL=${DATABASE_URL:-sqlite:////tmp/allreview-web-rss.sqlite3}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/13}

wait_up() {  # $1 pid: poll the login page until it answers (60 s at most)
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/login/" && return 0
    sleep 0.2
  done
  kill "$1"; echo "server did not answer" >&2; exit 1
}
rss_mb() { echo $(( $(awk '/VmRSS/{print $2}' "/proc/$1/status") / 1024 )); }

start=$(date +%s.%N)
.venv/bin/python manage.py runserver --noreload "127.0.0.1:$PORT" >/dev/null 2>&1 &
pid=$!
wait_up $pid
ready=$(echo "$(date +%s.%N) - $start" | bc)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/login/")
echo "runserver: first page $code, RSS $(rss_mb $pid) MB, answering after ${ready} s"
kill $pid; wait $pid 2>/dev/null

start=$(date +%s.%N)
GUNICORN_BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=1 \
  .venv/bin/gunicorn -c docker/gunicorn.conf.py allreview.wsgi:application >/dev/null 2>&1 &
pid=$!
wait_up $pid
ready=$(echo "$(date +%s.%N) - $start" | bc)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/login/")
worker=$(pgrep -P $pid | head -1)
echo "gunicorn: first page $code, master RSS $(rss_mb $pid) MB, worker RSS $(rss_mb "$worker") MB, answering after ${ready} s"
kill $pid; wait $pid 2>/dev/null
