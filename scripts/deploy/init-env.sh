#!/usr/bin/env bash
# Write docker/.env from docker/.env.example for a first install, with fresh secrets.
#   scripts/deploy/init-env.sh allreview.lab.example
# Refuses to overwrite an existing docker/.env.
source "$(dirname "$0")/lib.sh"
host="${1:?usage: init-env.sh HOSTNAME (the name users type, served through your TLS proxy)}"
target="$ROOT/docker/.env"
# Created readable by its owner only from the first byte (no window before a chmod).
umask 077
[ -e "$target" ] && die "$target exists; edit it instead"
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
db_password=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
owner_password=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
app_password=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
sed -e "s|^SECRET_KEY=.*|SECRET_KEY=$secret|" \
    -e "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=$db_password|" \
    -e "s|^DB_OWNER_PASSWORD=.*|DB_OWNER_PASSWORD=$owner_password|" \
    -e "s|^DB_APP_PASSWORD=.*|DB_APP_PASSWORD=$app_password|" \
    -e "s|^ALLOWED_HOSTS=.*|ALLOWED_HOSTS=$host,localhost,127.0.0.1|" \
    -e "s|^CSRF_TRUSTED_ORIGINS=.*|CSRF_TRUSTED_ORIGINS=https://$host|" \
    -e "s|^SECURE_PROXY_SSL_HEADER_ENABLED=.*|SECURE_PROXY_SSL_HEADER_ENABLED=true|" \
    -e "s|^LOG_FORMAT=.*|LOG_FORMAT=json|" \
    -e "s|^TRUSTED_PROXY_COUNT=.*|TRUSTED_PROXY_COUNT=1|" \
    "$ROOT/docker/.env.example" > "$target.tmp"
mv "$target.tmp" "$target"
say "wrote $target for https://$host (secrets generated; keep a copy in the lab's password safe)"
