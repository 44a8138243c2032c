#!/usr/bin/env bash
# Migrate-on-deploy as a separate step: apply migrations under a PostgreSQL advisory lock.
# The web container also does this on start (MIGRATE_ON_START=true); run this before starting
# new code by hand, e.g. in upgrade.sh.
source "$(dirname "$0")/lib.sh"
say "applying migrations ($MODE)"
manage migrate_locked
say "schema is up to date"
