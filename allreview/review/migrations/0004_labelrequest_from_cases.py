# review.LabelRequest is the model that was cases.LabelRequest: the same table
# (cases_labelrequest), rows and constraint; only Django's state moves (no SQL runs).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0003_signed_cells"),
        ("cases", "0007_labelrequest_moved_to_review"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LabelRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("request_id", models.CharField(max_length=64)),
                        ("fingerprint", models.CharField(max_length=64)),
                        ("batch", models.CharField(max_length=32)),
                        ("changes", models.JSONField()),
                        ("labels", models.JSONField(default=list)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "case",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="cases.case",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "cases_labelrequest",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "request_id"), name="label_request_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
