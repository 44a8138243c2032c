#!/usr/bin/env bash
# Back up the database (pg_dump, custom format) and the media files (cell images, thumbnails,
# model checkpoints) into one folder with checksums.
#   scripts/deploy/backup.sh [BACKUP_ROOT]      (default: ./backups)
# Prints the folder it wrote. With STORAGE_BACKEND=s3 the media live in the bucket: back that up
# with the store's own tools (versioning, replication, `mc mirror`); this script says so.
source "$(dirname "$0")/lib.sh"
backup_root="${1:-$ROOT/backups}"
target="$backup_root/allreview-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$target"
chmod 700 "$target"

if [ "$MODE" = compose ]; then
  user=$(env_value POSTGRES_USER postgres)
  db=$(env_value POSTGRES_DB allreview)
  storage=$(env_value STORAGE_BACKEND local)
  say "dumping database $db"
  compose exec -T postgres pg_dump --username "$user" --format custom --no-owner "$db" > "$target/db.dump"
  if [ "$storage" = local ]; then
    say "archiving media"
    compose run --rm --no-deps -T --entrypoint tar web -C /app/var/media -czf - . > "$target/media.tar.gz"
  fi
else
  : "${DATABASE_URL:?set DATABASE_URL}"
  storage="${STORAGE_BACKEND:-local}"
  say "dumping database"
  pg_dump --format custom --no-owner --dbname "$DATABASE_URL" --file "$target/db.dump"
  if [ "$storage" = local ]; then
    : "${MEDIA_ROOT:?set MEDIA_ROOT}"
    say "archiving media from $MEDIA_ROOT"
    mkdir -p "$MEDIA_ROOT"
    tar -C "$MEDIA_ROOT" -czf "$target/media.tar.gz" .
  fi
fi
[ "$storage" = local ] || say "media are in object storage: back up the bucket with its own tools"
(cd "$target" && sha256sum -- * > SHA256SUMS)
say "backup complete"
echo "$target"
