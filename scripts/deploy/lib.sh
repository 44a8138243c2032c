# Shared by the deploy scripts. DEPLOY_MODE=compose (default: the containers of
# docker/compose.yaml) or bare (this checkout's .venv, with DATABASE_URL and MEDIA_ROOT set).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODE="${DEPLOY_MODE:-compose}"
APP_SERVICES=(web worker worker-gpu beat)

compose() { docker compose -f "$ROOT/docker/compose.yaml" "$@"; }

# A manage.py command: in a one-off web container, or with the checkout's virtualenv.
manage() {
  if [ "$MODE" = compose ]; then
    compose run --rm --no-deps -T web manage "$@"
  else
    "$ROOT/.venv/bin/python" "$ROOT/manage.py" "$@"
  fi
}

# A value from docker/.env (compose mode), e.g. env_value POSTGRES_USER allreview.
env_value() {
  local value
  value=$(grep -E "^$1=" "$ROOT/docker/.env" 2>/dev/null | tail -n 1 | cut -d= -f2-)
  echo "${value:-$2}"
}

say() { echo "[$(date +%H:%M:%S)] $*"; }
die() { echo "error: $*" >&2; exit 1; }
