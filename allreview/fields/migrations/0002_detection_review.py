"""Detection reviews: the history of rejections and restores, append-only like labels (a
database trigger refuses UPDATE and DELETE). Rejections made before it are copied in, with the
label the cell had before each (read from the rejection's own label audit event)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from allreview.lib.appendonly import append_only_triggers_create, append_only_triggers_drop

TABLES = ("fields_detectionreview",)


def rejections_copy(apps, schema_editor):
    provenance = apps.get_model("fields", "CellProvenance")
    review = apps.get_model("fields", "DetectionReview")
    event = apps.get_model("audit", "AuditEvent")
    rows = []
    for p in provenance.objects.filter(rejected_at__isnull=False, rejected_by__isnull=False):
        label_set = (
            event.objects.filter(
                action="label.set",
                target_type="cases.cell",
                target_id=str(p.cell_id),
                actor_id=p.rejected_by_id,
                after__label="artifact",
                created_at__lte=p.rejected_at,
            )
            .order_by("-id")
            .first()
        )
        before = ((label_set.before or {}).get("label") if label_set else None) or ""
        rows.append(
            review(
                provenance_id=p.pk,
                kind="reject",
                user_id=p.rejected_by_id,
                reason=p.reject_reason,
                label_before=before,
                created_at=p.rejected_at,
            )
        )
    review.objects.bulk_create(rows)


def triggers_create(apps, schema_editor):
    append_only_triggers_create(schema_editor, TABLES)


def triggers_drop(apps, schema_editor):
    append_only_triggers_drop(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("fields", "0001_initial"),
        ("audit", "0002_append_only_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DetectionReview",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("reject", "Rejected: not a cell"),
                            ("restore", "Restored: a cell after all"),
                        ],
                        max_length=8,
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("label_before", models.CharField(blank=True, max_length=8)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "provenance",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reviews",
                        to="fields.cellprovenance",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.RunPython(rejections_copy, migrations.RunPython.noop),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
