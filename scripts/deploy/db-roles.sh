#!/usr/bin/env bash
# Create (or update) AllReview's owner and app roles and hand every table to the owner, as the
# PostgreSQL superuser, then grant the app role its rights. For an installation made before the
# roles existed, after a restore, or to rotate the role passwords (edit docker/.env first).
#   scripts/deploy/db-roles.sh
# Bare mode: PGADMIN_URL (a superuser URL), DB_NAME, DB_OWNER_USER, DB_OWNER_PASSWORD,
# DB_APP_USER, DB_APP_PASSWORD in the environment.
source "$(dirname "$0")/lib.sh"
if [ "$MODE" = compose ]; then
  super=$(env_value POSTGRES_USER postgres)
  db=$(env_value POSTGRES_DB allreview)
  owner=$(env_value DB_OWNER_USER allreview_owner)
  app=$(env_value DB_APP_USER allreview_app)
  owner_password=$(env_value DB_OWNER_PASSWORD "")
  app_password=$(env_value DB_APP_PASSWORD "")
  [ -n "$owner_password" ] && [ -n "$app_password" ] || die "set DB_OWNER_PASSWORD and DB_APP_PASSWORD in docker/.env"
  say "roles $owner and $app on database $db"
  compose exec -T postgres psql --username "$super" --dbname postgres -q \
    -v dbname="$db" -v owner="$owner" -v owner_password="$owner_password" \
    -v app="$app" -v app_password="$app_password" -f - < "$ROOT/scripts/deploy/db_roles.sql"
else
  : "${PGADMIN_URL:?set PGADMIN_URL (a superuser connection URL)}"
  psql "$PGADMIN_URL" -q -v dbname="${DB_NAME:?}" \
    -v owner="${DB_OWNER_USER:?}" -v owner_password="${DB_OWNER_PASSWORD:?}" \
    -v app="${DB_APP_USER:?}" -v app_password="${DB_APP_PASSWORD:?}" \
    -f "$ROOT/scripts/deploy/db_roles.sql"
fi
say "migrating as the owner (grants the app role its rights on every table)"
"$ROOT/scripts/deploy/migrate.sh"
