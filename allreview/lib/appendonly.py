"""Rows that are written once and never changed: labels, audit events, sign-offs, reopenings."""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only; add a new row instead")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be deleted")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


# The database enforces the same rule for every client (a raw query, a bulk tool, a shell):
# a row trigger refuses UPDATE and DELETE. Migrations install it with these helpers; the app's
# database role is also refused UPDATE, DELETE and TRUNCATE on these tables and owns none of them,
# so it cannot disable the trigger (allreview.ops.dbroles).
POSTGRES_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION allreview_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_triggers_create(schema_editor: Any, tables: tuple[str, ...]) -> None:
    """Install the refuse-UPDATE/DELETE triggers on `tables` (PostgreSQL or SQLite)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REFUSE_FUNCTION, params=None)
        for table in tables:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION allreview_refuse_change()"
            )
    elif vendor == "sqlite":
        for table in tables:
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
                )


def append_only_triggers_drop(schema_editor: Any, tables: tuple[str, ...]) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


def append_only_tables() -> list[str]:
    """Every installed model's table whose rows are append-only (labels, audit events,
    sign-offs, reopenings, and any later AppendOnlyModel)."""
    from django.apps import apps

    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel) and not model._meta.proxy
    )
