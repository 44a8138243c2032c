#!/usr/bin/env bash
# Create the first administrator unless it exists.
#   scripts/deploy/first-admin.sh [USERNAME] [EMAIL]
# The password: ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) if set, else generated and printed once.
source "$(dirname "$0")/lib.sh"
username="${1:-admin}"
email="${2:-}"
if [ "$MODE" = compose ]; then
  compose run --rm --no-deps -T -e ADMIN_PASSWORD="${ADMIN_PASSWORD:-}" web \
    admin --username "$username" --email "$email"
else
  manage admin_ensure --username "$username" --email "$email"
fi
