#!/usr/bin/env bash
# First start of the postgres container (docker-entrypoint-initdb.d): create AllReview's owner
# and app roles with scripts/deploy/db_roles.sql, mounted by docker/compose.yaml.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v dbname="$POSTGRES_DB" \
  -v owner="$DB_OWNER_USER" -v owner_password="$DB_OWNER_PASSWORD" \
  -v app="$DB_APP_USER" -v app_password="$DB_APP_PASSWORD" \
  -f /opt/allreview/db_roles.sql
