"""`manage.py migrate_locked`: migrate-on-deploy that several starting containers may run at once.

On PostgreSQL an advisory lock lets one of them migrate while the others wait, then find
nothing left to do; Django's own migrate does not guard against two concurrent runs.

Migrations run as the schema owner when MIGRATION_DATABASE_URL is set (the app's own role owns
nothing and may not create tables); with DATABASE_APP_ROLE set, the owner then grants that role
its rights on whatever the migrations made (allreview.ops.dbroles)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from allreview.ops.dbroles import app_grants_apply

# Any constant both sides agree on; "ALRV" in ASCII.
LOCK_ID = 0x414C5256


def connect_as_owner() -> None:
    """Point this process's default connection at MIGRATION_DATABASE_URL (same database, the
    owner's credentials). Only this command does it, once, before touching the database."""
    owner = settings.MIGRATION_DATABASE
    if not owner:
        return
    connections[DEFAULT_DB_ALIAS].close()
    connections.settings[DEFAULT_DB_ALIAS] = {**connections.settings[DEFAULT_DB_ALIAS], **owner}
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)


class Command(BaseCommand):
    help = "Apply migrations under a database-wide lock (PostgreSQL), then exit."

    def handle(self, *args: Any, **options: Any) -> None:
        connect_as_owner()
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            self._migrate(options["verbosity"])
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
            try:
                self._migrate(options["verbosity"])
                if settings.DATABASE_APP_ROLE:
                    app_grants_apply(connection=connection, app_role=settings.DATABASE_APP_ROLE)
                    self.stdout.write(f"granted {settings.DATABASE_APP_ROLE} its rights")
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])

    def _migrate(self, verbosity: int) -> None:
        call_command("migrate", interactive=False, verbosity=verbosity, stdout=self.stdout)
