"""The app's PostgreSQL role holds only the rights it needs.

Two roles (scripts/deploy/db_roles.sql creates them, docs/deployment.md explains):
- the owner owns the schema and every table; migrations run as it (MIGRATION_DATABASE_URL);
- the app role (DATABASE_URL) reads and writes rows, and only appends to the append-only tables
  (audit events, labels, sign-offs, reopenings). It owns nothing, so it cannot ALTER TABLE ...
  DISABLE TRIGGER, TRUNCATE or DROP; a stolen app connection cannot rewrite the record.

The grants depend on the tables migrations made, so the owner re-applies them after every
migrate (migrate_locked does when DATABASE_APP_ROLE is set).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.backends.base.base import BaseDatabaseWrapper

from allreview.lib.appendonly import append_only_tables

ROW_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


def app_grant_statements(*, app_role: str, quote: Callable[[str], str]) -> list[str]:
    """SQL the schema owner runs so that `app_role` has exactly the rights the app needs."""
    role = quote(app_role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT {ROW_RIGHTS} ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # Tables a later migration creates: the same rights until the grants run again.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {ROW_RIGHTS} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
    ]
    statements += [
        f"REVOKE UPDATE, DELETE ON {quote(table)} FROM {role}" for table in append_only_tables()
    ]
    return statements


def app_grants_apply(*, connection: BaseDatabaseWrapper, app_role: str) -> list[str]:
    """Apply the grants on `connection` (as the owner); returns what ran."""
    statements = app_grant_statements(app_role=app_role, quote=connection.ops.quote_name)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements


def app_role_problems(*, connection: BaseDatabaseWrapper) -> list[str]:
    """What is wrong with the role `connection` runs as, for the health report: a superuser, a
    role that owns tables, or one allowed to change append-only rows."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            return ["the app connects as a superuser"]
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )
        if cursor.fetchone()[0]:
            problems.append("the app role owns tables (it could disable their triggers)")
        for table in append_only_tables():
            cursor.execute(
                "SELECT has_table_privilege(current_user, %s, 'UPDATE')"
                " OR has_table_privilege(current_user, %s, 'DELETE')",
                [table, table],
            )
            if cursor.fetchone()[0]:
                problems.append(f"the app role may change {table} rows")
    return problems
