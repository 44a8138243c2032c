"""Where reference cells were shown and what readers called them are append-only in the
database too, like labels and sign-offs."""

from __future__ import annotations

from django.db import migrations

from allreview.lib.appendonly import append_only_triggers_create, append_only_triggers_drop

TABLES = ("quality_referenceplacement", "quality_referencelabel")


def create(apps, schema_editor):
    append_only_triggers_create(schema_editor, TABLES)


def drop(apps, schema_editor):
    append_only_triggers_drop(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers"), ("quality", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
