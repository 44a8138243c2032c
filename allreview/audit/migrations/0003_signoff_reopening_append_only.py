"""Sign-offs and reopenings are append-only in the database too, like labels and audit events.

A sign-off is what a lab signed; a reopening records that it was undone. Neither may be edited or
removed afterwards by any client, so the same refuse-change trigger guards their tables."""

from __future__ import annotations

from django.db import migrations

from allreview.lib.appendonly import append_only_triggers_create, append_only_triggers_drop

TABLES = ("review_signoff", "review_casereopening")


def create(apps, schema_editor):
    append_only_triggers_create(schema_editor, TABLES)


def drop(apps, schema_editor):
    append_only_triggers_drop(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers"), ("review", "0002_readers")]

    operations = [migrations.RunPython(create, drop)]
