#!/usr/bin/env bash
# Upgrade a compose installation to the code in this checkout (or, with UPGRADE_PULL=true, to
# the branch's newest commit): back up, build, migrate, restart, wait until healthy.
#   scripts/deploy/upgrade.sh
# Workers finish their current task on SIGTERM (acks_late: an interrupted one is redelivered).
source "$(dirname "$0")/lib.sh"
[ "$MODE" = compose ] || die "upgrade.sh drives docker compose; bare installs: git pull, pip install -e ., migrate.sh, restart"
say "backing up first"
"$ROOT/scripts/deploy/backup.sh" >/dev/null
if [ "${UPGRADE_PULL:-false}" = true ]; then
  say "pulling"
  git -C "$ROOT" pull --ff-only
fi
say "building images"
compose build web worker-gpu
say "migrating"
"$ROOT/scripts/deploy/migrate.sh"
say "restarting"
compose up -d --remove-orphans
for _ in $(seq 1 60); do
  status=$(docker inspect --format '{{.State.Health.Status}}' "$(compose ps -q web)" 2>/dev/null || true)
  [ "$status" = healthy ] && { say "web is healthy; upgrade complete"; exit 0; }
  sleep 5
done
compose ps
die "web did not become healthy within 5 minutes; see: docker compose -f docker/compose.yaml logs web"
