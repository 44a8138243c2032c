"""`manage.py db_roles`: the app role's rights (see allreview.ops.dbroles).

db_roles grant --app-role allreview_app   (as the owner: grants after a migrate)
db_roles sql --app-role allreview_app     (prints the same statements)
db_roles check                            (is DATABASE_URL's role what it should be?)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from allreview.ops.dbroles import app_grant_statements, app_grants_apply, app_role_problems


class Command(BaseCommand):
    help = "Grant the app's PostgreSQL role its rights, print them, or check the current role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["grant", "sql", "check"])
        parser.add_argument(
            "--app-role",
            default=settings.DATABASE_APP_ROLE,
            help="the app's role (default: DATABASE_APP_ROLE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            raise CommandError("database roles are a PostgreSQL feature")
        if options["action"] == "check":
            problems = app_role_problems(connection=connection)
            for problem in problems:
                self.stdout.write(f"problem: {problem}")
            if problems:
                raise CommandError(f"{len(problems)} problem(s) with the app's database role")
            self.stdout.write("the app's database role holds only the rights it needs")
            return
        if not options["app_role"]:
            raise CommandError("give --app-role or set DATABASE_APP_ROLE")
        if options["action"] == "sql":
            quote = connection.ops.quote_name
            for statement in app_grant_statements(app_role=options["app_role"], quote=quote):
                self.stdout.write(statement + ";")
            return
        ran = app_grants_apply(connection=connection, app_role=options["app_role"])
        self.stdout.write(f"granted {options['app_role']} its rights ({len(ran)} statements)")
