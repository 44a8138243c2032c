#!/usr/bin/env bash
# AllReview container entry point: the first argument picks the role.
#   web      migrate (under a lock) when MIGRATE_ON_START is true, then gunicorn
#   worker   Celery worker on WORKER_QUEUES (default: default), WORKER_CONCURRENCY processes
#   beat     Celery beat (periodic sweeps and retraining schedule)
#   migrate  apply migrations and exit (migrate-on-deploy as a one-off)
#   admin    create the first administrator unless it exists (ADMIN_PASSWORD or printed once)
#   health   print the readiness report (add --load-model on a GPU worker)
#   manage   any manage.py command; anything else runs as given
set -euo pipefail
cd /app
role="${1:-web}"
[ $# -gt 0 ] && shift

case "$role" in
  web)
    if [ "${MIGRATE_ON_START:-true}" = "true" ]; then
      python manage.py migrate_locked --verbosity 1
    fi
    exec gunicorn -c /app/docker/gunicorn.conf.py allreview.wsgi:application "$@"
    ;;
  worker)
    exec celery -A allreview worker \
      -Q "${WORKER_QUEUES:-default}" \
      --concurrency "${WORKER_CONCURRENCY:-2}" \
      -n "${WORKER_NAME:-worker}@%h" \
      --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    exec celery -A allreview beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule /app/var/celerybeat-schedule "$@"
    ;;
  migrate) exec python manage.py migrate_locked "$@" ;;
  admin) exec python manage.py admin_ensure "$@" ;;
  health) exec python manage.py health "$@" ;;
  manage) exec python manage.py "$@" ;;
  *) exec "$role" "$@" ;;
esac
