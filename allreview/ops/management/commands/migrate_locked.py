"""`manage.py migrate_locked`: migrate-on-deploy that several starting containers may run at once.

On PostgreSQL an advisory lock lets one of them migrate while the others wait, then find
nothing left to do; Django's own migrate does not guard against two concurrent runs."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# Any constant both sides agree on; "ALRV" in ASCII.
LOCK_ID = 0x414C5256


class Command(BaseCommand):
    help = "Apply migrations under a database-wide lock (PostgreSQL), then exit."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            self._migrate(options["verbosity"])
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
            try:
                self._migrate(options["verbosity"])
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])

    def _migrate(self, verbosity: int) -> None:
        call_command("migrate", interactive=False, verbosity=verbosity, stdout=self.stdout)
