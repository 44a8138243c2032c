#!/usr/bin/env bash
# Restore a backup made by backup.sh: database first, then media (which replace the current ones).
#   scripts/deploy/restore.sh BACKUP_DIR
# Compose mode stops the app containers while restoring and starts them again afterwards.
source "$(dirname "$0")/lib.sh"
source_dir="${1:?usage: restore.sh BACKUP_DIR}"
[ -f "$source_dir/db.dump" ] || die "$source_dir has no db.dump"
say "verifying checksums"
(cd "$source_dir" && sha256sum --check --quiet SHA256SUMS) || die "checksums do not match"

if [ "$MODE" = compose ]; then
  user=$(env_value POSTGRES_USER postgres)
  db=$(env_value POSTGRES_DB allreview)
  say "stopping ${APP_SERVICES[*]}"
  compose stop "${APP_SERVICES[@]}"
  say "restoring database $db"
  compose exec -T postgres pg_restore --username "$user" --dbname "$db" --clean --if-exists \
    --no-owner --single-transaction < "$source_dir/db.dump"
  if [ -f "$source_dir/media.tar.gz" ]; then
    say "restoring media"
    compose run --rm --no-deps -T --entrypoint sh web -c \
      'find /app/var/media -mindepth 1 -delete && tar -C /app/var/media -xzf -' \
      < "$source_dir/media.tar.gz"
  fi
  # pg_restore ran as the superuser, which now owns what it restored: back to the owner role.
  "$ROOT/scripts/deploy/db-roles.sh"
  say "starting ${APP_SERVICES[*]}"
  compose up -d "${APP_SERVICES[@]}"
else
  : "${DATABASE_URL:?set DATABASE_URL}"
  say "restoring database"
  pg_restore --dbname "$DATABASE_URL" --clean --if-exists --no-owner --single-transaction \
    "$source_dir/db.dump"
  if [ -f "$source_dir/media.tar.gz" ]; then
    : "${MEDIA_ROOT:?set MEDIA_ROOT}"
    say "restoring media into $MEDIA_ROOT"
    mkdir -p "$MEDIA_ROOT"
    find "$MEDIA_ROOT" -mindepth 1 -delete
    tar -C "$MEDIA_ROOT" -xzf "$source_dir/media.tar.gz"
  fi
fi
say "restore complete; run scripts/deploy/migrate.sh if the backup is older than the code"
